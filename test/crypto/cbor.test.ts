import t from 'tap'
import { decode as cborgDecode, encode as cborgEncode, rfc8949EncodeOptions } from 'cborg'
import { encodeDirect } from '../../src/crypto/cbor-direct.js'
import { decodeDirect, notDirect } from '../../src/crypto/cbor-decode-direct.js'
import { CodecError, bytesEqual, compareBytes, decode, decodeCanonical, encode, fromHex, toHex } from '../../src/crypto/index.js'
import type { CborValue } from '../../src/crypto/index.js'
import { SeededRandom } from './seeded-random.js'

const codecError = { name: 'CodecError', code: 'ERR_CODEC' }

// ---------------------------------------------------------------------------------------------
// Random values. Only values whose decoded form is the same JS value: integers within the safe
// range are numbers and bigints lie outside it (5n is written as 5 and read back as the number 5),
// and -0 is left out (it is written as the integer 0).

const safeIntEdges = [
  0, 1, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER,
  -1, -24, -25, -256, -257, -65536, -65537, -(2 ** 32), -(2 ** 32) - 1, Number.MIN_SAFE_INTEGER
]
const floatEdges = [
  0.5, 1.5, -4.1, 0.1, 1 / 3, 65504.5, 5.960464477539063e-8, 6.103515625e-5, 1.401298464324817e-45,
  3.4028234663852886e38, 1e300, -1e-300, Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 53, -(2 ** 60), 2 ** 64
]
const maxUint64 = 2n ** 64n - 1n
const minNegint64 = -(2n ** 64n)

function randomCodePoint(random: SeededRandom): number {
  switch (random.below(5)) {
    case 0:
      return random.intBetween(0x20, 0x7e)
    case 1:
      return random.intBetween(0, 0x1f)
    case 2:
      return random.intBetween(0x80, 0x7ff)
    case 3: {
      const c = random.intBetween(0x800, 0xfffd)
      return c >= 0xd800 && c <= 0xdfff ? 0xfffd : c // surrogates are not code points of text
    }
    default:
      return random.intBetween(0x10000, 0x10ffff)
  }
}

function randomString(random: SeededRandom, maxCodePoints: number): string {
  const n = random.below(maxCodePoints + 1)
  let s = ''
  for (let i = 0; i < n; i++) s += String.fromCodePoint(randomCodePoint(random))
  return s
}

function randomKey(random: SeededRandom): string {
  switch (random.below(6)) {
    case 0:
      return random.pick(['', 'a', 'b', 'aa', 'ab', 'ba', '__proto__', 'constructor', 'prototype', 'toString'])
    case 1:
      return String(random.below(30)) // integer-like keys come first in a JS object's own order
    case 2:
      return 'k'.repeat(random.intBetween(20, 30)) + random.below(3) // across the 23/24-byte header boundary
    default:
      return randomString(random, random.pick([3, 10, 40]))
  }
}

function randomFloat(random: SeededRandom): number {
  if (random.bool()) return random.pick(floatEdges)
  const view = new DataView(new ArrayBuffer(8))
  for (;;) {
    view.setUint32(0, random.nextUint32())
    view.setUint32(4, random.nextUint32())
    const x = view.getFloat64(0)
    if (Number.isFinite(x) && !Object.is(x, -0)) return x
  }
}

function randomValue(random: SeededRandom, depth: number): CborValue {
  // the top level is a container more often than not, as ledger values are
  const kind = depth === 0 && random.bool() ? random.intBetween(8, 9) : random.below(depth >= 4 ? 8 : 10)
  switch (kind) {
    case 0:
      return random.pick([null, true, false])
    case 1:
      return random.pick(safeIntEdges)
    case 2:
      return (random.bool() ? 1 : -1) * (random.nextUint32() * 2 ** 21 + random.below(2 ** 21))
    case 3: {
      // beyond the safe range, within the 64-bit argument CBOR has
      const magnitude = 2n ** 53n + random.bigBits(random.pick([8, 32, 63]))
      if (random.bool()) return random.pick([maxUint64, minNegint64, 2n ** 53n, -(2n ** 53n) - 1n])
      return random.bool() ? magnitude : -magnitude
    }
    case 4:
      return randomFloat(random)
    case 5:
      return randomString(random, random.pick([0, 5, 30]))
    case 6:
      return random.bytes(random.pick([0, 1, 23, 24, random.below(300)]))
    case 7:
      return random.pick<() => CborValue>([() => 0, () => -0.5, () => 'x', () => new Uint8Array(0)])() // small, fresh leaves
    case 8: {
      const length = random.below(7)
      const items: CborValue[] = []
      for (let i = 0; i < length; i++) items.push(randomValue(random, depth + 1))
      return items
    }
    default: {
      const size = random.below(7)
      const entries: Array<[string, CborValue]> = []
      const seen = new Set<string>()
      for (let i = 0; i < size; i++) {
        const key = randomKey(random)
        if (seen.has(key)) continue
        seen.add(key)
        entries.push([key, randomValue(random, depth + 1)])
      }
      return Object.fromEntries(entries) // defines own properties, `__proto__` included
    }
  }
}

/** The same value with every map's insertion order shuffled. */
function reordered(value: CborValue, random: SeededRandom): CborValue {
  if (Array.isArray(value)) return value.map((v) => reordered(v, random))
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return value
  const entries = Object.entries(value)
  for (let i = entries.length - 1; i > 0; i--) {
    const j = random.below(i + 1)
    const tmp = entries[i]!
    entries[i] = entries[j]!
    entries[j] = tmp
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, reordered(v, random)]))
}

function countSortedMaps(value: CborValue): number {
  if (Array.isArray(value)) return value.reduce<number>((n, v) => n + countSortedMaps(v), 0)
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return 0
  const values = Object.values(value)
  return (values.length >= 2 ? 1 : 0) + values.reduce<number>((n, v) => n + countSortedMaps(v), 0)
}

/**
 * A string that tells values apart by type as well as content (bigint 5n from number 5, bytes from
 * an array), without tap's object-identity rule: cborg shares one instance for every empty byte string.
 */
function typed(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return `bigint:${v}`
    if (typeof v === 'number') return `number:${v}`
    if (typeof v === 'string') return `string:${v}`
    if (v instanceof Uint8Array) return `bytes:${toHex(v)}`
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      if (Object.getPrototypeOf(v) !== Object.prototype) return `not a plain object`
      // own keys in sorted order, `__proto__` as data
      return Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]])
    }
    return v
  })
}

// ---------------------------------------------------------------------------------------------
// An independent checker of RFC 8949 §4.2.1 on raw bytes: shortest heads, definite lengths,
// shortest floats, map keys in bytewise lexicographic order of their encodings.

const float16Values = new Set<number>()
for (let bits = 0; bits < 0x10000; bits++) {
  const x = decodeFloat16(bits)
  if (Number.isFinite(x)) float16Values.add(x)
}

function decodeFloat16(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1
  const exponent = (bits >> 10) & 0x1f
  const fraction = bits & 0x3ff
  if (exponent === 0) return sign * fraction * 2 ** -24
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15)
}

/** Returns the offset after the item at `offset`; throws with a reason if a rule is broken. */
function checkDeterministic(bytes: Uint8Array, offset: number): number {
  const initial = bytes[offset]
  if (initial === undefined) throw new Error('truncated')
  const major = initial >> 5
  const info = initial & 0x1f
  let pos = offset + 1
  let argument = 0n
  if (info < 24) argument = BigInt(info)
  else if (info <= 27) {
    const size = 1 << (info - 24)
    for (let i = 0; i < size; i++) argument = (argument << 8n) | BigInt(bytes[pos + i]!)
    pos += size
    const minimum = [24n, 256n, 65536n, 2n ** 32n][info - 24]!
    if (major !== 7 && argument < minimum) throw new Error(`non-shortest head at ${offset}`)
  } else throw new Error(`indefinite or reserved length at ${offset}`)
  switch (major) {
    case 0:
    case 1:
      return pos
    case 2:
    case 3:
      return pos + Number(argument)
    case 4: {
      for (let i = 0n; i < argument; i++) pos = checkDeterministic(bytes, pos)
      return pos
    }
    case 5: {
      let previous: Uint8Array | undefined
      for (let i = 0n; i < argument; i++) {
        const keyEnd = checkDeterministic(bytes, pos)
        const key = bytes.subarray(pos, keyEnd)
        if (previous !== undefined && compareBytes(previous, key) >= 0) {
          throw new Error(`map keys out of order at ${pos}: ${toHex(previous)} then ${toHex(key)}`)
        }
        previous = key
        pos = checkDeterministic(bytes, keyEnd)
      }
      return pos
    }
    case 6:
      throw new Error(`tag at ${offset}`)
    default: {
      if (info === 20 || info === 21 || info === 22 || info === 25) return pos // false, true, null, float16
      if (info !== 26 && info !== 27) throw new Error(`simple value or undefined at ${offset}`)
      const view = new DataView(bytes.buffer, bytes.byteOffset + offset + 1, info === 26 ? 4 : 8)
      const x = info === 26 ? view.getFloat32(0) : view.getFloat64(0)
      if (float16Values.has(x)) throw new Error(`float ${x} fits a float16`)
      if (info === 27 && Math.fround(x) === x) throw new Error(`float64 ${x} fits a float32`)
      return pos
    }
  }
}

function assertDeterministic(bytes: Uint8Array): void {
  const end = checkDeterministic(bytes, 0)
  if (end !== bytes.length) throw new Error(`item ends at ${end} of ${bytes.length}`)
}

// ---------------------------------------------------------------------------------------------

t.test('property: one value, one encoding, and a faithful round trip', async (t) => {
  const seed = 20261126
  const random = new SeededRandom(seed)
  const rounds = 3000
  let mapsSeen = 0
  for (let round = 0; round < rounds; round++) {
    const value = randomValue(random, 0)
    mapsSeen += countSortedMaps(value)
    const where = `seed ${seed} round ${round}`
    let bytes: Uint8Array
    try {
      bytes = encode(value)
    } catch (err) {
      t.fail(`${where}: encode threw ${(err as Error).message}`)
      return
    }
    const again = encode(reordered(value, random))
    if (!bytesEqual(bytes, again)) {
      t.fail(`${where}: key order changed the bytes: ${toHex(bytes)} vs ${toHex(again)}`)
      return
    }
    try {
      assertDeterministic(bytes)
    } catch (err) {
      t.fail(`${where}: not RFC 8949 §4.2.1: ${(err as Error).message}: ${toHex(bytes)}`)
      return
    }
    let decoded: CborValue
    try {
      decoded = decodeCanonical(bytes)
    } catch (err) {
      t.fail(`${where}: decodeCanonical refused our own encoding: ${(err as Error).message}: ${toHex(bytes)}`)
      return
    }
    if (typed(decoded) !== typed(value)) {
      t.equal(typed(decoded), typed(value), `${where}: decode(encode(v)) = v, types included`)
      return
    }
  }
  t.ok(mapsSeen > rounds / 3, `seed ${seed}: ${mapsSeen} maps with two or more keys were checked`)
  // Reference: RFC 8949 §4.2.1 (core deterministic encoding)
})

t.test('map keys sort by the bytes of their encoding (RFC 8949 §4.2.1)', async (t) => {
  t.equal(toHex(encode({ b: 1, a: 2, aa: 3 })), 'a3' + '616102' + '616201' + '62616103', 'shorter keys first, then bytewise')
  t.equal(toHex(encode({ aa: 3, b: 1, a: 2 })), toHex(encode({ b: 1, a: 2, aa: 3 })), 'insertion order does not matter')
  // '10' sorts before '2' bytewise although a JS object lists integer-like keys numerically
  t.equal(toHex(encode({ 2: 0, 10: 0, 1: 0 })), 'a3' + '613100' + '613200' + '62313000')
  // a 24-byte key has a two-byte head (0x78 0x18) and so sorts after every shorter key
  const long = 'a'.repeat(24)
  t.equal(toHex(encode({ [long]: 1, zzzzzzzzzzzzzzzzzzzzzzz: 2 })).slice(0, 4), 'a277', 'the 23-byte key comes first')
  // UTF-8 bytes, not UTF-16 code units: U+FF61 (efbda1) sorts before U+1F600 (f09f9880) although
  // its UTF-16 unit 0xff61 is above the high surrogate 0xd83d
  const hex = toHex(encode({ '\u{1F600}': 1, '\uFF61x': 2 }))
  t.equal(hex, 'a2' + '64' + 'efbda178' + '02' + '64' + 'f09f9880' + '01')
  // Reference: RFC 8949 §4.2.1; RFC 8949 Appendix A
})

t.test('RFC 8949 Appendix A vectors', async (t) => {
  const vectors: Array<[CborValue, string]> = [
    [0, '00'], [1, '01'], [10, '0a'], [23, '17'], [24, '1818'], [25, '1819'], [100, '1864'], [1000, '1903e8'],
    [1000000, '1a000f4240'], [1000000000000, '1b000000e8d4a51000'], [18446744073709551615n, '1bffffffffffffffff'],
    [-18446744073709551616n, '3bffffffffffffffff'], [-1, '20'], [-10, '29'], [-100, '3863'], [-1000, '3903e7'],
    [1.1, 'fb3ff199999999999a'], [1.5, 'f93e00'], [5.960464477539063e-8, 'f90001'], [0.00006103515625, 'f90400'],
    [-4.1, 'fbc010666666666666'], [1.0e300, 'fb7e37e43c8800759c'], [3.4028234663852886e38, 'fa7f7fffff'],
    [false, 'f4'], [true, 'f5'], [null, 'f6'], [new Uint8Array(0), '40'], [fromHex('01020304'), '4401020304'],
    ['', '60'], ['a', '6161'], ['IETF', '6449455446'], ['"\\', '62225c'], ['\u00fc', '62c3bc'], ['\u6c34', '63e6b0b4'],
    ['\ud800\udd51', '64f0908591'], [[], '80'], [[1, 2, 3], '83010203'], [[1, [2, 3], [4, 5]], '8301820203820405'],
    [Array.from({ length: 25 }, (_, i) => i + 1), '98190102030405060708090a0b0c0d0e0f101112131415161718181819'],
    [{}, 'a0'], [{ a: 1, b: [2, 3] }, 'a26161016162820203'], [['a', { b: 'c' }], '826161a161626163'],
    [{ a: 'A', b: 'B', c: 'C', d: 'D', e: 'E' }, 'a56161614161626142616361436164614461656145']
  ]
  for (const [value, hex] of vectors) {
    t.equal(toHex(encode(value)), hex, `encode ${String(value)}`)
    t.strictSame(decodeCanonical(fromHex(hex)), value, `decode ${hex}`)
  }
  // JS has no integral floats: 1.0 and 1 are one number, written as the shortest integer. The RFC
  // examples 100000.0 (fa47c35000) and -4.0 (f9c400) are therefore not our deterministic form.
  t.equal(toHex(encode(100000.0)), '1a000186a0')
  t.equal(toHex(encode(-0)), '00', '-0 is the integer 0')
  for (const hex of ['fa47c35000', 'f9c400', 'f93c00', 'f98000', 'f90000']) {
    t.throws(() => decodeCanonical(fromHex(hex)), codecError, `${hex} is a float form of an integer`)
  }
  // Reference: RFC 8949 Appendix A
})

t.test('integers across the number/bigint boundary', async (t) => {
  t.equal(decode(encode(Number.MAX_SAFE_INTEGER)), Number.MAX_SAFE_INTEGER)
  t.equal(decode(encode(Number.MIN_SAFE_INTEGER)), Number.MIN_SAFE_INTEGER)
  t.equal(decode(encode(2n ** 53n)), 2n ** 53n, 'above the safe range a bigint comes back')
  t.equal(decode(encode(-(2n ** 53n))), -(2n ** 53n))
  t.equal(toHex(encode(5n)), toHex(encode(5)), 'a small bigint is the same integer as a number')
  t.equal(decode(encode(5n)), 5, '...and is read back as a number')
  t.equal(toHex(encode(2n ** 53n)), '1b0020000000000000')
  // a non-safe integral number is a float (2^53 fits a float32), a different item from the bigint
  t.equal(toHex(encode(2 ** 53)), 'fa5a000000')
  t.equal(decode(encode(2 ** 53)), 2 ** 53)
  t.throws(() => encode(2n ** 64n), codecError, '2^64 has no CBOR integer (no bignum tags)')
  t.throws(() => encode(-(2n ** 64n) - 1n), codecError)
  // Reference: RFC 8949 §3.1 (major types 0 and 1 carry 64-bit arguments)
})

t.test('decodeCanonical rejects every non-canonical or unsupported encoding', async (t) => {
  const rejects: Array<[string, string]> = [
    ['a2616201616102', 'unsorted map {"b":1,"a":2}'],
    ['a262616101616202', '"aa" before "b" (length first)'],
    ['1817', '23 in a one-byte argument'],
    ['190017', '23 in a two-byte argument'],
    ['1a00000017', '23 in a four-byte argument'],
    ['1b0000000000000017', '23 in an eight-byte argument'],
    ['1900ff', '255 in a two-byte argument'],
    ['3817', '-24 in a one-byte argument'],
    ['1b00000000ffffffff', '2^32-1 in an eight-byte argument'],
    ['780161', 'string length in a one-byte argument'],
    ['580100', 'bytes length in a one-byte argument'],
    ['980101', 'array length in a one-byte argument'],
    ['b80161610101', 'map length in a one-byte argument'],
    ['9f01ff', 'indefinite array'],
    ['7f6161ff', 'indefinite string'],
    ['5f4101ff', 'indefinite byte string'],
    ['bf616101ff', 'indefinite map'],
    ['a2616101616102', 'duplicate key'],
    ['f7', 'undefined'],
    ['81f7', 'undefined in an array'],
    ['c11a514b67b0', 'tag 1 (epoch time)'],
    ['c074323031332d30332d32315432303a30343a30305a', 'tag 0 (date string)'],
    ['c249010000000000000000', 'tag 2 (bignum)'],
    ['d82a4100', 'tag 42'],
    ['f0', 'simple value 16'],
    ['f820', 'simple value 32'],
    ['f97e00', 'NaN'],
    ['f97c00', 'Infinity'],
    ['f9fc00', '-Infinity'],
    ['fa3fc00000', '1.5 as a float32'],
    ['fb3ff8000000000000', '1.5 as a float64'],
    ['a10102', 'integer map key'],
    ['a1410102', 'byte-string map key'],
    ['a18001', 'array map key'],
    ['0000', 'trailing byte'],
    ['a000', 'trailing byte after a map'],
    ['', 'empty input'],
    ['1a0000', 'truncated argument'],
    ['6261', 'truncated string'],
    ['8201', 'truncated array'],
    ['a16161', 'map without its last value'],
    ['1c', 'reserved additional information 28'],
    ['ff', 'a lone break'],
    ['62c328', 'invalid UTF-8']
  ]
  for (const [hex, why] of rejects) {
    t.throws(() => decodeCanonical(fromHex(hex)), codecError, `rejects ${why} (${hex})`)
  }
  t.equal(decodeCanonical(fromHex('fb3fb999999999999a')), 0.1, 'control: 0.1 needs a float64')
  // plain decode is strict about heads and lengths but lets order, float width and UTF-8 through;
  // that is what decodeCanonical adds
  t.strictSame(decode(fromHex('a2616201616102')), { b: 1, a: 2 }, 'decode reads an unsorted map')
  t.equal(decode(fromHex('fa3fc00000')), 1.5, 'decode reads a wide float')
  t.throws(() => decode(fromHex('1817')), codecError, 'decode also rejects a long head')
  t.throws(() => decode(fromHex('0000')), codecError, 'decode also rejects trailing bytes')
  const error = t.throws(() => decodeCanonical(fromHex('f7')))
  t.ok(error instanceof CodecError, 'a CodecError instance')
  // Reference: RFC 8949 §4.2.1, §3.2 (indefinite lengths), §3.4 (tags), §5.6 (duplicate keys)
})

t.test('exhaustive: every 1- and 2-byte input is refused or is the encoding of its value', async (t) => {
  let accepted = 0
  const input = new Uint8Array(2)
  for (let length = 1; length <= 2; length++) {
    for (let n = 0; n < 256 ** length; n++) {
      const bytes = length === 1 ? Uint8Array.of(n) : Uint8Array.of(n >> 8, n & 0xff)
      input.set(bytes)
      let value: CborValue
      try {
        value = decodeCanonical(bytes)
      } catch (err) {
        if (!(err instanceof CodecError)) {
          t.fail(`${toHex(bytes)}: threw ${(err as Error).name}, not CodecError`)
          return
        }
        continue
      }
      accepted++
      if (!bytesEqual(encode(value), bytes)) {
        t.fail(`${toHex(bytes)} accepted but encodes as ${toHex(encode(value))}`)
        return
      }
    }
  }
  t.ok(accepted > 0, `${accepted} short inputs are canonical`)
})

function reencodesIdentically(bytes: Uint8Array): boolean {
  try {
    return bytesEqual(encode(decode(bytes)), bytes)
  } catch {
    return false
  }
}

t.test('fuzz: a mutated encoding is refused with CodecError or is canonical', async (t) => {
  const seed = 0xbadc0de
  const random = new SeededRandom(seed)
  let refused = 0
  for (let round = 0; round < 4000; round++) {
    const bytes = Uint8Array.from(encode(randomValue(random, 1)))
    const mutation = random.below(4)
    let mutated: Uint8Array
    if (mutation === 0 && bytes.length > 0) {
      bytes[random.below(bytes.length)]! ^= 1 << random.below(8)
      mutated = bytes
    } else if (mutation === 1 && bytes.length > 0) {
      mutated = bytes.subarray(0, random.below(bytes.length))
    } else if (mutation === 2) {
      const extended = new Uint8Array(bytes.length + 1)
      extended.set(bytes)
      extended[bytes.length] = random.below(256)
      mutated = extended
    } else {
      bytes[random.below(Math.max(1, bytes.length))] = random.below(256)
      mutated = bytes
    }
    try {
      const value = decodeCanonical(mutated)
      if (!bytesEqual(encode(value), mutated)) {
        t.fail(`seed ${seed} round ${round}: accepted ${toHex(mutated)} which is not canonical`)
        return
      }
    } catch (err) {
      if (!(err instanceof CodecError)) {
        t.fail(`seed ${seed} round ${round}: ${toHex(mutated)} threw ${(err as Error).name}: ${(err as Error).message}`)
        return
      }
      // decodeCanonical reads the form off the bytes: it must not refuse what re-encodes identically.
      if (reencodesIdentically(mutated)) {
        t.fail(`seed ${seed} round ${round}: refused ${toHex(mutated)}, which is its value's encoding`)
        return
      }
      refused++
    }
  }
  t.ok(refused > 1000, `seed ${seed}: ${refused} of 4000 mutations refused, none with another error`)
})

t.test('encode refuses what it cannot carry faithfully', async (t) => {
  const refuse: Array<[unknown, string]> = [
    [undefined, 'undefined'],
    [[1, undefined], 'undefined in an array'],
    [{ a: undefined }, 'an undefined field'],
    [NaN, 'NaN'],
    [Infinity, 'Infinity'],
    [-Infinity, '-Infinity'],
    [{ a: [NaN] }, 'nested NaN'],
    [2n ** 64n, 'a bigint beyond 64 bits'],
    [Symbol('s'), 'a symbol'],
    [() => 0, 'a function'],
    [new Date(0), 'a Date'],
    ['\ud800', 'a lone high surrogate'],
    ['a\udc00b', 'a lone low surrogate'],
    [{ '\ud83d': 1 }, 'a lone surrogate in a key']
  ]
  for (const [value, why] of refuse) t.throws(() => encode(value), codecError, `refuses ${why}`)
  t.equal(toHex(encode('\ud83d\ude00')), '64f09f9880', 'a surrogate pair is one code point')
  const circular: Record<string, unknown> = {}
  circular.self = circular
  t.throws(() => encode(circular), codecError, 'refuses a circular structure')
  // Reference: RFC 8949 §3.1 (text strings are UTF-8), §4.2.1
})

t.test('byte strings: views and Buffers encode their own bytes only', async (t) => {
  const backing = fromHex('ff0102ff')
  t.equal(toHex(encode(backing.subarray(1, 3))), '420102')
  t.equal(toHex(encode(Buffer.from([1, 2]))), '420102')
  const decoded = decode(fromHex('420102'))
  t.equal((decoded as Uint8Array).constructor, Uint8Array, 'decoded bytes are a plain Uint8Array')
  const input = fromHex('a1617843010203')
  const value = decode<{ x: Uint8Array }>(input)
  input.fill(0)
  t.equal(toHex(value.x), '010203', 'decoded bytes are a copy, not a view of the input')
})

t.test('a __proto__ key is data, not a prototype', async (t) => {
  const value = JSON.parse('{"__proto__":{"polluted":true},"a":1}') as Record<string, CborValue>
  const bytes = encode(value)
  t.equal(toHex(bytes), 'a2' + '616101' + '695f5f70726f746f5f5f' + 'a168706f6c6c75746564f5')
  const decoded = decodeCanonical<Record<string, unknown>>(bytes)
  t.equal(Object.getPrototypeOf(decoded), Object.prototype, 'the prototype is untouched')
  t.ok(Object.hasOwn(decoded, '__proto__'), 'an own property named __proto__')
  t.strictSame(Object.getOwnPropertyDescriptor(decoded, '__proto__')?.value, { polluted: true })
  t.equal((decoded as { polluted?: unknown }).polluted, undefined)
  t.equal(({} as { polluted?: unknown }).polluted, undefined, 'Object.prototype is not polluted')
  t.strictSame(Object.keys(decoded).sort(), ['__proto__', 'a'])
  t.ok(bytesEqual(encode(decoded), bytes), 'and it encodes back to the same bytes')
  const nested = decode<Record<string, unknown>>(encode({ x: JSON.parse('{"__proto__":{"isAdmin":true}}') as CborValue }))
  t.equal((nested.x as { isAdmin?: unknown }).isAdmin, undefined)
  t.equal(({} as { isAdmin?: unknown }).isAdmin, undefined)
})

/** Values of the shapes cbor-direct.ts encodes itself: no floats, no bigints, ASCII map keys only. */
function directValue(random: SeededRandom, depth: number): CborValue {
  switch (depth >= 4 ? random.below(4) : random.below(6)) {
    case 0:
      return random.pick([null, true, false])
    case 1:
      return random.bool() ? random.pick(safeIntEdges) : (random.bool() ? 1 : -1) * (random.nextUint32() * 2 ** 21 + random.below(2 ** 21))
    case 2:
      return random.bool() ? randomString(random, random.pick([0, 5, 30, 80])) : 'a'.repeat(random.pick([23, 24, 47, 48, 255, 256, 70000]))
    case 3:
      return random.bytes(random.pick([0, 1, 23, 24, random.below(300)]))
    case 4:
      return Array.from({ length: random.below(7) }, () => directValue(random, depth + 1))
    default: {
      const entries: Array<[string, CborValue]> = []
      for (let i = random.below(7); i > 0; i--) {
        const key = randomKey(random)
        if (/^[\x00-\x7f]*$/.test(key)) entries.push([key, directValue(random, depth + 1)])
      }
      return Object.fromEntries(entries)
    }
  }
}

t.test('property: the direct encoder writes exactly what cborg writes, and leaves cborg the rest', async (t) => {
  const seed = 20261203
  const random = new SeededRandom(seed)
  const reference = (v: unknown): Uint8Array => cborgEncode(v, rfc8949EncodeOptions)
  let direct = 0
  for (let round = 0; round < 3000; round++) {
    const value = round % 2 === 0 ? directValue(random, 0) : randomValue(random, 0)
    const bytes = encodeDirect(value)
    if (round % 2 === 0 && bytes === undefined) {
      t.fail(`seed ${seed} round ${round}: a direct shape went to cborg`)
      return
    }
    if (bytes === undefined) continue
    direct++
    if (!bytesEqual(bytes, reference(value))) {
      t.equal(toHex(bytes), toHex(reference(value)), `seed ${seed} round ${round}: same bytes as cborg`)
      return
    }
  }
  t.ok(direct > 1500, `${direct} values encoded directly and compared`)
  t.equal(encodeDirect([1.5]), undefined, 'a float goes to cborg')
  t.equal(encodeDirect({ ['é']: 1 }), undefined, 'a non-ASCII key goes to cborg')
  t.equal(encodeDirect(new Map([['a', 1]])), undefined, 'a Map goes to cborg')
  const cyclic: unknown[] = []
  cyclic.push(cyclic)
  t.equal(encodeDirect(cyclic), undefined, 'a cycle goes to cborg, which refuses it')
  t.throws(() => encode(cyclic), codecError)
  t.throws(() => encode({ a: undefined }), { ...codecError, message: /undefined/ })
  t.throws(() => encode(['\ud800']), { ...codecError, message: /lone surrogate/ })
  const reentrant = {
    get a() {
      return encode({ b: 1 })
    }
  }
  t.strictSame(encode(reentrant), reference({ a: reference({ b: 1 }) }), 'a getter that encodes does not share the buffer')
})

/** Whether the direct decoder takes `value`'s encoding: ASCII text, no `__proto__` key (directValue's other shapes all are). */
function directShape(value: CborValue): boolean {
  if (typeof value === 'string') return /^[\x00-\x7f]*$/.test(value)
  if (Array.isArray(value)) return value.every(directShape)
  if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) {
    return Object.entries(value).every(([k, v]) => k !== '__proto__' && directShape(k) && directShape(v))
  }
  return true
}

/** cborg's strict decode as cbor.ts configures it, without the direct path: the reference. */
function cborgDecodeStrict(bytes: Uint8Array): { value: unknown } | { refused: true } {
  try {
    return { value: cborgDecode(bytes, { strict: true, allowIndefinite: false, allowUndefined: false, allowInfinity: false, allowNaN: false, rejectDuplicateMapKeys: true, useMaps: false, allowBigInt: true }) }
  } catch {
    return { refused: true }
  }
}

t.test('property: the direct decoder gives exactly what cborg gives, and leaves cborg the rest', async (t) => {
  const seed = 20261204
  const random = new SeededRandom(seed)
  let direct = 0
  let mutatedDirect = 0
  for (let round = 0; round < 3000; round++) {
    const value = round % 2 === 0 ? directValue(random, 0) : randomValue(random, 0)
    const bytes = encode(value)
    const got = decodeDirect(bytes)
    if (round % 2 === 0 && got === notDirect && directShape(value)) {
      t.fail(`seed ${seed} round ${round}: an ASCII direct shape went to cborg: ${toHex(bytes)}`)
      return
    }
    if (got !== notDirect) {
      direct++
      const expected = cborgDecodeStrict(bytes)
      if (!('value' in expected) || typed(got) !== typed(expected.value)) {
        t.same(typed(got), 'value' in expected ? typed(expected.value) : 'refused', `seed ${seed} round ${round}: same value as cborg`)
        return
      }
    }
    // A mutation: the direct decoder either declines, or agrees with cborg, which must accept it.
    const mutated = Uint8Array.from(bytes)
    if (mutated.length > 0) mutated[random.below(mutated.length)] = random.below(256)
    const cut = random.bool() ? mutated.subarray(0, random.below(mutated.length + 1)) : mutated
    const m = decodeDirect(cut)
    if (m === notDirect) continue
    mutatedDirect++
    const expected = cborgDecodeStrict(cut)
    if (!('value' in expected) || typed(m) !== typed(expected.value)) {
      t.same(typed(m), 'value' in expected ? typed(expected.value) : 'refused', `seed ${seed} round ${round}: mutated ${toHex(cut)}`)
      return
    }
  }
  t.ok(direct > 1500, `${direct} values decoded directly and compared`)
  t.ok(mutatedDirect > 300, `${mutatedDirect} mutated inputs decoded directly and compared`)
  t.equal(decodeDirect(encode([1.5])), notDirect, 'a float goes to cborg')
  t.equal(decodeDirect(encode(['é'])), notDirect, 'non-ASCII text goes to cborg')
  t.equal(decodeDirect(encode([2n ** 63n])), notDirect, 'a bigint goes to cborg')
  t.equal(decodeDirect(Uint8Array.of(0x18, 0x05)), notDirect, 'a longer head than needed goes to cborg, which refuses it')
  t.equal(decodeDirect(Uint8Array.of(0xa2, 0x61, 0x61, 0x01, 0x61, 0x61, 0x02)), notDirect, 'a duplicate key goes to cborg, which refuses it')
  t.equal(decodeDirect(Uint8Array.of(0x01, 0x02)), notDirect, 'trailing bytes go to cborg, which refuses them')
  const proto = decode<Record<string, unknown>>(encode(JSON.parse('{"__proto__":{"x":1}}')))
  t.equal(Object.getPrototypeOf(proto), Object.prototype, 'a __proto__ key (through cborg) is data')
  t.same(Object.keys(proto), ['__proto__'])
  const big = decode<number[]>(encode([Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 32, 1_700_000_000_000]))
  t.same(big, [Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 32, 1_700_000_000_000])
  const bytes = decode<Uint8Array[]>(Buffer.from(encode([Uint8Array.of(1, 2, 3)])))[0]!
  t.equal(Object.getPrototypeOf(bytes), Uint8Array.prototype, 'bytes come back as a plain Uint8Array, even from a Buffer')
  t.equal(bytes.byteLength, bytes.buffer.byteLength, 'a copy, not a view of the input')
})
