/**
 * Txs to blocks through Raft. The leader admits txs into its mempool and, once everything in its log
 * is applied, seals the next block (bound to the log position it will take: raftIndex/raftTerm) and
 * proposes it as one entry; the next block is cut when that one is applied, so blocks are small under
 * light load and full under heavy load. Every node applies committed blocks to its ledger in log
 * order; a block that does not fit (a stale leader's, or one bound to another position) is skipped
 * identically by all. Followers forward txs to the leader. A node far behind restores from a
 * snapshot by fetching the blocks it lacks. The leader keeps the Raft membership in step with the
 * nodes the ledger lists: new nodes join as learners and are promoted once caught up.
 */
import { EventEmitter } from 'node:events'
import { randomBytes } from 'node:crypto'
import { encode, decode, bytesEqual, toHex, Signer } from '../crypto/index.js'
import { BlockRejectedError, decodeBlock, sealBlock, TxRejectedError } from '../ledger/index.js'
import type { AppliedBlock, Block, Ledger, StateReader, Tx } from '../ledger/index.js'
import { ConfChangeRefusedError, ProposalDroppedError } from '../consensus/index.js'
import type { ConfChange, ConfState, Entry, NodeId, ReadState, Snapshot, SoftState } from '../consensus/index.js'
import { listNodes } from '../contracts/index.js'
import { Mempool } from './mempool.js'
import type { CommittedTx, PendingTx } from './mempool.js'
import { NodeError } from './errors.js'
import { RaftDriver, defaultTickMs } from './raft-driver.js'
import type { DurableRaftStorage, RaftTransport } from './raft-driver.js'
import type { Logger } from './logger.js'

/** What the proposer asks of the other nodes. */
export interface ClusterLink {
  /** Has the leader admit `tx` and resolves with its commit. */
  forwardTx(to: NodeId, tx: Tx, options?: { signal?: AbortSignal }): Promise<CommittedTx>
  /** Has the leader admit `tx` and resolves as soon as it did (rejects with the leader's refusal). */
  forwardTxAdmission(to: NodeId, tx: Tx, options?: { signal?: AbortSignal }): Promise<void>
  /** Up to `max` encoded blocks from `fromHeight` on, from node `from`. */
  fetchBlocks(from: NodeId, fromHeight: number, max: number, options?: { signal?: AbortSignal }): Promise<Uint8Array[]>
}

/** Raft storage that can also take snapshots and drop what they cover. */
export interface CompactableRaftStorage extends DurableRaftStorage {
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Promise<Snapshot>
  compact(index: number): Promise<void>
}

export interface RaftProposerOptions {
  readonly raftId: NodeId
  readonly ledger: Ledger
  readonly signer: Signer
  readonly storage: CompactableRaftStorage
  readonly transport: RaftTransport
  readonly cluster: ClusterLink
  readonly blockTxMax: number
  readonly mempoolTxMax: number
  /** Snapshot the log every this many applied entries, keeping logEntriesKept behind the snapshot. */
  readonly snapshotEveryEntries: number
  readonly logEntriesKept: number
  readonly tickMs?: number
  readonly electionTimeoutTicks?: number
  readonly logger: Logger
  readonly clock?: () => number
  /** Told about every applied block ('block') and a failed loop ('fatal'). */
  readonly events?: EventEmitter
}

/** How often the leader reconciles membership, and most voters it promotes learners to. */
const membershipCheckMs = 250
export const votersMax = 7
/** Longest a linearizable read waits for the leader's confirmation. */
const readConfirmMs = 5_000
/** Longest a submit waits for a leader to be elected. */
const leaderWaitMs = 5_000
/** Blocks fetched per sync request while restoring. */
const syncBlocksPerRequest = 64

/** The snapshot of the ledger at an applied index: which block it had reached. */
interface LedgerSnapshot {
  height: number
  hash: Uint8Array
}

export class RaftProposer {
  readonly driver: RaftDriver
  readonly #options: RaftProposerOptions
  readonly #mempool: Mempool
  readonly #clock: () => number
  /** Txs in a proposed block, by id: resolved when a block holding them is applied. */
  readonly #inFlight = new Map<string, PendingTx>()
  /** The block this node sealed and proposed, not yet applied: applying it needs no second decode. */
  #inFlightBlock: { index: number; ids: string[]; block: Block } | undefined
  #membershipTimer: NodeJS.Timeout | undefined
  #running = false
  #compacting = false
  #leaderWait: Promise<void> | undefined

  constructor(options: RaftProposerOptions) {
    this.#options = options
    this.#mempool = new Mempool(options.mempoolTxMax)
    this.#clock = options.clock ?? Date.now
    const driverOptions = {
      id: options.raftId,
      storage: options.storage,
      transport: options.transport,
      stateMachine: { apply: (e: Entry) => this.#applyEntry(e), restore: (s: Snapshot) => this.#restore(s) },
      logger: options.logger.child({ module: 'raft' }),
      ...(options.tickMs === undefined ? {} : { tickMs: options.tickMs }),
      ...(options.electionTimeoutTicks === undefined ? {} : { electionTimeoutTicks: options.electionTimeoutTicks })
    }
    this.driver = new RaftDriver(driverOptions)
    this.driver.on('softState', (s) => this.#onSoftState(s))
    this.driver.on('applied', (index) => {
      this.#cut()
      this.#maybeCompact(index)
    })
    this.driver.on('fatal', (err) => {
      this.#running = false
      this.#failAll(new NodeError('ERR_NODE_STOPPED', `the node stopped: ${err.message}`))
      options.events?.emit('fatal', err)
    })
  }

  get pending(): number {
    return this.#mempool.size + this.#inFlight.size
  }

  start(): void {
    this.#running = true
    this.driver.start()
    // A group of one need not wait out an election timeout to elect itself.
    const { voters } = this.driver.status().confState
    if (voters.length === 1 && voters[0] === this.driver.id) this.driver.campaign()
    this.#membershipTimer = setInterval(() => {
      this.#reconcileMembership().catch((err: Error) => this.#options.logger.error({ err }, 'membership reconciliation failed'))
    }, membershipCheckMs)
  }

  /**
   * If this node leads, hands leadership to the most caught-up voter and waits (a bounded time) for it
   * to take over, so that a graceful shutdown costs the network no election timeout.
   */
  async handOver(): Promise<void> {
    if (!this.#running || this.driver.role !== 'leader') return
    const status = this.driver.status()
    const candidates = status.confState.voters.filter((id) => id !== this.driver.id)
    const best = candidates.sort((a, b) => (status.progress[String(b)]?.match ?? 0) - (status.progress[String(a)]?.match ?? 0))[0]
    if (best === undefined) return
    const waitMs = (this.#options.tickMs ?? defaultTickMs) * (this.#options.electionTimeoutTicks ?? 10) * 2
    await new Promise<void>((resolve) => {
      const onSoftState = (s: SoftState): void => {
        if (s.role !== 'leader') finish()
      }
      const finish = (): void => {
        clearTimeout(timer)
        this.driver.off('softState', onSoftState)
        resolve()
      }
      const timer = setTimeout(finish, waitMs)
      this.driver.on('softState', onSoftState)
      this.driver.transferLeader(best)
    })
    this.#options.logger.info({ to: best, role: this.driver.role }, 'leadership handed over')
  }

  async stop(): Promise<void> {
    this.#running = false
    clearInterval(this.#membershipTimer)
    await this.driver.stop()
    this.#failAll(new NodeError('ERR_NODE_STOPPED', 'the node stopped before the tx committed; it may or may not have: look it up by id'))
  }

  /** Admits `tx` (here, or at the leader) and resolves with its commit. */
  async submit(tx: Tx): Promise<CommittedTx> {
    const leader = await this.#leaderToForwardTo()
    if (leader !== undefined) return this.#options.cluster.forwardTx(leader, tx)
    return (await this.#admitHere(tx)).committed
  }

  /**
   * Admits `tx` (here, or at the leader) and resolves as soon as it is admitted, without waiting for
   * the commit; rejects with the same refusals as submit. An admitted tx is in the leader's mempool or
   * in a proposed block: it commits unless leadership moves first (then it is dropped: resubmit).
   */
  async admit(tx: Tx): Promise<void> {
    const leader = await this.#leaderToForwardTo()
    if (leader !== undefined) return this.#options.cluster.forwardTxAdmission(leader, tx)
    await this.#admitHere(tx)
  }

  /** The leader to forward a tx to, or undefined when this node leads. Waits (bounded) for an election. */
  async #leaderToForwardTo(): Promise<NodeId | undefined> {
    if (!this.#running) throw new NodeError('ERR_NODE_STOPPED', 'the node is not running')
    if (this.driver.leader === 0) await this.#leaderKnown()
    return this.driver.role === 'leader' ? undefined : this.driver.leader
  }

  /**
   * The leader's admission: the ledger's checks, then the mempool (a tx already pending or in flight
   * joins its wait). The commit is returned inside an object so that awaiting admission does not
   * also await the commit.
   */
  async #admitHere(tx: Tx): Promise<{ committed: Promise<CommittedTx> }> {
    await this.#options.ledger.checkTx(tx, this.#clock())
    // Leadership may have moved during the checks: a tx put in a follower's mempool would wait there.
    if (this.driver.role !== 'leader') throw new NodeError('ERR_NOT_LEADER', 'leadership moved while the tx was checked; resubmit')
    const inFlight = this.#inFlight.get(toHex(tx.id))
    if (inFlight !== undefined) return { committed: inFlight.promise }
    const committed = this.#mempool.add(tx)
    setImmediate(() => this.#cut())
    return { committed }
  }

  /**
   * A linearizable read barrier (Raft ReadIndex): resolves once this node has applied everything the
   * leader had committed when the call was made, so a read of the local ledger after it reflects every
   * tx committed before the call. Rejects with ERR_READ_UNCONFIRMED when the leader does not confirm
   * in time (a leader change can drop the request): retry.
   */
  async readBarrier(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.driver.leader === 0) await this.#leaderKnown()
    const context = randomBytes(16)
    const index = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => done(new NodeError('ERR_READ_UNCONFIRMED', `the leader did not confirm the read within ${readConfirmMs} ms; retry`)), readConfirmMs)
      const onRead = (rs: ReadState): void => {
        if (bytesEqual(rs.requestContext, context)) done(undefined, rs.index)
      }
      const onAbort = (): void => done(options.signal!.reason as Error)
      const done = (err: Error | undefined, at = 0): void => {
        clearTimeout(timer)
        this.driver.off('readState', onRead)
        options.signal?.removeEventListener('abort', onAbort)
        if (err === undefined) resolve(at)
        else reject(err)
      }
      this.driver.on('readState', onRead)
      options.signal?.addEventListener('abort', onAbort, { once: true })
      try {
        this.driver.readIndex(context)
      } catch (err) {
        done(new NodeError('ERR_READ_UNCONFIRMED', (err as Error).message))
      }
    })
    while (this.driver.applied < index) {
      if (!this.#running) throw new NodeError('ERR_NODE_STOPPED', 'the node stopped before the read could be served')
      // Bounded waits, so that a node stopping meanwhile is noticed.
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer)
          this.driver.off('applied', done)
          resolve()
        }
        const timer = setTimeout(done, readConfirmMs)
        this.driver.on('applied', done)
      })
    }
  }

  /** Waits (a bounded time) for an election to end, so that a submit during one is not refused at once. */
  #leaderKnown(): Promise<void> {
    // One wait shared by every submit that arrives during the election.
    this.#leaderWait ??= new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.driver.off('softState', check)
        this.#leaderWait = undefined
        reject(new NodeError('ERR_NO_LEADER', `no leader was elected within ${leaderWaitMs} ms; retry`))
      }, leaderWaitMs)
      const check = (s: SoftState): void => {
        if (s.leader === 0) return
        clearTimeout(timer)
        this.driver.off('softState', check)
        this.#leaderWait = undefined
        resolve()
      }
      this.driver.on('softState', check)
    })
    return this.#leaderWait
  }

  /** Seals and proposes the next block if this node leads, has applied its whole log and has txs. */
  #cut(): void {
    if (!this.#running || this.driver.role !== 'leader' || this.#inFlightBlock !== undefined || this.#mempool.size === 0) return
    const status = this.driver.status()
    if (this.driver.applied < status.lastIndex) return // the block must build on everything in the log
    const { ledger, signer, blockTxMax } = this.#options
    const now = this.#clock()
    const live: PendingTx[] = []
    for (const p of this.#mempool.take(blockTxMax)) {
      if (p.tx.expiresAt < now) p.reject(new TxRejectedError('ERR_TX_EXPIRED', 'tx expired while waiting for a block'))
      else live.push(p)
    }
    if (live.length === 0) return
    const head = ledger.head!
    const raftIndex = status.lastIndex + 1
    const block = sealBlock(
      {
        height: head.height + 1,
        prevHash: head.hash,
        time: Math.max(now, head.time),
        stateRoot: head.stateDigest,
        raftTerm: status.hardState.term,
        raftIndex,
        txs: live.map((p) => p.tx)
      },
      signer
    )
    try {
      const at = this.driver.propose(block.bytes)
      if (at.index !== raftIndex) throw new Error(`assertion: block proposed at ${at.index}, sealed for ${raftIndex}`)
    } catch (err) {
      const reason = err instanceof ProposalDroppedError ? new NodeError('ERR_NOT_LEADER', 'leadership moved before the tx was put in a block; resubmit') : (err as Error)
      for (const p of live) p.reject(reason)
      return
    }
    const ids = live.map((p) => toHex(p.tx.id))
    for (const [i, p] of live.entries()) this.#inFlight.set(ids[i]!, p)
    this.#inFlightBlock = { index: raftIndex, ids, block }
  }

  async #applyEntry(entry: Entry): Promise<void> {
    const { ledger, logger, events } = this.#options
    let block: Block | undefined
    const sealed = this.#inFlightBlock
    try {
      block = sealed !== undefined && sealed.index === entry.index && bytesEqual(sealed.block.bytes, entry.data) ? sealed.block : decodeBlock(entry.data)
    } catch (err) {
      logger.error({ index: entry.index, err: (err as Error).message }, 'committed entry is not a block; skipped')
    }
    if (block !== undefined) {
      const head = ledger.head!
      if (block.header.height <= head.height) {
        // Re-delivered after a restart: it must be the block we already hold at that height.
        const held = await ledger.getBlock(block.header.height)
        if (held !== undefined && !bytesEqual(held.hash, block.hash) && block.header.raftIndex === entry.index) {
          throw new Error(`assertion: log entry ${entry.index} holds block ${toHex(block.hash)}, the ledger ${toHex(held.hash)}`)
        }
      } else if (block.header.raftIndex !== entry.index || block.header.raftTerm !== entry.term) {
        logger.warn({ index: entry.index, height: block.header.height }, 'block bound to another log position; skipped')
      } else {
        try {
          const applied = await ledger.applyBlock(block)
          this.#settle(applied)
          events?.emit('block', applied)
          if (applied.block.txs.some((tx, i) => tx.type.startsWith('node.') && applied.receipts[i]!.ok)) events?.emit('nodes')
        } catch (err) {
          if (!(err instanceof BlockRejectedError)) throw err
          logger.warn({ index: entry.index, code: err.code, reason: err.message }, 'committed block refused by the ledger; skipped')
        }
      }
    }
    if (this.#inFlightBlock !== undefined && entry.index >= this.#inFlightBlock.index) {
      // Whatever of our block did not commit now never will at that position.
      for (const id of this.#inFlightBlock.ids) {
        this.#inFlight.get(id)?.reject(new NodeError('ERR_NOT_LEADER', 'the block holding the tx was not committed (leadership moved); resubmit'))
        this.#inFlight.delete(id)
      }
      this.#inFlightBlock = undefined
    }
  }

  #settle({ block, receipts }: AppliedBlock): void {
    for (const [index, tx] of block.txs.entries()) {
      const id = toHex(tx.id)
      const pending = this.#inFlight.get(id)
      if (pending === undefined) continue
      pending.resolve({ id, height: block.header.height, index, receipt: receipts[index]! })
      this.#inFlight.delete(id)
    }
  }

  /** The state at a snapshot: fetch and apply, with full validation, the blocks up to its height. */
  async #restore(snapshot: Snapshot): Promise<void> {
    const target = decode<LedgerSnapshot>(snapshot.data)
    const { ledger, cluster, logger } = this.#options
    logger.info({ height: target.height, from: ledger.head!.height }, 'restoring from a snapshot: fetching blocks')
    while (ledger.head!.height < target.height) {
      const source = this.driver.leader
      if (source === 0 || source === this.driver.id) throw new Error('no leader to fetch blocks from while restoring a snapshot')
      const blocks = await cluster.fetchBlocks(source, ledger.head!.height + 1, syncBlocksPerRequest)
      if (blocks.length === 0) throw new Error(`node ${source} has no block after ${ledger.head!.height}`)
      for (const bytes of blocks) {
        const applied = await ledger.applyBlock(decodeBlock(bytes))
        this.#settle(applied)
        this.#options.events?.emit('block', applied)
      }
    }
    const held = await ledger.getBlock(target.height)
    if (held === undefined || !bytesEqual(held.hash, target.hash)) throw new Error(`assertion: restored chain differs from the snapshot at ${target.height}`)
  }

  /** The snapshot data of the ledger now (for compaction). */
  ledgerSnapshot(): Uint8Array {
    const head = this.#options.ledger.head!
    return encode({ height: head.height, hash: head.hash })
  }

  /** Every snapshotEveryEntries: record the ledger position as the Raft snapshot and drop old entries. */
  #maybeCompact(applied: number): void {
    const { storage, logger } = this.#options
    if (this.#compacting || applied - storage.snapshot().metadata.index < this.#options.snapshotEveryEntries) return
    this.#compacting = true
    const confState = this.driver.status().confState
    storage
      .createSnapshot(applied, confState, this.ledgerSnapshot())
      .then(async () => {
        const upTo = applied - this.#options.logEntriesKept
        if (upTo >= storage.firstIndex()) await storage.compact(upTo)
        logger.debug({ applied, compactedTo: upTo }, 'raft log compacted')
      })
      .catch((err: Error) => logger.error({ err }, 'raft log compaction failed'))
      .finally(() => (this.#compacting = false))
  }

  #onSoftState(s: SoftState): void {
    this.#options.logger.info({ role: s.role, leader: s.leader }, 'raft role')
    if (s.role !== 'leader') {
      this.#mempool.rejectAll(new NodeError('ERR_NOT_LEADER', 'leadership moved before the tx was put in a block; resubmit'))
    } else {
      this.#cut()
    }
  }

  #failAll(err: Error): void {
    this.#mempool.rejectAll(err)
    for (const p of this.#inFlight.values()) p.reject(err)
    this.#inFlight.clear()
    this.#inFlightBlock = undefined
  }

  /** Leader only: one membership change at a time towards the nodes the ledger lists. */
  async #reconcileMembership(): Promise<void> {
    if (!this.#running || this.driver.role !== 'leader') return
    const ledger = this.#options.ledger
    const state: StateReader = { get: (key) => ledger.getState(key) }
    const wanted = new Set((await listNodes(state)).map((n) => n.raftId))
    const status = this.driver.status()
    const { voters, learners } = status.confState
    let change: ConfChange | undefined
    const gone = [...voters, ...learners].find((id) => !wanted.has(id))
    const missing = [...wanted].find((id) => !voters.includes(id) && !learners.includes(id))
    const caughtUp = learners.find((id) => (status.progress[String(id)]?.match ?? 0) >= status.hardState.commit)
    if (gone !== undefined) change = { type: 'removeVoter', nodeId: gone }
    else if (missing !== undefined) change = { type: 'addLearner', nodeId: missing }
    else if (caughtUp !== undefined && voters.length < votersMax) change = { type: 'addVoter', nodeId: caughtUp }
    if (change === undefined) return
    try {
      this.driver.proposeConfChange(change)
      this.#options.logger.info({ change }, 'membership change proposed')
    } catch (err) {
      if (!(err instanceof ConfChangeRefusedError || err instanceof ProposalDroppedError)) throw err
    }
  }
}
