/** Defaults and limits of a node. Each option in config.ts documents which of these it defaults to. */

/** Most txs waiting in the mempool; a submit beyond it is refused with ERR_MEMPOOL_FULL. */
export const mempoolTxMax = 50_000
/** Most txs the proposer puts in one block. */
export const defaultBlockTxMax = 500
/**
 * Longest a pending tx waits for a block while the previous block is still in flight. A single node
 * applies blocks one after another, so it cuts the next block as soon as the previous one is durable.
 */
export const defaultBlockDelayMs = 50
/** How long a tx built by this node's tools stays valid. */
export const defaultTxTtlMs = 10 * 60 * 1000
