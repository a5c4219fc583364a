/**
 * The Raft driver: the concurrency and I/O around the pure core (src/consensus). It ticks the core on
 * a timer, steps messages from the transport, and processes each Ready in the order the core demands:
 * PERSIST (one synced write) BEFORE SENDING, then APPLY only committed entries, then advance. One
 * loop does this at a time, so entries are applied strictly in log order. It knows nothing of blocks:
 * a RaftStateMachine gives entries their meaning, which lets the consensus benchmark drive it with
 * plain 256-byte entries.
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

export class RaftDriver extends EventEmitter<RaftDriverEvents> {
  readonly id: NodeId
  readonly #raw: RawNode
  readonly #options: RaftDriverOptions
  #ticker: NodeJS.Timeout | undefined
  #loop: Promise<void> | undefined
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

  /** Stops ticking and stepping; the Ready being processed completes first. */
  async stop(): Promise<void> {
    this.#running = false
    clearInterval(this.#ticker)
    await this.#loop
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
      .catch((err: Error) => {
        this.#running = false
        clearInterval(this.#ticker)
        this.#options.logger.fatal({ err }, 'raft loop failed; the node stops')
        this.emit('fatal', err)
      })
      .finally(() => {
        this.#loop = undefined
        if (this.#running && this.#raw.hasReady()) this.#kick()
      })
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
      // 3. APPLY committed entries, in order.
      if (rd.snapshot !== undefined) {
        await stateMachine.restore(rd.snapshot)
        this.#applied = rd.snapshot.metadata.index
      }
      for (const entry of rd.committedEntries) {
        if (entry.type === 'confChange') {
          const cc = decodeConfChange(entry.data)
          this.emit('confChange', cc, this.#raw.applyConfChange(cc))
        } else if (entry.data.length > 0) {
          await stateMachine.apply(entry)
        }
        this.#applied = entry.index
      }
      for (const rs of rd.readStates) this.emit('readState', rs)
      // 4. advance.
      this.#raw.advance()
      if (rd.committedEntries.length > 0 || rd.snapshot !== undefined) this.emit('applied', this.#applied)
    }
  }
}
