/** Defaults and limits of a node. Each option in config.ts documents which of these it defaults to. */

/** Most txs waiting in the mempool; a submit beyond it is refused with ERR_MEMPOOL_FULL. */
export const mempoolTxMax = 50_000
/** Most txs the proposer puts in one block. */
export const defaultBlockTxMax = 500
/*
 * There is no block delay: the leader cuts the next block as soon as the previous one is applied,
 * with whatever is pending (up to blockTxMax). Blocks are therefore small under light load and full
 * under heavy load, and a tx never waits on a timer.
 */
/** How long a tx built by this node's tools stays valid. */
export const defaultTxTtlMs = 10 * 60 * 1000
