/**
 * The Docker Engine API as plain HTTP/1.1 over the engine's local unix socket (node:http with
 * `socketPath`), the same requests Docker's CLI and Podman's compatible socket take. It only carries
 * bytes: what an answer means is docker-runtime.ts's business.
 *
 * Why not dockerode, which this replaced: its docker-modem loads ssh2 on import, and ssh2 instantiates
 * a poly1305 WebAssembly module that reserves 16 MB, resident in every node for an SSH transport TOM
 * never uses (TOM only talks to the engine of its own host). TOM's calls are a dozen JSON requests and
 * one log read, which need no client library.
 */
import { request } from 'node:http'

/** The engine's answer outgrew the request's bodyBytesMax; docker-runtime.ts turns it into a RuntimeFailedError. */
export class EngineAnswerTooLargeError extends Error {
  override readonly name = 'EngineAnswerTooLargeError'
}

/** An answer of the engine, any status. */
export interface EngineAnswer {
  readonly status: number
  readonly body: Buffer
}

export interface EngineRequest {
  readonly method: 'GET' | 'POST' | 'DELETE'
  /** Path and query, already encoded (see enginePath). */
  readonly path: string
  /** Sent as JSON. */
  readonly json?: unknown
  readonly signal: AbortSignal
  /** Larger answers are cut off with an EngineAnswerTooLargeError: an engine cannot make the node buffer without bound. */
  readonly bodyBytesMax: number
}

/**
 * Sends one request and resolves with the answer, whatever its status. Rejects with the socket's
 * error (its `code`: ENOENT, ECONNREFUSED, HPE_* when the peer does not speak HTTP, ABORT_ERR when the
 * signal fired) when no whole answer came.
 */
export function engineRequest(socketPath: string, req: EngineRequest): Promise<EngineAnswer> {
  const payload = req.json === undefined ? undefined : Buffer.from(JSON.stringify(req.json), 'utf8')
  const headers: Record<string, string | number> = { host: 'docker' }
  if (payload !== undefined) {
    headers['content-type'] = 'application/json'
    headers['content-length'] = payload.length
  }
  return new Promise((resolve, reject) => {
    const outgoing = request({ socketPath, method: req.method, path: req.path, headers, signal: req.signal }, (res) => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > req.bodyBytesMax) {
          res.destroy(new EngineAnswerTooLargeError(`the engine's answer to ${req.method} ${req.path} exceeds ${req.bodyBytesMax} bytes`))
          return
        }
        chunks.push(chunk)
      })
      res.on('error', reject)
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }))
    })
    outgoing.on('error', reject)
    outgoing.end(payload)
  })
}

/**
 * An API path from segments (each percent-encoded, so that no reference can name another endpoint)
 * and query parameters. Image references keep their `/`, `:` and `@`, which the engine's router
 * reads as part of the name; a `.` or `..` segment is refused, as it would move up the path.
 */
export function enginePath(segments: readonly string[], query: Record<string, string | number | boolean | undefined> = {}): string {
  const path = segments
    .map((s) => {
      const parts = s.split('/')
      if (parts.some((p) => p === '.' || p === '..')) throw new RangeError(`${JSON.stringify(s)} has a . or .. segment`)
      return parts.map((p) => encodeURIComponent(p).replace(/%3A/gi, ':').replace(/%40/g, '@')).join('/')
    })
    .join('/')
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v))
  const search = params.toString()
  return `/${path}${search === '' ? '' : `?${search}`}`
}
