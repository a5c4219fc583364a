/**
 * Merkle trees as in RFC 6962 (Certificate Transparency): leaves hashed with a 0x00 prefix, inner
 * nodes with 0x01, an unbalanced tree split at the largest power of two. The prefixes keep a leaf
 * from passing for an inner node, and no leaf is duplicated (the Bitcoin CVE-2012-2459 trap).
 */
import { sha256, sha256Parts } from './hash.js'
import { bytesEqual } from './bytes.js'

const leafPrefix = Uint8Array.of(0)
const nodePrefix = Uint8Array.of(1)

export function leafHash(data: Uint8Array): Uint8Array {
  return sha256Parts([leafPrefix, data])
}

function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256Parts([nodePrefix, left, right])
}

/** The root over `leaves` (their data, not hashes). The empty tree's root is SHA-256 of nothing. */
export function merkleRoot(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return sha256(new Uint8Array(0))
  let level = leaves.map(leafHash)
  // Bottom-up pairing gives the same tree as RFC 6962's top-down split: an odd last node is
  // carried up unchanged until it meets a sibling.
  while (level.length > 1) {
    const next: Uint8Array[] = []
    for (let i = 0; i + 1 < level.length; i += 2) next.push(nodeHash(level[i]!, level[i + 1]!))
    if (level.length % 2 === 1) next.push(level[level.length - 1]!)
    level = next
  }
  return level[0]!
}

export interface MerkleProof {
  readonly index: number
  readonly leafCount: number
  /** Sibling hashes from the leaf up to the root. */
  readonly path: Uint8Array[]
}

export function merkleProof(leaves: readonly Uint8Array[], index: number): MerkleProof {
  if (!Number.isInteger(index) || index < 0 || index >= leaves.length) throw new RangeError('leaf index out of range')
  const path: Uint8Array[] = []
  let level = leaves.map(leafHash)
  let i = index
  while (level.length > 1) {
    const sibling = i ^ 1
    if (sibling < level.length) path.push(level[sibling]!)
    const next: Uint8Array[] = []
    for (let j = 0; j + 1 < level.length; j += 2) next.push(nodeHash(level[j]!, level[j + 1]!))
    if (level.length % 2 === 1) next.push(level[level.length - 1]!)
    level = next
    i >>= 1
  }
  return { index, leafCount: leaves.length, path }
}

export function verifyMerkleProof(root: Uint8Array, leaf: Uint8Array, proof: MerkleProof): boolean {
  const { index, leafCount, path } = proof
  if (!Number.isInteger(index) || !Number.isInteger(leafCount) || index < 0 || index >= leafCount) return false
  let hash = leafHash(leaf)
  let i = index
  let width = leafCount
  let p = 0
  // Arithmetic, not bitwise operators: a proof is untrusted input, and `>>` and `^` wrap at 2^31.
  while (width > 1) {
    const isLeft = i % 2 === 0
    const sibling = isLeft ? i + 1 : i - 1
    if (sibling < width) {
      const s = path[p++]
      if (s === undefined) return false
      hash = isLeft ? nodeHash(hash, s) : nodeHash(s, hash)
    }
    i = Math.floor(i / 2)
    width = Math.ceil(width / 2)
  }
  return p === path.length && bytesEqual(hash, root)
}
