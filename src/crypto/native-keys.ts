/**
 * Raw Ed25519 keys as node:crypto (OpenSSL) key objects, public ones parsed once each. Nothing here
 * refuses weak keys: that check needs `@noble/curves` (ed25519.ts), and this module is also what the
 * signature workers load, which stay small by not loading noble; their callers check keys first.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto'
import type { KeyObject } from 'node:crypto'

// DER prefixes that wrap a raw key for OpenSSL (RFC 8410).
const pkcs8Prefix = Buffer.from('302e020100300506032b657004220420', 'hex')
const spkiPrefix = Buffer.from('302a300506032b6570032100', 'hex')

// Parsed public keys are cached: a ledger verifies the same few signers again and again.
const publicKeyCacheMax = 4096

export function nativePrivateKey(seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([pkcs8Prefix, seed]), format: 'der', type: 'pkcs8' })
}

/**
 * Public keys parsed once each. `admit` runs on a cache miss, before a key enters the cache, and
 * throws to keep a key out (ed25519.ts refuses weak keys so). Each user has its own cache: a key that
 * entered one cache unchecked must never be found by a user that relies on the check.
 */
export class NativePublicKeys {
  readonly #cache = new Map<string, KeyObject>()
  readonly #admit: ((publicKey: Uint8Array) => void) | undefined

  constructor(admit?: (publicKey: Uint8Array) => void) {
    this.#admit = admit
  }

  get(publicKey: Uint8Array): KeyObject {
    const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('base64')
    let key = this.#cache.get(id)
    if (key === undefined) {
      this.#admit?.(publicKey)
      key = createPublicKey({ key: Buffer.concat([spkiPrefix, publicKey]), format: 'der', type: 'spki' })
      if (this.#cache.size >= publicKeyCacheMax) this.#cache.clear()
      this.#cache.set(id, key)
    }
    return key
  }
}
