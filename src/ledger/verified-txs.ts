/**
 * Txs whose signature this process has verified. A Tx object is created once (decodeTx/signTx) and
 * frozen, so a proposer does not verify its own admitted txs again when it applies its block.
 * Internal to src/ledger: not exported from the package.
 */
import type { Tx } from './tx.js'

const verified = new WeakSet<Tx>()

export function isTxVerified(tx: Tx): boolean {
  return verified.has(tx)
}

export function markTxVerified(tx: Tx): void {
  verified.add(tx)
}
