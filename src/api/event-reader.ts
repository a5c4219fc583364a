/**
 * The SDK's side of GET /v1/events: parses the Server-Sent Events (the WHATWG EventSource format)
 * into typed events, and, when asked, resumes a dropped stream where it broke.
 *
 * The server sends a block's action events before its block event, and only the block event carries
 * an `id:` (the height). The reader holds a block's actions until its block event arrives and then
 * hands over all of them: if the connection drops in the middle of a block, the partial actions are
 * dropped and come again on resume (`Last-Event-ID`: the last block seen complete), so a caller sees
 * every event exactly once.
 */
import { eventsReconnectAttemptsMax, eventsReconnectDelayMaxMs, eventsReconnectDelayMs, sseEventBytesMax } from './constants.js'
import { ApiError } from './errors.js'
import type { ActionEvent, BlockEvent } from './wire.js'

/** An event of the stream: a committed block, or a change of an orchestration action. */
export type NodeEvent = ({ readonly event: 'block' } & BlockEvent) | ({ readonly event: 'action' } & ActionEvent)

/** Opens the stream; `lastEventId` (the last complete block) when resuming. */
export type OpenEventStream = (lastEventId: string | undefined) => Promise<Response>

/** What a stream told so far: the id of the last block it completed (the server's start id at first). */
interface Cursor {
  lastEventId: string | undefined
}

function parseData<T>(name: string, data: string[]): T {
  try {
    return JSON.parse(data.join('\n')) as T
  } catch {
    throw new ApiError('ERR_API_BAD_RESPONSE', 200, `an ${name} event is not JSON`)
  }
}

/** The events of one connection, block by block; returns when the server ends the stream. */
async function* readEvents(body: ReadableStream<Uint8Array>, cursor: Cursor): AsyncGenerator<NodeEvent> {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  let actions: NodeEvent[] = []
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return
      buffer += decoder.decode(value, { stream: true })
      if (buffer.length > sseEventBytesMax) throw new ApiError('ERR_API_BAD_RESPONSE', 200, `an event is longer than ${sseEventBytesMax} characters`)
      let end: number
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const raw = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        let event = 'message'
        let id: string | undefined
        const data: string[] = []
        for (const line of raw.split('\n')) {
          if (line.startsWith(':')) continue
          const colon = line.indexOf(':')
          const field = colon < 0 ? line : line.slice(0, colon)
          const v = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
          if (field === 'event') event = v
          else if (field === 'data') data.push(v)
          else if (field === 'id') id = v
        }
        if (event === 'action' && data.length > 0) {
          actions.push({ event: 'action', ...parseData<ActionEvent>('action', data) })
          continue
        }
        // An id without data is the server saying where the stream starts: a resume point before any block.
        if (id !== undefined && event !== 'block') cursor.lastEventId = id
        if (event !== 'block' || data.length === 0) continue
        const block: NodeEvent = { event: 'block', ...parseData<BlockEvent>('block', data) }
        const complete = [...actions, block]
        actions = []
        if (id !== undefined) cursor.lastEventId = id
        yield* complete
      }
    }
  } finally {
    await reader.cancel().catch(() => {})
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal.reason)
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/** Reopens a dropped stream from the cursor, with a doubling wait, eventsReconnectAttemptsMax times at most. */
async function reopen(open: OpenEventStream, cursor: Cursor, signal: AbortSignal): Promise<Response> {
  let wait = eventsReconnectDelayMs
  let last: unknown
  for (let attempt = 0; attempt < eventsReconnectAttemptsMax; attempt++) {
    await delay(wait, signal)
    wait = Math.min(wait * 2, eventsReconnectDelayMaxMs)
    try {
      return await open(cursor.lastEventId)
    } catch (err) {
      signal.throwIfAborted()
      // Bad input will not get better by asking again; a node that is down or busy may.
      if (err instanceof ApiError && err.status !== 0 && err.status < 500) throw err
      last = err
    }
  }
  throw last
}

/**
 * The events of the stream opened as `first`. With `reconnect`, a stream that drops or ends is
 * reopened after the last complete block; without, it ends the iteration (or throws the read error).
 */
export async function* followEvents(first: Response, open: OpenEventStream, options: { reconnect: boolean; signal: AbortSignal }): AsyncGenerator<NodeEvent> {
  const cursor: Cursor = { lastEventId: undefined }
  let res = first
  for (;;) {
    if (res.body === null) throw new ApiError('ERR_API_BAD_RESPONSE', res.status, 'the event stream has no body')
    try {
      yield* readEvents(res.body, cursor)
    } catch (err) {
      if (!options.reconnect || options.signal.aborted || err instanceof ApiError) throw err
    }
    if (!options.reconnect || options.signal.aborted) return
    res = await reopen(open, cursor, options.signal)
  }
}
