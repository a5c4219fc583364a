/**
 * DockerContainerRuntime: the ContainerRuntime over the Docker Engine API on a local unix socket,
 * which Docker and Podman (its Docker-compatible socket) both serve. It owns finding the socket,
 * a deadline on every engine call, and turning the engine's answers into the runtime's typed errors.
 * The requests themselves are plain HTTP (engine-api.ts, which says why not dockerode).
 */
import { existsSync } from 'node:fs'
import { EngineAnswerTooLargeError, enginePath, engineRequest, type EngineAnswer } from './engine-api.js'
import {
  checkContainerFilter,
  checkContainerRef,
  checkContainerSpec,
  checkGraceS,
  checkImageRef,
  type ContainerDetails,
  type ContainerFilter,
  type ContainerLogs,
  type ContainerRuntime,
  type ContainerSpec,
  type ContainerState,
  type ContainerSummary,
  type ImageInfo,
  type ReadOnlyFileMount,
  type RemoveOptions,
  type RuntimeCallOptions,
  type RuntimeInfo,
  type StopOptions
} from './runtime.js'
import {
  ContainerRuntimeError,
  RuntimeAbortedError,
  RuntimeContainerNotFoundError,
  RuntimeFailedError,
  RuntimeImageNotFoundError,
  RuntimeInvalidArgumentError,
  RuntimeNameConflictError,
  RuntimeNoResponseError,
  RuntimeTimeoutError,
  RuntimeUnavailableError
} from './errors.js'
import * as constants from './constants.js'

/** Options of DockerContainerRuntime; all optional, defaults in constants.ts. */
export interface DockerRuntimeOptions {
  /** Unix socket of the engine; found by findEngineSocket() if absent. */
  socketPath?: string
  /** Deadline of a cheap call (ping, inspect, list, remove). Default requestTimeoutMs. */
  requestTimeoutMs?: number
  /** Deadline of create and of start. Default createTimeoutMs. */
  createTimeoutMs?: number
  /** Grace time of stop and restart when the caller gives none. Default stopGraceSDefault. */
  stopGraceSDefault?: number
}

/** Where the engine socket was found, and why there. */
export interface EngineSocket {
  readonly socketPath: string
  /** `DOCKER_HOST`, `docker` (the default socket exists), `podman` (Podman's exists), or `fallback` (neither exists). */
  readonly source: 'DOCKER_HOST' | 'docker' | 'podman' | 'fallback'
}

/**
 * Finds the engine socket: DOCKER_HOST if it names a unix socket, else Docker's default socket if it
 * exists, else Podman's rootful socket if it exists, else Docker's default (so that the error names
 * the usual place). A DOCKER_HOST that is not `unix://` is refused: a TCP Engine API gives root on
 * the host to whoever reaches it, and TOM only talks to the engine of its own host.
 */
export function findEngineSocket(
  env: Readonly<Record<string, string | undefined>> = process.env,
  exists: (path: string) => boolean = existsSync
): EngineSocket {
  const dockerHost = env.DOCKER_HOST
  if (dockerHost !== undefined && dockerHost !== '') {
    if (!dockerHost.startsWith('unix://') || dockerHost.length <= 'unix://'.length) {
      throw new RuntimeInvalidArgumentError(`DOCKER_HOST=${dockerHost}: only a unix:// socket of the local engine is supported`)
    }
    return { socketPath: dockerHost.slice('unix://'.length), source: 'DOCKER_HOST' }
  }
  if (exists(constants.dockerSocketPathDefault)) return { socketPath: constants.dockerSocketPathDefault, source: 'docker' }
  if (exists(constants.podmanSocketPathDefault)) return { socketPath: constants.podmanSocketPathDefault, source: 'podman' }
  return { socketPath: constants.dockerSocketPathDefault, source: 'fallback' }
}

/** The fields TOM reads of the engine's JSON answers (Engine API v1.41+, Podman's compatible API). */
interface VersionAnswer {
  Version?: string
  ApiVersion?: string
  Components?: { Name?: string }[]
}
interface ImageAnswer {
  Id?: string
  RepoTags?: string[] | null
  RepoDigests?: string[] | null
}
interface ContainerListAnswer {
  Id: string
  Names?: string[]
  ImageID?: string
  Labels?: Record<string, string> | null
  State?: string
}
interface ContainerAnswer {
  Id: string
  Name: string
  Image?: string
  Path?: string
  Args?: string[] | null
  State?: { Status?: string; ExitCode?: number; Error?: string; OOMKilled?: boolean }
  Config?: { Labels?: Record<string, string> | null; Env?: string[] | null }
  HostConfig?: { Memory?: number; NanoCpus?: number; NetworkMode?: string }
  Mounts?: { Type?: string; RW?: boolean; Source: string; Destination: string }[] | null
}

/** Largest JSON answer read (a list of listContainersMax containers fits); logs have their own bound, logAnswerBytesMax. */
const jsonAnswerBytesMax = 64 * 1024 * 1024

function checkMs(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0 || value > 3_600_000) {
    throw new RuntimeInvalidArgumentError(`${name} must be an integer number of ms from 1 to 3600000`)
  }
  return value
}

/** Errors from connecting that mean no engine is there: nothing was sent. */
const unreachableCodes = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'EPERM', 'ENOTSOCK', 'ENOTDIR', 'EISDIR'])

/** What a 404 or 409 means depends on the call. */
interface CallMeaning {
  /** Says what the call was, for messages: `inspect container abc`. */
  readonly what: string
  readonly notFound?: (message: string) => ContainerRuntimeError
  readonly conflict?: (message: string) => ContainerRuntimeError
  /** Statuses that mean success for this call (stop of a stopped container: 304). */
  readonly okStatuses?: readonly number[]
  /** Bound on the answer's size; default jsonAnswerBytesMax. */
  readonly bodyBytesMax?: number
}

/** The engine's reason for a refusal: its JSON `message`, else the start of the body. */
function engineMessage(status: number, body: Buffer): string {
  try {
    const json = JSON.parse(body.toString('utf8')) as { message?: unknown }
    if (typeof json.message === 'string') return json.message
  } catch {
    // not JSON: the text itself
  }
  const text = body.toString('utf8', 0, 1024).trim()
  return text === '' ? `HTTP ${status}` : text
}

function parseJson<T>(what: string, body: Buffer): T {
  try {
    return JSON.parse(body.toString('utf8')) as T
  } catch {
    throw new RuntimeFailedError(`${what}: the engine answered with something that is not JSON`)
  }
}

const containerStates: ReadonlySet<string> = new Set<ContainerState>(['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead'])
function toState(status: string | undefined): ContainerState {
  // Podman's compatible API may say `stopped` or `configured` where Docker says `exited` or `created`.
  const s = (status ?? '').toLowerCase()
  if (containerStates.has(s)) return s as ContainerState
  if (s === 'stopped') return 'exited'
  if (s === 'configured' || s === 'initialized') return 'created'
  return 'dead'
}

/** Image IDs as `sha256:<hex>`: Podman's compatible API sometimes leaves the algorithm out. */
function toImageId(id: string | undefined): string {
  const value = id ?? ''
  return /^[0-9a-f]{64}$/.test(value) ? `sha256:${value}` : value
}

function envRecord(env: readonly string[] | null | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const entry of env ?? []) {
    const eq = entry.indexOf('=')
    if (eq > 0) out[entry.slice(0, eq)] = entry.slice(eq + 1)
  }
  return out
}

/** Splits the engine's multiplexed log stream (8-byte frame headers: stream, 0, 0, 0, length) and keeps the tail of each. */
function demuxLogs(raw: Buffer): ContainerLogs {
  const chunks: [Buffer[], Buffer[]] = [[], []]
  let offset = 0
  const framed = raw.length >= 8 && (raw[0] === 1 || raw[0] === 2) && raw[1] === 0 && raw[2] === 0 && raw[3] === 0
  if (!framed) return { stdout: tail(raw), stderr: '' }
  while (offset + 8 <= raw.length) {
    const stream = raw[offset]
    const length = raw.readUInt32BE(offset + 4)
    const body = raw.subarray(offset + 8, offset + 8 + length)
    chunks[stream === 2 ? 1 : 0].push(body)
    offset += 8 + length
  }
  return { stdout: tail(Buffer.concat(chunks[0])), stderr: tail(Buffer.concat(chunks[1])) }
}

function tail(buf: Buffer): string {
  return buf.subarray(Math.max(0, buf.length - constants.logBytesMax)).toString('utf8')
}

export class DockerContainerRuntime implements ContainerRuntime {
  readonly #socketPath: string
  readonly #requestTimeoutMs: number
  readonly #createTimeoutMs: number
  readonly #stopGraceSDefault: number

  constructor(options: DockerRuntimeOptions = {}) {
    if (options.socketPath !== undefined && (typeof options.socketPath !== 'string' || !options.socketPath.startsWith('/'))) {
      throw new RuntimeInvalidArgumentError('socketPath must be an absolute path')
    }
    this.#socketPath = options.socketPath ?? findEngineSocket().socketPath
    this.#requestTimeoutMs = checkMs('requestTimeoutMs', options.requestTimeoutMs, constants.requestTimeoutMs)
    this.#createTimeoutMs = checkMs('createTimeoutMs', options.createTimeoutMs, constants.createTimeoutMs)
    this.#stopGraceSDefault = checkGraceS(options.stopGraceSDefault, constants.stopGraceSDefault)
  }

  /** The socket this runtime talks to. */
  get socketPath(): string {
    return this.#socketPath
  }

  async ping(options: RuntimeCallOptions = {}): Promise<void> {
    await this.#call({ what: 'ping' }, this.#requestTimeoutMs, options.signal, 'GET', enginePath(['_ping']))
  }

  async info(options: RuntimeCallOptions = {}): Promise<RuntimeInfo> {
    const v = parseJson<VersionAnswer>('version', await this.#call({ what: 'version' }, this.#requestTimeoutMs, options.signal, 'GET', enginePath(['version'])))
    const podman = (v.Components ?? []).some((c) => /podman/i.test(c.Name ?? ''))
    return { engine: podman ? 'podman' : 'docker', version: v.Version ?? '', apiVersion: v.ApiVersion ?? '', endpoint: this.#socketPath }
  }

  async inspectImage(reference: string, options: RuntimeCallOptions = {}): Promise<ImageInfo> {
    const ref = checkImageRef(reference)
    const meaning: CallMeaning = {
      what: `inspect image ${ref}`,
      notFound: (m) => new RuntimeImageNotFoundError(`image ${ref} is not on this host: ${m}`)
    }
    const image = parseJson<ImageAnswer>(meaning.what, await this.#call(meaning, this.#requestTimeoutMs, options.signal, 'GET', enginePath(['images', ref, 'json'])))
    return { id: toImageId(image.Id), tags: image.RepoTags ?? [], repoDigests: image.RepoDigests ?? [] }
  }

  async run(spec: ContainerSpec, options: RuntimeCallOptions = {}): Promise<string> {
    return this.#run(checkContainerSpec(spec), options.signal)
  }

  async #run(spec: ContainerSpec, signal: AbortSignal | undefined): Promise<string> {
    const body: Record<string, unknown> = {
      Image: spec.image,
      Labels: { ...spec.labels },
      Env: Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`),
      HostConfig: {
        // Swap limited to the memory limit: the limit is a hard one, not memory plus as much swap.
        ...(spec.memoryBytes !== undefined ? { Memory: spec.memoryBytes, MemorySwap: spec.memoryBytes } : {}),
        ...(spec.nanoCpus !== undefined ? { NanoCpus: spec.nanoCpus } : {}),
        ...(spec.networkMode !== undefined ? { NetworkMode: spec.networkMode } : {}),
        // `Mounts`, not `Binds`: a missing host file is an error, never an empty directory the engine creates.
        Mounts: (spec.readOnlyFiles ?? []).map((m) => ({ Type: 'bind' as const, Source: m.hostPath, Target: m.containerPath, ReadOnly: true }))
      }
    }
    if (spec.command !== undefined) body.Cmd = [...spec.command]
    const answer = await this.#call(
      {
        what: `create container from ${spec.image}`,
        notFound: (m) => new RuntimeImageNotFoundError(`image ${spec.image} is not on this host: ${m}`),
        conflict: (m) => new RuntimeNameConflictError(`container name ${spec.name ?? ''} is taken: ${m}`)
      },
      this.#createTimeoutMs,
      signal,
      'POST',
      enginePath(['containers', 'create'], { name: spec.name }),
      body
    )
    const id = parseJson<{ Id?: unknown }>(`create container from ${spec.image}`, answer).Id
    if (typeof id !== 'string' || id === '') throw new RuntimeFailedError(`create container from ${spec.image}: the engine's answer names no container`)
    try {
      await this.#call({ what: `start container ${id}` }, this.#createTimeoutMs, signal, 'POST', enginePath(['containers', id, 'start']))
    } catch (err) {
      // A refused start leaves nothing behind; after a timeout or abort the outcome is unknown, and
      // the caller finds the container by its labels.
      if (err instanceof RuntimeFailedError || err instanceof RuntimeContainerNotFoundError) {
        await this.#call({ what: `remove container ${id}` }, this.#requestTimeoutMs, undefined, 'DELETE', enginePath(['containers', id], { force: true, v: true })).catch(
          () => undefined
        )
      }
      throw err
    }
    return id
  }

  async stop(id: string, options: StopOptions = {}): Promise<void> {
    const ref = checkContainerRef(id)
    const graceS = checkGraceS(options.graceS, this.#stopGraceSDefault)
    await this.#call(
      { what: `stop container ${ref}`, notFound: notFoundContainer(ref), okStatuses: [304] },
      this.#requestTimeoutMs + graceS * 1000,
      options.signal,
      'POST',
      enginePath(['containers', ref, 'stop'], { t: graceS })
    )
  }

  async restart(id: string, options: StopOptions = {}): Promise<void> {
    const ref = checkContainerRef(id)
    const graceS = checkGraceS(options.graceS, this.#stopGraceSDefault)
    await this.#call(
      { what: `restart container ${ref}`, notFound: notFoundContainer(ref) },
      this.#createTimeoutMs + graceS * 1000,
      options.signal,
      'POST',
      enginePath(['containers', ref, 'restart'], { t: graceS })
    )
  }

  async remove(id: string, options: RemoveOptions = {}): Promise<void> {
    const ref = checkContainerRef(id)
    if (options.force !== undefined && typeof options.force !== 'boolean') throw new RuntimeInvalidArgumentError('force must be a boolean')
    await this.#call(
      { what: `remove container ${ref}`, notFound: notFoundContainer(ref) },
      this.#requestTimeoutMs,
      options.signal,
      'DELETE',
      enginePath(['containers', ref], { force: options.force === true, v: true })
    )
  }

  async list(filter: ContainerFilter, options: RuntimeCallOptions = {}): Promise<ContainerSummary[]> {
    const { labels } = checkContainerFilter(filter)
    const label = Object.entries(labels).map(([k, v]) => `${k}=${v}`)
    const answer = await this.#call({ what: 'list containers' }, this.#requestTimeoutMs, options.signal, 'GET', enginePath(['containers', 'json'], { all: true, filters: JSON.stringify({ label }) }))
    const found = parseJson<ContainerListAnswer[]>('list containers', answer)
    if (!Array.isArray(found)) throw new RuntimeFailedError('list containers: the engine answered with something that is not a list')
    if (found.length > constants.listContainersMax) {
      // Truncating would make running containers look absent, and the orchestrator start them twice.
      throw new RuntimeFailedError(`${found.length} containers match the labels; at most ${constants.listContainersMax} are handled`)
    }
    return found.map((c) => ({
      id: c.Id,
      name: (c.Names?.[0] ?? '').replace(/^\//, ''),
      imageId: toImageId(c.ImageID),
      labels: c.Labels ?? {},
      state: toState(c.State)
    }))
  }

  async inspect(id: string, options: RuntimeCallOptions = {}): Promise<ContainerDetails> {
    const ref = checkContainerRef(id)
    const what = `inspect container ${ref}`
    const c = parseJson<ContainerAnswer>(what, await this.#call({ what, notFound: notFoundContainer(ref) }, this.#requestTimeoutMs, options.signal, 'GET', enginePath(['containers', ref, 'json'])))
    const state = toState(c.State?.Status)
    const mounts: ReadOnlyFileMount[] = (c.Mounts ?? [])
      .filter((m) => m.Type === 'bind' && m.RW === false)
      .map((m) => ({ hostPath: m.Source, containerPath: m.Destination }))
    return {
      id: c.Id,
      name: c.Name.replace(/^\//, ''),
      imageId: toImageId(c.Image),
      labels: c.Config?.Labels ?? {},
      state,
      exitCode: state === 'exited' || state === 'dead' ? c.State?.ExitCode : undefined,
      error: c.State?.Error ?? '',
      oomKilled: c.State?.OOMKilled === true,
      command: [c.Path ?? '', ...(c.Args ?? [])].filter((a) => a !== ''),
      env: envRecord(c.Config?.Env),
      memoryBytes: c.HostConfig?.Memory ?? 0,
      nanoCpus: c.HostConfig?.NanoCpus ?? 0,
      networkMode: c.HostConfig?.NetworkMode ?? '',
      readOnlyFiles: mounts
    }
  }

  async logs(id: string, options: RuntimeCallOptions = {}): Promise<ContainerLogs> {
    const ref = checkContainerRef(id)
    const raw = await this.#call(
      { what: `logs of container ${ref}`, notFound: notFoundContainer(ref), bodyBytesMax: constants.logAnswerBytesMax },
      this.#requestTimeoutMs,
      options.signal,
      'GET',
      enginePath(['containers', ref, 'logs'], { stdout: true, stderr: true, tail: constants.logLinesMax })
    )
    return demuxLogs(raw)
  }

  /**
   * One engine call with a deadline, its errors turned into the runtime's. The caller's signal and
   * the deadline are told apart: an abort is the caller's doing, a timeout the engine's.
   */
  async #call(meaning: CallMeaning, timeoutMs: number, signal: AbortSignal | undefined, method: 'GET' | 'POST' | 'DELETE', path: string, json?: unknown): Promise<Buffer> {
    if (signal?.aborted === true) throw new RuntimeAbortedError(`${meaning.what}: aborted before it was sent`)
    const deadline = AbortSignal.timeout(timeoutMs)
    const abortSignal = signal === undefined ? deadline : AbortSignal.any([signal, deadline])
    let answer: EngineAnswer
    try {
      answer = await engineRequest(this.#socketPath, { method, path, json, signal: abortSignal, bodyBytesMax: meaning.bodyBytesMax ?? jsonAnswerBytesMax })
    } catch (e) {
      const code = (e as { code?: unknown } | undefined)?.code
      const err = { code: typeof code === 'string' ? code : undefined, message: e instanceof Error ? e.message : String(e) }
      if (abortedBy(signal)) throw new RuntimeAbortedError(`${meaning.what}: aborted: it may or may not have happened`)
      if (deadline.aborted) throw new RuntimeTimeoutError(`${meaning.what}: no answer from the engine at ${this.#socketPath} within ${timeoutMs} ms: it may or may not have happened`)
      if (e instanceof EngineAnswerTooLargeError) throw new RuntimeFailedError(`${meaning.what}: ${err.message}`)
      if (err.code !== undefined && unreachableCodes.has(err.code)) {
        throw new RuntimeUnavailableError(`no container engine at ${this.#socketPath} (${err.code}): ${meaning.what} was not done`, this.#socketPath)
      }
      if (err.code !== undefined && err.code.startsWith('HPE_')) {
        throw new RuntimeUnavailableError(`${this.#socketPath} does not speak the Engine API (${err.code}): ${meaning.what} was not done`, this.#socketPath)
      }
      throw new RuntimeNoResponseError(`${meaning.what}: the connection to the engine at ${this.#socketPath} broke (${err.code ?? err.message}): it may or may not have happened`)
    }
    const { status, body } = answer
    if ((status >= 200 && status < 300) || meaning.okStatuses?.includes(status) === true) return body
    const message = engineMessage(status, body)
    if (status === 404 && meaning.notFound !== undefined) throw meaning.notFound(message)
    if (status === 409 && meaning.conflict !== undefined) throw meaning.conflict(message)
    throw new RuntimeFailedError(`${meaning.what}: ${message}`)
  }
}

/** Read through a function: TypeScript narrows `signal.aborted` to false after the first check, but an await later it may be true. */
function abortedBy(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true
}

function notFoundContainer(ref: string): (message: string) => ContainerRuntimeError {
  return (m) => new RuntimeContainerNotFoundError(`no container ${ref} on this host: ${m}`)
}
