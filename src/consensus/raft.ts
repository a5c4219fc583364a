/**
 * The Raft algorithm as a pure state machine (after etcd-io/raft): it owns the term, vote, role,
 * log view, peer progress and the per-role step functions. It does no I/O and reads no clock:
 * inputs are messages given to `step` and `tick` calls; outputs are collected in `msgs` and
 * `readStates` and picked up by RawNode as a Ready. Every local action (campaign, proposal,
 * read, transfer) enters through `step`, like a network message.
 */
import * as limits from './constants.js'
import { decodeConfChange } from './conf-change.js'
import {
  assert,
  ConfChangeRefusedError,
  InvalidConfigError,
  ProposalDroppedError,
  ReadIndexDroppedError,
  StorageCompactedError
} from './errors.js'
import { RaftLog } from './log.js'
import { ProgressTracker, type Progress } from './progress.js'
import { ReadOnly } from './read-only.js'
import { entryBytes, type Storage } from './storage.js'
import type { ConfChange, ConfState, Entry, Message, MessageType, NodeId, RandomSource, ReadState, Role, Snapshot } from './types.js'

/** Options of a Raft node. Optional fields default to src/consensus/constants.ts. */
export interface RaftConfig {
  id: NodeId
  storage: Storage
  /** Spreads election timeouts. Give each node its own seeded generator for replayable runs. */
  random: RandomSource
  /**
   * The last index the application applied before a restart (default: the storage snapshot's
   * index). `storage.initialState().confState` must be the membership as of this index.
   */
  applied?: number
  electionTimeoutTicks?: number
  heartbeatIntervalTicks?: number
  /** §9.6: a candidate first asks whether it could win, so that a partitioned node rejoining does not bump terms. Default true. */
  preVote?: boolean
  /** §6.2/§9.6: a leader steps down without a live quorum; followers that hear a live leader ignore votes. Default true. */
  checkQuorum?: boolean
  appendInflightMax?: number
  appendBytesMax?: number
  committedBytesPerReadyMax?: number
  uncommittedBytesMax?: number
  /** Receives one line per notable event (role changes, votes); the scenario tests print them. */
  logger?: (line: string) => void
  /**
   * FOR TESTS ONLY: break the algorithm on purpose, to prove that the simulation's checker
   * catches it. Never set in production.
   */
  unsafeFaults?: {
    /** Commit by counting replicas even for entries of earlier terms (violates §5.4.2, Figure 8). */
    ignoreCurrentTermCommitRule?: boolean
    /** Report vote 0 in the hard state, so that the vote is not persisted (violates §5.2). */
    forgetVotes?: boolean
  }
}

type CampaignKind = 'preElection' | 'election' | 'transfer'

/** Marks the vote requests of a leadership transfer, which bypass the leader lease. */
const transferContext = new Uint8Array([0x74, 0x72, 0x61, 0x6e, 0x73, 0x66, 0x65, 0x72]) // 'transfer'

function isTransferContext(context: Uint8Array | undefined): boolean {
  if (context === undefined || context.length !== transferContext.length) return false
  return context.every((b, i) => b === transferContext[i])
}

function positiveInt(value: number | undefined, fallback: number, name: string): number {
  const v = value ?? fallback
  if (!Number.isSafeInteger(v) || v < 1) throw new InvalidConfigError(`${name} must be a positive integer, got ${v}`)
  return v
}

/** A message with every unused field at its zero value. */
export function makeMessage(fields: Partial<Message> & { type: MessageType }): Message {
  const m: Message = {
    type: fields.type,
    from: fields.from ?? 0,
    to: fields.to ?? 0,
    term: fields.term ?? 0,
    logTerm: fields.logTerm ?? 0,
    index: fields.index ?? 0,
    entries: fields.entries ?? [],
    commit: fields.commit ?? 0,
    reject: fields.reject ?? false,
    rejectHint: fields.rejectHint ?? 0
  }
  if (fields.context !== undefined) m.context = fields.context
  if (fields.snapshot !== undefined) m.snapshot = fields.snapshot
  return m
}

export class Raft {
  readonly id: NodeId
  term = 0
  vote: NodeId = 0
  lead: NodeId = 0
  role: Role = 'follower'
  readonly log: RaftLog
  readonly tracker: ProgressTracker
  /** Outbox, drained by RawNode.ready(). */
  msgs: Message[] = []
  readStates: ReadState[] = []
  /** The peer a leadership transfer is handing over to, 0 if none. */
  leadTransferee: NodeId = 0
  /** Bytes of data appended by this leader and not yet applied (bounded by uncommittedBytesMax). */
  uncommittedBytes = 0
  readonly faults: NonNullable<RaftConfig['unsafeFaults']>

  readonly #random: RandomSource
  readonly #electionTimeout: number
  readonly #heartbeatTimeout: number
  readonly #preVote: boolean
  readonly #checkQuorum: boolean
  readonly #appendBytesMax: number
  readonly #uncommittedBytesMax: number
  readonly #logger: (line: string) => void
  #electionElapsed = 0
  #heartbeatElapsed = 0
  /** Ticks since the election timer was last reset (tests use it to tick exactly one election). */
  get electionElapsed(): number {
    return this.#electionElapsed
  }

  #randomizedElectionTimeout = 0
  /** A conf change at or below this index may be unapplied; no new one until applied >= it. */
  #pendingConfIndex = 0
  readonly #readOnly = new ReadOnly()
  /** ReadIndex requests that arrived before this leader committed an entry of its term. */
  #pendingReadIndex: Message[] = []

  constructor(config: RaftConfig) {
    if (!Number.isSafeInteger(config.id) || config.id < 1) throw new InvalidConfigError(`id must be a positive integer, got ${config.id}`)
    this.id = config.id
    this.#random = config.random
    this.#electionTimeout = positiveInt(config.electionTimeoutTicks, limits.electionTimeoutTicks, 'electionTimeoutTicks')
    this.#heartbeatTimeout = positiveInt(config.heartbeatIntervalTicks, limits.heartbeatIntervalTicks, 'heartbeatIntervalTicks')
    if (this.#heartbeatTimeout >= this.#electionTimeout) {
      throw new InvalidConfigError(`heartbeatIntervalTicks (${this.#heartbeatTimeout}) must be below electionTimeoutTicks (${this.#electionTimeout})`)
    }
    this.#preVote = config.preVote ?? true
    this.#checkQuorum = config.checkQuorum ?? true
    this.#appendBytesMax = positiveInt(config.appendBytesMax, limits.appendBytesMax, 'appendBytesMax')
    this.#uncommittedBytesMax = positiveInt(config.uncommittedBytesMax, limits.uncommittedBytesMax, 'uncommittedBytesMax')
    const inflightMax = positiveInt(config.appendInflightMax, limits.appendInflightMax, 'appendInflightMax')
    this.#logger = config.logger ?? ((): void => {})
    this.faults = { ...config.unsafeFaults }

    this.log = new RaftLog(config.storage)
    this.tracker = new ProgressTracker(inflightMax, inflightMax * this.#appendBytesMax)
    const { hardState, confState } = config.storage.initialState()
    this.tracker.setConfState(confState, this.log.lastIndex() + 1)
    if (hardState.term !== 0 || hardState.vote !== 0 || hardState.commit !== 0) {
      assert(
        hardState.commit >= this.log.committed && hardState.commit <= this.log.lastIndex(),
        `stored commit ${hardState.commit} out of [${this.log.committed}, ${this.log.lastIndex()}]`
      )
      this.log.committed = hardState.commit
      this.term = hardState.term
      this.vote = hardState.vote
    }
    if (config.applied !== undefined && config.applied > 0) this.log.appliedTo(config.applied)
    this.becomeFollower(this.term, 0)
  }

  // ---- time -------------------------------------------------------------------------------

  tick(): void {
    if (this.role === 'leader') this.#tickHeartbeat()
    else this.#tickElection()
  }

  #tickElection(): void {
    this.#electionElapsed++
    if (this.promotable() && this.#electionElapsed >= this.#randomizedElectionTimeout) {
      this.#electionElapsed = 0
      this.step(makeMessage({ type: 'hup', from: this.id }))
    }
  }

  #tickHeartbeat(): void {
    this.#heartbeatElapsed++
    this.#electionElapsed++
    if (this.#electionElapsed >= this.#electionTimeout) {
      this.#electionElapsed = 0
      if (this.#checkQuorum) this.step(makeMessage({ type: 'checkQuorum', from: this.id }))
      // A transfer that did not finish within an election timeout has failed; take proposals again.
      if (this.role === 'leader' && this.leadTransferee !== 0) this.#abortLeaderTransfer()
    }
    if (this.role !== 'leader') return
    if (this.#heartbeatElapsed >= this.#heartbeatTimeout) {
      this.#heartbeatElapsed = 0
      this.step(makeMessage({ type: 'beat', from: this.id }))
    }
  }

  /** Whether this node may campaign: a voter with no snapshot waiting to be persisted. */
  promotable(): boolean {
    return this.tracker.isVoter(this.id) && this.log.unstableSnapshot() === undefined
  }

  // ---- role transitions -------------------------------------------------------------------

  #reset(term: number): void {
    if (this.term !== term) {
      this.term = term
      this.vote = 0
    }
    this.lead = 0
    this.#electionElapsed = 0
    this.#heartbeatElapsed = 0
    this.#randomizedElectionTimeout = this.#electionTimeout + this.#random.nextInt(this.#electionTimeout)
    this.#abortLeaderTransfer()
    this.tracker.resetVotes()
    this.tracker.resetAll(this.log.lastIndex())
    const self = this.tracker.get(this.id)
    if (self !== undefined) self.match = this.log.lastIndex()
    this.#pendingConfIndex = 0
    this.uncommittedBytes = 0
    this.#readOnly.reset()
    this.#pendingReadIndex = []
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.#reset(term)
    this.lead = lead
    this.role = 'follower'
    this.#logger(`${this.id} became follower at term ${this.term}`)
  }

  becomePreCandidate(): void {
    assert(this.role !== 'leader', 'leader cannot become pre-candidate')
    // Neither the term nor the vote changes: a pre-election that fails leaves no trace.
    this.tracker.resetVotes()
    this.lead = 0
    this.role = 'preCandidate'
    this.#logger(`${this.id} became pre-candidate at term ${this.term}`)
  }

  becomeCandidate(): void {
    assert(this.role !== 'leader', 'leader cannot become candidate')
    this.#reset(this.term + 1)
    this.vote = this.id
    this.role = 'candidate'
    this.#logger(`${this.id} became candidate at term ${this.term}`)
  }

  becomeLeader(): void {
    assert(this.role === 'candidate' || this.role === 'preCandidate', `${this.role} cannot become leader`)
    this.#reset(this.term)
    this.lead = this.id
    this.role = 'leader'
    const self = this.tracker.get(this.id)
    if (self !== undefined) {
      self.becomeReplicate()
      self.recentActive = true
    }
    // §8: the no-op commits everything before it (§5.4.2 forbids counting older entries) and
    // lets a ReadIndex read learn the commit index. Conf changes wait until it is applied.
    const ok = this.#appendEntries([{ term: 0, index: 0, type: 'normal', data: new Uint8Array(0) }])
    assert(ok, 'the empty entry of a new leader was dropped')
    this.#pendingConfIndex = this.log.lastIndex()
    this.#logger(`${this.id} became leader at term ${this.term}`)
  }

  // ---- campaigns --------------------------------------------------------------------------

  #hup(kind: CampaignKind): void {
    if (this.role === 'leader') return
    if (!this.promotable()) return
    // Our membership view may be stale until committed conf changes are applied.
    if (this.#hasUnappliedConfChanges()) {
      this.#logger(`${this.id} cannot campaign at term ${this.term}: committed conf changes are not applied yet`)
      return
    }
    this.#logger(`${this.id} is starting a new election at term ${this.term}`)
    this.#campaign(kind)
  }

  #hasUnappliedConfChanges(): boolean {
    if (this.log.committed <= this.log.applied) return false
    const from = Math.max(this.log.applied + 1, this.log.firstIndex())
    if (from > this.log.committed) return false
    return this.log.slice(from, this.log.committed + 1, Number.MAX_SAFE_INTEGER).some((e) => e.type === 'confChange')
  }

  #campaign(kind: CampaignKind): void {
    let voteType: MessageType
    let voteTerm: number
    if (kind === 'preElection') {
      this.becomePreCandidate()
      voteType = 'preVote'
      voteTerm = this.term + 1 // the term we would have; nothing is bumped until we win
    } else {
      this.becomeCandidate()
      voteType = 'vote'
      voteTerm = this.term
    }
    if (this.tracker.recordVote(this.id, true) === 'won') {
      // A single voter wins at once.
      if (kind === 'preElection') this.#campaign('election')
      else this.becomeLeader()
      return
    }
    for (const to of this.tracker.voterIds()) {
      if (to === this.id) continue
      this.#logger(`${this.id} [logterm: ${this.log.lastTerm()}, index: ${this.log.lastIndex()}] sent ${voteType} request to ${to} at term ${voteTerm}`)
      const m = makeMessage({ type: voteType, to, term: voteTerm, index: this.log.lastIndex(), logTerm: this.log.lastTerm() })
      if (kind === 'transfer') m.context = transferContext
      this.#send(m)
    }
  }

  // ---- the single input path --------------------------------------------------------------

  /**
   * Steps one message: from the network, or local (term 0). Throws ProposalDroppedError,
   * ConfChangeRefusedError or ReadIndexDroppedError for local requests that cannot be served;
   * messages from peers that do not apply are ignored, never thrown on.
   */
  step(m: Message): void {
    if (m.term > this.term) {
      if (!this.#stepHigherTerm(m)) return
    } else if (m.term !== 0 && m.term < this.term) {
      this.#stepLowerTerm(m)
      return
    }
    switch (m.type) {
      case 'hup':
        this.#hup(this.#preVote ? 'preElection' : 'election')
        return
      case 'vote':
      case 'preVote':
        this.#handleVoteRequest(m)
        return
      default:
        if (this.role === 'leader') this.#stepLeader(m)
        else if (this.role === 'follower') this.#stepFollower(m)
        else this.#stepCandidate(m)
    }
  }

  /** Returns false when the message must be dropped. */
  #stepHigherTerm(m: Message): boolean {
    if (m.type === 'vote' || m.type === 'preVote') {
      // Leader lease (§6 of the thesis, "disruptive servers"): while we hear from a live leader,
      // a node that timed out on its own (partitioned, removed) cannot depose it.
      const inLease = this.#checkQuorum && this.lead !== 0 && this.#electionElapsed < this.#electionTimeout
      if (inLease && !isTransferContext(m.context)) {
        this.#logger(`${this.id} [term: ${this.term}] ignored ${m.type} from ${m.from} at term ${m.term}: lease is not expired`)
        return false
      }
    }
    if (m.type === 'preVote') return true // a pre-vote never changes our term
    if (m.type === 'preVoteResp' && !m.reject) return true // we bump the term when we win
    this.#logger(`${this.id} [term: ${this.term}] received ${m.type} with higher term from ${m.from} [term: ${m.term}]`)
    const fromLeader = m.type === 'app' || m.type === 'heartbeat' || m.type === 'snap'
    this.becomeFollower(m.term, fromLeader ? m.from : 0)
    return true
  }

  #stepLowerTerm(m: Message): void {
    if ((this.#checkQuorum || this.#preVote) && (m.type === 'heartbeat' || m.type === 'app')) {
      // A stale leader (e.g. one whose term we bumped while partitioned) learns our term and
      // steps down; otherwise, with CheckQuorum or PreVote, it would never hear a higher term.
      this.#send(makeMessage({ type: 'appResp', to: m.from }))
    } else if (m.type === 'preVote') {
      // Tell a lagging pre-candidate our term, or it keeps pre-campaigning at an old one.
      this.#send(makeMessage({ type: 'preVoteResp', to: m.from, term: this.term, reject: true }))
    }
  }

  #handleVoteRequest(m: Message): void {
    const resp: MessageType = m.type === 'vote' ? 'voteResp' : 'preVoteResp'
    const canVote =
      this.vote === m.from ||
      (this.vote === 0 && this.lead === 0) ||
      (m.type === 'preVote' && m.term > this.term)
    if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
      this.#logger(`${this.id} [logterm: ${this.log.lastTerm()}, index: ${this.log.lastIndex()}, vote: ${this.vote}] cast ${m.type} for ${m.from} [logterm: ${m.logTerm}, index: ${m.index}] at term ${this.term}`)
      // The response carries the request's term: a pre-vote grant is for the future term.
      this.#send(makeMessage({ type: resp, to: m.from, term: m.term }))
      if (m.type === 'vote') {
        this.#electionElapsed = 0
        this.vote = m.from
      }
    } else {
      this.#logger(`${this.id} [logterm: ${this.log.lastTerm()}, index: ${this.log.lastIndex()}, vote: ${this.vote}] rejected ${m.type} from ${m.from} [logterm: ${m.logTerm}, index: ${m.index}] at term ${this.term}`)
      this.#send(makeMessage({ type: resp, to: m.from, term: this.term, reject: true }))
    }
  }

  // ---- leader -----------------------------------------------------------------------------

  #stepLeader(m: Message): void {
    switch (m.type) {
      case 'beat':
        this.broadcastHeartbeat()
        return
      case 'checkQuorum':
        if (!this.tracker.quorumActive(this.id)) {
          this.#logger(`${this.id} stepped down to follower since quorum is not active`)
          this.becomeFollower(this.term, 0)
        }
        this.tracker.resetRecentActive(this.id)
        return
      case 'prop':
        this.#leaderPropose(m)
        return
      case 'readIndex':
        this.#leaderReadIndex(m)
        return
      default:
        break
    }
    const pr = this.tracker.get(m.from)
    if (pr === undefined || m.from === this.id) return
    switch (m.type) {
      case 'appResp':
        this.#handleAppendResponse(m, pr)
        return
      case 'heartbeatResp':
        this.#handleHeartbeatResponse(m, pr)
        return
      case 'snapStatus':
        if (pr.state !== 'snapshot') return
        if (m.reject) pr.pendingSnapshot = 0
        pr.becomeProbe()
        // Wait for a heartbeat response before probing again, so a failing peer is not flooded.
        pr.probeSent = true
        return
      case 'unreachable':
        if (pr.state === 'replicate') pr.becomeProbe()
        return
      case 'transferLeader':
        this.#leaderTransfer(m.from, pr)
        return
      default:
        return
    }
  }

  #leaderPropose(m: Message): void {
    assert(m.entries.length > 0, 'empty proposal')
    if (this.tracker.get(this.id) === undefined) {
      throw new ProposalDroppedError(`${this.id} was removed from the group; proposal dropped`, 0)
    }
    if (this.leadTransferee !== 0) {
      throw new ProposalDroppedError(`leadership is being transferred to ${this.leadTransferee}; proposal dropped`, this.lead)
    }
    const confChanges = m.entries.filter((e) => e.type === 'confChange')
    if (confChanges.length > 0) {
      if (confChanges.length > 1) throw new ConfChangeRefusedError('one membership change at a time')
      this.#checkConfChange(decodeConfChange((confChanges[0] as Entry).data))
    }
    if (!this.#appendEntries(m.entries)) {
      throw new ProposalDroppedError(`more than ${this.#uncommittedBytesMax} bytes uncommitted; proposal dropped`, this.lead)
    }
    if (confChanges.length > 0) this.#pendingConfIndex = this.log.lastIndex()
    this.bcastAppend()
  }

  /**
   * One change at a time, and only once an entry of this term is committed: the fix, from
   * Ongaro's raft-dev post (2015), for the single-server change bug where two leaders of
   * successive terms each add a server to different configurations.
   */
  #checkConfChange(cc: ConfChange): void {
    if (this.log.term(this.log.committed) !== this.term) {
      throw new ConfChangeRefusedError(`leader ${this.id} has not committed an entry of term ${this.term} yet`)
    }
    if (this.#pendingConfIndex > this.log.applied) {
      throw new ConfChangeRefusedError(`a membership change at or below ${this.#pendingConfIndex} is not applied yet (applied ${this.log.applied})`)
    }
    const t = this.tracker
    switch (cc.type) {
      case 'addVoter': {
        if (t.isVoter(cc.nodeId)) throw new ConfChangeRefusedError(`${cc.nodeId} is already a voter`)
        const pr = t.get(cc.nodeId)
        if (pr !== undefined && pr.match < this.log.committed) {
          throw new ConfChangeRefusedError(`learner ${cc.nodeId} has not caught up (match ${pr.match} < commit ${this.log.committed})`)
        }
        return
      }
      case 'addLearner':
        if (t.isVoter(cc.nodeId) || t.isLearner(cc.nodeId)) throw new ConfChangeRefusedError(`${cc.nodeId} is already a member`)
        return
      case 'removeVoter':
        if (!t.isVoter(cc.nodeId) && !t.isLearner(cc.nodeId)) throw new ConfChangeRefusedError(`${cc.nodeId} is not a member`)
        if (t.isVoter(cc.nodeId) && t.voterCount() === 1) throw new ConfChangeRefusedError('cannot remove the last voter')
        return
    }
  }

  /** Appends entries of this term to the leader's log. False if the uncommitted byte limit refuses them. */
  #appendEntries(entries: Entry[]): boolean {
    let bytes = 0
    for (const e of entries) bytes += e.data.length
    // Always let something through when nothing is uncommitted, or a huge entry could never go.
    if (this.uncommittedBytes > 0 && this.uncommittedBytes + bytes > this.#uncommittedBytesMax) return false
    const last = this.log.lastIndex()
    const stamped = entries.map((e, i) => ({ term: this.term, index: last + 1 + i, type: e.type, data: e.data }))
    const newLast = this.log.append(stamped)
    this.uncommittedBytes += bytes
    this.tracker.get(this.id)?.maybeUpdate(newLast)
    this.maybeCommit()
    return true
  }

  /**
   * Advances the commit index to the highest index stored on a quorum, but only if that entry is
   * of the current term (§5.4.2); older entries commit indirectly with it. Returns whether it moved.
   */
  maybeCommit(): boolean {
    const index = this.tracker.committedIndex()
    if (this.faults.ignoreCurrentTermCommitRule === true) {
      if (index <= this.log.committed || this.log.term(index) === undefined) return false
      this.log.commitTo(index)
      return true
    }
    return this.log.maybeCommit(index, this.term)
  }

  #handleAppendResponse(m: Message, pr: Progress): void {
    pr.recentActive = true
    if (m.reject) {
      // Fast backtracking: skip every entry of a term the follower does not have.
      let nextProbe = m.rejectHint
      if (m.logTerm > 0) nextProbe = this.log.findConflictByTerm(m.rejectHint, m.logTerm).index
      if (pr.maybeDecrTo(m.index, nextProbe)) {
        this.#logger(`${this.id} received appResp(rejected, hint: (index ${m.rejectHint}, term ${m.logTerm})) from ${m.from} for index ${m.index}`)
        if (pr.state === 'replicate') pr.becomeProbe()
        this.sendAppend(m.from)
      }
      return
    }
    const wasPaused = pr.isPaused()
    if (!pr.maybeUpdate(m.index) && !(pr.match === m.index && pr.state === 'probe')) return
    if (pr.state === 'probe') {
      pr.becomeReplicate()
    } else if (pr.state === 'snapshot' && pr.match + 1 >= this.log.firstIndex()) {
      // The snapshot (or plain appends) caught it up to where our log still has entries.
      pr.becomeProbe()
      pr.becomeReplicate()
    } else if (pr.state === 'replicate') {
      pr.inflights.freeLE(m.index)
    }
    if (this.maybeCommit()) {
      this.#releasePendingReadIndex()
      this.bcastAppend()
    } else if (wasPaused) {
      this.sendAppend(m.from)
    }
    // Pipelining: send as much as the flow-control window allows.
    while (this.#maybeSendAppend(m.from, false)) {
      // keep sending
    }
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
      this.#logger(`${this.id} sent timeoutNow to ${m.from} after it caught up`)
      this.#send(makeMessage({ type: 'timeoutNow', to: m.from }))
    }
  }

  #handleHeartbeatResponse(m: Message, pr: Progress): void {
    pr.recentActive = true
    pr.probeSent = false
    // The peer is alive: free a slot so a lost append does not stall it forever.
    if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne()
    if (pr.match < this.log.lastIndex()) this.sendAppend(m.from)
    if (m.context === undefined) return
    const acks = this.#readOnly.recvAck(m.from, m.context)
    if (acks === undefined || !this.tracker.hasQuorum(acks)) return
    for (const done of this.#readOnly.advance(m.context)) this.#answerRead(done.request, done.index)
  }

  #leaderTransfer(transferee: NodeId, pr: Progress): void {
    if (pr.isLearner) return
    if (this.leadTransferee !== 0) {
      if (this.leadTransferee === transferee) return
      this.#abortLeaderTransfer()
    }
    if (transferee === this.id) return
    this.#logger(`${this.id} [term ${this.term}] starts to transfer leadership to ${transferee}`)
    // The transfer must finish within one election timeout, or it is aborted.
    this.#electionElapsed = 0
    this.leadTransferee = transferee
    if (pr.match === this.log.lastIndex()) {
      this.#send(makeMessage({ type: 'timeoutNow', to: transferee }))
    } else {
      this.sendAppend(transferee)
    }
  }

  #abortLeaderTransfer(): void {
    this.leadTransferee = 0
  }

  #leaderReadIndex(m: Message): void {
    const local = m.from === 0 || m.from === this.id
    if (this.tracker.voterCount() === 1 && this.tracker.isVoter(this.id)) {
      this.#answerRead(m, this.log.committed)
      return
    }
    if (this.#readOnly.size() + this.#pendingReadIndex.length >= limits.readIndexPendingMax) {
      if (local) throw new ReadIndexDroppedError(`more than ${limits.readIndexPendingMax} reads pending`)
      return
    }
    // §6.4: until an entry of its term commits, the leader does not know the commit index.
    if (this.log.term(this.log.committed) !== this.term) {
      this.#pendingReadIndex.push(m)
      return
    }
    this.#sendReadIndex(m)
  }

  #sendReadIndex(m: Message): void {
    const context = m.context as Uint8Array
    this.#readOnly.add(this.log.committed, m)
    this.#readOnly.recvAck(this.id, context)
    this.broadcastHeartbeat(context)
  }

  #releasePendingReadIndex(): void {
    if (this.#pendingReadIndex.length === 0 || this.log.term(this.log.committed) !== this.term) return
    const pending = this.#pendingReadIndex
    this.#pendingReadIndex = []
    for (const m of pending) this.#sendReadIndex(m)
  }

  #answerRead(request: Message, index: number): void {
    const context = request.context as Uint8Array
    if (request.from === 0 || request.from === this.id) {
      this.readStates.push({ index, requestContext: context })
    } else {
      this.#send(makeMessage({ type: 'readIndexResp', to: request.from, index, context }))
    }
  }

  // ---- followers and candidates -----------------------------------------------------------

  #stepFollower(m: Message): void {
    switch (m.type) {
      case 'prop':
        throw new ProposalDroppedError(`${this.id} is not the leader (leader: ${this.lead}); proposal dropped`, this.lead)
      case 'app':
        this.#electionElapsed = 0
        this.lead = m.from
        this.handleAppendEntries(m)
        return
      case 'heartbeat':
        this.#electionElapsed = 0
        this.lead = m.from
        this.handleHeartbeat(m)
        return
      case 'snap':
        this.#electionElapsed = 0
        this.lead = m.from
        this.handleSnapshot(m)
        return
      case 'transferLeader':
        if (this.lead !== 0) this.#send({ ...m, to: this.lead })
        return
      case 'timeoutNow':
        this.#logger(`${this.id} [term ${this.term}] received timeoutNow from ${m.from} and starts an election to get leadership`)
        // The leader asked us to take over: skip the pre-vote, and the lease does not apply.
        this.#hup('transfer')
        return
      case 'readIndex':
        if (this.lead === 0) {
          if (m.from === 0 || m.from === this.id) throw new ReadIndexDroppedError(`${this.id} knows no leader; read dropped`)
          return
        }
        this.#send({ ...m, from: this.id, to: this.lead })
        return
      case 'readIndexResp':
        this.readStates.push({ index: m.index, requestContext: m.context ?? new Uint8Array(0) })
        return
      default:
        return
    }
  }

  #stepCandidate(m: Message): void {
    const myVoteResp: MessageType = this.role === 'preCandidate' ? 'preVoteResp' : 'voteResp'
    switch (m.type) {
      case 'prop':
        throw new ProposalDroppedError(`${this.id} is a ${this.role}, no leader; proposal dropped`, 0)
      case 'readIndex':
        if (m.from === 0 || m.from === this.id) throw new ReadIndexDroppedError(`${this.id} knows no leader; read dropped`)
        return
      case 'app':
        this.becomeFollower(m.term, m.from)
        this.handleAppendEntries(m)
        return
      case 'heartbeat':
        this.becomeFollower(m.term, m.from)
        this.handleHeartbeat(m)
        return
      case 'snap':
        this.becomeFollower(m.term, m.from)
        this.handleSnapshot(m)
        return
      default:
        break
    }
    if (m.type !== myVoteResp) return
    const result = this.tracker.recordVote(m.from, !m.reject)
    this.#logger(`${this.id} received ${m.type}${m.reject ? ' rejection' : ''} from ${m.from} at term ${this.term}: ${result}`)
    if (result === 'won') {
      if (this.role === 'preCandidate') {
        this.#campaign('election')
      } else {
        this.becomeLeader()
        this.bcastAppend()
      }
    } else if (result === 'lost') {
      this.becomeFollower(this.term, 0)
    }
  }

  handleAppendEntries(m: Message): void {
    if (m.index < this.log.committed) {
      this.#send(makeMessage({ type: 'appResp', to: m.from, index: this.log.committed }))
      return
    }
    const lastNew = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries)
    if (lastNew !== undefined) {
      this.#send(makeMessage({ type: 'appResp', to: m.from, index: lastNew }))
      return
    }
    // The consistency check failed. Hint where our logs may match: the last index at or below
    // m.index whose term is <= m.logTerm, so the leader skips whole terms (§5.3, last paragraph).
    const hint = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm)
    this.#logger(`${this.id} [logterm: ${this.log.term(m.index) ?? 0}, index: ${m.index}] rejected app [logterm: ${m.logTerm}, index: ${m.index}] from ${m.from}`)
    this.#send(makeMessage({ type: 'appResp', to: m.from, index: m.index, reject: true, rejectHint: hint.index, logTerm: hint.term }))
  }

  handleHeartbeat(m: Message): void {
    this.log.commitTo(m.commit)
    const resp = makeMessage({ type: 'heartbeatResp', to: m.from })
    if (m.context !== undefined) resp.context = m.context
    this.#send(resp)
  }

  handleSnapshot(m: Message): void {
    assert(m.snapshot !== undefined, 'snap message without a snapshot')
    const { index, term } = m.snapshot.metadata
    if (this.#restore(m.snapshot)) {
      this.#logger(`${this.id} [commit: ${this.log.committed}] restored snapshot [index: ${index}, term: ${term}]`)
      this.#send(makeMessage({ type: 'appResp', to: m.from, index: this.log.lastIndex() }))
    } else {
      this.#logger(`${this.id} [commit: ${this.log.committed}] ignored snapshot [index: ${index}, term: ${term}]`)
      this.#send(makeMessage({ type: 'appResp', to: m.from, index: this.log.committed }))
    }
  }

  #restore(snapshot: Snapshot): boolean {
    const { index, term, confState } = snapshot.metadata
    if (index <= this.log.committed) return false
    assert(this.role === 'follower', `${this.role} asked to restore a snapshot`)
    if (this.log.matchTerm(index, term)) {
      // We already hold the entry: the snapshot only tells us it is committed.
      this.log.commitTo(index)
      return false
    }
    this.log.restore(snapshot)
    this.tracker.setConfState(confState, this.log.lastIndex() + 1)
    this.tracker.resetAll(this.log.lastIndex())
    return true
  }

  // ---- sending ----------------------------------------------------------------------------

  #send(m: Message): void {
    if (m.from === 0) m.from = this.id
    if (m.type === 'vote' || m.type === 'voteResp' || m.type === 'preVote' || m.type === 'preVoteResp') {
      assert(m.term !== 0, `${m.type} sent without a term`)
    } else if (m.type !== 'prop' && m.type !== 'readIndex') {
      // Forwarded proposals and reads keep term 0: the leader treats them as local requests.
      m.term = this.term
    }
    this.msgs.push(m)
  }

  sendAppend(to: NodeId): void {
    this.#maybeSendAppend(to, true)
  }

  /** Sends the next append (or the snapshot, if the entries are compacted away). Returns whether a message went out. */
  #maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.tracker.get(to)
    if (pr === undefined || to === this.id || pr.isPaused()) return false
    const prevIndex = pr.next - 1
    assert(prevIndex <= this.log.lastIndex(), `next ${pr.next} of ${to} beyond our last index ${this.log.lastIndex()}`)
    const prevTerm = this.log.term(prevIndex)
    let entries: Entry[] | undefined
    if (prevTerm !== undefined) {
      try {
        entries = this.log.entries(pr.next, this.#appendBytesMax)
      } catch (err) {
        if (!(err instanceof StorageCompactedError)) throw err
      }
    }
    if (prevTerm === undefined || entries === undefined) return this.#maybeSendSnapshot(to, pr)
    if (entries.length === 0 && !sendIfEmpty) return false
    this.#send(makeMessage({ type: 'app', to, index: prevIndex, logTerm: prevTerm, entries, commit: this.log.committed }))
    let bytes = 0
    for (const e of entries) bytes += entryBytes(e)
    const last = entries[entries.length - 1]
    pr.sentEntries(entries.length, last === undefined ? prevIndex : last.index, bytes)
    return true
  }

  #maybeSendSnapshot(to: NodeId, pr: Progress): boolean {
    // A snapshot is expensive: only send it to a peer we know is alive.
    if (!pr.recentActive) return false
    const snapshot = this.log.snapshot()
    assert(snapshot.metadata.index > 0, `entries for ${to} are compacted but there is no snapshot`)
    this.#logger(`${this.id} sends snapshot [index: ${snapshot.metadata.index}, term: ${snapshot.metadata.term}] to ${to} [next: ${pr.next}]`)
    pr.becomeSnapshot(snapshot.metadata.index)
    this.#send(makeMessage({ type: 'snap', to, snapshot }))
    return true
  }

  /** Sends every peer what it lacks (at least one append, to carry the commit index), as far as flow control allows. */
  bcastAppend(): void {
    for (const id of this.tracker.ids()) {
      if (id === this.id) continue
      this.sendAppend(id)
      while (this.#maybeSendAppend(id, false)) {
        // pipelining: keep going until the window is full or nothing is left
      }
    }
  }

  /** Heartbeats every peer; with a pending ReadIndex context, the acknowledgements confirm leadership. */
  broadcastHeartbeat(context: Uint8Array | undefined = this.#readOnly.lastPendingContext()): void {
    for (const id of this.tracker.ids()) {
      if (id === this.id) continue
      const pr = this.tracker.get(id) as Progress
      // Never tell a follower to commit beyond what we know it holds: it may lack those entries.
      const m = makeMessage({ type: 'heartbeat', to: id, commit: Math.min(pr.match, this.log.committed) })
      if (context !== undefined) m.context = context
      this.#send(m)
    }
  }

  // ---- membership -------------------------------------------------------------------------

  /** Applies a committed membership change; called by the application when it applies the entry. */
  applyConfChange(cc: ConfChange): ConfState {
    const cs = this.tracker.confState()
    const voters = new Set(cs.voters)
    const learners = new Set(cs.learners)
    switch (cc.type) {
      case 'addVoter':
        learners.delete(cc.nodeId)
        voters.add(cc.nodeId)
        break
      case 'addLearner':
        if (!voters.has(cc.nodeId)) learners.add(cc.nodeId)
        break
      case 'removeVoter':
        voters.delete(cc.nodeId)
        learners.delete(cc.nodeId)
        break
    }
    const next: ConfState = { voters: [...voters].sort((a, b) => a - b), learners: [...learners].sort((a, b) => a - b) }
    this.tracker.setConfState(next, this.log.lastIndex() + 1)
    this.#logger(`${this.id} applied conf change ${cc.type} ${cc.nodeId}: voters=[${next.voters.join(',')}] learners=[${next.learners.join(',')}]`)
    if (this.role !== 'leader') return next
    if (!this.tracker.isVoter(this.id)) {
      // §4.2.2: a removed leader steps down once the change is committed. Tell the others the
      // commit index first, so that they apply the change and elect among themselves.
      this.bcastAppend()
      this.becomeFollower(this.term, 0)
      return next
    }
    if (this.leadTransferee !== 0 && !this.tracker.isVoter(this.leadTransferee)) this.#abortLeaderTransfer()
    // The quorum changed: what it has stored may now be committed.
    if (this.maybeCommit()) this.bcastAppend()
    else for (const id of this.tracker.ids()) if (id !== this.id) this.#maybeSendAppend(id, false)
    return next
  }
}
