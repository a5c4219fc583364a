import t from 'tap'
import { createHash } from 'node:crypto'
import { bytesEqual, concatBytes, fromHex, leafHash, merkleProof, merkleRoot, sha256, toHex, verifyMerkleProof } from '../../src/crypto/index.js'
import type { MerkleProof } from '../../src/crypto/index.js'
import { SeededRandom } from './seeded-random.js'

// ---------------------------------------------------------------------------------------------
// Reference implementations, written straight from the RFCs and independent of src/crypto.

function h(...parts: Uint8Array[]): Uint8Array {
  const hash = createHash('sha256')
  for (const p of parts) hash.update(p)
  return new Uint8Array(hash.digest())
}

function largestPowerOfTwoBelow(n: number): number {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

/** RFC 6962 §2.1: MTH(D[n]). */
function mth(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return h()
  if (leaves.length === 1) return h(Uint8Array.of(0), leaves[0]!)
  const k = largestPowerOfTwoBelow(leaves.length)
  return h(Uint8Array.of(1), mth(leaves.slice(0, k)), mth(leaves.slice(k)))
}

/** RFC 6962 §2.1.1: PATH(m, D[n]), the audit path from the leaf up. */
function referencePath(m: number, leaves: Uint8Array[]): Uint8Array[] {
  if (leaves.length <= 1) return []
  const k = largestPowerOfTwoBelow(leaves.length)
  return m < k
    ? [...referencePath(m, leaves.slice(0, k)), mth(leaves.slice(k))]
    : [...referencePath(m - k, leaves.slice(k)), mth(leaves.slice(0, k))]
}

/** RFC 9162 §2.1.3.2: verifying an inclusion proof (bigint arithmetic, so any safe size works). */
function rfc9162Verify(root: Uint8Array, leaf: Uint8Array, index: number, treeSize: number, path: Uint8Array[]): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(treeSize) || index < 0 || index >= treeSize) return false
  let fn = BigInt(index)
  let sn = BigInt(treeSize) - 1n
  let r = h(Uint8Array.of(0), leaf)
  for (const p of path) {
    if (sn === 0n) return false
    if ((fn & 1n) === 1n || fn === sn) {
      r = h(Uint8Array.of(1), p, r)
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n
          sn >>= 1n
        }
      }
    } else {
      r = h(Uint8Array.of(1), r, p)
    }
    fn >>= 1n
    sn >>= 1n
  }
  return sn === 0n && bytesEqual(r, root)
}

function randomLeaves(random: SeededRandom, n: number): Uint8Array[] {
  return Array.from({ length: n }, () => random.bytes(random.pick([0, 1, 32, random.below(100)])))
}

// ---------------------------------------------------------------------------------------------

t.test('the empty tree and the one-leaf tree', async (t) => {
  t.equal(toHex(merkleRoot([])), toHex(sha256(new Uint8Array(0))))
  t.equal(toHex(merkleRoot([])), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
  const leaf = fromHex('abcd')
  t.equal(toHex(merkleRoot([leaf])), toHex(h(Uint8Array.of(0), leaf)), 'one leaf: SHA-256(0x00 || d0)')
  t.equal(toHex(leafHash(leaf)), toHex(h(Uint8Array.of(0), leaf)))
  // Reference: RFC 6962 §2.1
})

t.test('roots match the certificate-transparency test tree', async (t) => {
  // the eight leaves and roots of the RFC 6962 test tree used by certificate-transparency and Trillian
  const leaves = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(fromHex)
  const roots = [
    '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
    'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
    'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
    '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
    'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
    '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328'
  ]
  for (let n = 1; n <= 8; n++) {
    t.equal(toHex(merkleRoot(leaves.slice(0, n))), roots[n - 1], `${n} leaves`)
    t.equal(toHex(mth(leaves.slice(0, n))), roots[n - 1], `${n} leaves (the reference in this test)`)
  }
  // Reference: RFC 6962 §2.1; certificate-transparency merkle_tree_test vectors
})

t.test('merkleRoot equals RFC 6962 MTH (split at the largest power of two)', async (t) => {
  const seed = 6962
  const random = new SeededRandom(seed)
  for (const n of [1, 2, 3, 5, 7]) {
    const leaves = randomLeaves(random, n)
    t.equal(toHex(merkleRoot(leaves)), toHex(mth(leaves)), `seed ${seed}: ${n} leaves`)
  }
  // the shape, spelled out for three leaves: ((d0 d1) d2), with d2 carried up, never duplicated
  const [a, b, c] = [fromHex('0a'), fromHex('0b'), fromHex('0c')]
  const expected = h(Uint8Array.of(1), h(Uint8Array.of(1), leafHash(a), leafHash(b)), leafHash(c))
  t.equal(toHex(merkleRoot([a, b, c])), toHex(expected), 'three leaves: H(1 || H(1 || l0 || l1) || l2)')
  for (let n = 0; n <= 130; n++) {
    const leaves = randomLeaves(random, n)
    if (toHex(merkleRoot(leaves)) !== toHex(mth(leaves))) {
      t.fail(`seed ${seed}: root differs from MTH for ${n} leaves`)
      return
    }
  }
  t.pass(`roots for 0..130 leaves equal MTH (seed ${seed})`)
  // Reference: RFC 6962 §2.1
})

t.test('no duplicated leaf and no leaf posing as a node', async (t) => {
  const [a, b, c] = [fromHex('01'), fromHex('02'), fromHex('03')]
  t.not(toHex(merkleRoot([a, b, c])), toHex(merkleRoot([a, b, c, c])), 'CVE-2012-2459: [a,b,c] and [a,b,c,c] differ')
  t.not(toHex(merkleRoot([a, b])), toHex(merkleRoot([a, b, b])))
  // a one-leaf tree whose data is two child hashes does not share the two-leaf tree's root
  const twoLeafRoot = merkleRoot([a, b])
  const forged = concatBytes(leafHash(a), leafHash(b))
  t.not(toHex(merkleRoot([forged])), toHex(twoLeafRoot))
  t.notOk(verifyMerkleProof(twoLeafRoot, forged, { index: 0, leafCount: 1, path: [] }), 'inner node bytes do not verify as a leaf')
  t.notOk(
    verifyMerkleProof(twoLeafRoot, concatBytes(Uint8Array.of(1), forged), { index: 0, leafCount: 1, path: [] }),
    'nor with the node prefix'
  )
  // Reference: RFC 6962 §2.1 (0x00 / 0x01 domain separation)
})

t.test('proofs: every index for 1..40 leaves verifies, and every tampering fails', async (t) => {
  const seed = 40
  const random = new SeededRandom(seed)
  let checks = 0
  const fail = (message: string): void => {
    t.fail(`seed ${seed}: ${message}`)
  }
  for (let n = 1; n <= 40; n++) {
    const leaves = randomLeaves(random, n)
    // distinct leaves, so that "a wrong leaf" is really wrong
    leaves.forEach((leaf, i) => (leaves[i] = concatBytes(Uint8Array.of(i), leaf)))
    const root = merkleRoot(leaves)
    for (let index = 0; index < n; index++) {
      const leaf = leaves[index]!
      const proof = merkleProof(leaves, index)
      const where = `n=${n} index=${index}`
      const expectedPath = referencePath(index, leaves)
      checks++
      if (proof.index !== index || proof.leafCount !== n) fail(`${where}: proof carries index ${proof.index}, leafCount ${proof.leafCount}`)
      if (proof.path.map(toHex).join() !== expectedPath.map(toHex).join()) fail(`${where}: path differs from RFC 6962 PATH`)
      if (!verifyMerkleProof(root, leaf, proof)) fail(`${where}: a good proof does not verify`)
      if (!rfc9162Verify(root, leaf, index, n, proof.path)) fail(`${where}: the RFC 9162 verifier refuses our proof`)

      const refused = (what: string, r: Uint8Array, l: Uint8Array, p: MerkleProof): void => {
        checks++
        if (verifyMerkleProof(r, l, p)) fail(`${where}: accepted ${what}`)
      }
      refused('a wrong leaf', root, concatBytes(leaf, Uint8Array.of(0)), proof)
      if (n > 1) refused('a neighbouring leaf', root, leaves[(index + 1) % n]!, proof)
      refused('the leaf hash instead of the leaf', root, leafHash(leaf), proof)
      refused('a wrong root', flip(root, random.below(256)), leaf, proof)
      for (let other = -1; other <= n; other++) {
        if (other !== index) refused(`index ${other}`, root, leaf, { ...proof, index: other })
      }
      for (const bad of [0.5, NaN, Infinity, Number.MAX_SAFE_INTEGER + 2]) {
        refused(`index ${bad}`, root, leaf, { ...proof, index: bad })
        refused(`leafCount ${bad}`, root, leaf, { ...proof, leafCount: bad })
      }
      refused('leafCount 0', root, leaf, { ...proof, leafCount: 0 })
      if (proof.path.length > 0) {
        refused('a path without its last hash', root, leaf, { ...proof, path: proof.path.slice(0, -1) })
        refused('a path without its first hash', root, leaf, { ...proof, path: proof.path.slice(1) })
        refused('an empty path', root, leaf, { ...proof, path: [] })
        if (proof.path.length > 1) refused('a reversed path', root, leaf, { ...proof, path: [...proof.path].reverse() })
        for (let j = 0; j < proof.path.length; j++) {
          const path = [...proof.path]
          path[j] = flip(path[j]!, random.below(256))
          refused(`a tampered sibling ${j}`, root, leaf, { ...proof, path })
          refused(`a truncated sibling ${j}`, root, leaf, { ...proof, path: path.map((s, i) => (i === j ? proof.path[j]!.subarray(0, 31) : s)) })
        }
      }
      refused('a path with an extra hash at the end', root, leaf, { ...proof, path: [...proof.path, sha256(leaf)] })
      refused('a path with an extra hash at the start', root, leaf, { ...proof, path: [sha256(leaf), ...proof.path] })
      refused('a path with the root appended', root, leaf, { ...proof, path: [...proof.path, root] })
      // a different leafCount fails exactly when the RFC 9162 verifier says so (see the next test)
      for (let count = 1; count <= n + 3; count++) {
        if (count === n) continue
        checks++
        const ours = verifyMerkleProof(root, leaf, { ...proof, leafCount: count })
        if (ours !== rfc9162Verify(root, leaf, index, count, proof.path)) fail(`${where}: leafCount ${count}: ours ${ours}, RFC 9162 ${!ours}`)
      }
    }
  }
  t.pass(`${checks} proof checks (seed ${seed})`)
  // Reference: RFC 6962 §2.1.1; RFC 9162 §2.1.3.2
})

function flip(bytes: Uint8Array, bit: number): Uint8Array {
  const out = Uint8Array.from(bytes)
  out[bit >> 3]! ^= 1 << (bit & 7)
  return out
}

t.test('the root does not commit to the leaf count: it must come from a trusted header', async (t) => {
  // As in RFC 9162, an inclusion proof binds (leaf, root) but not (index, leafCount): the hashing
  // only sees the levels where a sibling exists. Leaf 2 of [a, b, c] and leaf 1 of [H(a,b)-tree..]
  // take the same path, so a verifier must take leafCount (and hence index) from the block header.
  const leaves = ['a', 'b', 'c', 'd'].map((s) => new TextEncoder().encode(s))
  const three = leaves.slice(0, 3)
  const root3 = merkleRoot(three)
  const proof = merkleProof(three, 2)
  t.ok(verifyMerkleProof(root3, leaves[2]!, proof))
  t.ok(verifyMerkleProof(root3, leaves[2]!, { index: 1, leafCount: 2, path: proof.path }), 'also "leaf 1 of 2"')
  t.ok(rfc9162Verify(root3, leaves[2]!, 1, 2, proof.path), 'and RFC 9162 agrees')
  const root4 = merkleRoot(leaves)
  const first = merkleProof(leaves, 0)
  t.ok(verifyMerkleProof(root4, leaves[0]!, { ...first, leafCount: 3 }), 'leaf 0 of 4 is also "leaf 0 of 3"')
  t.notOk(verifyMerkleProof(root4, leaves[0]!, { ...first, leafCount: 5 }), 'but not "leaf 0 of 5"')
  // Reference: RFC 9162 §2.1.3.2 (the tree size comes from a signed tree head)
})

t.test('proof verification uses exact arithmetic for large trees', async (t) => {
  // A synthetic proof in a tree of more than 2^32 leaves: the root is what the RFC 9162 verifier
  // computes for it. `>>` and `^` work on 32 bits and would compute something else.
  const seed = 0x1_0000
  const random = new SeededRandom(seed)
  const cases: Array<[number, number]> = [
    [2 ** 31 + 1, 2 ** 31],
    [2 ** 32 + 7, 2 ** 32 + 3],
    [2 ** 33 + 5, 2 ** 31 + 9],
    [2 ** 40, 2 ** 40 - 1],
    [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER - 1]
  ]
  for (const [leafCount, index] of cases) {
    const leaf = random.bytes(8)
    let fn = BigInt(index)
    let sn = BigInt(leafCount) - 1n
    const path: Uint8Array[] = []
    while (sn > 0n) {
      // the last node of a level, as a left child, has no sibling and is carried up unchanged
      if ((fn & 1n) === 1n || fn !== sn) path.push(random.bytes(32))
      fn >>= 1n
      sn >>= 1n
    }
    const root = rootOf(leaf, index, leafCount, path)
    t.ok(rfc9162Verify(root, leaf, index, leafCount, path), `reference: leaf ${index} of ${leafCount}`)
    t.ok(verifyMerkleProof(root, leaf, { index, leafCount, path }), `leaf ${index} of ${leafCount} (seed ${seed})`)
    t.notOk(verifyMerkleProof(root, leaf, { index: index - 1, leafCount, path }), `not leaf ${index - 1}`)
  }
  // a 2-leaf proof must not pass as a proof in a tree of 2^32 leaves (32-bit wrap-around)
  const [a, b] = [fromHex('aa'), fromHex('bb')]
  const proof = merkleProof([a, b], 0)
  t.notOk(verifyMerkleProof(merkleRoot([a, b]), a, { ...proof, leafCount: 2 ** 32 }), 'leafCount 2^32 with a one-hash path')
  t.notOk(verifyMerkleProof(merkleRoot([a, b]), a, { ...proof, leafCount: 2 ** 32 + 1 }))
  // Reference: RFC 9162 §2.1.3.2
})

/** The root that an inclusion proof implies, by RFC 6962's recursive definition (bigint). */
function rootOf(leaf: Uint8Array, index: number, leafCount: number, path: Uint8Array[]): Uint8Array {
  let hash = h(Uint8Array.of(0), leaf)
  let i = BigInt(index)
  let width = BigInt(leafCount)
  let p = 0
  while (width > 1n) {
    const sibling = i % 2n === 0n ? i + 1n : i - 1n
    if (sibling < width) {
      const s = path[p++]!
      hash = i % 2n === 0n ? h(Uint8Array.of(1), hash, s) : h(Uint8Array.of(1), s, hash)
    }
    i /= 2n
    width = (width + 1n) / 2n
  }
  if (p !== path.length) throw new Error('path length does not fit the tree')
  return hash
}

t.test('merkleProof refuses an index outside the tree', async (t) => {
  const leaves = [fromHex('01'), fromHex('02')]
  for (const index of [-1, 2, 1.5, NaN]) t.throws(() => merkleProof(leaves, index), RangeError, `index ${index}`)
  t.throws(() => merkleProof([], 0), RangeError, 'the empty tree has no proofs')
})
