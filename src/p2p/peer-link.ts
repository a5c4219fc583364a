/**
 * The outbound half of `/tom/raft/1.0.0` for one peer: a bounded queue of one-way messages and one
 * long-lived stream that carries them, in order, as frames. The link dials on demand (when something
 * is queued) and, after a failed dial or a dropped stream, waits an exponential backoff before the next
 * dial. Messages handed to a stream that then drops are lost, and so are messages refused when the
 * queue is full: Raft tolerates loss and retransmits, so the link never holds unbounded memory to
 * avoid it.
 */
import type { Stream } from '@libp2p/interface'
import { frameHeaderBytes, writeBatchBytesMax } from './constants.js'
import { encodeFrames, frameHeader } from './frame.js'
import { messageOf } from './request-response.js'

/** What a link needs from the node around it. */
export interface PeerLinkContext {
  readonly peerId: string
  /** Opens a new raft stream to the peer; rejects when it cannot. */
  openStream(signal: AbortSignal): Promise<Stream>
  log(event: string, fields: Record<string, unknown>): void
  readonly sendQueueMessagesMax: number
  readonly sendQueueBytesMax: number
  readonly reconnectDelayInitialMs: number
  readonly reconnectDelayMaxMs: number
  readonly reconnectJitterRatio: number
}

type LinkState = 'idle' | 'dialling' | 'open' | 'backoff' | 'closed'

export class PeerLink {
  readonly #context: PeerLinkContext
  #queue: Uint8Array[] = []
  #queuedBytes = 0
  #state: LinkState = 'idle'
  #stream: Stream | undefined
  /** Consecutive failed dials (a stream that opened resets it). */
  #failures = 0
  /** No dial before this time (ms since epoch); set after each failure or drop. */
  #retryAt = 0
  #timer: NodeJS.Timeout | undefined
  #waitingForDrain = false
  #flushScheduled = false
  readonly #closed = new AbortController()

  constructor(context: PeerLinkContext) {
    this.#context = context
  }

  /** Queues a message; false when the queue is full or the link is closed (the message is dropped). */
  enqueue(message: Uint8Array): boolean {
    if (this.#state === 'closed') return false
    if (this.#queue.length >= this.#context.sendQueueMessagesMax) return false
    if (this.#queuedBytes + message.byteLength > this.#context.sendQueueBytesMax) return false
    this.#queue.push(message)
    this.#queuedBytes += message.byteLength
    if (this.#state === 'open') this.#scheduleFlush()
    else this.#pump()
    return true
  }

  /** Drops the queue, stops redialling and resets the stream. The link cannot be used again. */
  close(): void {
    if (this.#state === 'closed') return
    this.#state = 'closed'
    this.#closed.abort()
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#queue = []
    this.#queuedBytes = 0
    const stream = this.#stream
    this.#stream = undefined
    stream?.abort(new Error('the peer link was closed'))
  }

  #pump(): void {
    switch (this.#state) {
      case 'idle': {
        const wait = this.#retryAt - Date.now()
        if (wait > 0) this.#scheduleDial(wait)
        else void this.#dial()
        return
      }
      case 'open':
        this.#flush()
        return
      default:
        // dialling or backoff: the queue is flushed once the stream opens
        return
    }
  }

  async #dial(): Promise<void> {
    this.#state = 'dialling'
    let stream: Stream
    try {
      stream = await this.#context.openStream(this.#closed.signal)
    } catch (err) {
      if (this.#isClosed()) return
      this.#failures++
      const delayMs = this.#backoffMs()
      this.#context.log('p2p.dial_failed', { peer: this.#context.peerId, failures: this.#failures, retryInMs: delayMs, error: messageOf(err) })
      this.#retryAt = Date.now() + delayMs
      this.#scheduleDial(delayMs)
      return
    }
    // checked again: close() may have run while the dial was pending
    if (this.#isClosed()) {
      stream.abort(new Error('the peer link was closed'))
      return
    }
    if (this.#failures > 0) this.#context.log('p2p.reconnected', { peer: this.#context.peerId, failures: this.#failures })
    this.#failures = 0
    this.#state = 'open'
    this.#stream = stream
    stream.addEventListener('close', (event) => this.#onStreamClosed(stream, event.error), { once: true })
    // we never read from this stream: once the remote closes its end, close ours so the stream is freed
    stream.addEventListener('remoteCloseWrite', () => {
      void stream.close().catch(() => undefined)
    }, { once: true })
    this.#flush()
  }

  /** Read through a method: close() may change the state while a dial is awaited. */
  #isClosed(): boolean {
    return this.#state === 'closed'
  }

  #onStreamClosed(stream: Stream, error: Error | undefined): void {
    if (this.#stream !== stream) return
    this.#stream = undefined
    this.#waitingForDrain = false
    if (this.#state === 'closed') return
    const delayMs = this.#backoffMs()
    this.#context.log('p2p.stream_dropped', { peer: this.#context.peerId, queued: this.#queue.length, retryInMs: delayMs, error: error === undefined ? undefined : error.message })
    this.#retryAt = Date.now() + delayMs
    this.#scheduleDial(delayMs)
  }

  #scheduleDial(delayMs: number): void {
    this.#state = 'backoff'
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      if (this.#state !== 'backoff') return
      // dial on demand: with nothing to send, wait for the next message (the backoff still applies)
      if (this.#queue.length === 0) this.#state = 'idle'
      else void this.#dial()
    }, delayMs)
  }

  #backoffMs(): number {
    const { reconnectDelayInitialMs, reconnectDelayMaxMs, reconnectJitterRatio } = this.#context
    const exponent = Math.max(0, this.#failures - 1)
    const base = Math.min(reconnectDelayMaxMs, reconnectDelayInitialMs * 2 ** Math.min(exponent, 30))
    const jitter = 1 + reconnectJitterRatio * (2 * Math.random() - 1)
    return Math.max(1, Math.round(Math.min(reconnectDelayMaxMs, base * jitter)))
  }

  #waitForDrain(stream: Stream): void {
    this.#waitingForDrain = true
    onDrainOrClose(stream, (drained) => {
      this.#waitingForDrain = false
      // after a close, #onStreamClosed redials
      if (drained && this.#stream === stream) this.#flush()
    })
  }

  /** Flushes once the current task is done, so that messages sent together share one write. */
  #scheduleFlush(): void {
    if (this.#flushScheduled) return
    this.#flushScheduled = true
    queueMicrotask(() => {
      this.#flushScheduled = false
      this.#flush()
    })
  }

  /**
   * Hands queued frames to the stream until it asks to drain. Small frames are copied into one buffer
   * of up to writeBatchBytesMax (one yamux frame and one Noise message instead of two per message);
   * a larger one is handed over as is.
   */
  #flush(): void {
    const stream = this.#stream
    if (stream === undefined || this.#waitingForDrain) return
    while (this.#queue.length > 0) {
      if (stream.writableNeedsDrain) {
        this.#waitForDrain(stream)
        return
      }
      let count = 0
      let batchBytes = 0
      for (const message of this.#queue) {
        const frameBytes = frameHeaderBytes + message.byteLength
        if (count > 0 && batchBytes + frameBytes > writeBatchBytesMax) break
        count++
        batchBytes += frameBytes
      }
      const messages = this.#queue.splice(0, count)
      this.#queuedBytes -= batchBytes - frameHeaderBytes * count
      try {
        if (batchBytes > writeBatchBytesMax) {
          // one large message: no copy
          const message = messages[0] as Uint8Array
          stream.send(frameHeader(message.byteLength))
          stream.send(message)
        } else {
          stream.send(encodeFrames(messages, batchBytes))
        }
      } catch (err) {
        // the stream was closing under us; the close event redials
        stream.abort(err instanceof Error ? err : new Error(String(err)))
        return
      }
    }
  }
}

/**
 * Listens for the stream's 'drain' event rather than calling `stream.onDrain()`: in @libp2p/utils
 * 7.4 that promise is never reset after the first drain, so later calls resolve at once while the
 * stream still needs draining, and a writer looping on it spins the microtask queue forever.
 */
function onDrainOrClose(stream: Stream, callback: (drained: boolean) => void): void {
  const onDrain = (): void => {
    stream.removeEventListener('close', onClose)
    callback(true)
  }
  const onClose = (): void => {
    stream.removeEventListener('drain', onDrain)
    callback(false)
  }
  stream.addEventListener('drain', onDrain, { once: true })
  stream.addEventListener('close', onClose, { once: true })
}
