/**
 * The public face of the Raft core: the methods a driver calls (tick, step, propose, ...) and the
 * Ready/advance handshake that hands it what to persist, send and apply. It adds no algorithm:
 * every action becomes a message stepped into Raft. See src/consensus/index.ts for the contract.
 */
import * as limits from './constants.js'
import { encodeConfChange } from './conf-change.js'
import { assert } from './errors.js'
import { makeMessage, Raft, type RaftConfig } from './raft.js'
import type { ConfChange, ConfState, HardState, Message, MessageType, NodeId, Ready, SoftState } from './types.js'
import type { ProgressState } from './progress.js'

/** Message types that only the node itself may produce; from the network they are dropped. */
const localOnly: ReadonlySet<MessageType> = new Set<MessageType>(['hup', 'beat', 'checkQuorum', 'snapStatus', 'unreachable', 'prop'])

export interface PeerStatus {
  match: number
  next: number
  state: ProgressState
  isLearner: boolean
  recentActive: boolean
}

export interface Status {
  id: NodeId
  hardState: HardState
  softState: SoftState
  applied: number
  lastIndex: number
  firstIndex: number
  confState: ConfState
  leadTransferee: NodeId
  /** Only on the leader: what it knows of each member's log. */
  progress: Record<string, PeerStatus>
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit
}

export class RawNode {
  readonly #raft: Raft
  readonly #committedBytesPerReadyMax: number
  #prevSoftState: SoftState
  #prevHardState: HardState
  #outstanding: Ready | undefined

  constructor(config: RaftConfig) {
    this.#raft = new Raft(config)
    this.#committedBytesPerReadyMax = config.committedBytesPerReadyMax ?? limits.committedBytesPerReadyMax
    this.#prevSoftState = this.#softState()
    this.#prevHardState = this.#hardState()
  }

  /** The state machine itself, for the simulation's checker and tests. Drivers do not touch it. */
  get raft(): Raft {
    return this.#raft
  }

  /** Advances the logical clock by one tick (election and heartbeat timeouts count ticks). */
  tick(): void {
    this.#raft.tick()
  }

  /** Starts an election now (after the pre-vote, if enabled), as if the election timeout fired. */
  campaign(): void {
    this.#raft.step(makeMessage({ type: 'hup', from: this.#raft.id }))
  }

  /**
   * Proposes opaque data. Returns where the entry was appended; it is committed when it comes back
   * in Ready.committedEntries at that index and term. If leadership is lost first, the outcome is
   * unknown: the entry may or may not commit. Throws ProposalDroppedError when not the leader.
   */
  propose(data: Uint8Array): { index: number; term: number } {
    if (!(data instanceof Uint8Array)) throw new TypeError('proposal data must be a Uint8Array')
    this.#raft.step(makeMessage({ type: 'prop', from: this.#raft.id, entries: [{ term: 0, index: 0, type: 'normal', data }] }))
    return { index: this.#raft.log.lastIndex(), term: this.#raft.term }
  }

  /** Proposes several entries in one step; they get consecutive indexes. */
  proposeBatch(data: Uint8Array[]): { firstIndex: number; lastIndex: number; term: number } {
    if (data.length === 0 || data.length > limits.proposalEntriesMax) throw new RangeError(`a batch holds 1 to ${limits.proposalEntriesMax} entries`)
    if (!data.every((d) => d instanceof Uint8Array)) throw new TypeError('proposal data must be Uint8Arrays')
    const entries = data.map((d) => ({ term: 0, index: 0, type: 'normal' as const, data: d }))
    this.#raft.step(makeMessage({ type: 'prop', from: this.#raft.id, entries }))
    const last = this.#raft.log.lastIndex()
    return { firstIndex: last - data.length + 1, lastIndex: last, term: this.#raft.term }
  }

  /**
   * Proposes a membership change. It takes effect when the application applies the committed
   * entry and calls applyConfChange. Throws ConfChangeRefusedError if one is pending, if this
   * leader has not yet committed an entry of its term, or if the change is invalid.
   */
  proposeConfChange(cc: ConfChange): { index: number; term: number } {
    const entry = { term: 0, index: 0, type: 'confChange' as const, data: encodeConfChange(cc) }
    this.#raft.step(makeMessage({ type: 'prop', from: this.#raft.id, entries: [entry] }))
    return { index: this.#raft.log.lastIndex(), term: this.#raft.term }
  }

  /** Applies a committed conf change entry (decode it with decodeConfChange). Returns the new membership. */
  applyConfChange(cc: ConfChange): ConfState {
    return this.#raft.applyConfChange(cc)
  }

  /**
   * Steps a message received from a peer. Messages that only the node itself may produce are
   * dropped, as are messages addressed to another node.
   */
  step(m: Message): void {
    if (localOnly.has(m.type) || m.to !== this.#raft.id) return
    this.#raft.step(m)
  }

  /**
   * Asks for a linearizable read. A ReadState with this context comes back in a later Ready; a
   * read that sees that index applied is linearizable. Throws ReadIndexDroppedError when no
   * leader is known (RangeError for an empty or oversized context); a request may also be silently
   * lost on a leader change, so time out and retry.
   */
  readIndex(context: Uint8Array): void {
    if (context.length === 0 || context.length > limits.readIndexContextBytesMax) {
      throw new RangeError(`the read context must hold 1 to ${limits.readIndexContextBytesMax} bytes`)
    }
    this.#raft.step(makeMessage({ type: 'readIndex', from: this.#raft.id, context }))
  }

  /** Asks the leader to hand leadership to `transferee` (forwarded if this node is a follower). */
  transferLeader(transferee: NodeId): void {
    this.#raft.step(makeMessage({ type: 'transferLeader', from: transferee, to: this.#raft.id }))
  }

  /** Reports whether a 'snap' message sent to `id` was delivered (true) or failed (false). Required after each one. */
  reportSnapshot(id: NodeId, delivered: boolean): void {
    this.#raft.step(makeMessage({ type: 'snapStatus', from: id, reject: !delivered }))
  }

  /** Reports that a message to `id` could not be sent; the leader stops pipelining to it. */
  reportUnreachable(id: NodeId): void {
    this.#raft.step(makeMessage({ type: 'unreachable', from: id }))
  }

  #softState(): SoftState {
    return { role: this.#raft.role, leader: this.#raft.lead }
  }

  #hardState(): HardState {
    return { term: this.#raft.term, vote: this.#raft.vote, commit: this.#raft.log.committed }
  }

  hasReady(): boolean {
    const r = this.#raft
    const soft = this.#softState()
    return (
      soft.role !== this.#prevSoftState.role ||
      soft.leader !== this.#prevSoftState.leader ||
      !sameHardState(this.#hardState(), this.#prevHardState) ||
      r.log.unstableEntries().length > 0 ||
      r.log.unstableSnapshot() !== undefined ||
      r.msgs.length > 0 ||
      r.readStates.length > 0 ||
      r.log.hasNextCommittedEntries()
    )
  }

  /**
   * What to persist, send and apply now (see the order on the Ready type). Call advance() when
   * done, before the next ready().
   */
  ready(): Ready {
    assert(this.#outstanding === undefined, 'ready() called again before advance()')
    const r = this.#raft
    const rd: Ready = {
      softState: this.#softState(),
      entries: [...r.log.unstableEntries()],
      messages: r.msgs,
      committedEntries: r.log.nextCommittedEntries(this.#committedBytesPerReadyMax),
      readStates: r.readStates
    }
    const hs = this.#hardState()
    if (!sameHardState(hs, this.#prevHardState)) {
      rd.hardState = r.faults.forgetVotes === true ? { ...hs, vote: 0 } : hs
      this.#prevHardState = hs
    }
    const snapshot = r.log.unstableSnapshot()
    if (snapshot !== undefined) rd.snapshot = snapshot
    this.#prevSoftState = rd.softState
    r.msgs = []
    r.readStates = []
    this.#outstanding = rd
    return rd
  }

  /** Acknowledges the last Ready: its entries and snapshot are durable and its committed entries applied. */
  advance(): void {
    const rd = this.#outstanding
    assert(rd !== undefined, 'advance() without a ready()')
    const log = this.#raft.log
    const lastEntry = rd.entries[rd.entries.length - 1]
    if (lastEntry !== undefined) log.stableTo(lastEntry.index, lastEntry.term)
    if (rd.snapshot !== undefined) {
      log.stableSnapTo(rd.snapshot.metadata.index)
      log.appliedTo(rd.snapshot.metadata.index)
    }
    const lastApplied = rd.committedEntries[rd.committedEntries.length - 1]
    if (lastApplied !== undefined) {
      log.appliedTo(lastApplied.index)
      if (this.#raft.role === 'leader') {
        let bytes = 0
        for (const e of rd.committedEntries) bytes += e.data.length
        this.#raft.uncommittedBytes = Math.max(0, this.#raft.uncommittedBytes - bytes)
      }
    }
    this.#outstanding = undefined
  }

  status(): Status {
    const r = this.#raft
    const progress: Record<string, PeerStatus> = {}
    if (r.role === 'leader') {
      for (const id of r.tracker.ids()) {
        const pr = r.tracker.get(id)
        if (pr === undefined) continue
        progress[String(id)] = { match: pr.match, next: pr.next, state: pr.state, isLearner: pr.isLearner, recentActive: pr.recentActive }
      }
    }
    return {
      id: r.id,
      hardState: this.#hardState(),
      softState: this.#softState(),
      applied: r.log.applied,
      lastIndex: r.log.lastIndex(),
      firstIndex: r.log.firstIndex(),
      confState: r.tracker.confState(),
      leadTransferee: r.leadTransferee,
      progress
    }
  }
}
