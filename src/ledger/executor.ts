/**
 * The seam between the ledger and the contracts that give txs their meaning. The ledger validates,
 * orders, stores and digests; a TxExecutor (src/contracts) decides what a tx does to the world state.
 */
import type { Tx } from './tx.js'
import type { ProvSink } from './provenance.js'

export interface StateReader {
  get(key: string): Promise<Uint8Array | undefined>
}

/** The world state as one tx sees it: its own writes over the block's earlier writes over the store. */
export interface StateWriter extends StateReader {
  put(key: string, value: Uint8Array): void
  delete(key: string): void
  /**
   * The PROV records of what the tx did (beyond its own activity and its signer's association, which
   * the ledger records for every tx). Checked against PROV-CONSTRAINTS when the contract returns; a
   * violation fails the tx. See provenance.ts.
   */
  readonly prov: ProvSink
}

export interface TxContext {
  readonly network: Uint8Array
  readonly height: number
  /** The block time: the only clock a contract may read. */
  readonly time: number
  readonly proposer: Uint8Array
  /** Position of the tx in its block. */
  readonly index: number
}

export interface TxExecutor {
  /**
   * Carries out `tx`. MUST be deterministic: the same state, tx and context give the same writes and
   * the same outcome on every node. Throw TxFailedError to fail the tx; its writes are then discarded
   * and its code recorded in the receipt.
   */
  execute(tx: Tx, state: StateWriter, context: TxContext): Promise<void>
  /** Whether `publicKey` belongs to a node that may propose blocks, in the given state. */
  isProposer(publicKey: Uint8Array, state: StateReader): Promise<boolean>
}
