import t from 'tap'
import { concatBytes, hashBytes, sha256, sha256Parts, toHex } from '../../src/crypto/index.js'
import { SeededRandom } from './seeded-random.js'

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)

t.test('sha256 matches the FIPS 180-4 / NIST example vectors', async (t) => {
  const vectors: Array<[Uint8Array, string]> = [
    [new Uint8Array(0), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    [utf8('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    [
      utf8('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'),
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'
    ],
    [new Uint8Array(1_000_000).fill(0x61), 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0']
  ]
  for (const [input, expected] of vectors) {
    const digest = sha256(input)
    t.equal(toHex(digest), expected, `sha256 of ${input.length} bytes`)
    t.equal(digest.length, hashBytes)
    t.equal(digest.constructor, Uint8Array, 'a plain Uint8Array, not a Buffer')
  }
  // Reference: FIPS 180-4; NIST CSRC example values for SHA-256
})

t.test('sha256Parts equals sha256 of the concatenation', async (t) => {
  const seed = 0x5a17
  const random = new SeededRandom(seed)
  for (let round = 0; round < 500; round++) {
    const parts: Uint8Array[] = []
    const count = random.below(6)
    for (let i = 0; i < count; i++) parts.push(random.bytes(random.pick([0, 1, 31, 32, 33, 64, random.below(300)])))
    const whole = concatBytes(...parts)
    if (toHex(sha256Parts(parts)) !== toHex(sha256(whole))) {
      t.fail(`seed ${seed} round ${round}: sha256Parts differs for part lengths ${parts.map((p) => p.length).join(',')}`)
      return
    }
  }
  t.equal(toHex(sha256Parts([])), toHex(sha256(new Uint8Array(0))), 'no parts is the empty message')
  t.pass(`500 random part lists agree (seed ${seed})`)
})

t.test('sha256 does not depend on the view it is given', async (t) => {
  const backing = utf8('xxabcxx')
  const view = backing.subarray(2, 5)
  t.equal(toHex(sha256(view)), toHex(sha256(utf8('abc'))), 'a subarray hashes only its own bytes')
  t.equal(toHex(sha256(Buffer.from('abc'))), toHex(sha256(utf8('abc'))), 'a Buffer hashes like a Uint8Array')
})
