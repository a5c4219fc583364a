/**
 * A bounded cache of reads (and writes) of a keyed store, in two generations: when the young one is full it
 * becomes the old one and the previous old one is dropped. Eviction is O(1); evicting a Map's oldest
 * entries one at a time instead makes V8 skip ever more deleted slots (quadratic).
 */
export class StateCache {
  #young = new Map<string, Uint8Array | null>()
  #old = new Map<string, Uint8Array | null>()
  readonly #generationEntries: number

  /** Holds at most `entries` keys. */
  constructor(entries: number) {
    this.#generationEntries = Math.max(1, Math.floor(entries / 2))
  }

  /** The cached value; null when the key is known to be absent; undefined when not cached. */
  get(key: string): Uint8Array | null | undefined {
    // Not `??`: a null (known absent) in the young generation must hide an older value.
    const young = this.#young.get(key)
    return young !== undefined ? young : this.#old.get(key)
  }

  /** Replaces the value of a cached key; an uncached key stays uncached. */
  update(key: string, value: Uint8Array | null): void {
    if (this.#young.has(key) || this.#old.has(key)) this.set(key, value)
  }

  set(key: string, value: Uint8Array | null): void {
    if (this.#young.size >= this.#generationEntries && !this.#young.has(key)) {
      this.#old = this.#young
      this.#young = new Map()
    }
    this.#young.set(key, value)
  }
}
