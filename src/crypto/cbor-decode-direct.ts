/**
 * The strict CBOR decoder for the shapes the ledger reads on every tx: null, booleans, safe integers,
 * ASCII text, bytes, arrays and maps with ASCII text keys. It builds the values straight from the
 * bytes, where cborg makes a token object per item first: decoding a tx was a tenth of a follower's
 * apply and of the leader's work per submitted tx.
 *
 * It accepts only what cborg's strict decode (cbor.ts) accepts, and gives the same value. For
 * anything else (floats, non-ASCII text, tags, bigints, non-shortest or indefinite forms, a duplicate
 * or `__proto__` key, truncated or trailing bytes, deep nesting) it answers `notDirect` and the
 * caller decodes with cborg, which gives the value or the error. A test holds the two to the same
 * answers on random and mutated inputs.
 */

export const notDirect = Symbol('notDirect')

/** Deeper values go to cborg. */
const depthMax = 64
/** 2^32, as a multiplier: numbers, not bit shifts, past 31 bits. */
const twoTo32 = 0x100000000
/** Below this length a loop of fromCharCode beats creating a string through Buffer. */
const shortTextMax = 16

const empty = new Uint8Array(0)
let bytes: Uint8Array = empty
let pos = 0

/** Thrown inside to abandon the direct path; never escapes decodeDirect. */
const bail = Symbol('bail')

export function decodeDirect(input: Uint8Array): unknown {
  bytes = input
  pos = 0
  try {
    const value = item(0)
    return pos === input.length ? value : notDirect
  } catch (err) {
    if (err === bail) return notDirect
    throw err
  } finally {
    // Not to keep the input alive until the next call.
    bytes = empty
  }
}

/** The argument of the head at `pos` (additional information 0 to 27), in its shortest form only. */
function argument(info: number): number {
  if (info < 24) return info
  let n: number
  if (info === 24) {
    need(1)
    n = bytes[pos++]!
    if (n < 24) throw bail
  } else if (info === 25) {
    need(2)
    n = (bytes[pos]! << 8) | bytes[pos + 1]!
    pos += 2
    if (n < 0x100) throw bail
  } else if (info === 26) {
    need(4)
    n = uint32At(pos)
    pos += 4
    if (n < 0x10000) throw bail
  } else if (info === 27) {
    need(8)
    const hi = uint32At(pos)
    const lo = uint32At(pos + 4)
    pos += 8
    // From 2^53 on, cborg gives a bigint (or refuses); below 2^32 the form is not the shortest.
    if (hi === 0 || hi >= 0x200000) throw bail
    n = hi * twoTo32 + lo
  } else throw bail
  return n
}

function uint32At(at: number): number {
  return bytes[at]! * 0x1000000 + ((bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!)
}

function need(n: number): void {
  if (pos + n > bytes.length) throw bail
}

function item(depth: number): unknown {
  if (depth > depthMax) throw bail
  need(1)
  const first = bytes[pos++]!
  const major = first >> 5
  const info = first & 0x1f
  switch (major) {
    case 0: {
      const n = argument(info)
      if (n > Number.MAX_SAFE_INTEGER) throw bail
      return n
    }
    case 1: {
      const n = argument(info)
      if (n > Number.MAX_SAFE_INTEGER - 1) throw bail
      return -1 - n
    }
    case 2: {
      const n = argument(info)
      need(n)
      // A plain Uint8Array copy, as cborg makes (Buffer's slice would be a view, keeping the input alive).
      const out = new Uint8Array(n)
      out.set(bytes.subarray(pos, pos + n))
      pos += n
      return out
    }
    case 3:
      return text(argument(info))
    case 4: {
      const n = argument(info)
      // Each element takes at least a byte: a length past the input is truncated input.
      need(n)
      const out = new Array(n)
      for (let i = 0; i < n; i++) out[i] = item(depth + 1)
      return out
    }
    case 5: {
      const n = argument(info)
      need(n * 2)
      const out: Record<string, unknown> = {}
      for (let i = 0; i < n; i++) {
        need(1)
        const keyHead = bytes[pos++]!
        if (keyHead >> 5 !== 3) throw bail
        const key = text(argument(keyHead & 0x1f))
        if (key === '__proto__' || Object.hasOwn(out, key)) throw bail
        out[key] = item(depth + 1)
      }
      return out
    }
    case 7:
      if (first === 0xf4) return false
      if (first === 0xf5) return true
      if (first === 0xf6) return null
      throw bail
    default:
      throw bail
  }
}

function text(n: number): string {
  need(n)
  const end = pos + n
  if (n <= shortTextMax) {
    let s = ''
    for (let i = pos; i < end; i++) {
      const c = bytes[i]!
      if (c >= 0x80) throw bail
      s += String.fromCharCode(c)
    }
    pos = end
    return s
  }
  for (let i = pos; i < end; i++) if (bytes[i]! >= 0x80) throw bail
  const s = Buffer.from(bytes.buffer, bytes.byteOffset + pos, n).toString('latin1')
  pos = end
  return s
}
