/**
 * The data of the Raft core: entries, messages, hard and soft state, snapshots, Ready. Every type
 * here is plain CBOR-friendly data (numbers, strings, booleans, Uint8Array, arrays, plain objects;
 * no Map, no class instances, no bigint, and optional fields are omitted rather than undefined)
 * because src/p2p serialises messages and the storage persists entries as they are.
 */

/**
 * A node of the Raft group: a positive safe integer assigned when the node is admitted (the
 * wiring layer maps it to a PeerId). 0 means "none" (no vote, no known leader).
 */
export type NodeId = number
export const noNode: NodeId = 0

/** 'normal' entries carry opaque application data (a ledger block); 'confChange' entries an encoded ConfChange. */
export type EntryType = 'normal' | 'confChange'

export interface Entry {
  term: number
  index: number
  type: EntryType
  /** Opaque to the core. Empty for the no-op a new leader appends. Treated as immutable. */
  data: Uint8Array
}

/** One membership change. One at a time: no joint consensus. */
export interface ConfChange {
  /** addVoter on an existing learner promotes it; removeVoter also removes a learner. */
  type: 'addVoter' | 'removeVoter' | 'addLearner'
  nodeId: NodeId
}

/** The membership at some index: who votes and who only replicates. Disjoint, sorted ascending. */
export interface ConfState {
  voters: NodeId[]
  learners: NodeId[]
}

/** What must survive a crash, persisted before any message of the same Ready is sent. */
export interface HardState {
  term: number
  vote: NodeId
  commit: number
}

export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader'

/** Volatile, informational state; never persisted. */
export interface SoftState {
  role: Role
  leader: NodeId
}

export interface SnapshotMetadata {
  /** The last index the snapshot covers, and its term. */
  index: number
  term: number
  /** The membership as of `index`. */
  confState: ConfState
}

/** The application's state as of `metadata.index`; `data` is opaque to the core. */
export interface Snapshot {
  metadata: SnapshotMetadata
  data: Uint8Array
}

/** The answer to a ReadIndex request: reads that see `index` applied are linearizable. */
export interface ReadState {
  index: number
  requestContext: Uint8Array
}

/**
 * Messages. Local ones never leave the node: the driver steps them in ('hup' campaigns, 'beat'
 * and 'checkQuorum' are what ticks produce, 'prop' proposes, 'readIndex' asks for a read,
 * 'transferLeader' asks the leader to hand over, 'snapStatus'/'unreachable' report transport
 * outcomes). The rest travel between nodes.
 */
export type MessageType =
  | 'hup'
  | 'beat'
  | 'checkQuorum'
  | 'prop'
  | 'snapStatus'
  | 'unreachable'
  | 'transferLeader'
  | 'readIndex'
  | 'readIndexResp'
  | 'app'
  | 'appResp'
  | 'vote'
  | 'voteResp'
  | 'preVote'
  | 'preVoteResp'
  | 'snap'
  | 'heartbeat'
  | 'heartbeatResp'
  | 'timeoutNow'

/**
 * One message shape for every type, as in etcd: fields a type does not use are 0/false/empty.
 * `term` 0 marks a local message.
 */
export interface Message {
  type: MessageType
  from: NodeId
  to: NodeId
  term: number
  /** app: term of the entry at `index`; vote: candidate's last term; appResp reject: term at `rejectHint`. */
  logTerm: number
  /** app: index preceding `entries`; appResp: last index accepted (or rejected); vote: candidate's last index; readIndexResp: read index. */
  index: number
  entries: Entry[]
  commit: number
  reject: boolean
  /** appResp reject: the follower's guess of the last index where its log may match the leader's. */
  rejectHint: number
  /** heartbeat/readIndex: ReadIndex request context; vote: 'transfer' campaign marker. */
  context?: Uint8Array
  snapshot?: Snapshot
}

/**
 * What the core hands to the driver after inputs. The driver MUST process a Ready in this order:
 *
 * 1. PERSIST `snapshot` (if any), then `entries`, then `hardState` (if any) to durable storage,
 *    and make them durable (fsync) BEFORE SENDING ANY MESSAGE of this Ready. Sending first can
 *    break safety: a vote or an acknowledged entry forgotten after a crash can elect two leaders
 *    or lose a committed entry.
 * 2. SEND `messages` (in any order, any may be lost: Raft tolerates it).
 * 3. APPLY `committedEntries` to the state machine, in order, and ONLY THOSE: entries in
 *    `entries` are NOT committed and may still be replaced. Apply a snapshot's data if `snapshot`
 *    is set. For a 'confChange' entry, call `applyConfChange` on the node.
 * 4. Call `advance()`. Only then call `ready()` again.
 *
 * As in etcd's raft, normal entries may still be being applied after advance() (handed to a queue
 * that applies them in log order, after those of earlier Readies): the node counts them as applied.
 * A 'confChange' entry's `applyConfChange` and a snapshot must be done before advance(), once what
 * precedes them is applied.
 *
 * `softState` is informational (the role and the leader this node knows of) and is never persisted.
 */
export interface Ready {
  softState: SoftState
  /** Present when term, vote or commit changed since the last Ready. */
  hardState?: HardState
  /** Unstable entries to append to storage (they may overwrite a conflicting suffix). */
  entries: Entry[]
  /** A snapshot from the leader to install in storage. */
  snapshot?: Snapshot
  messages: Message[]
  committedEntries: Entry[]
  readStates: ReadState[]
}

/** The source of randomness the core uses (election timeouts). Inject a seeded one for replayable runs. */
export interface RandomSource {
  /** A uniformly distributed integer in [0, n). */
  nextInt(n: number): number
}
