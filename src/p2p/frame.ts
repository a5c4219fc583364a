/**
 * The framing shared by every TOM protocol: a 4-byte big-endian length, then that many bytes. A fixed
 * header (rather than a varint) lets the reader refuse an oversized frame from its first 4 bytes,
 * before buffering any of it. The decoder holds at most one partial frame, so its memory is bounded by
 * the frame limit.
 */
import { frameHeaderBytes } from './constants.js'
import { P2pFrameTooLargeError } from './errors.js'

/** The length prefix of a frame of `length` bytes. */
export function frameHeader(length: number): Uint8Array {
  const header = new Uint8Array(frameHeaderBytes)
  new DataView(header.buffer).setUint32(0, length, false)
  return header
}

/** The frames of `messages`, back to back, in one array of `totalBytes` (the sum of headers and messages). */
export function encodeFrames(messages: readonly Uint8Array[], totalBytes: number): Uint8Array {
  const out = new Uint8Array(totalBytes)
  const view = new DataView(out.buffer)
  let offset = 0
  for (const message of messages) {
    view.setUint32(offset, message.byteLength, false)
    out.set(message, offset + frameHeaderBytes)
    offset += frameHeaderBytes + message.byteLength
  }
  if (offset !== totalBytes) throw new Error(`encodeFrames: ${offset} bytes written, ${totalBytes} expected`) // a bug
  return out
}

/** Splits a byte stream into frames, in order. Throws P2pFrameTooLargeError when a header announces more than `frameBytesMax`. */
export class FrameDecoder {
  readonly #frameBytesMax: number
  #chunks: Uint8Array[] = []
  #bufferedBytes = 0
  /** Length of the frame being read, once its header is complete. */
  #expectedBytes: number | undefined

  constructor(frameBytesMax: number) {
    this.#frameBytesMax = frameBytesMax
  }

  /** Bytes held for a frame not yet complete. */
  get bufferedBytes(): number {
    return this.#bufferedBytes
  }

  /** Adds bytes read from the stream; returns the frames they complete. */
  push(chunk: Uint8Array): Uint8Array[] {
    const frames: Uint8Array[] = []
    if (chunk.byteLength > 0) {
      this.#chunks.push(chunk)
      this.#bufferedBytes += chunk.byteLength
    }
    for (;;) {
      if (this.#expectedBytes === undefined) {
        if (this.#bufferedBytes < frameHeaderBytes) break
        const header = this.#take(frameHeaderBytes)
        const length = new DataView(header.buffer, header.byteOffset, header.byteLength).getUint32(0, false)
        if (length > this.#frameBytesMax) throw new P2pFrameTooLargeError(`a frame of ${length} bytes is over the limit of ${this.#frameBytesMax}`)
        this.#expectedBytes = length
      }
      if (this.#bufferedBytes < this.#expectedBytes) break
      frames.push(this.#take(this.#expectedBytes))
      this.#expectedBytes = undefined
    }
    return frames
  }

  /** Removes the first `n` buffered bytes (n <= bufferedBytes) and returns them as one array. */
  #take(n: number): Uint8Array {
    const first = this.#chunks[0]
    if (first !== undefined && first.byteLength >= n) {
      // the common case for small frames: no copy
      const out = first.subarray(0, n)
      if (first.byteLength === n) this.#chunks.shift()
      else this.#chunks[0] = first.subarray(n)
      this.#bufferedBytes -= n
      return out
    }
    const out = new Uint8Array(n)
    let filled = 0
    while (filled < n) {
      const chunk = this.#chunks[0]
      if (chunk === undefined) throw new Error('FrameDecoder: took more bytes than it holds') // a bug
      const used = Math.min(chunk.byteLength, n - filled)
      out.set(chunk.subarray(0, used), filled)
      filled += used
      if (used === chunk.byteLength) this.#chunks.shift()
      else this.#chunks[0] = chunk.subarray(used)
    }
    this.#bufferedBytes -= n
    return out
  }
}
