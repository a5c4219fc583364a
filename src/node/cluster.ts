/**
 * The node's view of its peers over p2p: who is who (Raft id, PeerId, addresses, from the nodes the
 * ledger lists), the Raft transport, tx forwarding to the leader and block sync. Messages are encoded
 * here; src/p2p moves bytes.
 */
import { encode, decode, peerIdOf } from '../crypto/index.js'
import type { Message, NodeId } from '../consensus/index.js'
import { decodeRaftMessage, encodeRaftMessage } from '../p2p/raft-codec.js'
import type { P2pNode } from '../p2p/types.js'
import { decodeBlock, decodeTx, TxRejectedError, TxFailedError } from '../ledger/index.js'
import type { Ledger, StateReader, Tx } from '../ledger/index.js'
import { listNodes } from '../contracts/index.js'
import type { CommittedTx } from './mempool.js'
import type { RaftTransport } from './raft-driver.js'
import type { ClusterLink } from './raft-proposer.js'
import { NodeError } from './errors.js'
import type { Logger } from './logger.js'

/** Largest sync response, so that one request never builds an unbounded reply. */
const syncResponseBytesMax = 8 * 1024 * 1024
const syncBlocksMax = 256
/** How often a node waiting to be admitted asks for new blocks. */
const catchUpIntervalMs = 500

/** The answer to a forwarded tx: its commit ('tx'), that it was admitted ('txAdmit'), or the error that refused it. */
type TxReply = { ok: true; committed?: CommittedTx } | { ok: false; name: string; code: string; message: string }

export class Cluster implements RaftTransport, ClusterLink {
  readonly #p2p: P2pNode
  readonly #ledger: Ledger
  readonly #logger: Logger
  #peerOf = new Map<NodeId, string>()
  #raftIdOf = new Map<string, NodeId>()
  /** When a valid Raft message last came from each node (Date.now()), for the leader's health watch. */
  readonly #lastHeard = new Map<NodeId, number>()

  constructor(p2p: P2pNode, ledger: Ledger, logger: Logger) {
    this.#p2p = p2p
    this.#ledger = ledger
    this.#logger = logger
  }

  /** Re-reads the nodes from the ledger: ids, gater allow-list, addresses. Call after node txs. */
  async refresh(): Promise<void> {
    const ledger = this.#ledger
    const state: StateReader = { get: (key) => ledger.getState(key) }
    const nodes = await listNodes(state)
    const peerOf = new Map<NodeId, string>()
    const raftIdOf = new Map<string, NodeId>()
    for (const n of nodes) {
      const peerId = peerIdOf(n.publicKey)
      peerOf.set(n.raftId, peerId)
      raftIdOf.set(peerId, n.raftId)
      if (peerId !== this.#p2p.peerId) this.#p2p.setPeerAddresses(peerId, n.addrs.map((a) => `${a}/p2p/${peerId}`))
    }
    this.#peerOf = peerOf
    this.#raftIdOf = raftIdOf
    this.#p2p.setAllowedPeers([...raftIdOf.keys()].filter((p) => p !== this.#p2p.peerId))
  }

  /** When a Raft message last came from `id` (ms since the epoch), if ever since this node started. */
  lastHeard(id: NodeId): number | undefined {
    return this.#lastHeard.get(id)
  }

  raftIdOfPeer(peerId: string): NodeId | undefined {
    return this.#raftIdOf.get(peerId)
  }

  peerIdOfRaftId(id: NodeId): string | undefined {
    return this.#peerOf.get(id)
  }

  // RaftTransport

  send(message: Message): boolean {
    const peer = this.#peerOf.get(message.to)
    if (peer === undefined) return false
    return this.#p2p.send(peer, encodeRaftMessage(message))
  }

  onMessage(handler: (message: Message) => void): void {
    this.#p2p.onMessage((from, bytes) => {
      let message: Message
      try {
        message = decodeRaftMessage(bytes)
      } catch (err) {
        this.#logger.warn({ from, err: (err as Error).message }, 'malformed raft message dropped')
        return
      }
      // A peer speaks only for itself.
      if (this.#raftIdOf.get(from) !== message.from) {
        this.#logger.warn({ from, claimed: message.from }, 'raft message from a peer posing as another node dropped')
        return
      }
      this.#lastHeard.set(message.from, Date.now())
      handler(message)
    })
  }

  // ClusterLink

  async forwardTx(to: NodeId, tx: Tx, options: { signal?: AbortSignal } = {}): Promise<CommittedTx> {
    const reply = await this.#txRequest(to, 'tx', tx, { ...options, timeoutMs: 30_000 })
    return (reply as { committed: CommittedTx }).committed
  }

  async forwardTxAdmission(to: NodeId, tx: Tx, options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.#txRequest(to, 'txAdmit', tx, options)
  }

  /** Sends `tx` to the leader on `protocol`; a refusal comes back as the error the leader threw. */
  async #txRequest(to: NodeId, protocol: 'tx' | 'txAdmit', tx: Tx, options: { signal?: AbortSignal; timeoutMs?: number }): Promise<TxReply & { ok: true }> {
    const peer = this.#peerOf.get(to)
    if (peer === undefined) throw new NodeError('ERR_NO_LEADER', `leader ${to} is not a known node`)
    const reply = decode<TxReply>(await this.#p2p.request(peer, protocol, tx.bytes, options))
    if (reply.ok) return reply
    if (reply.name === 'TxRejectedError') throw new TxRejectedError(reply.code as TxRejectedError['code'], reply.message)
    if (reply.name === 'NodeError') throw new NodeError(reply.code as NodeError['code'], reply.message)
    throw new TxFailedError(/^ERR_[A-Z0-9_]+$/.test(reply.code) ? reply.code : 'ERR_TX_EXECUTION', reply.message)
  }

  async fetchBlocks(from: NodeId, fromHeight: number, max: number, options: { signal?: AbortSignal } = {}): Promise<Uint8Array[]> {
    const peer = this.#peerOf.get(from)
    if (peer === undefined) throw new NodeError('ERR_NO_LEADER', `node ${from} is not known`)
    return decode<Uint8Array[]>(await this.#p2p.request(peer, 'sync', encode({ from: fromHeight, max }), options))
  }

  /**
   * For a node that is not a member yet: fetches and applies (fully validated) blocks from any node it
   * knows, every catchUpIntervalMs, until `done` returns something or the time is up. The other nodes
   * let it in once the node.add tx naming it has committed.
   */
  async catchUpUntil<T>(done: () => Promise<T | undefined>, options: { timeoutMs: number; signal?: AbortSignal }): Promise<T | undefined> {
    const deadline = Date.now() + options.timeoutMs
    for (;;) {
      const result = await done()
      if (result !== undefined || Date.now() >= deadline) return result
      options.signal?.throwIfAborted()
      for (const id of this.#peerOf.keys()) {
        try {
          const blocks = await this.fetchBlocks(id, this.#ledger.head!.height + 1, 64, options)
          for (const bytes of blocks) await this.#ledger.applyBlock(decodeBlock(bytes))
          if (blocks.length > 0) {
            await this.refresh()
            break
          }
        } catch (err) {
          this.#logger.debug({ node: id, err: (err as Error).message }, 'catching up: no blocks from this node yet')
        }
      }
      if ((await done()) === undefined) await new Promise((resolve) => setTimeout(resolve, catchUpIntervalMs))
    }
  }

  /**
   * Serves forwarded txs (`submit` resolves at the commit, `admit` once the tx is admitted) and block
   * sync from the ledger.
   */
  serve(handlers: { submit: (tx: Tx) => Promise<CommittedTx>; admit: (tx: Tx) => Promise<void> }): void {
    const serveTx = (protocol: 'tx' | 'txAdmit', handle: (tx: Tx) => Promise<TxReply>): void =>
      this.#p2p.handleRequests(protocol, async (from, body) => {
        try {
          if (this.#raftIdOf.get(from) === undefined) throw new NodeError('ERR_NOT_LEADER', 'not a node of this network')
          return encode(await handle(decodeTx(body)))
        } catch (err) {
          const e = err as Error & { code?: string }
          if (typeof e.code !== 'string') throw err
          return encode({ ok: false, name: e.name, code: e.code, message: e.message })
        }
      })
    serveTx('tx', async (tx) => ({ ok: true, committed: await handlers.submit(tx) }))
    serveTx('txAdmit', async (tx) => {
      await handlers.admit(tx)
      return { ok: true }
    })
    this.#p2p.handleRequests('sync', async (_from, body) => {
      const { from, max } = decode<{ from: number; max: number }>(body)
      if (!Number.isSafeInteger(from) || from < 0 || !Number.isSafeInteger(max) || max < 1) throw new Error('bad sync request')
      const blocks: Uint8Array[] = []
      let bytes = 0
      for (let h = from; h < from + Math.min(max, syncBlocksMax); h++) {
        const block = await this.#ledger.getBlock(h)
        if (block === undefined || bytes + block.bytes.length > syncResponseBytesMax) break
        blocks.push(block.bytes)
        bytes += block.bytes.length
      }
      this.#logger.debug({ from, blocks: blocks.length, peer: _from }, 'served blocks')
      return encode(blocks)
    })
  }
}
