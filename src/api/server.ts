/**
 * The node's HTTP API: submit signed txs, read blocks, txs and state, provenance queries and exports,
 * status, a Server-Sent Events stream of committed blocks and orchestration actions (event-stream.ts),
 * and the OpenAPI document that describes all of it (openapi.ts; a test keeps the two in step).
 *
 * Built on node:http alone. The API is a dozen routes, each with one trailing path parameter, plus a
 * long-lived SSE stream; a framework would add a dependency (and its upgrade churn) to save a
 * fifty-line router, while the limits that matter here (body size counted while reading, a token
 * bucket per client, backpressure on event streams) are ours to write either way.
 *
 * The server knows the node only through ApiNode, a narrow interface that TomNode satisfies, so it
 * can be tested against a real node and wired by src/node without the api importing it.
 */
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { concatBytes, fromHex, toHex } from '../crypto/index.js'
import { decodeTx, provFormats } from '../ledger/index.js'
import type { AppliedBlock, Block, ChainHead, ProvFormat, ProvQueries, Tx, TxRecord } from '../ledger/index.js'
import type { LineageDirection, QualifiedName } from '../prov/index.js'
import { apiBodyBytesMax, apiHostDefault, metricsContentType, apiPortDefault, rateLimitBurstDefault, rateLimitClientsMax, rateLimitPerSecondDefault, sseClientsMax, blockPageBlocksDefault, blockPageBlocksMax, blockPageBytesMax, statePageEntriesDefault, statePageEntriesMax, submitWaitMsDefault } from './constants.js'
import { ApiRequestError } from './errors.js'
import { openApiDocument } from './openapi.js'
import { RenderedBlocks, startEventStream } from './event-stream.js'
import { blockView, statusView, toJsonValue, txRecordView } from './wire.js'
import type { ActionEvent, BlockPageView, CommittedTxView, JsonValue, NodeStatusSource, StatePageView, StateView } from './wire.js'

/**
 * What the API needs of a node. TomNode satisfies it. Contract: `submitTx` resolves once the tx is
 * committed (with its receipt, ok or not) and rejects with an error carrying a `code` when the tx is
 * refused or no leader is known; `admitTx` resolves as soon as the tx is admitted (in the leader's
 * mempool) and rejects exactly as `submitTx` does; the reads answer from this node's ledger.
 */
export interface ApiNode {
  readonly network: Uint8Array
  readonly head: ChainHead
  readonly prov: Pick<ProvQueries, 'lineage' | 'whoTouched' | 'history' | 'activitiesOf'>
  status(): NodeStatusSource
  submitTx(tx: Tx | Uint8Array, options?: { signal?: AbortSignal }): Promise<CommittedTxView>
  admitTx(tx: Tx | Uint8Array, options?: { signal?: AbortSignal }): Promise<{ id: string }>
  /** A committed block (its exact bytes included). */
  getBlock(height: number): Promise<Block | undefined>
  /** A committed block with its receipts. */
  getAppliedBlock(height: number): Promise<AppliedBlock | undefined>
  /** The changes of orchestration actions committed in `applied`, in chain order. */
  actionsOf(applied: AppliedBlock): Promise<readonly ActionEvent[]>
  getTx(id: Uint8Array): Promise<TxRecord | undefined>
  getState(key: string): Promise<Uint8Array | undefined>
  getStateLinearizable(key: string, options?: { signal?: AbortSignal }): Promise<Uint8Array | undefined>
  getStateAt(key: string, height: number): Promise<Uint8Array | undefined>
  /** World-state entries under `prefix` in key order, at most `limit`, after the key `after` when given. */
  scanState(prefix: string, limit: number, after?: string): Promise<[string, Uint8Array][]>
  exportProv(
    what: { block: number } | { from?: number; to?: number } | { lineage: QualifiedName; direction?: LineageDirection; depth?: number; limit?: number },
    format: ProvFormat,
    options?: { signal?: AbortSignal }
  ): Promise<string>
  on(event: 'block', listener: (block: AppliedBlock) => void): unknown
  off(event: 'block', listener: (block: AppliedBlock) => void): unknown
  /** Prometheus exposition text of the node's metrics. */
  metrics(): Promise<string>
}

export interface ApiServerOptions {
  /** Default 127.0.0.1 (apiHostDefault). */
  readonly host?: string
  /** Default 7070 (apiPortDefault); 0 picks a free port. */
  readonly port?: number
  /** Default 1 MiB (apiBodyBytesMax). */
  readonly bodyBytesMax?: number
  /** Per client address; `false` turns rate limiting off. Default { burst: 200, perSecond: 100 }. */
  readonly rateLimit?: { readonly burst: number; readonly perSecond: number } | false
  /** How long a submit waits for the commit (`wait=true`) or the admission (`wait=false`). Default 30 s (submitWaitMsDefault). */
  readonly submitWaitMs?: number
  /** Default 100 (sseClientsMax). */
  readonly sseClientsMax?: number
  /** Milliseconds, for the rate limiter; injectable for tests. Default Date.now. */
  readonly clock?: () => number
  /** Called with unexpected failures (answered 500 with no detail). Default: none. */
  readonly onError?: (err: unknown, route: string) => void
}

export interface ApiServer {
  /** Listens; resolves with the base URL (e.g. http://127.0.0.1:7070). */
  start(options?: { signal?: AbortSignal }): Promise<{ url: string }>
  /** Closes event streams and connections, refuses what is still waiting, stops listening. */
  stop(): Promise<void>
}

/** What a handler answers: JSON, or text of a given content type, or nothing (it wrote the response itself). */
type Reply = { status: number; json: unknown; headers?: Record<string, string> } | { status: number; text: string; contentType: string } | undefined

interface Context {
  readonly node: ApiNode
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly url: URL
  /** The route's trailing path parameter, decoded ('' for routes without one). */
  readonly param: string
  /** Aborted when the client goes away or the server stops. */
  readonly signal: AbortSignal
}

export interface ApiRoute {
  readonly method: 'GET' | 'POST'
  /** OpenAPI path template; at most one parameter, always the last segment. */
  readonly path: string
  readonly operationId: string
}

interface Route extends ApiRoute {
  readonly prefix: string
  readonly hasParam: boolean
  readonly handle: (ctx: Context) => Promise<Reply>
}

/** HTTP status of each code passed through from the node; any other error is a 500. */
const statusByCode: Readonly<Record<string, number>> = {
  ERR_TX_MALFORMED: 400,
  ERR_TX_TOO_LARGE: 413,
  ERR_TX_BAD_SIGNATURE: 409,
  ERR_TX_WRONG_NETWORK: 409,
  ERR_TX_EXPIRED: 409,
  ERR_TX_EXPIRY_TOO_FAR: 409,
  ERR_TX_REPLAY: 409,
  ERR_NO_LEADER: 503,
  ERR_NOT_LEADER: 503,
  ERR_MEMPOOL_FULL: 503,
  // A follower's forwarding to the leader is at its in-flight limit: retry later, maybe on the leader.
  ERR_P2P_BUSY: 503,
  ERR_NODE_STOPPED: 503,
  ERR_READ_UNCONFIRMED: 503,
  ERR_PROV_QUERY_BAD_ID: 400,
  ERR_PROV_QUERY_BAD_HEIGHT: 400,
  ERR_PROV_QUERY_BAD_CURSOR: 400,
  ERR_PROV_QUERY_LIMIT: 400
}

const contentTypeOfFormat: Readonly<Record<ProvFormat, string>> = {
  'prov-json': 'application/json; charset=utf-8',
  'prov-n': 'text/provenance-notation; charset=utf-8',
  turtle: 'text/turtle; charset=utf-8'
}

const hexPattern = /^(?:[0-9a-fA-F]{2})*$/
const txIdPattern = /^[0-9a-fA-F]{64}$/

function badRequest(message: string): ApiRequestError {
  return new ApiRequestError(400, 'ERR_API_BAD_REQUEST', message)
}

/** A non-negative integer query parameter, or undefined when absent. */
function intParam(url: URL, name: string, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const raw = url.searchParams.get(name)
  if (raw === null) return undefined
  if (!/^\d{1,16}$/.test(raw) || Number(raw) > max) throw badRequest(`${name} must be an integer from 0 to ${max}, not ${JSON.stringify(raw.slice(0, 40))}`)
  return Number(raw)
}

function boolParam(url: URL, name: string, fallback: boolean): boolean {
  const raw = url.searchParams.get(name)
  if (raw === null) return fallback
  if (raw === 'true') return true
  if (raw === 'false') return false
  throw badRequest(`${name} must be true or false, not ${JSON.stringify(raw.slice(0, 40))}`)
}

function heightParam(node: ApiNode, url: URL, name: string): number | undefined {
  const height = intParam(url, name)
  if (height !== undefined && height > node.head.height) throw badRequest(`${name} ${height} is past the head (${node.head.height})`)
  return height
}

/** Where an event stream starts: after the Last-Event-ID header's height (a reconnect), else after `from`. */
function resumeAfter(req: IncomingMessage, url: URL): number | undefined {
  const lastEventId = req.headers['last-event-id']
  if (typeof lastEventId === 'string' && lastEventId !== '') {
    if (!/^\d{1,16}$/.test(lastEventId) || !Number.isSafeInteger(Number(lastEventId))) throw badRequest(`Last-Event-ID must be a block height, not ${JSON.stringify(lastEventId.slice(0, 40))}`)
    return Number(lastEventId)
  }
  return intParam(url, 'from')
}

function directionParam(url: URL): LineageDirection {
  const raw = url.searchParams.get('direction') ?? 'backward'
  if (raw !== 'backward' && raw !== 'forward') throw badRequest(`direction must be backward or forward, not ${JSON.stringify(raw.slice(0, 40))}`)
  return raw
}

function cursorParam(url: URL): { cursor?: string } {
  const cursor = url.searchParams.get('cursor')
  return cursor === null ? {} : { cursor }
}

function limits(url: URL, names: readonly ('depth' | 'limit')[]): { depth?: number; limit?: number } {
  const out: { depth?: number; limit?: number } = {}
  for (const name of names) {
    const v = intParam(url, name)
    if (v !== undefined) out[name] = v
  }
  return out
}

/**
 * Reads the body, counting as it goes: a client that lies about (or omits) Content-Length is cut off all
 * the same. With listeners rather than `for await`: an async iterator per request cost the leader's
 * thread a stream iterator, its promises and its cleanup on every submit. Past `max` it stops reading
 * and leaves the stream: the error reply closes the connection.
 */
function readBody(req: IncomingMessage, max: number): Promise<Uint8Array> {
  const tooLarge = (): ApiRequestError => new ApiRequestError(413, 'ERR_API_BODY_TOO_LARGE', `the body is larger than ${max} bytes`)
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > max) return Promise.reject(tooLarge())
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const finish = (err: Error | undefined): void => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', finish)
      req.off('close', onClose)
      if (err !== undefined) reject(err)
      // One copy, into a plain Uint8Array of its own (a chunk may be a view of a larger socket buffer).
      else resolve(chunks.length === 1 ? new Uint8Array(chunks[0]!) : concatBytes(...chunks))
    }
    const onData = (chunk: Buffer): void => {
      size += chunk.length
      if (size > max) {
        req.pause()
        finish(tooLarge())
        return
      }
      chunks.push(chunk)
    }
    const onEnd = (): void => finish(undefined)
    const onClose = (): void => finish(new Error('the client went away before the body ended'))
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', finish)
    req.on('close', onClose)
  })
}

/** The tx bytes of a submit: CBOR as is, or JSON `{ "tx": "<hex>" }`. */
async function txBytesOf(req: IncomingMessage, max: number): Promise<Uint8Array> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
  if (type !== 'application/cbor' && type !== 'application/json') {
    throw new ApiRequestError(415, 'ERR_API_UNSUPPORTED_MEDIA_TYPE', `submit a tx as application/cbor or application/json { "tx": "<hex>" }, not ${JSON.stringify(type.slice(0, 80))}`)
  }
  const body = await readBody(req, max)
  if (type === 'application/cbor') {
    if (body.length === 0) throw badRequest('the body is empty: expected the CBOR of a signed tx')
    return body
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body))
  } catch {
    throw badRequest('the body is not JSON')
  }
  const hex = (parsed as { tx?: unknown } | null)?.tx
  if (typeof hex !== 'string' || hex.length === 0 || !hexPattern.test(hex)) throw badRequest('expected { "tx": "<hex of the signed tx CBOR>" } with an even number of hex digits')
  return fromHex(hex.toLowerCase())
}

/** Token buckets per client address. Lazily refilled on each request, so no timer runs. */
class RateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>()
  constructor(
    readonly burst: number,
    readonly perSecond: number,
    readonly clock: () => number
  ) {}

  /** 0 when the request may go ahead; otherwise the seconds until one token is back (Infinity: never). */
  take(client: string): number {
    const now = this.clock()
    let bucket = this.#buckets.get(client)
    if (bucket === undefined) {
      bucket = { tokens: this.burst, at: now }
      if (this.#buckets.size >= rateLimitClientsMax) this.#buckets.delete(this.#buckets.keys().next().value!)
    } else {
      this.#buckets.delete(client)
      bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond)
      bucket.at = now
    }
    // Re-inserted so that Map order is least recently seen first: eviction forgets idle clients.
    this.#buckets.set(client, bucket)
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1
      return 0
    }
    return this.perSecond > 0 ? Math.ceil((1 - bucket.tokens) / this.perSecond) : Infinity
  }
}

function checkOptions(options: ApiServerOptions): Required<Omit<ApiServerOptions, 'onError' | 'rateLimit'>> & Pick<ApiServerOptions, 'onError' | 'rateLimit'> {
  const positive = (name: string, v: number | undefined, fallback: number): number => {
    const value = v ?? fallback
    if (!Number.isSafeInteger(value) || value <= 0) throw new TypeError(`api option ${name} must be a positive integer, not ${value}`)
    return value
  }
  const port = options.port ?? apiPortDefault
  if (!Number.isSafeInteger(port) || port < 0 || port > 65535) throw new TypeError(`api option port must be from 0 to 65535, not ${port}`)
  const rateLimit = options.rateLimit ?? { burst: rateLimitBurstDefault, perSecond: rateLimitPerSecondDefault }
  if (rateLimit !== false && (!(rateLimit.burst >= 1) || !(rateLimit.perSecond >= 0))) throw new TypeError('api option rateLimit needs burst >= 1 and perSecond >= 0')
  return Object.freeze({
    host: options.host ?? apiHostDefault,
    port,
    bodyBytesMax: positive('bodyBytesMax', options.bodyBytesMax, apiBodyBytesMax),
    rateLimit,
    submitWaitMs: positive('submitWaitMs', options.submitWaitMs, submitWaitMsDefault),
    sseClientsMax: positive('sseClientsMax', options.sseClientsMax, sseClientsMax),
    clock: options.clock ?? Date.now,
    onError: options.onError
  })
}

/** Creates the API server of `node`. Options are checked here, once; start() listens. */
export function createApiServer(node: ApiNode, options: ApiServerOptions = {}): ApiServer {
  const config = checkOptions(options)
  const rateLimit = config.rateLimit ?? false
  const limiter = rateLimit === false ? undefined : new RateLimiter(rateLimit.burst, rateLimit.perSecond, config.clock)
  const stopping = new AbortController()
  const streams = new Set<ServerResponse>()
  /** The requests being answered, aborted when the server stops. */
  const requests = new Set<AbortController>()
  const rendered = new RenderedBlocks(node)
  let server: Server | undefined

  /**
   * `work` under the submit wait: past it, 504 (the tx may still be admitted or commit; the work goes
   * on until it ends or the request's signal aborts). One timer, cleared on the answer, and no signal
   * of its own: a controller and listener per request cost the leader's thread more than the timer,
   * and AbortSignal.timeout would keep every request's timer alive for the whole wait.
   */
  const withinSubmitWait = <T>(tx: Tx, what: 'admitted' | 'committed', signal: AbortSignal, work: (signal: AbortSignal) => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new ApiRequestError(504, 'ERR_API_WAIT_TIMEOUT', `tx ${toHex(tx.id)} was not ${what} within ${config.submitWaitMs} ms; it may still be: look it up by id`))
      }, config.submitWaitMs)
      work(signal).then(
        (value) => {
          clearTimeout(timer)
          resolve(value)
        },
        (err: unknown) => {
          clearTimeout(timer)
          reject(err)
        }
      )
    })

  const submit = async ({ req, url, signal }: Context): Promise<Reply> => {
    const wait = boolParam(url, 'wait', true)
    const bytes = await txBytesOf(req, config.bodyBytesMax)
    const tx = decodeTx(bytes)
    if (!wait) {
      // Answered once the node admitted the tx, so a refusal gets the same status and code as with wait.
      const { id } = await withinSubmitWait(tx, 'admitted', signal, (s) => node.admitTx(tx, { signal: s }))
      return { status: 202, json: { id, pending: true } }
    }
    const committed = await withinSubmitWait(tx, 'committed', signal, (s) => node.submitTx(tx, { signal: s }))
    const view = { id: committed.id, height: committed.height, index: committed.index, receipt: committed.receipt }
    if (committed.receipt.ok) return { status: 200, json: view }
    // Committed but failed: the tx is in its block and changed nothing. 409 with the contract's code,
    // and where it is, so a client can still find it.
    return { status: 409, json: { code: committed.receipt.code, message: committed.receipt.message, ...view } }
  }

  const getBlock = async ({ node, param }: Context): Promise<Reply> => {
    if (!/^\d{1,16}$/.test(param)) throw badRequest(`a block height is a non-negative integer, not ${JSON.stringify(param.slice(0, 40))}`)
    const applied = await node.getAppliedBlock(Number(param))
    if (applied === undefined) throw new ApiRequestError(404, 'ERR_API_NOT_FOUND', `no block at height ${param} (head is ${node.head.height})`)
    return { status: 200, json: blockView(applied.block, applied.receipts) }
  }

  /** Blocks' exact bytes from a height on: what an auditor replays (`tom verify`), without a request per block. */
  const listBlocks = async ({ node, url }: Context): Promise<Reply> => {
    const head = node.head
    const from = intParam(url, 'from') ?? 0
    const limit = intParam(url, 'limit', blockPageBlocksMax) ?? blockPageBlocksDefault
    if (limit === 0) throw badRequest('limit must be at least 1')
    const blocks: { height: number; hash: string; bytes: string }[] = []
    let bytes = 0
    for (let height = from; height <= head.height && blocks.length < limit && (blocks.length === 0 || bytes < blockPageBytesMax); height++) {
      // The bytes alone: the page has no use for the receipts.
      const block = await node.getBlock(height)
      if (block === undefined) break
      blocks.push({ height, hash: toHex(block.hash), bytes: toHex(block.bytes) })
      bytes += block.bytes.length
    }
    const last = from + blocks.length - 1
    const view: BlockPageView = { head: { height: head.height, hash: toHex(head.hash) }, blocks, ...(blocks.length > 0 && last < head.height ? { next: last + 1 } : {}) }
    return { status: 200, json: view }
  }

  const getTx = async ({ node, param }: Context): Promise<Reply> => {
    if (!txIdPattern.test(param)) throw badRequest(`a tx id is 64 hex digits, not ${JSON.stringify(param.slice(0, 80))}`)
    const record = await node.getTx(fromHex(param.toLowerCase()))
    if (record === undefined) throw new ApiRequestError(404, 'ERR_API_NOT_FOUND', `no committed tx ${param.toLowerCase()}`)
    return { status: 200, json: txRecordView(record) }
  }

  const getState = async ({ node, url, param, signal }: Context): Promise<Reply> => {
    if (param.length === 0) throw badRequest('a state key is not empty')
    const height = heightParam(node, url, 'height')
    const linearizable = boolParam(url, 'linearizable', false)
    if (height !== undefined && linearizable) throw badRequest('height and linearizable=true exclude each other: a read at a height is already fixed')
    let value: Uint8Array | undefined
    let at: number
    if (height !== undefined) {
      value = await node.getStateAt(param, height)
      at = height
    } else if (linearizable) {
      value = await node.getStateLinearizable(param, { signal })
      at = node.head.height
    } else {
      at = node.head.height
      value = await node.getState(param)
    }
    if (value === undefined) throw new ApiRequestError(404, 'ERR_API_NOT_FOUND', `no state at key ${JSON.stringify(param.slice(0, 200))} at height ${at}`)
    const view: StateView = { key: param, height: at, value: toHex(value) }
    return { status: 200, json: view }
  }

  const listState = async ({ node, url }: Context): Promise<Reply> => {
    const prefix = url.searchParams.get('prefix') ?? ''
    const after = url.searchParams.get('after') ?? undefined
    if (after !== undefined && !after.startsWith(prefix)) throw badRequest('after must be a key under prefix: the `next` of the previous page')
    const limit = intParam(url, 'limit', statePageEntriesMax) ?? statePageEntriesDefault
    if (limit === 0) throw badRequest('limit must be at least 1')
    const height = node.head.height
    // One entry more than the page tells whether another page follows.
    const found = await node.scanState(prefix, limit + 1, after)
    const entries = found.slice(0, limit).map(([key, value]) => ({ key, value: toHex(value) }))
    const view: StatePageView = { height, entries, ...(found.length > limit ? { next: entries.at(-1)!.key } : {}) }
    return { status: 200, json: view }
  }

  const getStatus = async ({ node }: Context): Promise<Reply> => ({ status: 200, json: statusView(node.status()) })

  const metrics = async ({ node }: Context): Promise<Reply> => ({ status: 200, text: await node.metrics(), contentType: metricsContentType })

  const lineage = async ({ node, url, param, signal }: Context): Promise<Reply> => ({
    status: 200,
    json: await node.prov.lineage(param, directionParam(url), { ...limits(url, ['depth', 'limit']), signal })
  })
  const whoTouched = async ({ node, url, param, signal }: Context): Promise<Reply> => ({
    status: 200,
    json: await node.prov.whoTouched(param, { ...limits(url, ['limit']), signal })
  })
  const history = async ({ node, url, param, signal }: Context): Promise<Reply> => ({
    status: 200,
    json: await node.prov.history(param, { ...limits(url, ['limit']), ...cursorParam(url), signal })
  })
  const activities = async ({ node, url, param, signal }: Context): Promise<Reply> => ({
    status: 200,
    json: await node.prov.activitiesOf(param, { ...limits(url, ['limit']), ...cursorParam(url), signal })
  })

  const exportProv = async ({ node, url, signal }: Context): Promise<Reply> => {
    const format = (url.searchParams.get('format') ?? 'prov-json') as ProvFormat
    if (!provFormats.includes(format)) throw badRequest(`format must be one of ${provFormats.join(', ')}, not ${JSON.stringify(String(format).slice(0, 40))}`)
    const block = heightParam(node, url, 'block')
    const from = heightParam(node, url, 'from')
    const to = heightParam(node, url, 'to')
    const lineageOf = url.searchParams.get('lineage')
    const kinds = [block !== undefined, from !== undefined || to !== undefined, lineageOf !== null].filter(Boolean).length
    if (kinds > 1) throw badRequest('export one of: block=H, a range from=&to=, or lineage=ID')
    let text: string
    if (block !== undefined) text = await node.exportProv({ block }, format, { signal })
    else if (lineageOf !== null) text = await node.exportProv({ lineage: lineageOf, direction: directionParam(url), ...limits(url, ['depth', 'limit']) }, format, { signal })
    else text = await node.exportProv({ ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) }, format, { signal })
    return { status: 200, text, contentType: contentTypeOfFormat[format] }
  }

  const events = async ({ node, req, res, url }: Context): Promise<Reply> => {
    if (streams.size >= config.sseClientsMax) throw new ApiRequestError(503, 'ERR_API_UNAVAILABLE', `the server holds ${config.sseClientsMax} event streams already`)
    const after = resumeAfter(req, url)
    streams.add(res)
    res.on('close', () => streams.delete(res))
    startEventStream(node, rendered, res, { after, onError: (err) => config.onError?.(err, 'GET /v1/events') })
    return undefined
  }

  const openapi = async (): Promise<Reply> => ({ status: 200, json: openApiDocument })

  const handlers: Readonly<Record<OperationId, (ctx: Context) => Promise<Reply>>> = {
    submitTx: submit,
    getTx,
    getBlock,
    listBlocks,
    getState,
    listState,
    getStatus,
    metrics,
    provLineage: lineage,
    provWhoTouched: whoTouched,
    provHistory: history,
    provActivities: activities,
    provExport: exportProv,
    events,
    openapi
  }
  const routes: Route[] = apiRoutes.map((r) => {
    const brace = r.path.indexOf('{')
    return { ...r, prefix: brace < 0 ? r.path : r.path.slice(0, brace), hasParam: brace >= 0, handle: handlers[r.operationId] }
  })

  /** The route for a path; a parameter takes the rest of the path, so a state key or PROV id may hold '/'. */
  const match = (path: string): { routes: Route[]; param: string } | undefined => {
    const exact = routes.filter((r) => !r.hasParam && r.path === path)
    if (exact.length > 0) return { routes: exact, param: '' }
    const withParam = routes.filter((r) => r.hasParam && path.startsWith(r.prefix) && path.length > r.prefix.length)
    if (withParam.length === 0) return undefined
    let param: string
    try {
      param = decodeURIComponent(path.slice(withParam[0]!.prefix.length))
    } catch {
      throw badRequest('the path is not valid percent-encoding')
    }
    return { routes: withParam, param }
  }

  const sendJson = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    const text = JSON.stringify(toJsonValue(body) as JsonValue)
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers })
    res.end(text)
  }

  const handleError = (res: ServerResponse, err: unknown, route: string): void => {
    if (res.headersSent || res.destroyed) return
    if (err instanceof ApiRequestError) {
      if (err.status === 413) {
        // The rest of the body is not read: close the connection after answering rather than drain it.
        res.shouldKeepAlive = false
      }
      const headers = { ...err.headers }
      sendJson(res, err.status, { code: err.code, message: err.message }, headers)
      return
    }
    const code = (err as { code?: unknown } | null)?.code
    if (typeof code === 'string' && statusByCode[code] !== undefined) {
      if (code === 'ERR_TX_TOO_LARGE') res.shouldKeepAlive = false
      sendJson(res, statusByCode[code], { code, message: (err as Error).message })
      return
    }
    if (stopping.signal.aborted) {
      sendJson(res, 503, { code: 'ERR_API_UNAVAILABLE', message: 'the server is stopping; a submitted tx may or may not commit: look it up by id' })
      return
    }
    config.onError?.(err, route)
    sendJson(res, 500, { code: 'ERR_API_INTERNAL', message: 'internal error' })
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // One controller per request, aborted when the client goes away or the server stops. Not
    // AbortSignal.any with the server's signal: on Node 20 that keeps every request's signal alive.
    const aborter = new AbortController()
    const signal = aborter.signal
    requests.add(aborter)
    res.on('close', () => {
      requests.delete(aborter)
      if (!res.writableFinished) aborter.abort(new Error('the client went away'))
    })
    let routeName = `${req.method} ${req.url}`
    try {
      if (stopping.signal.aborted) throw new ApiRequestError(503, 'ERR_API_UNAVAILABLE', 'the server is stopping')
      if (limiter !== undefined) {
        const wait = limiter.take(req.socket.remoteAddress ?? 'unknown')
        if (wait > 0) {
          const retry: Record<string, string> = Number.isFinite(wait) ? { 'retry-after': String(wait) } : {}
          throw new ApiRequestError(429, 'ERR_API_RATE_LIMITED', 'too many requests from this client', retry)
        }
      }
      const url = new URL(req.url ?? '/', 'http://localhost')
      const found = match(url.pathname)
      if (found === undefined) throw new ApiRequestError(404, 'ERR_API_NO_ROUTE', `no route ${url.pathname}`)
      const route = found.routes.find((r) => r.method === req.method)
      if (route === undefined) {
        const allow = found.routes.map((r) => r.method).join(', ')
        throw new ApiRequestError(405, 'ERR_API_METHOD_NOT_ALLOWED', `${url.pathname} takes ${allow}, not ${req.method}`, { allow })
      }
      routeName = `${route.method} ${route.path}`
      const reply = await route.handle({ node, req, res, url, param: found.param, signal })
      if (reply === undefined) return
      if ('text' in reply) {
        res.writeHead(reply.status, { 'content-type': reply.contentType, 'content-length': Buffer.byteLength(reply.text) })
        res.end(reply.text)
      } else {
        sendJson(res, reply.status, reply.json, reply.headers)
      }
    } catch (err) {
      handleError(res, err, routeName)
    }
  }

  return {
    async start(startOptions = {}) {
      startOptions.signal?.throwIfAborted()
      if (server !== undefined) throw new Error('the API server is already started')
      const s = createServer((req, res) => void handle(req, res))
      server = s
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject)
        s.listen(config.port, config.host, () => {
          s.off('error', reject)
          resolve()
        })
      })
      const address = s.address() as AddressInfo
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
      return { url: `http://${host}:${address.port}` }
    },
    async stop() {
      if (server === undefined || stopping.signal.aborted) return
      stopping.abort(new Error('the API server is stopping'))
      for (const request of requests) request.abort(stopping.signal.reason)
      for (const res of streams) res.end()
      const s = server
      const closed = new Promise<void>((resolve) => s.close(() => resolve()))
      s.closeIdleConnections()
      await closed
    }
  }
}

/**
 * The routes the server answers, each with its OpenAPI operationId: the server builds its router from
 * this list, and test/api/openapi.test.ts checks it against openapi.ts both ways.
 */
export const apiRoutes = Object.freeze([
  { method: 'POST', path: '/v1/txs', operationId: 'submitTx' },
  { method: 'GET', path: '/v1/txs/{id}', operationId: 'getTx' },
  { method: 'GET', path: '/v1/blocks/{height}', operationId: 'getBlock' },
  { method: 'GET', path: '/v1/blocks', operationId: 'listBlocks' },
  { method: 'GET', path: '/v1/state/{key}', operationId: 'getState' },
  { method: 'GET', path: '/v1/state', operationId: 'listState' },
  { method: 'GET', path: '/v1/status', operationId: 'getStatus' },
  { method: 'GET', path: '/v1/prov/lineage/{id}', operationId: 'provLineage' },
  { method: 'GET', path: '/v1/prov/who-touched/{id}', operationId: 'provWhoTouched' },
  { method: 'GET', path: '/v1/prov/history/{id}', operationId: 'provHistory' },
  { method: 'GET', path: '/v1/prov/activities/{agent}', operationId: 'provActivities' },
  { method: 'GET', path: '/v1/prov/export', operationId: 'provExport' },
  { method: 'GET', path: '/v1/events', operationId: 'events' },
  { method: 'GET', path: '/v1/openapi.json', operationId: 'openapi' },
  { method: 'GET', path: '/metrics', operationId: 'metrics' }
] as const satisfies readonly ApiRoute[])
export type OperationId = (typeof apiRoutes)[number]['operationId']
