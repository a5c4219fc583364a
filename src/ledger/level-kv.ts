/** The LevelDB KvStore (classic-level through `level`), binary keys and values. */
import { Level } from 'level'
import { asUint8Array } from '../crypto/index.js'
import type { KvOperation, KvRange, KvStore } from './kv.js'

export interface LevelKvOptions {
  /**
   * LevelDB's memtable: writes gather here until it is this full, then go to disk as one sorted file.
   * Default 4 MiB (LevelDB's own).
   */
  readonly writeBufferBytes?: number
}

export class LevelKvStore implements KvStore {
  readonly #db: Level<Uint8Array, Uint8Array>
  readonly #writeBufferBytes: number | undefined

  constructor(
    readonly location: string,
    options: LevelKvOptions = {}
  ) {
    this.#db = new Level<Uint8Array, Uint8Array>(location, { keyEncoding: 'view', valueEncoding: 'view' })
    this.#writeBufferBytes = options.writeBufferBytes
  }

  async open(): Promise<void> {
    await this.#db.open({ createIfMissing: true, ...(this.#writeBufferBytes === undefined ? {} : { writeBufferSize: this.#writeBufferBytes }) })
  }

  async close(): Promise<void> {
    await this.#db.close()
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.getSync(key)
  }

  getSync(key: Uint8Array): Uint8Array | undefined {
    // Synchronous underneath for get too: contracts read keys one after another, and a hop through
    // libuv's thread pool per read costs more than the read (LevelDB serves it from its memtable, block
    // cache or the OS page cache). The rare read that goes to disk blocks the event loop for that read.
    const value = this.#db.getSync(key)
    return value === undefined ? undefined : asUint8Array(value)
  }

  async getMany(keys: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    if (keys.length === 0) return []
    const values = await this.#db.getMany(keys as Uint8Array[])
    return values.map((v) => (v === undefined ? undefined : asUint8Array(v)))
  }

  async batch(operations: readonly KvOperation[], options: { sync?: boolean } = {}): Promise<void> {
    // A chained batch, not the array form: it is written atomically all the same, and costs the main
    // thread about a sixth (abstract-level clones and re-checks every op of an array batch).
    const batch = this.#db.batch()
    for (const op of operations) {
      if (op.type === 'put') batch.put(op.key, op.value)
      else batch.del(op.key)
    }
    await batch.write({ sync: options.sync === true })
  }

  async *entries(range: KvRange = {}): AsyncIterable<[Uint8Array, Uint8Array]> {
    const options: Record<string, unknown> = {}
    for (const k of ['gt', 'gte', 'lt', 'lte'] as const) if (range[k] !== undefined) options[k] = range[k]
    if (range.reverse === true) options.reverse = true
    if (range.limit !== undefined) options.limit = range.limit
    // Plain Uint8Array views, not Buffers, so that both stores hand back the same type.
    for await (const [key, value] of this.#db.iterator(options)) yield [asUint8Array(key), asUint8Array(value)]
  }
}
