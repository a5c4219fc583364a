/**
 * The request/response exchange of `/tom/tx/1.0.0` and `/tom/sync/1.0.0` on one stream: the caller
 * sends the body as one frame and closes its write end; the responder answers with one frame whose
 * first byte says what it carries (a body, a handler's error message, "busy", "response too large")
 * and closes its end. Both sides read at most one frame of at most the frame limit.
 */
import type { Stream } from '@libp2p/interface'
import { errorMessageBytesMax } from './constants.js'
import { FrameDecoder, frameHeader } from './frame.js'
import { P2pBusyError, P2pFrameTooLargeError, P2pNoResponseError, P2pProtocolViolationError, P2pRequestError } from './errors.js'

/** The first byte of a response frame. */
export const responseStatus = {
  ok: 0,
  /** The handler threw (or there is none); the rest is its message in UTF-8. */
  failed: 1,
  /** The responder handles too many requests of this protocol; the rest is empty. */
  busy: 2,
  /** The handler's response is over the frame limit; the rest is a message in UTF-8. */
  tooLarge: 3
} as const
type ResponseStatus = (typeof responseStatus)[keyof typeof responseStatus]

const utf8 = new TextEncoder()
const utf8Decoder = new TextDecoder()

/** A response frame's payload: the status byte, then the body or message. */
export function responsePayload(status: ResponseStatus, body: Uint8Array | string = new Uint8Array(0)): Uint8Array {
  const bytes = typeof body === 'string' ? truncatedUtf8(body, errorMessageBytesMax) : body
  const payload = new Uint8Array(1 + bytes.byteLength)
  payload[0] = status
  payload.set(bytes, 1)
  return payload
}

/** Writes one frame; the stream buffers it (see MessageStream.send). Throws if the stream is not writable. */
export function writeFrame(stream: Stream, payload: Uint8Array): void {
  stream.send(frameHeader(payload.byteLength))
  stream.send(payload)
}

/**
 * Reads one frame from the stream. Rejects with P2pFrameTooLargeError (after resetting the stream)
 * when the frame is over `frameBytesMax`, with the signal's reason when it fires (after resetting the
 * stream), and with a plain Error when the stream ends or closes first.
 */
export function readFrame(stream: Stream, frameBytesMax: number, signal?: AbortSignal): Promise<Uint8Array> {
  return new Promise<Uint8Array>((resolve, reject) => {
    const decoder = new FrameDecoder(frameBytesMax)
    const finish = (outcome: { frame: Uint8Array } | { error: unknown }): void => {
      stream.removeEventListener('message', onMessage)
      stream.removeEventListener('end', onEnd)
      stream.removeEventListener('close', onClose)
      signal?.removeEventListener('abort', onAbort)
      if ('frame' in outcome) resolve(outcome.frame)
      else reject(outcome.error)
    }
    const onMessage = (event: { data: Uint8Array | { subarray(): Uint8Array } }): void => {
      let frames: Uint8Array[]
      try {
        frames = decoder.push(event.data instanceof Uint8Array ? event.data : event.data.subarray())
      } catch (err) {
        stream.abort(err as Error)
        finish({ error: err })
        return
      }
      const frame = frames[0]
      if (frame !== undefined) finish({ frame })
      // 'end' fires once, and may have fired before data that was read ahead was pushed back
      else if (stream.readableEnded && stream.readBufferLength === 0) finish({ error: new Error('the stream ended inside a frame') })
    }
    const onEnd = (): void => finish({ error: new Error(`the stream ended ${decoder.bufferedBytes > 0 ? 'inside' : 'before'} a frame`) })
    const onClose = (event: { error?: Error }): void => finish({ error: new Error(`the stream closed before a frame${event.error === undefined ? '' : `: ${event.error.message}`}`) })
    const onAbort = (): void => {
      stream.abort(signal?.reason instanceof Error ? signal.reason : new Error('aborted'))
      finish({ error: signal?.reason })
    }
    if (signal?.aborted === true) {
      onAbort()
      return
    }
    // multistream-select may push back bytes it read ahead after 'end' has fired: only buffered data counts then
    if ((stream.readableEnded || stream.status !== 'open') && stream.readBufferLength === 0) {
      finish({ error: new Error(`the stream is ${stream.readableEnded ? 'ended' : stream.status} before a frame`) })
      return
    }
    stream.addEventListener('message', onMessage)
    stream.addEventListener('end', onEnd)
    stream.addEventListener('close', onClose)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * The caller's side of one exchange on an open stream: sends the body, reads the response and decodes
 * it. A failure after the body was handed to the stream is a P2pNoResponseError (outcome unknown); when
 * `signal` fires, its reason is thrown.
 */
export async function exchange(stream: Stream, body: Uint8Array, peerId: string, frameBytesMax: number, signal: AbortSignal): Promise<Uint8Array> {
  const response = readFrame(stream, frameBytesMax, signal)
  // observed now, awaited below: a reset while the body is being written must not go unhandled
  response.catch(() => undefined)
  try {
    writeFrame(stream, body)
    await stream.close({ signal })
  } catch (err) {
    if (signal.aborted) throw signal.reason
    stream.abort(err as Error)
    throw new P2pNoResponseError(`the stream to ${peerId} failed while sending the request: ${messageOf(err)}`)
  }
  let frame: Uint8Array
  try {
    frame = await response
  } catch (err) {
    if (signal.aborted) throw signal.reason
    if (err instanceof P2pFrameTooLargeError) throw new P2pFrameTooLargeError(`the response from ${peerId} is too large: ${err.message}`)
    throw new P2pNoResponseError(`no response from ${peerId}: ${messageOf(err)}`)
  }
  return decodeResponse(frame, peerId)
}

/** The body of an ok response; otherwise the error it stands for. */
export function decodeResponse(frame: Uint8Array, peerId: string): Uint8Array {
  const status = frame[0]
  const rest = frame.subarray(1)
  switch (status) {
    case responseStatus.ok:
      return rest
    case responseStatus.failed:
      throw new P2pRequestError(utf8Decoder.decode(rest), peerId)
    case responseStatus.busy:
      throw new P2pBusyError(`${peerId} handles too many requests; retry later`)
    case responseStatus.tooLarge:
      throw new P2pFrameTooLargeError(`${peerId} could not send its response: ${utf8Decoder.decode(rest)}`)
    default:
      throw new P2pProtocolViolationError(`${peerId} sent a response with ${status === undefined ? 'no status' : `the unknown status ${status}`}`)
  }
}

function truncatedUtf8(text: string, bytesMax: number): Uint8Array {
  const bytes = utf8.encode(text)
  if (bytes.byteLength <= bytesMax) return bytes
  // cut on a character boundary: drop UTF-8 continuation bytes (10xxxxxx) at the cut
  let end = bytesMax
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--
  return bytes.subarray(0, end)
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
