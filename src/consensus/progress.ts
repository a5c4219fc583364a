/**
 * What a leader knows of each peer's log (match and next index), the replication state machine
 * per peer (probe, replicate, snapshot) with its flow control, and the membership with its quorum
 * arithmetic: commit index, vote tallies and CheckQuorum's "recently active" count.
 */
import { assert } from './errors.js'
import type { ConfState, NodeId } from './types.js'

/**
 * The append messages in flight to one peer, oldest first, bounded in count and bytes. The
 * leader pipelines appends (optimistic next index) until this window is full.
 */
export class Inflights {
  readonly #countMax: number
  readonly #bytesMax: number
  #lastIndexes: number[] = []
  #sizes: number[] = []
  #bytes = 0

  constructor(countMax: number, bytesMax: number) {
    this.#countMax = countMax
    this.#bytesMax = bytesMax
  }

  add(lastIndex: number, bytes: number): void {
    assert(!this.full(), 'add to a full inflights window')
    const prev = this.#lastIndexes[this.#lastIndexes.length - 1]
    assert(prev === undefined || lastIndex > prev, `inflight ${lastIndex} after ${prev}`)
    this.#lastIndexes.push(lastIndex)
    this.#sizes.push(bytes)
    this.#bytes += bytes
  }

  /** Frees the messages whose last entry is at or below `index` (acknowledged). */
  freeLE(index: number): void {
    let n = 0
    while (n < this.#lastIndexes.length && (this.#lastIndexes[n] as number) <= index) {
      this.#bytes -= this.#sizes[n] as number
      n++
    }
    if (n === 0) return
    this.#lastIndexes = this.#lastIndexes.slice(n)
    this.#sizes = this.#sizes.slice(n)
  }

  freeFirstOne(): void {
    const first = this.#lastIndexes[0]
    if (first !== undefined) this.freeLE(first)
  }

  full(): boolean {
    return this.#lastIndexes.length >= this.#countMax || this.#bytes >= this.#bytesMax
  }

  count(): number {
    return this.#lastIndexes.length
  }

  reset(): void {
    this.#lastIndexes = []
    this.#sizes = []
    this.#bytes = 0
  }
}

export type ProgressState = 'probe' | 'replicate' | 'snapshot'

/**
 * A peer's replication progress. Probe: one append at a time until we find where logs match.
 * Replicate: stream appends optimistically (next runs ahead of match). Snapshot: a snapshot is in
 * flight; send nothing else until it is reported.
 */
export class Progress {
  match = 0
  next: number
  state: ProgressState = 'probe'
  /** The snapshot index in flight (snapshot state). */
  pendingSnapshot = 0
  /** Heard from since the last CheckQuorum round. */
  recentActive = false
  /** In probe state: an append is out and we wait for its answer or a heartbeat response. */
  probeSent = false
  isLearner: boolean
  readonly inflights: Inflights

  constructor(next: number, isLearner: boolean, inflightMax: number, inflightBytesMax: number) {
    this.next = next
    this.isLearner = isLearner
    this.inflights = new Inflights(inflightMax, inflightBytesMax)
  }

  #resetState(state: ProgressState): void {
    this.probeSent = false
    this.pendingSnapshot = 0
    this.state = state
    this.inflights.reset()
  }

  becomeProbe(): void {
    if (this.state === 'snapshot') {
      const pending = this.pendingSnapshot
      this.#resetState('probe')
      this.next = Math.max(this.match + 1, pending + 1)
    } else {
      this.#resetState('probe')
      this.next = this.match + 1
    }
  }

  becomeReplicate(): void {
    this.#resetState('replicate')
    this.next = this.match + 1
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.#resetState('snapshot')
    this.pendingSnapshot = snapshotIndex
    this.next = snapshotIndex + 1
  }

  /** Records an acknowledgement up to `index`. Returns whether match moved. */
  maybeUpdate(index: number): boolean {
    let updated = false
    if (this.match < index) {
      this.match = index
      updated = true
      this.probeSent = false
    }
    this.next = Math.max(this.next, index + 1)
    return updated
  }

  /**
   * A rejection of the append at `rejected`; `matchHint` is where the logs may match. Returns
   * false when the rejection is stale (answers an older append) and must be ignored.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false
      this.next = this.match + 1
      return true
    }
    if (this.next - 1 !== rejected) return false
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1)
    this.probeSent = false
    return true
  }

  /** Accounts for an append of entries up to `lastIndex` that was just sent. */
  sentEntries(count: number, lastIndex: number, bytes: number): void {
    if (this.state === 'replicate') {
      if (count > 0) {
        this.next = lastIndex + 1
        this.inflights.add(lastIndex, bytes)
      }
    } else if (this.state === 'probe') {
      this.probeSent = true
    } else {
      assert(false, `sent entries in state ${this.state}`)
    }
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent
      case 'replicate':
        return this.inflights.full()
      case 'snapshot':
        return true
    }
  }
}

/** The result of a vote tally. */
export type VoteResult = 'won' | 'lost' | 'pending'

/** The smallest majority of n voters. */
export function quorumSize(n: number): number {
  return Math.floor(n / 2) + 1
}

/**
 * The membership (voters and learners, disjoint) and a Progress for each member. Learners
 * replicate but neither vote nor count towards any quorum.
 */
export class ProgressTracker {
  readonly #voters = new Set<NodeId>()
  readonly #learners = new Set<NodeId>()
  readonly #progress = new Map<NodeId, Progress>()
  #votes = new Map<NodeId, boolean>()
  readonly #inflightMax: number
  readonly #inflightBytesMax: number

  constructor(inflightMax: number, inflightBytesMax: number) {
    this.#inflightMax = inflightMax
    this.#inflightBytesMax = inflightBytesMax
  }

  /** Replaces the membership; existing progress is kept for members that stay. */
  setConfState(cs: ConfState, nextIndex: number): void {
    assert(cs.voters.every((v) => !cs.learners.includes(v)), `voters and learners overlap: ${JSON.stringify(cs)}`)
    this.#voters.clear()
    this.#learners.clear()
    for (const v of cs.voters) this.#voters.add(v)
    for (const l of cs.learners) this.#learners.add(l)
    for (const id of [...this.#progress.keys()]) {
      if (!this.#voters.has(id) && !this.#learners.has(id)) this.#progress.delete(id)
    }
    for (const id of [...cs.voters, ...cs.learners]) {
      const pr = this.#progress.get(id)
      if (pr === undefined) {
        const fresh = new Progress(nextIndex, this.#learners.has(id), this.#inflightMax, this.#inflightBytesMax)
        fresh.recentActive = true
        this.#progress.set(id, fresh)
      } else {
        pr.isLearner = this.#learners.has(id)
      }
    }
  }

  confState(): ConfState {
    return { voters: [...this.#voters].sort((a, b) => a - b), learners: [...this.#learners].sort((a, b) => a - b) }
  }

  isVoter(id: NodeId): boolean {
    return this.#voters.has(id)
  }

  isLearner(id: NodeId): boolean {
    return this.#learners.has(id)
  }

  voterCount(): number {
    return this.#voters.size
  }

  get(id: NodeId): Progress | undefined {
    return this.#progress.get(id)
  }

  /** Members in ascending id order, so that every run sends messages in the same order. */
  ids(): NodeId[] {
    return [...this.#progress.keys()].sort((a, b) => a - b)
  }

  voterIds(): NodeId[] {
    return [...this.#voters].sort((a, b) => a - b)
  }

  /** Resets every member's progress for a new term (next = lastIndex + 1, nothing matched). */
  resetAll(lastIndex: number): void {
    for (const [id, pr] of this.#progress) {
      const fresh = new Progress(lastIndex + 1, pr.isLearner, this.#inflightMax, this.#inflightBytesMax)
      this.#progress.set(id, fresh)
    }
  }

  /** The highest index stored on a quorum of voters (0 with no voters). */
  committedIndex(): number {
    const matches = [...this.#voters].map((id) => (this.#progress.get(id) as Progress).match).sort((a, b) => b - a)
    if (matches.length === 0) return 0
    return matches[quorumSize(matches.length) - 1] as number
  }

  /** CheckQuorum: whether a quorum of voters (counting `self`) was heard from recently. */
  quorumActive(self: NodeId): boolean {
    let active = 0
    for (const id of this.#voters) {
      if (id === self || (this.#progress.get(id) as Progress).recentActive) active++
    }
    return active >= quorumSize(this.#voters.size)
  }

  resetRecentActive(self: NodeId): void {
    for (const [id, pr] of this.#progress) pr.recentActive = id === self
  }

  resetVotes(): void {
    this.#votes = new Map()
  }

  /** Records a vote (the first one from each voter counts) and returns the tally. */
  recordVote(id: NodeId, granted: boolean): VoteResult {
    if (this.#voters.has(id) && !this.#votes.has(id)) this.#votes.set(id, granted)
    return this.tally()
  }

  tally(): VoteResult {
    let granted = 0
    let rejected = 0
    for (const [, g] of this.#votes) {
      if (g) granted++
      else rejected++
    }
    const q = quorumSize(this.#voters.size)
    if (granted >= q) return 'won'
    if (rejected > this.#voters.size - q) return 'lost'
    return 'pending'
  }

  /** Whether the acknowledgers include a quorum of voters. */
  hasQuorum(acks: ReadonlySet<NodeId>): boolean {
    let n = 0
    for (const id of this.#voters) if (acks.has(id)) n++
    return n >= quorumSize(this.#voters.size)
  }
}
