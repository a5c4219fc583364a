/** SHA-256, the one hash of TOM: tx ids, block hashes, Merkle trees and state digests. */
import { createHash } from 'node:crypto'

export const hashBytes = 32

export function sha256(data: Uint8Array): Uint8Array {
  const digest = createHash('sha256').update(data).digest()
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength)
}

/** SHA-256 over several parts without concatenating them first. */
export function sha256Parts(parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  const digest = h.digest()
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength)
}
