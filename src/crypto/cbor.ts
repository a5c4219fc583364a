/**
 * Deterministic CBOR (RFC 8949 §4.2.1, core deterministic encoding) for everything that is hashed,
 * signed, stored or sent between nodes. Encoding is cbor-direct.ts for the common shapes and cborg
 * with its RFC 8949 map sorter for the rest (the same bytes); decoding, cbor-decode-direct.ts for the
 * common shapes and cborg for the rest (the same values and refusals), is
 * strict (shortest integer and length forms, definite lengths, no undefined, no duplicate or
 * non-string map keys, no tags) and `decodeCanonical` additionally insists that the bytes are exactly
 * what we would have written, so one value has one encoding and one hash.
 */
import { encode as cborgEncode, decode as cborgDecode, rfc8949EncodeOptions, Token } from 'cborg'
import type { EncodeOptions, DecodeOptions } from 'cborg'
import { bytesEqual } from './bytes.js'
import { compareAsciiKeys, DirectEncodeError, encodeDirect, isAscii, loneSurrogatePattern, refusals } from './cbor-direct.js'
import { decodeDirect, notDirect } from './cbor-decode-direct.js'

/** A value that survives a CBOR round trip unchanged. */
export type CborValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | CborValue[]
  | { [key: string]: CborValue }

export class CodecError extends Error {
  override readonly name = 'CodecError'
  readonly code = 'ERR_CODEC'
}


const rfc8949MapSorter = rfc8949EncodeOptions.mapSorter!
const textMajor = 3

/**
 * RFC 8949 order of map entries: bytewise order of the encoded keys. For two ASCII text keys that is
 * shorter first, then string order, without encoding either (cborg's sorter encodes every key it
 * compares). Any other pair goes to cborg's sorter.
 */
function mapSorter(e1: (Token | Token[])[], e2: (Token | Token[])[]): number {
  const a = e1[0]
  const b = e2[0]
  if (a instanceof Token && b instanceof Token && a.type.major === textMajor && b.type.major === textMajor) {
    const x = a.value as string
    const y = b.value as string
    if (isAscii(x) && isAscii(y)) return compareAsciiKeys(x, y)
  }
  return rfc8949MapSorter(e1, e2)
}

const encodeOptions: EncodeOptions = {
  ...rfc8949EncodeOptions,
  mapSorter,
  typeEncoders: {
    // An undefined field would make `{a: undefined}` and `{}` two encodings of one meaning.
    undefined: () => {
      throw new CodecError(refusals.undefined)
    },
    number: (n: number) => {
      if (!Number.isFinite(n)) throw new CodecError(`cannot encode non-finite number ${n}`)
      return null
    },
    // A lone surrogate has no UTF-8 form: it would be written as U+FFFD, so two different strings
    // would share one encoding and a string would not survive the round trip.
    string: (s: string) => {
      if (loneSurrogatePattern.test(s)) throw new CodecError(refusals.loneSurrogate)
      return null
    }
  }
}

const decodeOptions: DecodeOptions = {
  strict: true,
  allowIndefinite: false,
  allowUndefined: false,
  allowInfinity: false,
  allowNaN: false,
  rejectDuplicateMapKeys: true,
  useMaps: false,
  allowBigInt: true
}

/** Encodes `value` deterministically. Throws CodecError for values CBOR cannot carry faithfully. */
export function encode(value: unknown): Uint8Array {
  try {
    return encodeDirect(value) ?? cborgEncode(value, encodeOptions)
  } catch (err) {
    if (err instanceof CodecError) throw err
    if (err instanceof DirectEncodeError) throw new CodecError(err.message)
    throw new CodecError(`cannot encode: ${(err as Error).message}`)
  }
}

/** Decodes strictly; throws CodecError on malformed input or trailing bytes. */
export function decode<T = CborValue>(bytes: Uint8Array): T {
  const direct = decodeDirect(bytes)
  if (direct !== notDirect) return direct as T
  try {
    return cborgDecode(bytes, decodeOptions) as T
  } catch (err) {
    throw new CodecError(`malformed CBOR: ${(err as Error).message}`)
  }
}

/**
 * Decodes and checks that `bytes` is the deterministic encoding of the result (map key order,
 * shortest floats). Use it for anything whose hash matters.
 */
export function decodeCanonical<T = CborValue>(bytes: Uint8Array): T {
  const value = decode<T>(bytes)
  const verdict = deterministicForm(bytes)
  if (verdict === 'unsure' ? !bytesEqual(encode(value), bytes) : !verdict) throw new CodecError('CBOR is not in deterministic encoding')
  return value
}

/**
 * Whether well-formed CBOR (it decoded) is in the form `encode` writes, read straight off the bytes:
 * shortest heads, map keys text in ascending bytewise order of their encodings. Re-encoding the
 * decoded value to compare costs an allocation per item; this walk allocates nothing. It answers
 * 'unsure' for what it does not model (floats, non-ASCII text, tags, simple values, non-text map
 * keys): the caller then re-encodes, so its answer is never looser than the re-encoding's.
 */
function deterministicForm(bytes: Uint8Array): boolean | 'unsure' {
  let at = 0
  // Reads the head at `at` (additional information 0 to 27): its argument, or -1 when a shorter head
  // would do. Lengths fit a number, as the input decoded; a large integer's argument may round.
  const argument = (): number => {
    const info = bytes[at++]! & 0x1f
    if (info < 24) return info
    const width = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : 8
    let arg = 0
    for (let i = 0; i < width; i++) arg = arg * 256 + bytes[at++]!
    const least = width === 1 ? 24 : width === 2 ? 0x100 : width === 4 ? 0x10000 : 0x100000000
    return arg < least ? -1 : arg
  }
  const item = (): boolean | 'unsure' => {
    if (at >= bytes.length) return false
    const first = bytes[at]!
    const major = first >> 5
    if (major === 7) {
      at++
      return first === 0xf4 || first === 0xf5 || first === 0xf6 ? true : 'unsure'
    }
    if (major === 6 || (first & 0x1f) > 27) return 'unsure'
    const arg = argument()
    if (arg < 0) return false
    switch (major) {
      case 0:
      case 1:
        return true
      case 2:
        at += arg
        return at <= bytes.length
      case 3: {
        const end = at + arg
        if (end > bytes.length) return false
        for (; at < end; at++) if (bytes[at]! >= 0x80) return 'unsure'
        return true
      }
      case 4:
        for (let i = 0; i < arg; i++) {
          const v = item()
          if (v !== true) return v
        }
        return true
      default: {
        let prevStart = -1
        let prevEnd = -1
        for (let i = 0; i < arg; i++) {
          const start = at
          if (bytes[start]! >> 5 !== 3) return 'unsure'
          const k = item()
          if (k !== true) return k
          if (prevStart >= 0 && compareRanges(bytes, prevStart, prevEnd, start, at) >= 0) return false
          prevStart = start
          prevEnd = at
          const v = item()
          if (v !== true) return v
        }
        return true
      }
    }
  }
  const verdict = item()
  return verdict === true ? at === bytes.length : verdict
}

/** Bytewise order of bytes[aStart, aEnd) and bytes[bStart, bEnd). */
function compareRanges(bytes: Uint8Array, aStart: number, aEnd: number, bStart: number, bEnd: number): number {
  const n = Math.min(aEnd - aStart, bEnd - bStart)
  for (let i = 0; i < n; i++) {
    const d = bytes[aStart + i]! - bytes[bStart + i]!
    if (d !== 0) return d
  }
  return aEnd - aStart - (bEnd - bStart)
}
