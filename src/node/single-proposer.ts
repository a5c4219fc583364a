/**
 * The single-node block cutter: admits txs into the mempool and turns them into blocks, one at a
 * time, as soon as the previous block is durable, up to blockTxMax txs per block, so blocks are small
 * under light load and large under heavy load. A submitter's promise resolves once the block holding
 * its tx is durable. The Raft issue replaces this with a leader that cuts blocks as Raft log entries;
 * the seam is `TxProposer`.
 */
import { EventEmitter } from 'node:events'
import { Signer, toHex } from '../crypto/index.js'
import { sealBlock, TxRejectedError } from '../ledger/index.js'
import type { AppliedBlock, Ledger, Tx } from '../ledger/index.js'
import type { Logger } from './logger.js'
import { Mempool } from './mempool.js'
import type { CommittedTx, PendingTx } from './mempool.js'
import { NodeError } from './errors.js'

/** How a node gets txs into the chain. */
export interface TxProposer {
  submit(tx: Tx): Promise<CommittedTx>
  start(): void
  /** Stops cutting blocks once the one in flight is durable; pending txs are refused with ERR_NODE_STOPPED. */
  stop(): Promise<void>
}

export interface SingleProposerOptions {
  readonly ledger: Ledger
  readonly signer: Signer
  readonly blockTxMax: number
  readonly mempoolTxMax: number
  readonly logger: Logger
  /** Milliseconds since epoch; injectable for tests. */
  readonly clock?: () => number
  /** Told about every applied block. */
  readonly events?: EventEmitter
}

export class SingleProposer implements TxProposer {
  readonly #options: SingleProposerOptions
  readonly #mempool: Mempool
  readonly #clock: () => number
  #running = false
  #loop: Promise<void> | undefined
  #fatal: Error | undefined

  constructor(options: SingleProposerOptions) {
    this.#options = options
    this.#mempool = new Mempool(options.mempoolTxMax)
    this.#clock = options.clock ?? Date.now
  }

  get pending(): number {
    return this.#mempool.size
  }

  start(): void {
    this.#running = true
  }

  async submit(tx: Tx): Promise<CommittedTx> {
    if (!this.#running) throw new NodeError('ERR_NODE_STOPPED', this.#fatal?.message ?? 'the node is not running')
    await this.#options.ledger.checkTx(tx, this.#clock())
    const committed = this.#mempool.add(tx)
    this.#kick()
    return committed
  }

  #kick(): void {
    if (this.#loop !== undefined) return
    // setImmediate lets the txs submitted in this turn of the event loop share a block.
    this.#loop = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.#cutBlocks())
      .finally(() => {
        this.#loop = undefined
        if (this.#running && this.#mempool.size > 0) this.#kick()
      })
  }

  async #cutBlocks(): Promise<void> {
    while (this.#running && this.#mempool.size > 0) {
      const now = this.#clock()
      const live: PendingTx[] = []
      for (const pending of this.#mempool.take(this.#options.blockTxMax)) {
        if (pending.tx.expiresAt < now) pending.reject(new TxRejectedError('ERR_TX_EXPIRED', 'tx expired while waiting for a block'))
        else live.push(pending)
      }
      if (live.length === 0) continue
      await this.#cutBlock(live, now)
    }
  }

  async #cutBlock(live: PendingTx[], now: number): Promise<void> {
    const { ledger, signer, logger, events } = this.#options
    const head = ledger.head!
    const height = head.height + 1
    const block = sealBlock(
      {
        height,
        prevHash: head.hash,
        time: Math.max(now, head.time),
        stateRoot: head.stateDigest,
        raftTerm: 0,
        raftIndex: height,
        txs: live.map((p) => p.tx)
      },
      signer
    )
    let applied: AppliedBlock
    try {
      applied = await ledger.applyBlock(block)
    } catch (err) {
      // Our own block refused or not written: the ledger or the disk is broken. Stop cutting blocks
      // rather than build on a state we cannot trust; the submitters learn their txs did not commit.
      this.#fatal = err as Error
      this.#running = false
      logger.fatal({ err, height }, 'block could not be applied; the node stops proposing')
      for (const p of live) p.reject(err as Error)
      this.#mempool.rejectAll(new NodeError('ERR_NODE_STOPPED', `the node stopped: ${(err as Error).message}`))
      events?.emit('fatal', err)
      return
    }
    for (const [index, p] of live.entries()) {
      p.resolve({ id: toHex(p.tx.id), height, index, receipt: applied.receipts[index]! })
    }
    logger.debug({ height, txs: live.length }, 'block committed')
    events?.emit('block', applied)
  }

  async stop(): Promise<void> {
    this.#running = false
    await this.#loop
    this.#mempool.rejectAll(new NodeError('ERR_NODE_STOPPED', 'the node stopped before the tx was put in a block'))
  }
}
