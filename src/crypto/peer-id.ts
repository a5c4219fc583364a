/**
 * The libp2p PeerId of an Ed25519 key, computed without libp2p (libp2p types stay in src/p2p):
 * base58btc of the identity multihash of the protobuf-encoded public key. A node's ledger identity and
 * its PeerId are therefore one key; test/crypto checks this against libp2p's own derivation.
 */
import { publicKeyBytes } from './ed25519.js'

// identity multihash (0x00, length 36) of protobuf { Type: Ed25519 (1), Data: 32 bytes }
const identityPrefix = Uint8Array.of(0x00, 0x24, 0x08, 0x01, 0x12, 0x20)
const base58Alphabet = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'

export function peerIdOf(publicKey: Uint8Array): string {
  if (publicKey.length !== publicKeyBytes) throw new TypeError('an Ed25519 public key is 32 bytes')
  const bytes = new Uint8Array(identityPrefix.length + publicKey.length)
  bytes.set(identityPrefix)
  bytes.set(publicKey, identityPrefix.length)
  return base58btc(bytes)
}

function base58btc(bytes: Uint8Array): string {
  let zeros = 0
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++
  let n = 0n
  for (const b of bytes) n = (n << 8n) | BigInt(b)
  let out = ''
  while (n > 0n) {
    out = base58Alphabet[Number(n % 58n)] + out
    n /= 58n
  }
  return '1'.repeat(zeros) + out
}
