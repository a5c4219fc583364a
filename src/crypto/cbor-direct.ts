/**
 * The deterministic CBOR encoder for the shapes the ledger writes on every tx: null, booleans, safe
 * integers, text, bytes, arrays, and plain objects with ASCII keys. It writes straight into one
 * reused buffer, where cborg (with our map sorter and type checks, which take it off its own direct
 * path) builds a token per item and per map entry: encoding was an eighth of a follower's apply.
 *
 * For anything else (floats, bigints, non-ASCII map keys, Maps, typed arrays other than bytes, very
 * deep nesting) it answers undefined and `encode` uses cborg, so the bytes are always cborg's: a test
 * compares the two on random values.
 */

/** Thrown for values no encoding carries faithfully; cbor.ts turns it into its CodecError. */
export class DirectEncodeError extends Error {}

/** Deeper values go to cborg, which also catches cycles. */
const depthMax = 64
/** With the u flag a surrogate pair is one code point, so this matches only unpaired halves. */
export const loneSurrogatePattern = /\p{Cs}/u
/** What `encode` says for values no encoding carries faithfully; cborg's path (cbor.ts) says the same. */
export const refusals = {
  undefined: 'cannot encode undefined (omit the field instead)',
  loneSurrogate: 'cannot encode a string with a lone surrogate (not Unicode text)'
} as const
const unsupported = Symbol('unsupported')

let buf = Buffer.allocUnsafe(64 * 1024)
let at = 0
/** Set while encoding: a getter that encodes (re-entry) would share the buffer, so it goes to cborg. */
let busy = false

function reserve(n: number): void {
  if (at + n <= buf.length) return
  const bigger = Buffer.allocUnsafe(Math.max(buf.length * 2, at + n))
  buf.copy(bigger, 0, 0, at)
  buf = bigger
}

/** A head: major type and argument, in the shortest form. `n` is a safe non-negative integer. */
function head(major: number, n: number): void {
  reserve(9)
  const m = major << 5
  if (n < 24) buf[at++] = m | n
  else if (n < 0x100) {
    buf[at++] = m | 24
    buf[at++] = n
  } else if (n < 0x10000) {
    buf[at++] = m | 25
    buf[at++] = n >> 8
    buf[at++] = n & 0xff
  } else if (n < 0x100000000) {
    buf[at++] = m | 26
    buf.writeUInt32BE(n, at)
    at += 4
  } else {
    buf[at++] = m | 27
    buf.writeUInt32BE(Math.floor(n / 0x100000000), at)
    buf.writeUInt32BE(n >>> 0, at + 4)
    at += 8
  }
}

export function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false
  return true
}

function text(s: string): void {
  if (isAscii(s)) {
    head(3, s.length)
    reserve(s.length)
    if (s.length < 48) for (let i = 0; i < s.length; i++) buf[at++] = s.charCodeAt(i)
    else at += buf.write(s, at, s.length, 'latin1')
    return
  }
  // A lone surrogate has no UTF-8 form: it would be written as U+FFFD, so two strings would share one encoding.
  if (loneSurrogatePattern.test(s)) throw new DirectEncodeError(refusals.loneSurrogate)
  const length = Buffer.byteLength(s, 'utf8')
  head(3, length)
  reserve(length)
  at += buf.write(s, at, length, 'utf8')
}

/** RFC 8949 order for ASCII keys: the shorter encoding first, then bytewise. */
export function compareAsciiKeys(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0)
}

function item(value: unknown, depth: number): typeof unsupported | undefined {
  if (value === null) {
    reserve(1)
    buf[at++] = 0xf6
    return
  }
  switch (typeof value) {
    case 'boolean':
      reserve(1)
      buf[at++] = value ? 0xf5 : 0xf4
      return
    case 'number':
      if (!Number.isSafeInteger(value)) return unsupported
      if (value >= 0) head(0, value)
      else head(1, -1 - value)
      return
    case 'string':
      text(value)
      return
    case 'undefined':
      throw new DirectEncodeError(refusals.undefined)
    case 'object':
      break
    default:
      return unsupported
  }
  if (depth >= depthMax) return unsupported
  if (value instanceof Uint8Array) {
    head(2, value.length)
    reserve(value.length)
    buf.set(value, at)
    at += value.length
    return
  }
  if (Array.isArray(value)) {
    head(4, value.length)
    for (const v of value) if (item(v, depth + 1) === unsupported) return unsupported
    return
  }
  // Not `constructor === Object`: a map may have a key "constructor". Class instances go to cborg.
  const proto = Object.getPrototypeOf(value) as unknown
  if (proto !== Object.prototype && proto !== null) return unsupported
  const record = value as Record<string, unknown>
  const keys = Object.keys(record)
  for (const k of keys) if (!isAscii(k)) return unsupported
  keys.sort(compareAsciiKeys)
  head(5, keys.length)
  for (const k of keys) {
    text(k)
    if (item(record[k], depth + 1) === unsupported) return unsupported
  }
  return
}

/** The deterministic encoding of `value`, or undefined when it holds something only cborg encodes. */
export function encodeDirect(value: unknown): Uint8Array | undefined {
  if (busy) return undefined
  busy = true
  try {
    at = 0
    if (item(value, 0) === unsupported) return undefined
    // A copy: the buffer is reused by the next call.
    const out = new Uint8Array(at)
    out.set(buf.subarray(0, at))
    return out
  } finally {
    busy = false
  }
}
