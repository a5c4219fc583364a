/**
 * The consensus error classes, one per condition, each with a stable `name` and `code`. A
 * `RaftInvariantError` is a bug (or corrupt storage): the core throws it and the process must
 * crash rather than limp on. The others are expected outcomes that a caller handles.
 */

/** Every code this module throws, with what it means; test/consensus/errors.test.ts keeps it in sync. */
export const consensusErrorCodes = {
  ERR_RAFT_INVARIANT: 'a Raft invariant does not hold: a bug or corrupt storage; crash',
  ERR_PROPOSAL_DROPPED: 'the proposal was not appended (not the leader, leadership transfer, removed, or too many uncommitted bytes); it will not commit',
  ERR_CONF_CHANGE_REFUSED: 'the membership change was refused: one is pending, the leader has not committed an entry of its term yet, or the change is invalid',
  ERR_READ_INDEX_DROPPED: 'the ReadIndex request was dropped (no known leader, or too many pending); retry',
  ERR_STORAGE_COMPACTED: 'the requested index is below the first index of the storage: it was compacted',
  ERR_STORAGE_UNAVAILABLE: 'the requested index is above the last index of the storage',
  ERR_SNAPSHOT_OUT_OF_DATE: 'the snapshot is older than the one the storage already holds',
  ERR_INVALID_CONFIG: 'a RaftConfig field is out of range'
} as const
export type ConsensusErrorCode = keyof typeof consensusErrorCodes

/** An invariant of the algorithm or of its storage does not hold. Never catch this to continue. */
export class RaftInvariantError extends Error {
  override readonly name = 'RaftInvariantError'
  readonly code = 'ERR_RAFT_INVARIANT'
}

/** Throws a RaftInvariantError when `condition` is false. */
export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new RaftInvariantError(message)
}

/** A proposal was not appended to the leader's log; it will not commit. */
export class ProposalDroppedError extends Error {
  override readonly name = 'ProposalDroppedError'
  readonly code = 'ERR_PROPOSAL_DROPPED'
  /** The leader this node knows of (0 if none), so that the caller can retry there. */
  readonly leader: number
  constructor(message: string, leader: number) {
    super(message)
    this.leader = leader
  }
}

/** A membership change was refused before it was appended. */
export class ConfChangeRefusedError extends Error {
  override readonly name = 'ConfChangeRefusedError'
  readonly code = 'ERR_CONF_CHANGE_REFUSED'
}

/** A ReadIndex request was dropped; no read state will come for it. */
export class ReadIndexDroppedError extends Error {
  override readonly name = 'ReadIndexDroppedError'
  readonly code = 'ERR_READ_INDEX_DROPPED'
}

/** Storage: the requested index was compacted away. */
export class StorageCompactedError extends Error {
  override readonly name = 'StorageCompactedError'
  readonly code = 'ERR_STORAGE_COMPACTED'
}

/** Storage: the requested index is past the last entry. */
export class StorageUnavailableError extends Error {
  override readonly name = 'StorageUnavailableError'
  readonly code = 'ERR_STORAGE_UNAVAILABLE'
}

/** Storage: the snapshot given is older than the one held. */
export class SnapshotOutOfDateError extends Error {
  override readonly name = 'SnapshotOutOfDateError'
  readonly code = 'ERR_SNAPSHOT_OUT_OF_DATE'
}

/** A RaftConfig field is out of range. */
export class InvalidConfigError extends Error {
  override readonly name = 'InvalidConfigError'
  readonly code = 'ERR_INVALID_CONFIG'
}
