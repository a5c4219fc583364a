/**
 * The Server-Sent Events stream of GET /v1/events: for each committed block, in height order, one
 * `action` event per change of an orchestration action in it, then the `block` event, whose `id:` is
 * the height. The block event closes its block: a client that saw id H has everything of blocks up to
 * H, and resumes with `?from=H` or the standard `Last-Event-ID: H` (the header wins, as a browser's
 * EventSource reconnects to the same URL with it).
 *
 * Each stream is a cursor over the chain: `next`, the height it sends next, only moves forward, and
 * every block up to the node's head is in the ledger, so a replay that meets live blocks has neither
 * a gap nor a duplicate. Live blocks are taken as the node hands them over when they are the next
 * one, and read back from the ledger otherwise (a replay, a slow reader): one block at a time, after
 * the previous one left the socket buffer, so neither a long replay nor a slow reader holds more than
 * a few blocks in memory.
 */
import type { ServerResponse } from 'node:http'
import type { AppliedBlock } from '../ledger/index.js'
import { sseBufferedBytesMax, sseHeartbeatMs, sseLiveBlocksMax, sseRenderedBlocksMax } from './constants.js'
import { blockEvent } from './wire.js'
import type { ActionEvent } from './wire.js'

/** What the stream needs of a node (a part of ApiNode). */
export interface BlockSource {
  readonly head: { readonly height: number }
  getAppliedBlock(height: number): Promise<AppliedBlock | undefined>
  actionsOf(applied: AppliedBlock): Promise<readonly ActionEvent[]>
  on(event: 'block', listener: (block: AppliedBlock) => void): unknown
  off(event: 'block', listener: (block: AppliedBlock) => void): unknown
}

/**
 * The text of each block's events, shared by every stream: a block is rendered (its actions read from
 * the ledger) once however many clients follow it, and only the last few are kept.
 */
export class RenderedBlocks {
  readonly #byHeight = new Map<number, Promise<string>>()
  constructor(readonly node: BlockSource) {}

  text(applied: AppliedBlock): Promise<string> {
    const height = applied.block.header.height
    let text = this.#byHeight.get(height)
    if (text === undefined) {
      text = this.#render(applied)
      // A failed render is not kept: the next stream that needs the block tries again.
      text.catch(() => this.#byHeight.delete(height))
      if (this.#byHeight.size >= sseRenderedBlocksMax) this.#byHeight.delete(this.#byHeight.keys().next().value!)
      this.#byHeight.set(height, text)
    }
    return text
  }

  async #render(applied: AppliedBlock): Promise<string> {
    const actions = await this.node.actionsOf(applied)
    let text = ''
    for (const action of actions) text += `event: action\ndata: ${JSON.stringify(action)}\n\n`
    return text + `event: block\nid: ${applied.block.header.height}\ndata: ${JSON.stringify(blockEvent(applied))}\n\n`
  }
}

export interface EventStreamOptions {
  /** Send the blocks after this height first; undefined: only blocks committed from now on. */
  readonly after: number | undefined
  /** Told of a failure that ends the stream (a ledger read that failed). */
  readonly onError: (err: unknown) => void
}

/**
 * Starts streaming to `res` (headers included). Subscribes before anything is awaited, so that a
 * block committed while the response starts is not missed. Returns at once; the stream ends when the
 * client goes away or `res` is ended (the server stopping).
 */
export function startEventStream(node: BlockSource, rendered: RenderedBlocks, res: ServerResponse, options: EventStreamOptions): void {
  let next = (options.after ?? node.head.height) + 1
  const live: AppliedBlock[] = []
  let wake: (() => void) | undefined
  let closed = false
  const onBlock = (applied: AppliedBlock): void => {
    // Past the limit a live block is not kept: the cursor reads it back from the ledger when it gets there.
    if (applied.block.header.height >= next && live.length < sseLiveBlocksMax) live.push(applied)
    wake?.()
  }
  node.on('block', onBlock)
  const write = (text: string): boolean => {
    if (closed || res.writableEnded || res.destroyed) return true
    const flushed = res.write(text)
    if (res.writableLength > sseBufferedBytesMax) res.destroy()
    return flushed
  }
  const heartbeat = setInterval(() => write(': keep-alive\n\n'), sseHeartbeatMs)
  heartbeat.unref()
  res.on('close', () => {
    closed = true
    clearInterval(heartbeat)
    node.off('block', onBlock)
    wake?.()
  })
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' })
  // An id without data sets a client's last event id without an event: a stream that drops before its
  // first block resumes from where it started, not from the head at the time of the reconnect.
  write(`: subscribed\nid: ${next - 1}\n\n`)

  const drained = (): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        res.off('drain', done)
        res.off('close', done)
        resolve()
      }
      res.on('drain', done)
      res.on('close', done)
    })

  const pump = async (): Promise<void> => {
    while (!closed && !res.writableEnded) {
      if (next > node.head.height) {
        await new Promise<void>((resolve) => (wake = resolve))
        wake = undefined
        continue
      }
      while (live.length > 0 && live[0]!.block.header.height < next) live.shift()
      const applied = live[0]?.block.header.height === next ? live.shift()! : await node.getAppliedBlock(next)
      if (applied === undefined) throw new Error(`assertion: block ${next} is at or below the head (${node.head.height}) but not stored`)
      const text = await rendered.text(applied)
      if (!write(text)) await drained()
      next++
    }
  }
  pump().catch((err: unknown) => {
    options.onError(err)
    res.destroy()
  })
}
