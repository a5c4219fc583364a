/**
 * An in-memory KvStore: a Map for lookups, and a sorted key array for ranges that is rebuilt only
 * when a range is read after keys were added or removed (replaying a chain writes many keys and
 * reads few ranges). Keys are held as latin1 strings, whose code-unit order is the bytes' order, so
 * the JS string comparison sorts like LevelDB.
 */
import type { KvOperation, KvRange, KvStore } from './kv.js'

function keyString(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1')
}

function keyBytes(key: string): Uint8Array {
  return new Uint8Array(Buffer.from(key, 'latin1'))
}

export class MemoryKvStore implements KvStore {
  readonly #values = new Map<string, Uint8Array>()
  #sorted: string[] = []
  #sortedValid = true
  #open = false

  async open(): Promise<void> {
    this.#open = true
  }

  async close(): Promise<void> {
    this.#open = false
  }

  #checkOpen(): void {
    if (!this.#open) throw new Error('store is not open')
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.getSync(key)
  }

  getSync(key: Uint8Array): Uint8Array | undefined {
    this.#checkOpen()
    return this.#values.get(keyString(key))
  }

  async getMany(keys: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    this.#checkOpen()
    return keys.map((key) => this.#values.get(keyString(key)))
  }

  async batch(operations: readonly KvOperation[]): Promise<void> {
    this.#checkOpen()
    for (const op of operations) {
      const k = keyString(op.key)
      if (op.type === 'put') {
        if (!this.#values.has(k)) this.#sortedValid = false
        this.#values.set(k, Uint8Array.from(op.value))
      } else if (this.#values.delete(k)) {
        this.#sortedValid = false
      }
    }
  }

  /** Index of the first key >= k. */
  #lowerBound(k: string): number {
    let lo = 0
    let hi = this.#sorted.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.#sorted[mid]! < k) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  async *entries(range: KvRange = {}): AsyncIterable<[Uint8Array, Uint8Array]> {
    this.#checkOpen()
    if (!this.#sortedValid) {
      this.#sorted = [...this.#values.keys()].sort()
      this.#sortedValid = true
    }
    let start = 0
    let end = this.#sorted.length
    if (range.gte !== undefined) start = Math.max(start, this.#lowerBound(keyString(range.gte)))
    if (range.gt !== undefined) {
      const k = keyString(range.gt)
      let i = this.#lowerBound(k)
      if (this.#sorted[i] === k) i++
      start = Math.max(start, i)
    }
    if (range.lt !== undefined) end = Math.min(end, this.#lowerBound(keyString(range.lt)))
    if (range.lte !== undefined) {
      const k = keyString(range.lte)
      let i = this.#lowerBound(k)
      if (this.#sorted[i] === k) i++
      end = Math.min(end, i)
    }
    const limit = range.limit ?? Infinity
    // Copy the selection first: the store may change while the caller iterates.
    const keys: string[] = []
    if (range.reverse === true) for (let i = end - 1; i >= start && keys.length < limit; i--) keys.push(this.#sorted[i]!)
    else for (let i = start; i < end && keys.length < limit; i++) keys.push(this.#sorted[i]!)
    const snapshot = keys.map((k) => [keyBytes(k), this.#values.get(k)!] as [Uint8Array, Uint8Array])
    yield* snapshot
  }
}
