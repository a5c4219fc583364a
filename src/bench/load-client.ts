/**
 * The cluster bench's load generator: HTTP/1.1 POSTs on keep-alive connections, one request at a
 * time per connection, with only what the TOM API answers parsed (the status line, Content-Length,
 * Connection: close, and the body).
 *
 * Why not node:http's client: it costs about 140 µs of CPU per request here, and the bench shares the
 * machine's cores with the nodes it measures, so its own cost comes out of theirs. This one writes
 * the head and body in one write and parses one buffer. It refuses what it does not speak (chunked
 * bodies, a response it cannot parse) with an error rather than guess.
 */
import { connect } from 'node:net'
import type { Socket } from 'node:net'

export interface LoadResponse {
  /** 0 when the connection failed; `code` then says how. */
  readonly status: number
  readonly body: Buffer
  readonly code?: string
}

const headerEnd = Buffer.from('\r\n\r\n')
/** Larger heads are not the TOM API's: refused. */
const headBytesMax = 16 * 1024

class ProtocolError extends Error {
  // Errno-style, as the socket errors it is counted with (not an API code: those are in src/errors.ts).
  readonly code = 'EPROTO'
}

interface Pending {
  resolve(response: LoadResponse): void
}

/** A parsed response head: its status, body length, whether the server closes after it, where the body starts. */
interface Head {
  readonly status: number
  readonly length: number
  readonly close: boolean
  readonly bodyStart: number
}

/** One keep-alive connection; a request is sent only when the previous one was answered. */
export class LoadConnection {
  readonly #host: string
  readonly #port: number
  #socket: Socket | undefined
  #pending: Pending | undefined
  #buffered: Buffer = Buffer.alloc(0)
  /** The current response's head, once parsed. */
  #head: Head | undefined
  /** When this connection was last answered: the pool leaves connections idle too long to the server's timeout. */
  idleSince = 0

  constructor(url: URL) {
    this.#host = url.hostname
    this.#port = Number(url.port)
  }

  /** Whether a socket is open (or opening): false before the first post and once either side closed it. */
  get connected(): boolean {
    return this.#socket !== undefined
  }

  /** POSTs `body` to `path`; never rejects: a failed connection resolves with status 0. */
  post(path: string, contentType: string, body: Buffer): Promise<LoadResponse> {
    if (this.#pending !== undefined) throw new Error('assertion: one request at a time per LoadConnection')
    const head = `POST ${path} HTTP/1.1\r\nhost: ${this.#host}:${this.#port}\r\ncontent-type: ${contentType}\r\ncontent-length: ${body.length}\r\n\r\n`
    return new Promise((resolve) => {
      this.#pending = { resolve }
      const socket = this.#socket ?? this.#connect()
      socket.write(Buffer.concat([Buffer.from(head, 'latin1'), body]))
    })
  }

  close(): void {
    this.#socket?.destroy()
    this.#socket = undefined
  }

  #connect(): Socket {
    const socket = connect({ host: this.#host, port: this.#port, noDelay: true })
    this.#socket = socket
    this.#buffered = Buffer.alloc(0)
    this.#head = undefined
    socket.on('data', (chunk: Buffer) => this.#onData(chunk))
    socket.on('error', (err: NodeJS.ErrnoException) => this.#fail(socket, err.code ?? err.message))
    socket.on('close', () => this.#fail(socket, 'ECONNRESET'))
    return socket
  }

  /** The connection ended: the request in flight (if any) failed; the next one reconnects. */
  #fail(socket: Socket, code: string): void {
    if (socket !== this.#socket) return
    this.#socket = undefined
    socket.destroy()
    const pending = this.#pending
    this.#pending = undefined
    pending?.resolve({ status: 0, body: Buffer.alloc(0), code })
  }

  #onData(chunk: Buffer): void {
    this.#buffered = this.#buffered.length === 0 ? chunk : Buffer.concat([this.#buffered, chunk])
    try {
      this.#head ??= this.#parseHead()
    } catch (err) {
      this.#fail(this.#socket!, (err as ProtocolError).code)
      return
    }
    const head = this.#head
    if (head === undefined || this.#buffered.length < head.bodyStart + head.length) return
    if (this.#pending === undefined || this.#buffered.length > head.bodyStart + head.length) {
      // An answer nobody asked for, or bytes after it: not a server this client can follow.
      this.#fail(this.#socket!, 'EPROTO')
      return
    }
    const body = this.#buffered.subarray(head.bodyStart)
    const pending = this.#pending
    this.#pending = undefined
    this.#buffered = Buffer.alloc(0)
    this.#head = undefined
    this.idleSince = performance.now()
    if (head.close) this.close()
    pending.resolve({ status: head.status, body })
  }

  #parseHead(): Head | undefined {
    const end = this.#buffered.indexOf(headerEnd)
    if (end < 0) {
      if (this.#buffered.length > headBytesMax) throw new ProtocolError('response head too large')
      return undefined
    }
    const lines = this.#buffered.toString('latin1', 0, end).split('\r\n')
    const status = /^HTTP\/1\.[01] (\d{3}) /.exec(lines[0]! + ' ')
    if (status === null) throw new ProtocolError(`not an HTTP/1.1 status line: ${lines[0]}`)
    let length: number | undefined
    let close = false
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':')
      const name = line.slice(0, colon).trim().toLowerCase()
      const value = line.slice(colon + 1).trim()
      if (name === 'content-length') length = Number(value)
      else if (name === 'connection') close = value.toLowerCase() === 'close'
      else if (name === 'transfer-encoding') throw new ProtocolError(`transfer-encoding ${value} is not supported`)
    }
    if (length === undefined || !Number.isSafeInteger(length) || length < 0) throw new ProtocolError('a response without a valid content-length')
    return { status: Number(status[1]), length, close, bodyStart: end + headerEnd.length }
  }
}

/**
 * Connections to one server, for load whose concurrency varies (the open-loop phase): a request takes
 * the connection idle longest, or a new one. A connection idle longer than `idleMs` is closed rather
 * than used, so a request never races the server closing it (Node's keep-alive timeout is 5 s).
 */
export class LoadPool {
  readonly #url: URL
  readonly #idle: LoadConnection[] = []
  readonly #all = new Set<LoadConnection>()

  constructor(
    url: URL,
    readonly idleMs = 4_000
  ) {
    this.#url = url
  }

  async post(path: string, contentType: string, body: Buffer): Promise<LoadResponse> {
    let connection: LoadConnection | undefined
    while ((connection = this.#idle.shift()) !== undefined && performance.now() - connection.idleSince > this.idleMs) {
      connection.close()
      this.#all.delete(connection)
    }
    if (connection === undefined) {
      connection = new LoadConnection(this.#url)
      this.#all.add(connection)
    }
    const response = await connection.post(path, contentType, body)
    this.#idle.push(connection)
    return response
  }

  close(): void {
    for (const c of this.#all) c.close()
    this.#all.clear()
    this.#idle.length = 0
  }
}
