/**
 * The signature checks a WorkerVerifier sends to a worker, packed into one transferable buffer, and
 * their verification on the worker. Imports only node:crypto (through native-keys.ts): each worker is
 * a V8 isolate of its own, about 5 MB resident bare, and loading noble would add about 5 MB more.
 */
import { verify as nodeVerify } from 'node:crypto'
import { NativePublicKeys } from './native-keys.js'

/** Keys of packed checks, unchecked (the packing side checked them): a cache of their own. */
const packedKeys = new NativePublicKeys()

export interface SignatureCheck {
  readonly signature: Uint8Array
  readonly message: Uint8Array
  readonly publicKey: Uint8Array
}

/**
 * Packs checks as [sig 64][key 32][message length u32][message]... for a transfer to a worker. Only
 * checks with a 64-byte signature and a key that passed isUsablePublicKey (ed25519.ts) may be packed:
 * the worker does not refuse weak keys, under which OpenSSL accepts forged signatures.
 */
export function packChecks(checks: readonly SignatureCheck[]): Uint8Array {
  let size = 0
  for (const c of checks) size += 100 + c.message.length
  const out = new Uint8Array(size)
  const view = new DataView(out.buffer)
  let o = 0
  for (const c of checks) {
    if (c.signature.length !== 64 || c.publicKey.length !== 32) throw new RangeError('a packed check has a 64-byte signature and a 32-byte key')
    out.set(c.signature, o)
    out.set(c.publicKey, o + 64)
    view.setUint32(o + 96, c.message.length)
    out.set(c.message, o + 100)
    o += 100 + c.message.length
  }
  return out
}

/** One byte per packed check: 1 verified, 0 not. */
export function verifyPacked(packed: Uint8Array): Uint8Array {
  const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength)
  const results: number[] = []
  let o = 0
  while (o < packed.length) {
    const signature = packed.subarray(o, o + 64)
    const publicKey = packed.subarray(o + 64, o + 96)
    const length = view.getUint32(o + 96)
    const message = packed.subarray(o + 100, o + 100 + length)
    let ok = false
    try {
      ok = nodeVerify(null, message, packedKeys.get(publicKey), signature)
    } catch {
      // a key OpenSSL refuses to parse: not verified
    }
    results.push(ok ? 1 : 0)
    o += 100 + length
  }
  return Uint8Array.from(results)
}
