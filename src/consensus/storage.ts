/**
 * The storage contract of the Raft core and its in-memory implementation. The core only reads
 * storage; the driver writes it while processing a Ready (snapshot, entries, hard state) and
 * compacts it after the application has taken a snapshot. The LevelDB implementation written
 * elsewhere must pass the same suite (test/consensus/storage-suite.ts).
 */
import { entryOverheadBytes } from './constants.js'
import {
  assert,
  SnapshotOutOfDateError,
  StorageCompactedError,
  StorageUnavailableError
} from './errors.js'
import type { ConfState, Entry, HardState, Snapshot } from './types.js'

/**
 * What the core reads. Calls are synchronous: a disk-backed implementation keeps what the core
 * may read (the uncompacted log tail, the hard state, the latest snapshot) readable without
 * awaiting, e.g. cached in memory.
 *
 * Contract:
 * - `firstIndex()` is the index of the first entry still held: the latest snapshot's (or
 *   compaction point's) index + 1; `lastIndex()` is `firstIndex() - 1` when no entry is held.
 * - `term(i)` answers for i in [firstIndex()-1, lastIndex()]: the entry just before the first one
 *   is remembered (its term is needed for the log consistency check). Below, it throws
 *   StorageCompactedError; above, StorageUnavailableError.
 * - `entries(lo, hi, maxBytes)` returns the entries in [lo, hi), at least one when lo < hi, and
 *   no more than fit in maxBytes after the first. lo < firstIndex() throws StorageCompactedError,
 *   hi > lastIndex()+1 throws StorageUnavailableError.
 * - `snapshot()` returns the latest snapshot (index 0 with the genesis membership before any).
 * - `initialState()` returns the persisted hard state and the membership of the latest snapshot.
 */
export interface Storage {
  initialState(): { hardState: HardState; confState: ConfState }
  entries(lo: number, hi: number, maxBytes: number): Entry[]
  term(index: number): number
  firstIndex(): number
  lastIndex(): number
  snapshot(): Snapshot
}

/** Bytes an entry counts for when limiting message and batch sizes. */
export function entryBytes(entry: Entry): number {
  return entry.data.length + entryOverheadBytes
}

/** The longest prefix of `entries` that fits in maxBytes; never fewer than one entry. */
export function limitEntryBytes(entries: Entry[], maxBytes: number): Entry[] {
  if (entries.length === 0) return entries
  let bytes = entryBytes(entries[0] as Entry)
  let n = 1
  for (; n < entries.length; n++) {
    bytes += entryBytes(entries[n] as Entry)
    if (bytes > maxBytes) break
  }
  return n === entries.length ? entries : entries.slice(0, n)
}

/** Asserts that entries have consecutive indexes and non-decreasing terms. */
export function assertEntriesOrdered(entries: readonly Entry[], context: string): void {
  for (let i = 1; i < entries.length; i++) {
    const prev = entries[i - 1] as Entry
    const cur = entries[i] as Entry
    assert(cur.index === prev.index + 1, `${context}: index ${cur.index} follows ${prev.index}`)
    assert(cur.term >= prev.term, `${context}: term ${cur.term} at ${cur.index} after term ${prev.term}`)
  }
}

export function copyConfState(cs: ConfState): ConfState {
  return { voters: [...cs.voters], learners: [...cs.learners] }
}

/**
 * Reads of an in-memory log tail whose element 0 is a dummy holding the index and term of the last
 * compacted entry. Shared by MemoryStorage and the durable storage, which keeps its tail the same way.
 */
export const tail = {
  firstIndex(entries: readonly Entry[]): number {
    return (entries[0] as Entry).index + 1
  },

  lastIndex(entries: readonly Entry[]): number {
    return (entries[entries.length - 1] as Entry).index
  },

  term(entries: readonly Entry[], index: number): number {
    const offset = (entries[0] as Entry).index
    const last = tail.lastIndex(entries)
    if (index < offset) throw new StorageCompactedError(`term(${index}): compacted up to ${offset}`)
    if (index > last) throw new StorageUnavailableError(`term(${index}): last index is ${last}`)
    return (entries[index - offset] as Entry).term
  },

  entries(entries: readonly Entry[], lo: number, hi: number, maxBytes: number): Entry[] {
    const offset = (entries[0] as Entry).index
    const last = tail.lastIndex(entries)
    if (lo <= offset) throw new StorageCompactedError(`entries(${lo}): compacted up to ${offset}`)
    if (hi > last + 1) throw new StorageUnavailableError(`entries(.., ${hi}): last index is ${last}`)
    assert(lo <= hi, `entries(${lo}, ${hi}): lo > hi`)
    return limitEntryBytes(entries.slice(lo - offset, hi - offset), maxBytes)
  }
}

/**
 * Storage in memory, for tests, the simulation and single-process use. `entries[0]` is a dummy
 * holding the index and term of the last compacted entry, so that `term(firstIndex-1)` answers.
 */
export class MemoryStorage implements Storage {
  #hardState: HardState = { term: 0, vote: 0, commit: 0 }
  #snapshot: Snapshot
  #entries: Entry[]

  /** `genesis` is the membership every node of the network starts from (index 0). */
  constructor(genesis: ConfState = { voters: [], learners: [] }) {
    this.#snapshot = { metadata: { index: 0, term: 0, confState: copyConfState(genesis) }, data: new Uint8Array(0) }
    this.#entries = [{ term: 0, index: 0, type: 'normal', data: new Uint8Array(0) }]
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: { ...this.#hardState }, confState: copyConfState(this.#snapshot.metadata.confState) }
  }

  setHardState(hs: HardState): void {
    assert(hs.term >= this.#hardState.term, `hard state term went back from ${this.#hardState.term} to ${hs.term}`)
    this.#hardState = { ...hs }
  }

  #offset(): number {
    return (this.#entries[0] as Entry).index
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

  /** Replaces the whole log with a snapshot received from the leader. */
  applySnapshot(snapshot: Snapshot): void {
    const { index, term } = snapshot.metadata
    if (index <= this.#snapshot.metadata.index) {
      throw new SnapshotOutOfDateError(`snapshot at ${index} is not newer than the one at ${this.#snapshot.metadata.index}`)
    }
    this.#snapshot = snapshot
    this.#entries = [{ term, index, type: 'normal', data: new Uint8Array(0) }]
  }

  /**
   * Records the application's snapshot of its state as of `index` (an applied index). Call
   * `compact` afterwards to drop the entries it covers.
   */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.#snapshot.metadata.index) {
      throw new SnapshotOutOfDateError(`snapshot at ${index} is not newer than the one at ${this.#snapshot.metadata.index}`)
    }
    assert(index <= this.lastIndex(), `createSnapshot(${index}) beyond last index ${this.lastIndex()}`)
    assert(index <= this.#hardState.commit, `createSnapshot(${index}) beyond commit ${this.#hardState.commit}`)
    this.#snapshot = { metadata: { index, term: this.term(index), confState: copyConfState(confState) }, data }
    return this.#snapshot
  }

  /**
   * Drops the entries up to and including `index`. Only what a snapshot covers may go: a
   * follower that needs a dropped entry is sent the snapshot instead.
   */
  compact(index: number): void {
    const offset = this.#offset()
    if (index <= offset) throw new StorageCompactedError(`compact(${index}): already compacted up to ${offset}`)
    assert(index <= this.#snapshot.metadata.index, `compact(${index}) beyond the snapshot at ${this.#snapshot.metadata.index}`)
    const kept = this.#entries.slice(index - offset)
    const dummy = kept[0] as Entry
    this.#entries = [{ term: dummy.term, index: dummy.index, type: 'normal', data: new Uint8Array(0) }, ...kept.slice(1)]
  }

  /**
   * Appends entries, replacing any suffix they conflict with. Entries at or below the compaction
   * point are ignored (they are covered by the snapshot).
   */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return
    assertEntriesOrdered(entries, 'MemoryStorage.append')
    const first = this.firstIndex()
    const last = (entries[entries.length - 1] as Entry).index
    if (last < first) return
    const kept = first > (entries[0] as Entry).index ? entries.slice(first - (entries[0] as Entry).index) : entries
    const start = (kept[0] as Entry).index
    assert(start <= this.lastIndex() + 1, `append at ${start} leaves a gap after ${this.lastIndex()}`)
    const prevTerm = this.term(start - 1)
    assert((kept[0] as Entry).term >= prevTerm, `append: term ${(kept[0] as Entry).term} at ${start} after term ${prevTerm}`)
    this.#entries = [...this.#entries.slice(0, start - this.#offset()), ...kept]
  }
}
