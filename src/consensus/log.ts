/**
 * The Raft log as the core sees it: the durable part in Storage, followed by the unstable part
 * (entries and possibly a snapshot received but not yet persisted by the driver). Owns the
 * commit and applied indexes and the log-level rules: the consistency check, conflict
 * truncation, the up-to-date comparison for votes and the conflict hint for fast backtracking.
 */
import { assert, StorageCompactedError } from './errors.js'
import { assertEntriesOrdered, limitEntryBytes, type Storage } from './storage.js'
import type { Entry, Snapshot } from './types.js'

/** The not-yet-persisted tail: entries from `offset` on, or a snapshot ending at `offset - 1`. */
class Unstable {
  snapshot: Snapshot | undefined
  entries: Entry[] = []
  offset: number

  constructor(offset: number) {
    this.offset = offset
  }

  maybeFirstIndex(): number | undefined {
    return this.snapshot === undefined ? undefined : this.snapshot.metadata.index + 1
  }

  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1
    return this.snapshot === undefined ? undefined : this.snapshot.metadata.index
  }

  maybeTerm(index: number): number | undefined {
    if (index < this.offset) {
      return this.snapshot !== undefined && this.snapshot.metadata.index === index ? this.snapshot.metadata.term : undefined
    }
    const last = this.maybeLastIndex()
    if (last === undefined || index > last) return undefined
    return (this.entries[index - this.offset] as Entry).term
  }

  stableTo(index: number, term: number): void {
    // A newer append may have replaced the entry the driver persisted; then nothing is stable yet.
    if (index < this.offset || this.maybeTerm(index) !== term) return
    this.entries = this.entries.slice(index + 1 - this.offset)
    this.offset = index + 1
  }

  stableSnapTo(index: number): void {
    if (this.snapshot !== undefined && this.snapshot.metadata.index === index) this.snapshot = undefined
  }

  restore(snapshot: Snapshot): void {
    this.offset = snapshot.metadata.index + 1
    this.entries = []
    this.snapshot = snapshot
  }

  truncateAndAppend(entries: Entry[]): void {
    const after = (entries[0] as Entry).index
    if (after === this.offset + this.entries.length) {
      this.entries = this.entries.concat(entries)
    } else if (after <= this.offset) {
      // Replaces all unstable entries, and the stable ones from `after` on once persisted.
      this.offset = after
      this.entries = entries
    } else {
      this.entries = this.entries.slice(0, after - this.offset).concat(entries)
    }
  }

  slice(lo: number, hi: number): Entry[] {
    assert(lo >= this.offset && hi <= this.offset + this.entries.length, `unstable slice [${lo}, ${hi}) out of [${this.offset}, ${this.offset + this.entries.length})`)
    return this.entries.slice(lo - this.offset, hi - this.offset)
  }
}

export class RaftLog {
  readonly #storage: Storage
  readonly #unstable: Unstable
  /** Highest index known to be committed (stored on a quorum). */
  committed: number
  /** Highest index the application has applied. applied <= committed. */
  applied: number

  constructor(storage: Storage) {
    this.#storage = storage
    const first = storage.firstIndex()
    const last = storage.lastIndex()
    this.#unstable = new Unstable(last + 1)
    this.committed = first - 1
    this.applied = first - 1
  }

  firstIndex(): number {
    return this.#unstable.maybeFirstIndex() ?? this.#storage.firstIndex()
  }

  lastIndex(): number {
    return this.#unstable.maybeLastIndex() ?? this.#storage.lastIndex()
  }

  /** The term of the entry at `index`, or undefined if it is compacted away or beyond the log. */
  term(index: number): number | undefined {
    const dummy = this.firstIndex() - 1
    if (index < dummy || index > this.lastIndex()) return undefined
    const unstableTerm = this.#unstable.maybeTerm(index)
    if (unstableTerm !== undefined) return unstableTerm
    try {
      return this.#storage.term(index)
    } catch (err) {
      if (err instanceof StorageCompactedError) return undefined
      throw err
    }
  }

  lastTerm(): number {
    const t = this.term(this.lastIndex())
    assert(t !== undefined, `no term for the last index ${this.lastIndex()}`)
    return t
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term
  }

  /** §5.4.1: a candidate's log is at least as up to date as ours. */
  isUpToDate(lastIndex: number, term: number): boolean {
    const ourTerm = this.lastTerm()
    return term > ourTerm || (term === ourTerm && lastIndex >= this.lastIndex())
  }

  /**
   * The consistency check and append of §5.3: if our entry at `index` has `logTerm`, keeps the
   * matching prefix, truncates at the first conflict, appends the rest and commits up to
   * min(commit, last new index). Returns the last new index, or undefined if the check failed.
   */
  maybeAppend(index: number, logTerm: number, commit: number, entries: Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined
    const lastNew = index + entries.length
    const conflict = this.findConflict(entries)
    if (conflict !== 0) {
      assert(conflict > this.committed, `entry ${conflict} conflicts with the committed prefix (committed ${this.committed})`)
      this.append(entries.slice(conflict - (index + 1)))
    }
    this.commitTo(Math.min(commit, lastNew))
    return lastNew
  }

  /** Appends after the committed prefix (truncating any conflicting suffix). Returns the new last index. */
  append(entries: Entry[]): number {
    if (entries.length === 0) return this.lastIndex()
    const first = entries[0] as Entry
    assert(first.index - 1 >= this.committed, `append at ${first.index} would overwrite committed ${this.committed}`)
    assertEntriesOrdered(entries, 'RaftLog.append')
    const prevTerm = this.term(first.index - 1)
    assert(prevTerm === undefined || first.term >= prevTerm, `append: term ${first.term} at ${first.index} after term ${prevTerm}`)
    this.#unstable.truncateAndAppend(entries)
    return this.lastIndex()
  }

  /** The index of the first entry whose term differs from ours (or that we lack), 0 if none. */
  findConflict(entries: Entry[]): number {
    for (const e of entries) {
      if (!this.matchTerm(e.index, e.term)) return e.index
    }
    return 0
  }

  /**
   * The largest index <= `index` whose term is <= `term`, with that term: where a log whose entry
   * at `index` has `term` may last match ours. Used on both sides of a rejected append to skip
   * whole terms instead of single entries (fast backtracking). Stops, with term 0, where our
   * log is compacted.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (; index > 0; index--) {
      const ours = this.term(index)
      if (ours === undefined) return { index, term: 0 }
      if (ours <= term) return { index, term: ours }
    }
    return { index: 0, term: 0 }
  }

  unstableEntries(): Entry[] {
    return this.#unstable.entries
  }

  unstableSnapshot(): Snapshot | undefined {
    return this.#unstable.snapshot
  }

  /** Committed entries not yet applied, up to maxBytes (at least one if any). */
  nextCommittedEntries(maxBytes: number): Entry[] {
    const from = Math.max(this.applied + 1, this.firstIndex())
    if (this.committed + 1 <= from) return []
    return this.slice(from, this.committed + 1, maxBytes)
  }

  hasNextCommittedEntries(): boolean {
    return this.committed + 1 > Math.max(this.applied + 1, this.firstIndex())
  }

  snapshot(): Snapshot {
    return this.#unstable.snapshot ?? this.#storage.snapshot()
  }

  commitTo(index: number): void {
    if (index <= this.committed) return
    assert(index <= this.lastIndex(), `commit ${index} is beyond the last index ${this.lastIndex()}: log corrupt, truncated or lost`)
    this.committed = index
  }

  appliedTo(index: number): void {
    if (index === 0) return
    assert(index <= this.committed && index >= this.applied, `applied ${index} out of [${this.applied}, ${this.committed}]`)
    this.applied = index
  }

  stableTo(index: number, term: number): void {
    this.#unstable.stableTo(index, term)
  }

  stableSnapTo(index: number): void {
    this.#unstable.stableSnapTo(index)
  }

  /** Commits `maxIndex` if the entry there is of `term` (§5.4.2). */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.term(maxIndex) === term) {
      this.commitTo(maxIndex)
      return true
    }
    return false
  }

  /** Replaces the log with a snapshot from the leader; everything up to it counts as committed. */
  restore(snapshot: Snapshot): void {
    this.committed = snapshot.metadata.index
    this.#unstable.restore(snapshot)
  }

  /** Entries from `index` to the end, up to maxBytes (at least one if any). Throws StorageCompactedError below firstIndex. */
  entries(index: number, maxBytes: number): Entry[] {
    if (index > this.lastIndex()) return []
    return this.slice(index, this.lastIndex() + 1, maxBytes)
  }

  allEntries(): Entry[] {
    return this.entries(this.firstIndex(), Number.MAX_SAFE_INTEGER)
  }

  slice(lo: number, hi: number, maxBytes: number): Entry[] {
    assert(lo <= hi, `slice [${lo}, ${hi}): lo > hi`)
    if (lo < this.firstIndex()) throw new StorageCompactedError(`slice from ${lo}: first index is ${this.firstIndex()}`)
    assert(hi <= this.lastIndex() + 1, `slice to ${hi}: last index is ${this.lastIndex()}`)
    if (lo === hi) return []
    const offset = this.#unstable.offset
    let result: Entry[] = []
    if (lo < offset) {
      const stableHi = Math.min(hi, offset)
      const stored = this.#storage.entries(lo, stableHi, maxBytes)
      // The storage hit the byte limit: the unstable part cannot follow.
      if (stored.length < stableHi - lo) return stored
      result = stored
    }
    if (hi > offset) {
      const unstable = this.#unstable.slice(Math.max(lo, offset), hi)
      result = result.length === 0 ? unstable : result.concat(unstable)
    }
    return limitEntryBytes(result, maxBytes)
  }
}
