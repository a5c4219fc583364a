/** A KvStore whose next batch fails: before writing anything, or after writing it whole (a failed fsync). */
import type { KvOperation, KvRange, KvStore } from '../../src/ledger/index.js'

export class FaultyKvStore implements KvStore {
  failNext: 'before' | 'after' | undefined
  constructor(readonly inner: KvStore) {}
  open(): Promise<void> {
    return this.inner.open()
  }
  close(): Promise<void> {
    return this.inner.close()
  }
  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.inner.get(key)
  }
  getSync(key: Uint8Array): Uint8Array | undefined {
    return this.inner.getSync(key)
  }
  getMany(keys: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    return this.inner.getMany(keys)
  }
  async batch(operations: readonly KvOperation[], options?: { sync?: boolean }): Promise<void> {
    const mode = this.failNext
    this.failNext = undefined
    if (mode === 'before') throw new Error('injected: no space left on device')
    await this.inner.batch(operations, options)
    if (mode === 'after') throw new Error('injected: fsync failed')
  }
  entries(range?: KvRange): AsyncIterable<[Uint8Array, Uint8Array]> {
    return this.inner.entries(range)
  }
}
