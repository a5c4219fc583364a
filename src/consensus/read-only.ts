/**
 * The leader's pending ReadIndex requests (§6.4): each records the commit index when it arrived
 * and waits for a quorum to acknowledge a heartbeat carrying its context, which proves that no
 * newer leader existed at that moment. Requests are answered in arrival order.
 */
import { assert } from './errors.js'
import type { Message, NodeId } from './types.js'

interface PendingRead {
  index: number
  request: Message
  acks: Set<NodeId>
}

function contextKey(context: Uint8Array): string {
  let s = ''
  for (const b of context) s += b.toString(16).padStart(2, '0')
  return s
}

export class ReadOnly {
  #pending = new Map<string, PendingRead>()
  #queue: string[] = []

  /** Queues a request seen at commit index `index`; a duplicate context is ignored. */
  add(index: number, request: Message): void {
    assert(request.context !== undefined, 'readIndex request without a context')
    const key = contextKey(request.context)
    if (this.#pending.has(key)) return
    this.#pending.set(key, { index, request, acks: new Set() })
    this.#queue.push(key)
  }

  /** Records an acknowledgement of `context`; returns who has acknowledged it so far. */
  recvAck(id: NodeId, context: Uint8Array): ReadonlySet<NodeId> | undefined {
    const p = this.#pending.get(contextKey(context))
    if (p === undefined) return undefined
    p.acks.add(id)
    return p.acks
  }

  /** Removes and returns the requests up to and including `context`, oldest first. */
  advance(context: Uint8Array): Array<{ index: number; request: Message }> {
    const key = contextKey(context)
    const at = this.#queue.indexOf(key)
    if (at < 0) return []
    const done = this.#queue.slice(0, at + 1)
    this.#queue = this.#queue.slice(at + 1)
    return done.map((k) => {
      const p = this.#pending.get(k) as PendingRead
      this.#pending.delete(k)
      return { index: p.index, request: p.request }
    })
  }

  /** The context of the newest pending request, carried by heartbeats. */
  lastPendingContext(): Uint8Array | undefined {
    const key = this.#queue[this.#queue.length - 1]
    return key === undefined ? undefined : (this.#pending.get(key) as PendingRead).request.context
  }

  size(): number {
    return this.#queue.length
  }

  reset(): void {
    this.#pending = new Map()
    this.#queue = []
  }
}
