/**
 * Limits and timings of the Raft core. Every queue, batch and window has one, named with its unit
 * or qualifier last. A driver may override the timings and message limits through `RaftConfig`;
 * these are the defaults, chosen for a LAN/MEC cluster ticked every 100 ms.
 */

/** Ticks without hearing from a leader before a follower campaigns; randomised in [T, 2T). */
export const electionTimeoutTicks = 10
/** Ticks between the leader's heartbeats. Must be well below the election timeout. */
export const heartbeatIntervalTicks = 1
/** Most append messages in flight to one peer before the leader waits for acknowledgements. */
export const appendInflightMax = 256
/** Most entry bytes in one append message (at least one entry is always sent, whatever its size). */
export const appendBytesMax = 1024 * 1024
/** Most entry bytes handed to the application in one Ready. */
export const committedBytesPerReadyMax = 16 * 1024 * 1024
/** Most bytes of proposals the leader holds uncommitted; further proposals are dropped. */
export const uncommittedBytesMax = 64 * 1024 * 1024
/** Most entries in one local proposal message. */
export const proposalEntriesMax = 1024
/** Most ReadIndex requests a leader holds while it confirms its leadership. */
export const readIndexPendingMax = 4096
/** Largest ReadIndex request context. */
export const readIndexContextBytesMax = 256
/** Bytes charged per entry on top of its data when sizing messages, for its term, index and type. */
export const entryOverheadBytes = 24
