import t from 'tap'
import { asUint8Array, bytesEqual, compareBytes, concatBytes, fromHex, toHex } from '../../src/crypto/index.js'
import { SeededRandom } from './seeded-random.js'

t.test('hex round trip and the one spelling rule', async (t) => {
  const seed = 0x4e7
  const random = new SeededRandom(seed)
  for (let i = 0; i < 200; i++) {
    const bytes = random.bytes(random.below(70))
    const hex = toHex(bytes)
    t.equal(hex, Buffer.from(bytes).toString('hex'), `seed ${seed} case ${i}`)
    t.ok(bytesEqual(fromHex(hex), bytes), `seed ${seed} case ${i}: fromHex(toHex(b)) = b`)
  }
  t.equal(toHex(fromHex('')), '')
  t.equal(toHex(new Uint8Array([0, 1, 2, 3]).subarray(1, 3)), '0102', 'a view prints only its own bytes')
  for (const bad of ['ABCD', 'abc', 'zz', '0x00', ' 00', '00 ', 'Ab']) {
    t.throws(() => fromHex(bad), TypeError, `rejects ${JSON.stringify(bad)}`)
  }
})

t.test('compareBytes is lexicographic with the shorter prefix first', async (t) => {
  const b = (...xs: number[]): Uint8Array => Uint8Array.from(xs)
  t.equal(compareBytes(b(), b()), 0)
  t.ok(compareBytes(b(), b(0)) < 0)
  t.ok(compareBytes(b(1), b(0, 255)) > 0)
  t.ok(compareBytes(b(0, 1), b(0, 1, 0)) < 0)
  t.ok(compareBytes(b(255), b(254, 255)) > 0)
  const seed = 0xc0ffee
  const random = new SeededRandom(seed)
  for (let i = 0; i < 300; i++) {
    const x = random.bytes(random.below(5))
    const y = random.bytes(random.below(5))
    const expected = Math.sign(Buffer.compare(x, y))
    t.equal(Math.sign(compareBytes(x, y)), expected, `seed ${seed} case ${i}: ${toHex(x)} vs ${toHex(y)}`)
    t.equal(bytesEqual(x, y), expected === 0)
  }
})

t.test('concatBytes and asUint8Array', async (t) => {
  t.equal(toHex(concatBytes()), '')
  t.equal(toHex(concatBytes(fromHex('01'), new Uint8Array(0), fromHex('0203'))), '010203')
  const buffer = Buffer.from([9, 8, 7])
  const plain = asUint8Array(buffer)
  t.equal(plain.constructor, Uint8Array)
  t.equal(toHex(plain), '090807')
  const already = new Uint8Array(2)
  t.equal(asUint8Array(already), already, 'a plain Uint8Array is returned as is')
})
