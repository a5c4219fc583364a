/**
 * The Raft driver: the concurrency and I/O around the pure core (src/consensus). It ticks the core on
 * a timer, steps messages from the transport, and processes each Ready in the order the core demands:
 * PERSIST (one synced write) BEFORE SENDING, then hand the committed entries over to be APPLIED, then
 * advance. Applying runs in a loop of its own, strictly in log order, so that a long apply (a block of
 * hundreds of txs) does not hold up the next Ready: a leader keeps sending heartbeats and appends, and
 * a follower keeps persisting and acknowledging the next entries, while the state machine catches up.
 * (Held up, a loaded leader could go quiet for longer than the election timeout and lose its leadership.)
 * Membership changes and snapshots wait until everything before them is applied. It knows nothing of
 * blocks: a RaftStateMachine gives entries their meaning, which lets the consensus benchmark drive it
 * with plain 256-byte entries.
 */
import { EventEmitter } from 'node:events'
import { RawNode, SeededRandom, decodeConfChange } from '../consensus/index.js'
import type { ConfChange, ConfState, Entry, HardState, Message, NodeId, ReadState, Snapshot, SoftState, Status, Storage } from '../consensus/index.js'
import type { Logger } from './logger.js'

/** Storage the driver can make durable: the core's read view plus one atomic, synced write per Ready. */
export interface DurableRaftStorage extends Storage {
  persist(update: { snapshot?: Snapshot; entries: Entry[]; hardState?: HardState }): Promise<void>
}

export interface RaftTransport {
  /** Queues `message` for its `to`; false when it was dropped (the peer is unreachable or its queue full). */
  send(message: Message): boolean
  onMessage(handler: (message: Message) => void): void
}

export interface RaftStateMachine {
  /** Applies a committed normal entry with data (a no-op has none and is not passed). Deterministic. */
  apply(entry: Entry): Promise<void>
  /** Brings the state up to a snapshot received from the leader (entries below it will not come). */
  restore(snapshot: Snapshot): Promise<void>
}

export interface RaftDriverOptions {
  readonly id: NodeId
  readonly storage: DurableRaftStorage
  readonly transport: RaftTransport
  readonly stateMachine: RaftStateMachine
  /** Milliseconds per core tick. Default 50. */
  readonly tickMs?: number
  /** Ticks without a leader before a follower campaigns (randomised up to twice this). Default 10. */
  readonly electionTimeoutTicks?: number
  /** Ticks between leader heartbeats. Default 2. */
  readonly heartbeatIntervalTicks?: number
  /** Seeds the election-timeout randomness. Default: derived from id and the clock. */
  readonly seed?: number
  readonly logger: Logger
}

export interface RaftDriverEvents {
  /** The role or known leader changed. */
  softState: [SoftState]
  /** A membership change was applied. */
  confChange: [ConfChange, ConfState]
  /** Entries up to this index are applied. */
  applied: [number]
  readState: [ReadState]
  /** The loop failed (storage or state machine): the node must stop. */
  fatal: [Error]
}

export const defaultTickMs = 50

/** Committed entries waiting to be applied, beyond which the Ready loop waits for the state machine. */
const applyBacklogEntriesMax = 16

export class RaftDriver extends EventEmitter<RaftDriverEvents> {
  readonly id: NodeId
  readonly #raw: RawNode
  readonly #options: RaftDriverOptions
  #ticker: NodeJS.Timeout | undefined
  #loop: Promise<void> | undefined
  /** Committed entries handed over and not yet applied, in log order. */
  readonly #toApply: Entry[] = []
  #applying: Promise<void> | undefined
  #running = false
  #softState: SoftState = { role: 'follower', leader: 0 }
  #applied: number

  constructor(options: RaftDriverOptions) {
    super()
    this.id = options.id
    this.#options = options
    this.#applied = options.storage.snapshot().metadata.index
    this.#raw = new RawNode({
      id: options.id,
      storage: options.storage,
      random: new SeededRandom(options.seed ?? options.id * 7919 + (Date.now() % 1_000_003)),
      electionTimeoutTicks: options.electionTimeoutTicks ?? 10,
      heartbeatIntervalTicks: options.heartbeatIntervalTicks ?? 2,
      logger: (line) => options.logger.debug({ raft: line })
    })
    options.transport.onMessage((m) => {
      if (!this.#running) return
      this.#raw.step(m)
      this.#kick()
    })
  }

  get role(): SoftState['role'] {
    return this.#softState.role
  }

  get leader(): NodeId {
    return this.#softState.leader
  }

  /** The last applied log index. */
  get applied(): number {
    return this.#applied
  }

  status(): Status {
    return this.#raw.status()
  }

  start(): void {
    this.#running = true
    this.#ticker = setInterval(() => {
      this.#raw.tick()
      this.#kick()
    }, this.#options.tickMs ?? defaultTickMs)
    this.#kick()
  }

  /**
   * Stops ticking, stepping and applying; the Ready and the entry being processed complete first.
   * Committed entries not yet applied are durable in the log and are applied again after a restart.
   */
  async stop(): Promise<void> {
    this.#running = false
    clearInterval(this.#ticker)
    await this.#loop
    await this.#applying
  }

  /** Appends `data` to the log (leader only; throws ProposalDroppedError otherwise). */
  propose(data: Uint8Array): { index: number; term: number } {
    const at = this.#raw.propose(data)
    this.#kick()
    return at
  }

  proposeBatch(data: Uint8Array[]): { firstIndex: number; lastIndex: number; term: number } {
    const at = this.#raw.proposeBatch(data)
    this.#kick()
    return at
  }

  proposeConfChange(cc: ConfChange): { index: number; term: number } {
    const at = this.#raw.proposeConfChange(cc)
    this.#kick()
    return at
  }

  campaign(): void {
    this.#raw.campaign()
    this.#kick()
  }

  transferLeader(to: NodeId): void {
    this.#raw.transferLeader(to)
    this.#kick()
  }

  readIndex(context: Uint8Array): void {
    this.#raw.readIndex(context)
    this.#kick()
  }

  #kick(): void {
    if (this.#loop !== undefined || !this.#running) return
    this.#loop = this.#processReadies()
      .catch((err: Error) => this.#fail(err))
      .finally(() => {
        this.#loop = undefined
        if (this.#running && this.#raw.hasReady()) this.#kick()
      })
  }

  #fail(err: Error): void {
    if (!this.#running) return
    this.#running = false
    clearInterval(this.#ticker)
    this.#options.logger.fatal({ err }, 'raft loop failed; the node stops')
    this.emit('fatal', err)
  }

  #startApplying(): void {
    if (this.#applying !== undefined || this.#toApply.length === 0 || !this.#running) return
    this.#applying = this.#applyQueued()
      .catch((err: Error) => this.#fail(err))
      .finally(() => {
        this.#applying = undefined
        this.#startApplying() // entries handed over as the loop was ending
      })
  }

  async #applyQueued(): Promise<void> {
    const { stateMachine } = this.#options
    while (this.#running && this.#toApply.length > 0) {
      const entry = this.#toApply.shift()!
      if (entry.data.length > 0) await stateMachine.apply(entry)
      this.#applied = entry.index
      this.emit('applied', entry.index)
    }
  }

  /** Applies everything handed over so far (nothing more once stopped). */
  async #drainApplies(): Promise<void> {
    while (this.#running && (this.#toApply.length > 0 || this.#applying !== undefined)) {
      this.#startApplying()
      await this.#applying
    }
  }

  async #processReadies(): Promise<void> {
    const { storage, transport, stateMachine } = this.#options
    while (this.#running && this.#raw.hasReady()) {
      const rd = this.#raw.ready()
      // 1. PERSIST before sending anything of this Ready.
      const update: Parameters<DurableRaftStorage['persist']>[0] = { entries: rd.entries }
      if (rd.snapshot !== undefined) update.snapshot = rd.snapshot
      if (rd.hardState !== undefined) update.hardState = rd.hardState
      if (update.snapshot !== undefined || update.hardState !== undefined || update.entries.length > 0) await storage.persist(update)
      // 2. SEND.
      for (const m of rd.messages) {
        const sent = transport.send(m)
        if (!sent) this.#raw.reportUnreachable(m.to)
        if (m.type === 'snap') this.#raw.reportSnapshot(m.to, sent)
      }
      if (rd.softState.role !== this.#softState.role || rd.softState.leader !== this.#softState.leader) {
        this.#softState = rd.softState
        this.emit('softState', rd.softState)
      }
      // 3. APPLY committed entries, in order: normal ones on the apply loop; a snapshot or a membership
      // change here, once everything before it is applied.
      if (rd.snapshot !== undefined) {
        await this.#drainApplies()
        if (!this.#running) return
        await stateMachine.restore(rd.snapshot)
        this.#applied = rd.snapshot.metadata.index
        this.emit('applied', this.#applied)
      }
      for (const entry of rd.committedEntries) {
        if (entry.type === 'confChange') {
          await this.#drainApplies()
          if (!this.#running) return
          const cc = decodeConfChange(entry.data)
          this.emit('confChange', cc, this.#raw.applyConfChange(cc))
          this.#applied = entry.index
          this.emit('applied', this.#applied)
        } else {
          this.#toApply.push(entry)
        }
      }
      this.#startApplying()
      // ReadIndex readers wait for `applied` to reach the read's index themselves.
      for (const rs of rd.readStates) this.emit('readState', rs)
      // 4. advance.
      this.#raw.advance()
      // A follower far behind would otherwise hold its whole backlog in memory.
      if (this.#toApply.length > applyBacklogEntriesMax) await this.#drainApplies()
    }
  }
}
