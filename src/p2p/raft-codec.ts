/**
 * Raft messages on the wire: deterministic CBOR of the core's Message, checked field by field on the
 * way in. A peer passed the gater, but a bug or a bad actor among the nodes must still not be able to
 * hand the core a malformed message: anything off is refused with RaftMessageError.
 */
import { encode, decode, CodecError } from '../crypto/index.js'
import type { ConfState, Entry, Message, MessageType, Snapshot } from '../consensus/index.js'

export const raftCodecErrorCodes = {
  ERR_RAFT_MESSAGE_MALFORMED: 'a Raft message from a peer is not well-formed; it is dropped'
} as const

export class RaftMessageError extends Error {
  override readonly name = 'RaftMessageError'
  readonly code = 'ERR_RAFT_MESSAGE_MALFORMED'
}

const wireTypes: ReadonlySet<MessageType> = new Set<MessageType>([
  'transferLeader',
  'readIndex',
  'readIndexResp',
  'app',
  'appResp',
  'vote',
  'voteResp',
  'preVote',
  'preVoteResp',
  'snap',
  'heartbeat',
  'heartbeatResp',
  'timeoutNow'
])

export function encodeRaftMessage(m: Message): Uint8Array {
  return encode(m)
}

function fail(what: string): never {
  throw new RaftMessageError(`malformed raft message: ${what}`)
}

function count(v: unknown, what: string): number {
  if (!Number.isSafeInteger(v) || (v as number) < 0) fail(`${what} must be a non-negative integer`)
  return v as number
}

function bytes(v: unknown, what: string): Uint8Array {
  if (!(v instanceof Uint8Array)) fail(`${what} must be bytes`)
  return v
}

function record(v: unknown, what: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) fail(`${what} must be a map`)
  return v as Record<string, unknown>
}

function ids(v: unknown, what: string): number[] {
  if (!Array.isArray(v)) fail(`${what} must be a list`)
  return v.map((x, i) => count(x, `${what}[${i}]`))
}

function entry(v: unknown, i: number): Entry {
  const e = record(v, `entries[${i}]`)
  if (e.type !== 'normal' && e.type !== 'confChange') fail(`entries[${i}].type`)
  return { term: count(e.term, 'entry term'), index: count(e.index, 'entry index'), type: e.type, data: bytes(e.data, 'entry data') }
}

function snapshot(v: unknown): Snapshot {
  const s = record(v, 'snapshot')
  const md = record(s.metadata, 'snapshot.metadata')
  const cs = record(md.confState, 'snapshot confState')
  const confState: ConfState = { voters: ids(cs.voters, 'voters'), learners: ids(cs.learners, 'learners') }
  return { metadata: { index: count(md.index, 'snapshot index'), term: count(md.term, 'snapshot term'), confState }, data: bytes(s.data, 'snapshot data') }
}

/** Decodes a message from `bytes`; refuses local-only types and anything malformed. */
export function decodeRaftMessage(raw: Uint8Array): Message {
  let value: unknown
  try {
    value = decode(raw)
  } catch (err) {
    if (err instanceof CodecError) fail(err.message)
    throw err
  }
  const m = record(value, 'message')
  if (typeof m.type !== 'string' || !wireTypes.has(m.type as MessageType)) fail(`type ${String(m.type)} does not travel`)
  if (typeof m.reject !== 'boolean') fail('reject must be a boolean')
  if (!Array.isArray(m.entries)) fail('entries must be a list')
  const message: Message = {
    type: m.type as MessageType,
    from: count(m.from, 'from'),
    to: count(m.to, 'to'),
    term: count(m.term, 'term'),
    logTerm: count(m.logTerm, 'logTerm'),
    index: count(m.index, 'index'),
    entries: m.entries.map(entry),
    commit: count(m.commit, 'commit'),
    reject: m.reject,
    rejectHint: count(m.rejectHint, 'rejectHint')
  }
  if (m.context !== undefined) message.context = bytes(m.context, 'context')
  if (m.snapshot !== undefined) message.snapshot = snapshot(m.snapshot)
  return message
}
