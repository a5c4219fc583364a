/** Byte-array conversions and comparison used across modules. */

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Lexicographic byte order, as LevelDB sorts keys. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!
    if (d !== 0) return d
  }
  return a.length - b.length
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

const hexPattern = /^(?:[0-9a-f]{2})*$/

/** Parses lower-case hex; throws on anything else so that one id has one spelling. */
export function fromHex(hex: string): Uint8Array {
  if (!hexPattern.test(hex)) throw new TypeError('not lower-case hex of whole bytes')
  return new Uint8Array(Buffer.from(hex, 'hex'))
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0
  for (const p of parts) length += p.length
  const out = new Uint8Array(length)
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}

/** A plain Uint8Array view (not a Buffer subclass), so that encoders and comparisons treat it alike. */
export function asUint8Array(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
