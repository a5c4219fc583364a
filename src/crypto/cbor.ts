/**
 * Deterministic CBOR (RFC 8949 §4.2.1, core deterministic encoding) for everything that is hashed,
 * signed, stored or sent between nodes. Encoding is cborg with its RFC 8949 map sorter; decoding is
 * strict (shortest integer and length forms, definite lengths, no undefined, no duplicate or
 * non-string map keys, no tags) and `decodeCanonical` additionally insists that the bytes are exactly
 * what we would have written, so one value has one encoding and one hash.
 */
import { encode as cborgEncode, decode as cborgDecode, rfc8949EncodeOptions } from 'cborg'
import type { EncodeOptions, DecodeOptions } from 'cborg'
import { bytesEqual } from './bytes.js'

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

// With the u flag a surrogate pair is one code point, so this matches only unpaired halves.
const loneSurrogatePattern = /\p{Cs}/u

const encodeOptions: EncodeOptions = {
  ...rfc8949EncodeOptions,
  typeEncoders: {
    // An undefined field would make `{a: undefined}` and `{}` two encodings of one meaning.
    undefined: () => {
      throw new CodecError('cannot encode undefined (omit the field instead)')
    },
    number: (n: number) => {
      if (!Number.isFinite(n)) throw new CodecError(`cannot encode non-finite number ${n}`)
      return null
    },
    // A lone surrogate has no UTF-8 form: it would be written as U+FFFD, so two different strings
    // would share one encoding and a string would not survive the round trip.
    string: (s: string) => {
      if (loneSurrogatePattern.test(s)) throw new CodecError('cannot encode a string with a lone surrogate (not Unicode text)')
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
    return cborgEncode(value, encodeOptions)
  } catch (err) {
    if (err instanceof CodecError) throw err
    throw new CodecError(`cannot encode: ${(err as Error).message}`)
  }
}

/** Decodes strictly; throws CodecError on malformed input or trailing bytes. */
export function decode<T = CborValue>(bytes: Uint8Array): T {
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
  if (!bytesEqual(encode(value), bytes)) throw new CodecError('CBOR is not in deterministic encoding')
  return value
}
