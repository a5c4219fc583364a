/** Limits of the ledger. Every queue, size and window has one, named with its unit last. */

/**
 * The layout of a ledger's store (layout.ts, the PROV index of provenance.ts), written with genesis. A
 * ledger in another layout is refused at open rather than read wrong. 2: the PROV index keeps one
 * `n/` record per id, one `t/` record per block, and no edges at a tx's own activity (December 2026);
 * ledgers written before then have no format record.
 */
export const ledgerFormat = 2
/** Largest encoded signed tx. */
export const txBytesMax = 64 * 1024
/** Longest tx type name, e.g. `device.join`. */
export const txTypeBytesMax = 64
/** How far ahead of the block time a tx may expire; bounds how long a signed tx stays usable. */
export const txTtlMaxMs = 24 * 60 * 60 * 1000
/** Most txs in one block. */
export const blockTxMax = 2000
/** Largest encoded block. */
export const blockBytesMax = 16 * 1024 * 1024
/** Longest world-state key (UTF-8 bytes). */
export const stateKeyBytesMax = 512
/** Largest state value. */
export const stateValueBytesMax = 64 * 1024
/**
 * World-state entries the ledger keeps in memory for contract reads. The hot keys (signers, orgs,
 * images, contracts) are few; most writes are new records that nothing reads again, and at 50,000
 * entries they kept ~15 MB of a loaded node's live heap for V8 to mark at every major GC.
 */
export const stateCacheEntriesMax = 10_000
/**
 * Provenance index records read (kinds, generations) that the cache keeps: the signing keys and
 * shared entities that tx after tx relates to. Written records are not added, only kept current.
 */
export const provCacheEntriesMax = 10_000
/**
 * Longest stretch of a block's execution without a yield to the event loop. Every read a tx makes is
 * synchronous underneath, so without yields a block of 500 txs ran as one task of 150-300 ms (more on
 * a busy machine): a leader sent no Raft heartbeats meanwhile (a follower then called an election),
 * a follower acknowledged no new entries, and no API request was answered.
 */
export const applySliceMs = 10
