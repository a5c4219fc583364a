/**
 * TomClient: the SDK for a node's HTTP API. It builds and signs txs for the built-in types, submits
 * them (waiting for the commit by default), reads blocks, txs and state, runs provenance queries and
 * exports, and follows committed blocks and orchestration actions over Server-Sent Events (event-reader.ts). It uses only `fetch`, so it runs
 * wherever that does; every failure is an ApiError carrying the server's code and HTTP status.
 */
import { fromHex, toHex } from '../crypto/index.js'
import type { CborValue, Signer } from '../crypto/index.js'
// From the files, not the ledger's index: the SDK must not load LevelDB (the index re-exports its store).
import { signTx } from '../ledger/tx.js'
import type { ProvFormat, Tx } from '../ledger/index.js'
import type { LineageDirection, LineageResult, QualifiedName, WhoTouchedResult } from '../prov/index.js'
import type { AgentActivities, ProvHistory } from '../ledger/index.js'
import { clientTxTtlMsDefault } from './constants.js'
import { ApiError } from './errors.js'
import { followEvents } from './event-reader.js'
import type { NodeEvent } from './event-reader.js'
import type { ActionEvent, BlockPageView, BlockView, CommittedTxView, StatePageView, StatusView, TxRecordView } from './wire.js'

export interface TomClientOptions {
  /** The node's API base URL, e.g. http://127.0.0.1:7070. */
  readonly url: string
  /** Default: the global fetch. */
  readonly fetch?: typeof fetch
}

type Signal = { readonly signal?: AbortSignal }

export interface EventsOptions {
  /** Replay the committed blocks after this height first, then go on live. Default: live only. */
  readonly from?: number
  /**
   * Resume a dropped stream after the last complete block (Last-Event-ID), with a doubling wait, up to
   * eventsReconnectAttemptsMax times in a row; then the iteration throws. Default false: a drop ends it.
   */
  readonly reconnect?: boolean
  readonly signal?: AbortSignal
}

/** A state value as the client returns it: bytes again, not hex. */
export interface StateValue {
  readonly key: string
  readonly height: number
  readonly value: Uint8Array
}

/** One page of `blocks`: exact bytes from a height on; pass `next` back as `from` for the following page. */
export type BlockPage = BlockPageView<Uint8Array>

/** One page of `stateList`: pass `next` back as `after` for the following page. */
export type StatePage = StatePageView<Uint8Array>

/** What `submit` resolves with: the commit, or only the id when not waiting. */
export type SubmitResult = CommittedTxView | { readonly id: string; readonly pending: true }

/** Payloads of the built-in tx types (docs/provenance-and-contracts.md); bytes are Uint8Array. */
export interface DataAddPayload {
  readonly id: string
  /** SHA-256 of the data, 32 bytes. */
  readonly hash: Uint8Array
  readonly size?: number
  readonly location?: string
  readonly producedBy?: string
  readonly derivedFrom?: readonly string[]
  readonly dataType?: string
}
export interface OrgAdminPayload {
  readonly org: string
  readonly publicKey: Uint8Array
}
export interface NodeAddPayload {
  readonly org: string
  readonly publicKey: Uint8Array
  readonly name: string
  readonly addrs: readonly string[]
  readonly labels?: Readonly<Record<string, string>>
  readonly capacity?: number
}
export interface DeviceAuthorisePayload {
  readonly id: string
  readonly org?: string
  readonly publicKey: Uint8Array
  readonly attributes: Readonly<Record<string, string>>
}
export interface DeviceJoinPayload {
  readonly id: string
  readonly attributes: Readonly<Record<string, string>>
  /** The node the device is attached to, public key hex. */
  readonly node?: string
}
export interface ImagePayload {
  /** sha256:<hex> */
  readonly digest: string
  readonly name?: string
}
export interface ContainerJoinPayload {
  readonly id: string
  readonly imageDigest: string
  readonly publicKey: Uint8Array
  readonly action?: string
}
export interface ContainerStatusPayload {
  readonly id: string
  readonly status: 'restarted' | 'missing' | 'stopped'
  readonly detail?: string
}
export interface TemplateSetPayload {
  readonly id: string
  readonly on: 'device.join' | 'data.add'
  readonly match: Readonly<Record<string, string>>
  readonly image: string
  /** Variables for the container, merged under the event's own (TOM_DATA_ID, TOM_DEVICE_ID). */
  readonly env?: Readonly<Record<string, string>>
  readonly cmd?: readonly string[]
}
export interface ActionReportPayload {
  readonly id: string
  readonly status: 'pending' | 'running' | 'done' | 'failed'
  readonly detail?: string
}
export interface ContractDeployPayload {
  readonly name: string
  readonly source: string
  /** The version this deploy must become (the next one): a guard against a concurrent upgrade. */
  readonly version?: number
}

export interface SignOptions {
  /** Default: a fresh value per tx (milliseconds × 1000 plus a counter), so two builds never collide. */
  readonly nonce?: number
  /** Milliseconds since the epoch. Default: now + 60 s (clientTxTtlMsDefault). */
  readonly expiresAt?: number
}

/** Drops undefined fields (CBOR has no undefined) and copies read-only arrays into the CborValue shape. */
function cborPayload(payload: object): CborValue {
  const out: Record<string, CborValue> = {}
  for (const [k, v] of Object.entries(payload)) {
    if (v === undefined) continue
    out[k] = v instanceof Uint8Array || v === null || typeof v !== 'object' ? (v as CborValue) : Array.isArray(v) ? (v.map((x) => (typeof x === 'object' && x !== null && !(x instanceof Uint8Array) ? cborPayload(x) : x)) as CborValue) : cborPayload(v)
  }
  return out
}

let nonceCounter = 0
function freshNonce(): number {
  // Unique within a process and, across restarts, increasing with the clock.
  nonceCounter = (nonceCounter + 1) % 1000
  return Date.now() * 1000 + nonceCounter
}

/** Signs txs of every built-in type with one key, for one network. Nothing is submitted. */
export class TxBuilder {
  constructor(
    readonly signer: Signer,
    readonly network: Uint8Array,
    readonly options: { readonly ttlMs?: number } = {}
  ) {}

  /** A tx of any type (a deployed contract's `<name>.<fn>` included). */
  tx(type: string, payload: CborValue | object, options: SignOptions = {}): Tx {
    const expiresAt = options.expiresAt ?? Date.now() + (this.options.ttlMs ?? clientTxTtlMsDefault)
    return TomClient.sign(this.signer, this.network, type, payload, { nonce: options.nonce ?? freshNonce(), expiresAt })
  }

  dataAdd(p: DataAddPayload, o?: SignOptions): Tx {
    return this.tx('data.add', p, o)
  }
  orgAdminAdd(p: OrgAdminPayload, o?: SignOptions): Tx {
    return this.tx('org.admin.add', p, o)
  }
  orgAdminRemove(p: OrgAdminPayload, o?: SignOptions): Tx {
    return this.tx('org.admin.remove', p, o)
  }
  nodeAdd(p: NodeAddPayload, o?: SignOptions): Tx {
    return this.tx('node.add', p, o)
  }
  nodeRemove(p: { readonly publicKey: Uint8Array }, o?: SignOptions): Tx {
    return this.tx('node.remove', p, o)
  }
  deviceAuthorise(p: DeviceAuthorisePayload, o?: SignOptions): Tx {
    return this.tx('device.authorise', p, o)
  }
  deviceJoin(p: DeviceJoinPayload, o?: SignOptions): Tx {
    return this.tx('device.join', p, o)
  }
  deviceLeave(p: { readonly id: string }, o?: SignOptions): Tx {
    return this.tx('device.leave', p, o)
  }
  imageApprove(p: ImagePayload, o?: SignOptions): Tx {
    return this.tx('image.approve', p, o)
  }
  imageRevoke(p: ImagePayload, o?: SignOptions): Tx {
    return this.tx('image.revoke', p, o)
  }
  containerJoin(p: ContainerJoinPayload, o?: SignOptions): Tx {
    return this.tx('container.join', p, o)
  }
  containerStatus(p: ContainerStatusPayload, o?: SignOptions): Tx {
    return this.tx('container.status', p, o)
  }
  containerIdentify(p: { readonly id: string }, o?: SignOptions): Tx {
    return this.tx('container.identify', p, o)
  }
  containerLeave(p: { readonly id: string }, o?: SignOptions): Tx {
    return this.tx('container.leave', p, o)
  }
  templateSet(p: TemplateSetPayload, o?: SignOptions): Tx {
    return this.tx('template.set', p, o)
  }
  templateRemove(p: { readonly id: string }, o?: SignOptions): Tx {
    return this.tx('template.remove', p, o)
  }
  traceSet(p: { readonly type: string; readonly level: 'minimal' | 'standard' | 'full' }, o?: SignOptions): Tx {
    return this.tx('trace.set', p, o)
  }
  aclSet(p: { readonly rules: readonly object[] }, o?: SignOptions): Tx {
    return this.tx('acl.set', p, o)
  }
  contractDeploy(p: ContractDeployPayload, o?: SignOptions): Tx {
    return this.tx('contract.deploy', p, o)
  }
  actionReport(p: ActionReportPayload, o?: SignOptions): Tx {
    return this.tx('action.report', p, o)
  }
}

export class TomClient {
  readonly url: string
  readonly #fetch: typeof fetch
  #network: Promise<Uint8Array> | undefined

  constructor(options: TomClientOptions) {
    let base: URL
    try {
      base = new URL(options.url)
    } catch {
      throw new TypeError(`not a URL: ${JSON.stringify(options.url)}`)
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new TypeError(`the node URL must be http(s), not ${base.protocol}`)
    this.url = base.href.replace(/\/+$/, '')
    this.#fetch = options.fetch ?? globalThis.fetch
  }

  /** Signs a tx without a client or a node: what a device does offline. */
  static sign(signer: Signer, network: Uint8Array, type: string, payload: CborValue | object, options: SignOptions = {}): Tx {
    const body = {
      network,
      type,
      signer: signer.publicKey,
      nonce: options.nonce ?? freshNonce(),
      expiresAt: options.expiresAt ?? Date.now() + clientTxTtlMsDefault,
      payload: payload instanceof Uint8Array || payload === null || typeof payload !== 'object' || Array.isArray(payload) ? (payload as CborValue) : cborPayload(payload)
    }
    return signTx(body, signer)
  }

  /** A builder that signs with `signer` for this node's network (asked of the node once). */
  async build(signer: Signer, options: { ttlMs?: number } & Signal = {}): Promise<TxBuilder> {
    this.#network ??= this.status(options).then((s) => fromHex(s.network))
    const network = await this.#network.catch((err: unknown) => {
      this.#network = undefined
      throw err
    })
    return new TxBuilder(signer, network, options.ttlMs === undefined ? {} : { ttlMs: options.ttlMs })
  }

  /**
   * Submits a signed tx (object or CBOR bytes). With `wait` (the default) resolves once committed with
   * an ok receipt; a tx refused or committed-and-failed throws ApiError with its code (for a failed one,
   * `details` holds its id, height and receipt). Without `wait`, resolves with the id at once.
   */
  async submit(tx: Tx | Uint8Array, options: { wait?: boolean } & Signal = {}): Promise<SubmitResult> {
    const bytes = tx instanceof Uint8Array ? tx : tx.bytes
    const wait = options.wait ?? true
    return this.#json<SubmitResult>(`/v1/txs?wait=${wait}`, {
      method: 'POST',
      headers: { 'content-type': 'application/cbor' },
      body: bytes,
      ...(options.signal === undefined ? {} : { signal: options.signal })
    })
  }

  async block(height: number, options: Signal = {}): Promise<BlockView> {
    checkHeight(height, 'height')
    return this.#json(`/v1/blocks/${height}`, options)
  }

  /** Blocks' exact bytes from `from` on, a page at a time (at most `limit`, and a byte budget the node sets). */
  async blocks(from: number, options: { limit?: number } & Signal = {}): Promise<BlockPage> {
    checkHeight(from, 'from')
    const page = await this.#json<BlockPageView>(`/v1/blocks${suffix(params({ from, limit: options.limit }))}`, options)
    return { ...page, blocks: page.blocks.map((b) => ({ ...b, bytes: fromHex(b.bytes) })) }
  }

  async tx(id: string | Uint8Array, options: Signal = {}): Promise<TxRecordView> {
    const hex = typeof id === 'string' ? id : toHex(id)
    return this.#json(`/v1/txs/${encodeURIComponent(hex)}`, options)
  }

  /** A state value, or undefined if the key holds none. `height`: as after that block; `linearizable`: as of now, network-wide. */
  async state(key: string, options: { height?: number; linearizable?: boolean } & Signal = {}): Promise<StateValue | undefined> {
    const q = new URLSearchParams()
    if (options.height !== undefined) q.set('height', String(checkHeight(options.height, 'height')))
    if (options.linearizable === true) q.set('linearizable', 'true')
    try {
      const v = await this.#json<{ key: string; height: number; value: string }>(`/v1/state/${encodeURIComponent(key)}${suffix(q)}`, options)
      return { key: v.key, height: v.height, value: fromHex(v.value) }
    } catch (err) {
      if (err instanceof ApiError && err.code === 'ERR_API_NOT_FOUND') return undefined
      throw err
    }
  }

  /** One page of the world-state entries whose key starts with `prefix`, in key order. */
  async stateList(prefix: string, options: { limit?: number; after?: string } & Signal = {}): Promise<StatePage> {
    const page = await this.#json<StatePageView>(`/v1/state${suffix(params({ prefix, limit: options.limit, after: options.after }))}`, options)
    return { ...page, entries: page.entries.map((e) => ({ key: e.key, value: fromHex(e.value) })) }
  }

  async status(options: Signal = {}): Promise<StatusView> {
    return this.#json('/v1/status', options)
  }

  async lineage(id: QualifiedName, options: { direction?: LineageDirection; depth?: number; limit?: number } & Signal = {}): Promise<LineageResult> {
    const q = params({ direction: options.direction, depth: options.depth, limit: options.limit })
    return this.#json(`/v1/prov/lineage/${encodeURIComponent(id)}${suffix(q)}`, options)
  }

  async whoTouched(id: QualifiedName, options: { limit?: number } & Signal = {}): Promise<WhoTouchedResult> {
    return this.#json(`/v1/prov/who-touched/${encodeURIComponent(id)}${suffix(params({ limit: options.limit }))}`, options)
  }

  /** One page of X's history; pass `next` back as `cursor` for the following page. */
  async history(id: QualifiedName, options: { limit?: number; cursor?: string } & Signal = {}): Promise<ProvHistory> {
    return this.#json(`/v1/prov/history/${encodeURIComponent(id)}${suffix(params({ limit: options.limit, cursor: options.cursor }))}`, options)
  }

  /** One page of what `agent` did (e.g. `tom:key/<hex>`). */
  async activities(agent: QualifiedName, options: { limit?: number; cursor?: string } & Signal = {}): Promise<AgentActivities> {
    return this.#json(`/v1/prov/activities/${encodeURIComponent(agent)}${suffix(params({ limit: options.limit, cursor: options.cursor }))}`, options)
  }

  /** Provenance text: one block, a range of blocks (default the whole ledger) or the lineage of one id. */
  async exportProv(
    what: { block: number } | { from?: number; to?: number } | { lineage: QualifiedName; direction?: LineageDirection; depth?: number; limit?: number },
    format: ProvFormat = 'prov-json',
    options: Signal = {}
  ): Promise<string> {
    const q = params({ format, ...what })
    const res = await this.#request(`/v1/prov/export${suffix(q)}`, options)
    return res.text()
  }

  /**
   * Committed blocks and the changes of orchestration actions in them, as they come: for each block,
   * its `action` events then its `block` event (tell them apart by `event`). The stream is open once
   * this resolves: every block committed after that (or after `from`) is delivered, each event once.
   * Ends when the signal aborts or the caller stops iterating.
   */
  async events(options: EventsOptions = {}): Promise<AsyncIterableIterator<NodeEvent> & AsyncDisposable> {
    if (options.from !== undefined) checkHeight(options.from, 'from')
    const controller = new AbortController()
    const signal = options.signal === undefined ? controller.signal : AbortSignal.any([controller.signal, options.signal])
    const path = `/v1/events${suffix(params({ from: options.from }))}`
    const open = (lastEventId: string | undefined): Promise<Response> =>
      this.#request(path, { signal }, { accept: 'text/event-stream', ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }) })
    const inner = followEvents(await open(undefined), open, { reconnect: options.reconnect ?? false, signal })
    return closable(inner, controller)
  }

  /** The changes of orchestration actions only (see events); e.g. a host following what it must do. */
  async actions(options: EventsOptions & { node?: string } = {}): Promise<AsyncIterableIterator<ActionEvent> & AsyncDisposable> {
    const { node, ...rest } = options
    const all = await this.events(rest)
    async function* only(): AsyncGenerator<ActionEvent> {
      for await (const e of all) {
        if (e.event !== 'action' || (node !== undefined && e.node !== node)) continue
        const { event: _event, ...action } = e
        yield action
      }
    }
    const controller = new AbortController()
    controller.signal.addEventListener('abort', () => void all.return?.())
    return closable(only(), controller)
  }

  async #request(path: string, options: Signal, headers: Record<string, string> = {}, init: RequestInit = {}): Promise<Response> {
    let res: Response
    try {
      res = await this.#fetch(this.url + path, { ...init, headers: { ...headers, ...(init.headers as Record<string, string> | undefined) }, ...(options.signal === undefined ? {} : { signal: options.signal }) })
    } catch (err) {
      if (options.signal?.aborted === true) throw err
      throw new ApiError('ERR_API_UNREACHABLE', 0, `cannot reach ${this.url}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`)
    }
    if (res.ok) return res
    let body: unknown
    const text = await res.text()
    try {
      body = JSON.parse(text)
    } catch {
      throw new ApiError('ERR_API_BAD_RESPONSE', res.status, `HTTP ${res.status} with a body that is not JSON: ${text.slice(0, 200)}`)
    }
    const { code, message, ...details } = (body ?? {}) as { code?: unknown; message?: unknown }
    if (typeof code !== 'string' || typeof message !== 'string') throw new ApiError('ERR_API_BAD_RESPONSE', res.status, `HTTP ${res.status} without { code, message }`)
    throw new ApiError(code, res.status, message, details)
  }

  async #json<T>(path: string, options: Signal & { method?: string; headers?: Record<string, string>; body?: Uint8Array }): Promise<T> {
    const { signal, ...init } = options
    const res = await this.#request(path, signal === undefined ? {} : { signal }, { accept: 'application/json' }, init as RequestInit)
    try {
      return (await res.json()) as T
    } catch {
      throw new ApiError('ERR_API_BAD_RESPONSE', res.status, 'the answer is not JSON')
    }
  }
}

function checkHeight(height: number, name: string): number {
  if (!Number.isSafeInteger(height) || height < 0) throw new TypeError(`${name} must be a non-negative integer, not ${height}`)
  return height
}

function params(values: Record<string, string | number | undefined>): URLSearchParams {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(values)) if (v !== undefined) q.set(k, String(v))
  return q
}

function suffix(q: URLSearchParams): string {
  const s = q.toString()
  return s === '' ? '' : `?${s}`
}

/** `inner` as an iterator that, once stopped or disposed, aborts `controller` (closing the connection). */
function closable<T>(inner: AsyncGenerator<T>, controller: AbortController): AsyncIterableIterator<T> & AsyncDisposable {
  const close = async (): Promise<void> => {
    controller.abort()
    await inner.return(undefined)
  }
  return {
    next: () => inner.next(),
    return: async () => {
      await close()
      return { done: true, value: undefined }
    },
    [Symbol.asyncIterator]() {
      return this
    },
    [Symbol.asyncDispose]: close
  }
}
