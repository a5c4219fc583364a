/**
 * The durable Raft log of a node. LevelRaftStorage implements the consensus core's Storage over a
 * KvStore (LevelDB on disk): it loads the hard state, the latest snapshot and the uncompacted log
 * tail once in `open`, answers the core's synchronous reads from memory, and makes every write
 * durable as ONE atomic batch with sync before memory changes. Memory therefore holds the whole
 * uncompacted tail: the driver keeps it bounded by creating snapshots and compacting.
 *
 * Where the records live: in a KvStore of their own, a LevelDB folder beside the ledger (DIR/raft),
 * not in the ledger's store. `tom verify` insists that the ledger store holds exactly what a replay
 * of the chain writes; the log churns (every entry is written, then deleted by compaction), and its
 * tombstones would slow the ledger's reads and compactions; and the log can be dropped and fetched
 * again from the leader without touching the chain. The keys still carry their own namespace, a
 * lowercase 'r' (the ledger's prefixes are uppercase letters, src/ledger/layout.ts), so that the
 * two could share a store without colliding:
 *
 *   r h          -> hard state { term, vote, commit }
 *   r s          -> the latest snapshot { index, term, confState, data }
 *   r c          -> the compaction point { index, term }: the last entry dropped (0, 0 before any)
 *   r e index    -> entry { index, term, type, data }; the index 8-byte big-endian, so byte order
 *                   is log order
 *
 * All CBOR (src/crypto). Entries live strictly above the compaction point, which is at or below
 * the snapshot's index (equal after applySnapshot or a full compaction; below it between
 * createSnapshot and compact, so that a crash there loses nothing).
 *
 * Failure: memory changes only after a batch resolved, so reads never show what a crash could
 * take back. A batch that fails has an UNKNOWN outcome: LevelDB may have logged it and failed
 * only the fsync (it then refuses every later write itself). Either way the batch is atomic, so
 * the disk holds the state before it or after it, whole. The storage is then failed: memory keeps
 * the last state known durable, reads still answer from it, and every later write rejects with
 * RaftStorageFailedError. The driver must stop; reopening reloads whichever state the disk holds,
 * and Raft resumes from that (the Ready that failed sent nothing, so nobody relied on it).
 */
import {
  assert,
  SnapshotOutOfDateError,
  StorageCompactedError,
  type ConfState,
  type Entry,
  type HardState,
  type Snapshot,
  type Storage
} from '../consensus/index.js'
import { assertEntriesOrdered, copyConfState, tail } from '../consensus/index.js'
import { CodecError, decode, encode } from '../crypto/index.js'
import type { KvOperation, KvStore } from '../ledger/index.js'

/** Every code this module throws, with what it means. */
export const raftStorageErrorCodes = {
  ERR_RAFT_STORAGE_CORRUPT: 'the stored Raft log breaks an invariant (a gap, a term going back, an undecodable record); the node must not start on it',
  ERR_RAFT_STORAGE_FAILED: 'a write of the Raft log failed: it may or may not be on disk, whole; the storage refuses further writes, the node must stop and reopen it',
  ERR_RAFT_STORAGE_CLOSED: 'the Raft storage is closed'
} as const
export type RaftStorageErrorCode = keyof typeof raftStorageErrorCodes

/** What was loaded from disk breaks an invariant. Do not start on it. */
export class RaftStorageCorruptError extends Error {
  override readonly name = 'RaftStorageCorruptError'
  readonly code = 'ERR_RAFT_STORAGE_CORRUPT'
}

/** A write failed, or an earlier one did: its outcome on disk is unknown. Stop and reopen. */
export class RaftStorageFailedError extends Error {
  override readonly name = 'RaftStorageFailedError'
  readonly code = 'ERR_RAFT_STORAGE_FAILED'
}

/** A write after close(). */
export class RaftStorageClosedError extends Error {
  override readonly name = 'RaftStorageClosedError'
  readonly code = 'ERR_RAFT_STORAGE_CLOSED'
}

/** One Ready's worth of durable state, persisted in the order the core demands. */
export interface RaftStorageUpdate {
  snapshot?: Snapshot
  entries: readonly Entry[]
  hardState?: HardState
}

const namespace = 0x72 // r
const keys = {
  hardState: Uint8Array.of(namespace, 0x68), // h
  snapshot: Uint8Array.of(namespace, 0x73), // s
  compacted: Uint8Array.of(namespace, 0x63), // c
  entry(index: number): Uint8Array {
    const key = new Uint8Array(10)
    key[0] = namespace
    key[1] = 0x65 // e
    const view = new DataView(key.buffer)
    view.setUint32(2, Math.floor(index / 2 ** 32))
    view.setUint32(6, index >>> 0)
    return key
  },
  entriesEnd: Uint8Array.of(namespace, 0x66) // just past every 'r e' key
}

function entryIndexOf(key: Uint8Array): number {
  if (key.length !== 10) throw new RaftStorageCorruptError(`an entry key is ${key.length} bytes, not 10`)
  const view = new DataView(key.buffer, key.byteOffset, key.byteLength)
  return view.getUint32(2) * 2 ** 32 + view.getUint32(6)
}

interface LogPoint {
  index: number
  term: number
}

function dummyEntry(point: LogPoint): Entry {
  return { index: point.index, term: point.term, type: 'normal', data: new Uint8Array(0) }
}

// Records are written only by this module; reading them back checks every field anyway, because
// an assertion after reading from disk is what turns a torn or foreign record into a loud stop.

function corrupt(message: string): never {
  throw new RaftStorageCorruptError(message)
}

function decodeRecord(bytes: Uint8Array, what: string): Record<string, unknown> {
  let value: unknown
  try {
    value = decode<unknown>(bytes)
  } catch (err) {
    if (err instanceof CodecError) corrupt(`${what}: ${err.message}`)
    throw err
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) corrupt(`${what} is not a map`)
  return value as Record<string, unknown>
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

function readCount(record: Record<string, unknown>, field: string, what: string): number {
  const value = record[field]
  if (!isCount(value)) corrupt(`${what}: ${field} is not a non-negative integer`)
  return value
}

function readConfState(value: unknown, what: string): ConfState {
  const cs = value as Record<string, unknown> | null
  const ids = (v: unknown): v is number[] => Array.isArray(v) && v.every((id) => isCount(id) && id > 0)
  if (typeof cs !== 'object' || cs === null || !ids(cs.voters) || !ids(cs.learners)) corrupt(`${what}: confState is malformed`)
  return { voters: cs.voters, learners: cs.learners }
}

function readEntry(bytes: Uint8Array, keyIndex: number): Entry {
  const what = `entry ${keyIndex}`
  const r = decodeRecord(bytes, what)
  const index = readCount(r, 'index', what)
  const term = readCount(r, 'term', what)
  if (index !== keyIndex) corrupt(`${what} holds index ${index}`)
  if (r.type !== 'normal' && r.type !== 'confChange') corrupt(`${what}: type is ${String(r.type)}`)
  if (!(r.data instanceof Uint8Array)) corrupt(`${what}: data is not bytes`)
  return { index, term, type: r.type, data: r.data }
}

function readHardState(bytes: Uint8Array): HardState {
  const r = decodeRecord(bytes, 'hard state')
  return { term: readCount(r, 'term', 'hard state'), vote: readCount(r, 'vote', 'hard state'), commit: readCount(r, 'commit', 'hard state') }
}

function readSnapshot(bytes: Uint8Array): Snapshot {
  const r = decodeRecord(bytes, 'snapshot')
  if (!(r.data instanceof Uint8Array)) corrupt('snapshot: data is not bytes')
  const metadata = { index: readCount(r, 'index', 'snapshot'), term: readCount(r, 'term', 'snapshot'), confState: readConfState(r.confState, 'snapshot') }
  return { metadata, data: r.data }
}

function readPoint(bytes: Uint8Array): LogPoint {
  const r = decodeRecord(bytes, 'compaction point')
  return { index: readCount(r, 'index', 'compaction point'), term: readCount(r, 'term', 'compaction point') }
}

function put(key: Uint8Array, value: unknown): KvOperation {
  return { type: 'put', key, value: encode(value) }
}

function putEntry(e: Entry): KvOperation {
  return put(keys.entry(e.index), { index: e.index, term: e.term, type: e.type, data: e.data })
}

function putSnapshot(s: Snapshot): KvOperation {
  const { index, term, confState } = s.metadata
  return put(keys.snapshot, { index, term, confState: copyConfState(confState), data: s.data })
}

function putHardState(hs: HardState): KvOperation {
  return put(keys.hardState, { term: hs.term, vote: hs.vote, commit: hs.commit })
}

function putCompacted(point: LogPoint): KvOperation {
  return put(keys.compacted, { index: point.index, term: point.term })
}

/** What a write will do: the batch, and the change to memory once the batch is durable. */
interface WritePlan<T> {
  ops: KvOperation[]
  install(): T
}

interface LoadedState {
  hardState: HardState
  snapshot: Snapshot
  entries: Entry[]
}

/** Reads everything back and asserts the invariants of a Raft log; throws RaftStorageCorruptError. */
async function load(store: KvStore, genesis: ConfState): Promise<LoadedState> {
  const [hsBytes, snapBytes, pointBytes] = await store.getMany([keys.hardState, keys.snapshot, keys.compacted])
  const hardState = hsBytes === undefined ? { term: 0, vote: 0, commit: 0 } : readHardState(hsBytes)
  const snapshot: Snapshot =
    snapBytes === undefined ? { metadata: { index: 0, term: 0, confState: copyConfState(genesis) }, data: new Uint8Array(0) } : readSnapshot(snapBytes)
  const point = pointBytes === undefined ? { index: 0, term: 0 } : readPoint(pointBytes)
  const snap = snapshot.metadata
  if (point.index > snap.index) corrupt(`the log is compacted up to ${point.index}, past the snapshot at ${snap.index}`)

  const entries: Entry[] = [dummyEntry(point)]
  for await (const [key, value] of store.entries({ gte: keys.entry(0), lt: keys.entriesEnd })) {
    const index = entryIndexOf(key)
    const prev = entries[entries.length - 1] as Entry
    if (index <= point.index) corrupt(`entry ${index} is at or below the compaction point ${point.index} (snapshot at ${snap.index})`)
    if (index !== prev.index + 1) corrupt(`entry ${index} follows ${prev.index}: a gap in the log`)
    const e = readEntry(value, index)
    if (e.term < prev.term) corrupt(`entry ${index} has term ${e.term}, after term ${prev.term}: terms go back`)
    entries.push(e)
  }
  const last = (entries[entries.length - 1] as Entry).index
  if (snap.index > last) corrupt(`the snapshot at ${snap.index} is past the last index ${last}`)
  const snapTermInLog = (entries[snap.index - point.index] as Entry).term
  if (snapTermInLog !== snap.term) corrupt(`the snapshot at ${snap.index} has term ${snap.term}, the log has term ${snapTermInLog} there`)
  if (hardState.commit > last) corrupt(`the hard state commits ${hardState.commit}, past the last index ${last}`)
  return { hardState, snapshot, entries }
}

export class LevelRaftStorage implements Storage {
  readonly #store: KvStore
  #hardState: HardState
  #snapshot: Snapshot
  /**
   * The uncompacted tail, all of it: `#entries[0]` is a dummy holding the index and term of the
   * compaction point, so that `term(firstIndex-1)` answers (as in MemoryStorage).
   */
  #entries: Entry[]
  /** Writes run one at a time, in call order; each is planned against the state the previous left. */
  #queue: Promise<unknown> = Promise.resolve()
  #failed: RaftStorageFailedError | undefined
  #closed = false

  private constructor(store: KvStore, state: LoadedState) {
    this.#store = store
    this.#hardState = state.hardState
    this.#snapshot = state.snapshot
    this.#entries = state.entries
  }

  /**
   * Opens `store` (the storage owns it from now on: close() closes it) and loads the log, asserting
   * its invariants. `genesis` is the membership at index 0, used when no snapshot is stored yet.
   * Throws RaftStorageCorruptError when what is stored is not a valid Raft log.
   */
  static async open(store: KvStore, genesis: ConfState, options: { signal?: AbortSignal } = {}): Promise<LevelRaftStorage> {
    options.signal?.throwIfAborted()
    await store.open()
    try {
      return new LevelRaftStorage(store, await load(store, genesis))
    } catch (err) {
      await store.close().catch(() => undefined)
      throw err
    }
  }

  /** Waits for the writes under way, then closes the store. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#queue.catch(() => undefined)
    await this.#store.close()
  }

  // --- Storage: the core's reads, all from memory ---

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: { ...this.#hardState }, confState: copyConfState(this.#snapshot.metadata.confState) }
  }

  firstIndex(): number {
    return tail.firstIndex(this.#entries)
  }

  lastIndex(): number {
    return tail.lastIndex(this.#entries)
  }

  term(index: number): number {
    return tail.term(this.#entries, index)
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    return tail.entries(this.#entries, lo, hi, maxBytes)
  }

  snapshot(): Snapshot {
    return this.#snapshot
  }

  // --- Writes: each one atomic batch with sync; memory follows once it is durable ---

  /**
   * Persists one Ready: its snapshot (replacing the whole log), then its entries (replacing any
   * suffix they conflict with; entries the compaction point covers are ignored), then its hard
   * state, in ONE atomic synced batch. Resolves once durable; only then do reads show it.
   * Rejects with RaftInvariantError / SnapshotOutOfDateError for an update that breaks the log's
   * invariants (nothing is written), RaftStorageFailedError when the write fails (see the top).
   */
  async persist(update: RaftStorageUpdate, options: { signal?: AbortSignal } = {}): Promise<void> {
    return this.#write(() => this.#planPersist(update), options)
  }

  /** Appends entries, replacing any suffix they conflict with. */
  async append(entries: readonly Entry[], options: { signal?: AbortSignal } = {}): Promise<void> {
    return this.persist({ entries }, options)
  }

  async setHardState(hardState: HardState, options: { signal?: AbortSignal } = {}): Promise<void> {
    return this.persist({ entries: [], hardState }, options)
  }

  /** Replaces the whole log with a snapshot received from the leader. */
  async applySnapshot(snapshot: Snapshot, options: { signal?: AbortSignal } = {}): Promise<void> {
    return this.persist({ snapshot, entries: [] }, options)
  }

  /**
   * Records the application's snapshot of its state as of `index` (an applied, committed index).
   * Call `compact` afterwards to drop the entries it covers.
   */
  async createSnapshot(index: number, confState: ConfState, data: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<Snapshot> {
    return this.#write(() => this.#planCreateSnapshot(index, confState, data), options)
  }

  /** Drops the entries up to and including `index`, which the snapshot must cover. */
  async compact(index: number, options: { signal?: AbortSignal } = {}): Promise<void> {
    return this.#write(() => this.#planCompact(index), options)
  }

  /**
   * Queues a write. The plan is made when its turn comes, against the durable state the previous
   * write left; a plan that throws writes nothing and leaves the storage usable.
   */
  #write<T>(plan: () => WritePlan<T>, options: { signal?: AbortSignal }): Promise<T> {
    const run = async (): Promise<T> => {
      if (this.#failed !== undefined) throw new RaftStorageFailedError(`an earlier write failed: ${this.#failed.message}`, { cause: this.#failed })
      options.signal?.throwIfAborted()
      const p = plan()
      try {
        await this.#store.batch(p.ops, { sync: true })
      } catch (err) {
        this.#failed = new RaftStorageFailedError(`a Raft log write failed, and may or may not be on disk: ${(err as Error).message}`, { cause: err })
        throw this.#failed
      }
      return p.install()
    }
    if (this.#closed) return Promise.reject(new RaftStorageClosedError('the Raft storage is closed'))
    // #queue never rejects: a failure is reported to its caller, and poisons later writes itself.
    const result = this.#queue.then(run)
    this.#queue = result.catch(() => undefined)
    return result
  }

  #planPersist(update: RaftStorageUpdate): WritePlan<void> {
    const ops: KvOperation[] = []
    let snapshot = this.#snapshot
    let hardState = this.#hardState
    // The log after this write: base[0, keep) followed by `added`. `base` is the live array unless
    // a snapshot replaces the log; it is only truncated and extended once the batch is durable.
    let base = this.#entries
    let keep = base.length
    let added: readonly Entry[] = []
    const offset = (): number => (base[0] as Entry).index
    const lastIndex = (): number => offset() + keep - 1 + added.length

    if (update.snapshot !== undefined) {
      const { index, term } = update.snapshot.metadata
      if (index <= snapshot.metadata.index) {
        throw new SnapshotOutOfDateError(`snapshot at ${index} is not newer than the one at ${snapshot.metadata.index}`)
      }
      for (let i = offset() + 1; i <= lastIndex(); i++) ops.push({ type: 'del', key: keys.entry(i) })
      ops.push(putSnapshot(update.snapshot), putCompacted({ index, term }))
      snapshot = update.snapshot
      base = [dummyEntry({ index, term })]
      keep = 1
    }

    const entries = update.entries
    if (entries.length > 0) {
      assertEntriesOrdered(entries, 'LevelRaftStorage.append')
      const first = offset() + 1
      const lastNew = (entries[entries.length - 1] as Entry).index
      if (lastNew >= first) {
        const kept = first > (entries[0] as Entry).index ? entries.slice(first - (entries[0] as Entry).index) : entries
        const start = (kept[0] as Entry).index
        assert(start <= lastIndex() + 1, `append at ${start} leaves a gap after ${lastIndex()}`)
        const prevTerm = (base[start - 1 - offset()] as Entry).term
        assert((kept[0] as Entry).term >= prevTerm, `append: term ${(kept[0] as Entry).term} at ${start} after term ${prevTerm}`)
        for (let i = lastNew + 1; i <= lastIndex(); i++) ops.push({ type: 'del', key: keys.entry(i) })
        for (const e of kept) ops.push(putEntry(e))
        keep = start - offset()
        added = kept
      }
    }

    if (update.hardState !== undefined) {
      const hs = update.hardState
      assert(hs.term >= hardState.term, `hard state term went back from ${hardState.term} to ${hs.term}`)
      hardState = { term: hs.term, vote: hs.vote, commit: hs.commit }
      ops.push(putHardState(hardState))
    }
    // What load() would refuse must never be written.
    assert(hardState.commit <= lastIndex(), `hard state commit ${hardState.commit} is past the last index ${lastIndex()}`)

    return {
      ops,
      install: (): void => {
        this.#snapshot = snapshot
        this.#hardState = hardState
        this.#entries = base
        base.length = keep
        for (const e of added) base.push(e)
      }
    }
  }

  #planCreateSnapshot(index: number, confState: ConfState, data: Uint8Array): WritePlan<Snapshot> {
    const held = this.#snapshot.metadata.index
    if (index <= held) throw new SnapshotOutOfDateError(`snapshot at ${index} is not newer than the one at ${held}`)
    assert(index <= this.lastIndex(), `createSnapshot(${index}) beyond last index ${this.lastIndex()}`)
    assert(index <= this.#hardState.commit, `createSnapshot(${index}) beyond commit ${this.#hardState.commit}`)
    const snapshot: Snapshot = { metadata: { index, term: this.term(index), confState: copyConfState(confState) }, data }
    return {
      ops: [putSnapshot(snapshot)],
      install: (): Snapshot => {
        this.#snapshot = snapshot
        return snapshot
      }
    }
  }

  #planCompact(index: number): WritePlan<void> {
    const offset = this.firstIndex() - 1
    if (index <= offset) throw new StorageCompactedError(`compact(${index}): already compacted up to ${offset}`)
    assert(index <= this.#snapshot.metadata.index, `compact(${index}) beyond the snapshot at ${this.#snapshot.metadata.index}`)
    const point = { index, term: this.term(index) }
    const ops: KvOperation[] = []
    for (let i = offset + 1; i <= index; i++) ops.push({ type: 'del', key: keys.entry(i) })
    ops.push(putCompacted(point))
    return {
      ops,
      install: (): void => {
        this.#entries = [dummyEntry(point), ...this.#entries.slice(index - offset + 1)]
      }
    }
  }
}
