/** SHA-256, the one hash of TOM: tx ids, block hashes, Merkle trees and state digests. */
import { hash } from 'node:crypto'
import { concatBytes } from './bytes.js'

export const hashBytes = 32

// crypto.hash (one shot, Node >= 20.12) costs half of createHash().update().digest() on small inputs.
export function sha256(data: Uint8Array): Uint8Array {
  const digest = hash('sha256', data, 'buffer')
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength)
}

/** SHA-256 over several parts: joined and hashed at once, cheaper than a streaming hash for small parts. */
export function sha256Parts(parts: Uint8Array[]): Uint8Array {
  return sha256(concatBytes(...parts))
}
