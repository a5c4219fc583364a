/**
 * Txs admitted and waiting for a block, in arrival order, each with the promise its submitter waits
 * on. Bounded: beyond its limit a submit is refused rather than queued without end. Submitting a tx
 * that is already pending joins the existing wait (a client retry is not a second tx).
 */
import { toHex } from '../crypto/index.js'
import type { Receipt, Tx } from '../ledger/index.js'
import { NodeError } from './errors.js'

export interface CommittedTx {
  /** Tx id, hex. */
  readonly id: string
  readonly height: number
  readonly index: number
  readonly receipt: Receipt
}

export interface PendingTx {
  readonly tx: Tx
  readonly resolve: (committed: CommittedTx) => void
  readonly reject: (err: Error) => void
  readonly promise: Promise<CommittedTx>
}

export class Mempool {
  readonly #pending = new Map<string, PendingTx>()
  readonly #limit: number

  constructor(limit: number) {
    this.#limit = limit
  }

  get size(): number {
    return this.#pending.size
  }

  add(tx: Tx): Promise<CommittedTx> {
    const id = toHex(tx.id)
    const existing = this.#pending.get(id)
    if (existing !== undefined) return existing.promise
    if (this.#pending.size >= this.#limit) throw new NodeError('ERR_MEMPOOL_FULL', `the mempool holds ${this.#limit} txs; retry later`)
    let resolve!: (committed: CommittedTx) => void
    let reject!: (err: Error) => void
    const promise = new Promise<CommittedTx>((res, rej) => {
      resolve = res
      reject = rej
    })
    // A submitter that went away must not turn into an unhandled rejection.
    promise.catch(() => {})
    this.#pending.set(id, { tx, resolve, reject, promise })
    return promise
  }

  /** Removes and returns up to `max` txs, oldest first. */
  take(max: number): PendingTx[] {
    const out: PendingTx[] = []
    for (const [id, pending] of this.#pending) {
      if (out.length >= max) break
      out.push(pending)
      this.#pending.delete(id)
    }
    return out
  }

  rejectAll(err: Error): void {
    for (const pending of this.#pending.values()) pending.reject(err)
    this.#pending.clear()
  }
}
