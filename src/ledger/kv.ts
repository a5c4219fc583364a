/**
 * The ordered key-value store the ledger keeps everything in. Two implementations pass one shared
 * test suite (test/ledger/kv-suite.ts): LevelKvStore on disk, MemoryKvStore for tests and for
 * replaying a chain in `verify`.
 */

export type KvOperation =
  | { readonly type: 'put'; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly type: 'del'; readonly key: Uint8Array }

export interface KvRange {
  readonly gt?: Uint8Array
  readonly gte?: Uint8Array
  readonly lt?: Uint8Array
  readonly lte?: Uint8Array
  readonly reverse?: boolean
  readonly limit?: number
}

export interface KvStore {
  open(): Promise<void>
  close(): Promise<void>
  get(key: Uint8Array): Promise<Uint8Array | undefined>
  /** The same read, synchronously: for applying a block, which reads key after key and can wait for none. */
  getSync(key: Uint8Array): Uint8Array | undefined
  /** Several keys in one call; undefined where a key is missing. */
  getMany(keys: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]>
  /**
   * Applies all operations or none. With `sync`, resolves only once the write is durable (fsync),
   * so an acknowledged write survives power loss, not just a process crash.
   */
  batch(operations: readonly KvOperation[], options?: { sync?: boolean }): Promise<void>
  /** Entries in byte order of keys (reversed with `reverse`), as of the call (a snapshot). */
  entries(range?: KvRange): AsyncIterable<[Uint8Array, Uint8Array]>
}
