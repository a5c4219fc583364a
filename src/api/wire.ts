/**
 * The JSON shapes of the API, shared by the server (which builds them) and the client (which reads
 * them). Bytes are lower-case hex strings; a bigint in a payload is a decimal string. A tx view also
 * carries `bytes`, the tx's exact CBOR, so that a client can re-check what a hex rendering of the
 * payload cannot tell apart (a byte string from a text string that looks like hex).
 */
import { toHex } from '../crypto/index.js'
import type { AppliedBlock, Block, Receipt, Tx, TxRecord } from '../ledger/index.js'

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

/** `value` with every Uint8Array as hex and every bigint as a decimal string. */
export function toJsonValue(value: unknown): JsonValue {
  if (value instanceof Uint8Array) return toHex(value)
  if (typeof value === 'bigint') return value.toString()
  if (Array.isArray(value)) return value.map(toJsonValue)
  if (value !== null && typeof value === 'object') {
    const out: { [key: string]: JsonValue } = {}
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toJsonValue(v)
    return out
  }
  if (value === undefined) return null
  return value as JsonValue
}

export interface TxView {
  readonly id: string
  readonly type: string
  readonly network: string
  readonly signer: string
  readonly nonce: number
  readonly expiresAt: number
  readonly payload: JsonValue
  readonly sig: string
  readonly bytes: string
}

export function txView(tx: Tx): TxView {
  return {
    id: toHex(tx.id),
    type: tx.type,
    network: toHex(tx.network),
    signer: toHex(tx.signer),
    nonce: tx.nonce,
    expiresAt: tx.expiresAt,
    payload: toJsonValue(tx.payload),
    sig: toHex(tx.sig),
    bytes: toHex(tx.bytes)
  }
}

/** Where a tx is in the chain and how it ended: the answer to a submit, and part of a tx lookup. */
export interface CommittedTxView {
  readonly id: string
  readonly height: number
  readonly index: number
  readonly receipt: Receipt
}

export interface TxRecordView extends CommittedTxView {
  readonly tx: TxView
}

export function txRecordView(record: TxRecord): TxRecordView {
  return { id: toHex(record.tx.id), height: record.height, index: record.index, receipt: record.receipt, tx: txView(record.tx) }
}

export interface BlockHeaderView {
  readonly height: number
  readonly prevHash: string
  readonly time: number
  readonly txRoot: string
  readonly stateRoot: string
  readonly proposer: string
  readonly raftTerm: number
  readonly raftIndex: number
}

export interface BlockView {
  readonly height: number
  readonly hash: string
  readonly header: BlockHeaderView
  readonly sig: string
  /** The block's exact CBOR, as stored and hashed: what an auditor (`tom verify`) checks. */
  readonly bytes: string
  readonly txs: readonly (TxView & { readonly receipt: Receipt | null })[]
}

/** `receipts[i]` is the receipt of `block.txs[i]` (null if the node has none: never for a committed block). */
export function blockView(block: Block, receipts: readonly (Receipt | undefined)[]): BlockView {
  const h = block.header
  return {
    height: h.height,
    hash: toHex(block.hash),
    header: {
      height: h.height,
      prevHash: toHex(h.prevHash),
      time: h.time,
      txRoot: toHex(h.txRoot),
      stateRoot: toHex(h.stateRoot),
      proposer: toHex(h.proposer),
      raftTerm: h.raftTerm,
      raftIndex: h.raftIndex
    },
    sig: toHex(block.sig),
    bytes: toHex(block.bytes),
    txs: block.txs.map((tx, i) => ({ ...txView(tx), receipt: receipts[i] ?? null }))
  }
}

/** One committed block as the event stream sends it: small, the txs by type, id and receipt. */
export interface BlockEvent {
  readonly height: number
  readonly hash: string
  readonly time: number
  readonly txs: readonly { readonly id: string; readonly type: string; readonly signer: string; readonly receipt: Receipt }[]
}

export function blockEvent({ block, receipts }: AppliedBlock): BlockEvent {
  return {
    height: block.header.height,
    hash: toHex(block.hash),
    time: block.header.time,
    txs: block.txs.map((tx, i) => ({ id: toHex(tx.id), type: tx.type, signer: toHex(tx.signer), receipt: receipts[i]! }))
  }
}

/**
 * A change of an orchestration action, committed in block `height` by tx `tx` (the `index`-th of the
 * block): emitted (pending), reported (action.report: pending with a reason, running, done, failed),
 * or fulfilled by its container joining (done).
 */
export interface ActionEvent {
  /** `<emitting tx id hex>-<n>`. */
  readonly id: string
  /** container.start, container.stop, container.restart, container.remove, container.migrate. */
  readonly type: string
  /** The addressed node's public key, hex. */
  readonly node: string
  readonly container: string
  readonly status: string
  readonly height: number
  readonly tx: string
  readonly index: number
  readonly detail?: string
  /** A migrate's target node, hex. */
  readonly target?: string
}

export interface RaftMemberView {
  readonly raftId: number
  /** Null when the ledger no longer lists the member. */
  readonly peerId: string | null
}

export interface StatusView {
  readonly role: string
  /** The Raft id of the leader this node knows of; 0: none. */
  readonly leader: number
  /** The genesis hash, hex. */
  readonly network: string
  readonly head: { readonly height: number; readonly hash: string; readonly time: number }
  /** This node: its configured name, Raft id, public key (hex) and libp2p PeerId. */
  readonly node: { readonly name: string; readonly raftId: number; readonly publicKey: string; readonly peerId: string }
  readonly raft: {
    readonly term: number
    readonly commitIndex: number
    readonly appliedIndex: number
    readonly lastIndex: number
    readonly voters: readonly RaftMemberView[]
    readonly learners: readonly RaftMemberView[]
  }
  /** Peers with an open p2p connection now. */
  readonly peers: { readonly connected: number; readonly ids: readonly string[] }
  /** Txs waiting for a block or in a block not yet committed, and the most the mempool takes. */
  readonly mempool: { readonly txs: number; readonly max: number }
}

/** What a node tells of itself (TomNode.status()), before it is put in JSON. */
export interface NodeStatusSource {
  readonly name: string
  readonly publicKey: Uint8Array
  readonly peerId: string
  readonly raftId: number
  readonly network: Uint8Array
  readonly head: { readonly height: number; readonly hash: Uint8Array; readonly time: number }
  readonly role: string
  readonly leader: number
  readonly raft: StatusView['raft']
  readonly connectedPeers: readonly string[]
  readonly mempool: { readonly txs: number; readonly max: number }
}

export function statusView(s: NodeStatusSource): StatusView {
  return {
    role: s.role,
    leader: s.leader,
    network: toHex(s.network),
    head: { height: s.head.height, hash: toHex(s.head.hash), time: s.head.time },
    node: { name: s.name, raftId: s.raftId, publicKey: toHex(s.publicKey), peerId: s.peerId },
    raft: s.raft,
    peers: { connected: s.connectedPeers.length, ids: s.connectedPeers },
    mempool: s.mempool
  }
}

export interface StateView {
  readonly key: string
  /** The height the value was read at: the head's, or the one asked for. */
  readonly height: number
  readonly value: string
}

/**
 * Blocks' exact bytes from a height on, as stored and hashed; `head` is the node's head when the page
 * was read, `next` the height to ask for the following page (absent at the head).
 */
export interface BlockPageView<Bytes = string> {
  readonly head: { readonly height: number; readonly hash: string }
  readonly blocks: readonly { readonly height: number; readonly hash: string; readonly bytes: Bytes }[]
  readonly next?: number
}

/** One page of world-state entries under a prefix, in key order; `next` (the last key) asks for the following page. */
export interface StatePageView<Bytes = string> {
  /** The head when the page was read. */
  readonly height: number
  readonly entries: readonly { readonly key: string; readonly value: Bytes }[]
  readonly next?: string
}

export type SubmitView = CommittedTxView | { readonly id: string; readonly pending: true }
