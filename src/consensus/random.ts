/**
 * A small seeded PRNG (mulberry32) so that every run of the core and of the simulation replays
 * exactly from its seed. Not cryptographic: it only spreads election timeouts and drives tests.
 */
import { assert } from './errors.js'
import type { RandomSource } from './types.js'

export class SeededRandom implements RandomSource {
  #state: number

  constructor(seed: number) {
    assert(Number.isSafeInteger(seed), `seed must be a safe integer, got ${seed}`)
    // Fold the high bits in so that seeds above 2^32 still differ.
    this.#state = (seed ^ Math.floor(seed / 0x100000000)) >>> 0
  }

  /** A uniformly distributed float in [0, 1). */
  nextFloat(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0
    let t = this.#state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  nextInt(n: number): number {
    assert(Number.isSafeInteger(n) && n > 0, `nextInt bound must be a positive integer, got ${n}`)
    return Math.floor(this.nextFloat() * n)
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.nextFloat() < p
  }

  /** A uniformly chosen element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    assert(items.length > 0, 'pick from an empty array')
    return items[this.nextInt(items.length)] as T
  }
}
