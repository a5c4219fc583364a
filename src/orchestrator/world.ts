/**
 * What the orchestrator reads of the committed world state, and the txs it submits: the narrow edge
 * between the orchestrator and the ledger. The records are mirrored here as TypeScript types (the
 * orchestrator may not import the contracts that write them) and decoded defensively: a record of an
 * unexpected shape is treated as absent and logged, never trusted half-way.
 *
 * Keys (values CBOR):
 *   action/<id>                       ActionView
 *   container/<id>                    ContainerView
 *   image/sha256:<hex>                ImageView
 *   node-containers/<nodeHex>/<id>    index of a node's containers, listed by listMyContainers()
 */
import { decode, toHex } from '../crypto/index.js'

export const actionTypes = ['container.start', 'container.stop', 'container.restart', 'container.remove', 'container.migrate'] as const
export type ActionType = (typeof actionTypes)[number]
export type ActionStatus = 'pending' | 'running' | 'done' | 'failed'

/** An open action listed for this node (addressed to it, or a migrate naming it as the target). */
export interface OpenActionEntry {
  readonly id: string
  readonly type: string
  readonly status: string
}

/**
 * The committed world state as the orchestrator reads it. Every read reflects one applied block or a
 * later one; the orchestrator tolerates reads that lag (it acts idempotently and checks again).
 */
export interface OrchestratorStateReader {
  /** The CBOR value at `key`, or undefined. */
  get(key: string): Promise<Uint8Array | undefined>
  /** This node's open (pending or running) actions, including migrates that name it as the target; bounded by the ledger. */
  listOpen(): Promise<readonly OpenActionEntry[]>
  /** The container ids of this node's `node-containers/<nodeHex>/` index (any status); bounded by the ledger. */
  listMyContainers(): Promise<readonly string[]>
}

/** What a submit returned: ok, or refused with the ledger's or node's code and message. */
export interface SubmitResult {
  readonly ok: boolean
  readonly code?: string
  readonly message?: string
}

/**
 * Signs a tx of `type` with the node's key and submits it. Resolves with the outcome (committed ok, or
 * refused with a code); it may also reject, which the orchestrator treats as "did not commit: retry".
 */
export type SubmitTx = (type: string, payload: Record<string, unknown>) => Promise<SubmitResult>

export interface StartParams {
  /** Image digest, 64 lowercase hex. */
  readonly image: string
  readonly container: string
  readonly env?: Readonly<Record<string, string>>
  readonly cmd?: readonly string[]
  readonly replaces?: string
  readonly placement?: unknown
  readonly limits?: { readonly memoryBytes?: number; readonly nanoCpus?: number }
  readonly labels?: Readonly<Record<string, string>>
}
export interface ContainerParams {
  readonly container: string
}
export interface MigrateParams {
  readonly container: string
  readonly image: string
  /** The node that starts the copy, hex. */
  readonly target: string
  /** The id the target starts the copy under. */
  readonly newContainer: string
}

export type ActionView =
  | ActionBase<'container.start', StartParams>
  | ActionBase<'container.stop', ContainerParams>
  | ActionBase<'container.restart', ContainerParams>
  | ActionBase<'container.remove', ContainerParams>
  | ActionBase<'container.migrate', MigrateParams>

interface ActionBase<T extends ActionType, P> {
  readonly id: string
  readonly type: T
  /** The addressed node, hex. */
  readonly node: string
  readonly params: P
  readonly status: ActionStatus
  readonly detail?: string
}

export interface ContainerView {
  readonly id: string
  /** The node it runs on, hex. */
  readonly node: string
  /** `sha256:<hex>`. */
  readonly imageDigest: string
  readonly publicKey: Uint8Array
  readonly status: 'joined' | 'left' | 'lost'
  /** The action that started it, when the record names one. */
  readonly action?: string
  /** Stopped on purpose (a done container.stop): kept, not running, not revived. */
  readonly stopped?: boolean
}

export interface ImageView {
  readonly digest: string
  readonly status: string
}

export const worldKeys = {
  action: (id: string): string => `action/${id}`,
  container: (id: string): string => `container/${id}`,
  image: (hex: string): string => `image/sha256:${hex}`
}

const hex64 = /^[0-9a-f]{64}$/
/** Container names as the contracts accept them (and Docker takes them). */
export const containerNamePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/

export class RecordShapeError extends Error {
  override readonly name = 'RecordShapeError'
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array)
}

function shape(what: string, message: string): never {
  throw new RecordShapeError(`${what}: ${message}`)
}

function str(what: string, o: Record<string, unknown>, field: string, pattern?: RegExp): string {
  const v = o[field]
  if (typeof v !== 'string' || (pattern !== undefined && !pattern.test(v))) shape(what, `${field} is not as expected`)
  return v
}

function optionalStr(what: string, o: Record<string, unknown>, field: string): string | undefined {
  const v = o[field]
  if (v === undefined) return undefined
  if (typeof v !== 'string') shape(what, `${field} is not a string`)
  return v
}

/** Image digests in params: 64 hex, a `sha256:` prefix tolerated. */
function digestHex(what: string, v: unknown): string {
  const hex = typeof v === 'string' && v.startsWith('sha256:') ? v.slice(7) : v
  if (typeof hex !== 'string' || !hex64.test(hex)) shape(what, 'params.image is not a SHA-256 digest')
  return hex
}

function nodeHex(what: string, v: unknown): string {
  const hex = v instanceof Uint8Array ? toHex(v) : v
  if (typeof hex !== 'string' || !hex64.test(hex)) shape(what, 'node is not a public key')
  return hex
}

/** Decodes `action/<id>`; throws RecordShapeError if it is not an action record the orchestrator understands. */
export function decodeAction(raw: Uint8Array): ActionView {
  const o = decode<unknown>(raw)
  if (!isObject(o)) shape('action record', 'not a map')
  const id = str('action record', o, 'id')
  const what = `action ${id}`
  const type = str(what, o, 'type')
  const status = str(what, o, 'status') as ActionStatus
  const node = nodeHex(what, o.node)
  const detail = optionalStr(what, o, 'detail')
  const p = o.params
  if (!isObject(p)) shape(what, 'params is not a map')
  const base = { id, node, status, ...(detail === undefined ? {} : { detail }) }
  const container = str(what, p, 'container', containerNamePattern)
  switch (type) {
    case 'container.start': {
      const env = p.env
      if (env !== undefined && (!isObject(env) || !Object.values(env).every((v) => typeof v === 'string'))) shape(what, 'params.env is not a map of strings')
      const cmd = p.cmd
      if (cmd !== undefined && (!Array.isArray(cmd) || !cmd.every((a) => typeof a === 'string'))) shape(what, 'params.cmd is not a list of strings')
      const limits = p.limits
      if (limits !== undefined && (!isObject(limits) || !Object.values(limits).every((v) => Number.isSafeInteger(v)))) shape(what, 'params.limits is not a map of integers')
      const labels = p.labels
      if (labels !== undefined && (!isObject(labels) || !Object.values(labels).every((v) => typeof v === 'string'))) shape(what, 'params.labels is not a map of strings')
      const params: StartParams = {
        image: digestHex(what, p.image),
        container,
        ...(env === undefined ? {} : { env: env as Record<string, string> }),
        ...(cmd === undefined ? {} : { cmd: cmd as string[] }),
        ...(typeof p.replaces === 'string' ? { replaces: p.replaces } : {}),
        ...(limits === undefined ? {} : { limits: limits as StartParams['limits'] }),
        ...(labels === undefined ? {} : { labels: labels as Record<string, string> })
      }
      return { ...base, type, params }
    }
    case 'container.stop':
    case 'container.restart':
    case 'container.remove':
      return { ...base, type, params: { container } }
    case 'container.migrate':
      return {
        ...base,
        type,
        params: { container, image: digestHex(what, p.image), target: nodeHex(what, p.target), newContainer: str(what, p, 'newContainer', containerNamePattern) }
      }
    default:
      return shape(what, `unknown type ${JSON.stringify(type.slice(0, 64))}`)
  }
}

/** Decodes `container/<id>`; throws RecordShapeError on an unexpected shape. */
export function decodeContainer(raw: Uint8Array): ContainerView {
  const o = decode<unknown>(raw)
  if (!isObject(o)) shape('container record', 'not a map')
  const id = str('container record', o, 'id')
  const what = `container ${id}`
  const status = str(what, o, 'status')
  if (status !== 'joined' && status !== 'left' && status !== 'lost') shape(what, `unknown status ${JSON.stringify(status.slice(0, 32))}`)
  const publicKey = o.publicKey
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) shape(what, 'publicKey is not 32 bytes')
  const action = optionalStr(what, o, 'action')
  return {
    id,
    node: nodeHex(what, o.node),
    imageDigest: str(what, o, 'imageDigest', /^sha256:[0-9a-f]{64}$/),
    publicKey,
    status,
    ...(action === undefined ? {} : { action }),
    ...(o.stopped === true ? { stopped: true } : {})
  }
}

/** Decodes `image/sha256:<hex>`; throws RecordShapeError on an unexpected shape. */
export function decodeImage(raw: Uint8Array): ImageView {
  const o = decode<unknown>(raw)
  if (!isObject(o)) shape('image record', 'not a map')
  return { digest: typeof o.digest === 'string' ? o.digest : '', status: str('image record', o, 'status') }
}
