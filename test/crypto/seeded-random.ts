/**
 * A small seeded generator (mulberry32) for the property tests in this folder, so that a failure
 * replays from the seed printed in its assertion message. Not for keys: it is predictable by design.
 */
export class SeededRandom {
  readonly seed: number
  #state: number

  constructor(seed: number) {
    this.seed = seed >>> 0
    this.#state = this.seed
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0
    let z = this.#state
    z = Math.imul(z ^ (z >>> 15), z | 1)
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61)
    return (z ^ (z >>> 14)) >>> 0
  }

  /** A uniform integer in [0, bound), bound at most 2^32. */
  below(bound: number): number {
    return Math.floor((this.nextUint32() / 2 ** 32) * bound)
  }

  /** A uniform integer in [min, max], both inclusive. */
  intBetween(min: number, max: number): number {
    return min + this.below(max - min + 1)
  }

  bool(): boolean {
    return (this.nextUint32() & 1) === 1
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list')
    return items[this.below(items.length)]!
  }

  bytes(length: number): Uint8Array<ArrayBuffer> {
    const out = new Uint8Array(length)
    for (let i = 0; i < length; i++) out[i] = this.nextUint32() & 0xff
    return out
  }

  /** A uniform bigint of `bits` random bits. */
  bigBits(bits: number): bigint {
    let n = 0n
    for (let i = 0; i < bits; i += 32) n = (n << 32n) | BigInt(this.nextUint32())
    return n & ((1n << BigInt(bits)) - 1n)
  }
}
