/**
 * MemoryContainerRuntime: a ContainerRuntime kept in memory, for tests of the orchestrator and the
 * layers above it. It passes the same suite as the Docker driver (test/orchestrator/runtime-suite.ts):
 * same states, same errors, same idempotence rules. It runs no code: what a container's process
 * does (exit at once with a code, print, or run until stopped) comes from a ProcessModel that the
 * test supplies, and a test can make a running container die (exit()) or the engine vanish
 * (setAvailable(false)) to exercise reconciliation and the "no engine" path.
 */
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
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
  type RemoveOptions,
  type RuntimeCallOptions,
  type RuntimeInfo,
  type StopOptions
} from './runtime.js'
import {
  RuntimeAbortedError,
  RuntimeContainerNotFoundError,
  RuntimeFailedError,
  RuntimeImageNotFoundError,
  RuntimeInvalidArgumentError,
  RuntimeNameConflictError,
  RuntimeUnavailableError
} from './errors.js'
import { listContainersMax, logBytesMax, stopGraceSDefault } from './constants.js'

/** What the process of a started container does, as a ProcessModel decides it. */
export interface MemoryProcess {
  /** Exit code if the process ends at once; undefined if it runs until stopped. */
  readonly exitCode?: number
  /** Exit code when stop() ends it; default 137 (killed after the grace time, as a PID 1 without a SIGTERM handler is). */
  readonly stoppedExitCode?: number
  readonly stdout?: string
  readonly stderr?: string
}

/** What the process sees when it starts. */
export interface MemoryProcessInput {
  readonly command: readonly string[]
  readonly env: Readonly<Record<string, string>>
  /** The read-only mounted files, by container path, with their content when the container started. */
  readonly files: ReadonlyMap<string, Uint8Array>
}

/** Decides what a started container's process does. The default runs until stopped and prints nothing. */
export type ProcessModel = (input: MemoryProcessInput) => MemoryProcess

/** A local image of the memory engine. */
export interface MemoryImage {
  /** Image ID; derived from the reference if absent. */
  readonly id?: string
  readonly env?: Readonly<Record<string, string>>
  /** Default command. */
  readonly command?: readonly string[]
}

/** Options of MemoryContainerRuntime; all optional. */
export interface MemoryRuntimeOptions {
  /** Local images by reference (`repo:tag`). */
  images?: Readonly<Record<string, MemoryImage>>
  processModel?: ProcessModel
}

interface StoredImage {
  readonly id: string
  readonly tags: string[]
  readonly env: Readonly<Record<string, string>>
  readonly command: readonly string[]
}

interface StoredContainer {
  readonly id: string
  readonly name: string
  readonly spec: ContainerSpec
  readonly image: StoredImage
  readonly command: readonly string[]
  readonly env: Readonly<Record<string, string>>
  readonly files: ReadonlyMap<string, Uint8Array>
  state: ContainerState
  exitCode: number | undefined
  stoppedExitCode: number
  stdout: string
  stderr: string
}

const runsUntilStopped: ProcessModel = () => ({})

export class MemoryContainerRuntime implements ContainerRuntime {
  readonly #images = new Map<string, StoredImage>()
  readonly #containers = new Map<string, StoredContainer>()
  readonly #processModel: ProcessModel
  #available = true

  constructor(options: MemoryRuntimeOptions = {}) {
    this.#processModel = options.processModel ?? runsUntilStopped
    for (const [reference, image] of Object.entries(options.images ?? {})) this.addImage(reference, image)
  }

  /** Adds (or re-tags) a local image; returns it as inspectImage would. */
  addImage(reference: string, image: MemoryImage = {}): ImageInfo {
    const ref = checkImageRef(reference)
    const id = image.id ?? `sha256:${createHash('sha256').update(`tom-memory-image\0${ref}`).digest('hex')}`
    if (!/^sha256:[0-9a-f]{64}$/.test(id)) throw new RuntimeInvalidArgumentError(`image id ${id} is not sha256: and 64 hex digits`)
    for (const other of this.#images.values()) {
      const at = other.tags.indexOf(ref)
      if (at >= 0) other.tags.splice(at, 1)
    }
    const stored = this.#images.get(id) ?? { id, tags: [], env: { ...image.env }, command: [...(image.command ?? [])] }
    stored.tags.push(ref)
    this.#images.set(id, stored)
    return { id, tags: [...stored.tags], repoDigests: [] }
  }

  /** Makes a running container's process end with `exitCode`, as a crash would. */
  exit(id: string, exitCode: number): void {
    const c = this.#container(checkContainerRef(id))
    if (c.state === 'running') {
      c.state = 'exited'
      c.exitCode = exitCode
    }
  }

  /** While false, every call fails with ERR_RUNTIME_UNAVAILABLE, as when the engine is down. */
  setAvailable(available: boolean): void {
    this.#available = available
  }

  async ping(options: RuntimeCallOptions = {}): Promise<void> {
    this.#enter(options.signal)
  }

  async info(options: RuntimeCallOptions = {}): Promise<RuntimeInfo> {
    this.#enter(options.signal)
    return { engine: 'memory', version: '1', apiVersion: '', endpoint: 'memory' }
  }

  async inspectImage(reference: string, options: RuntimeCallOptions = {}): Promise<ImageInfo> {
    const ref = checkImageRef(reference)
    this.#enter(options.signal)
    const image = this.#image(ref)
    return { id: image.id, tags: [...image.tags], repoDigests: [] }
  }

  async run(spec: ContainerSpec, options: RuntimeCallOptions = {}): Promise<string> {
    const checked = checkContainerSpec(spec)
    this.#enter(options.signal)
    return this.#run(checked)
  }

  #run(spec: ContainerSpec): string {
    const image = this.#image(spec.image)
    if (spec.name !== undefined && this.#find(spec.name) !== undefined) {
      throw new RuntimeNameConflictError(`container name ${spec.name} is taken`)
    }
    const files = new Map<string, Uint8Array>()
    for (const m of spec.readOnlyFiles ?? []) {
      try {
        files.set(m.containerPath, readFileSync(m.hostPath))
      } catch (err) {
        throw new RuntimeFailedError(`create container from ${spec.image}: bind source path ${m.hostPath} cannot be read: ${(err as Error).message}`)
      }
    }
    const id = randomBytes(32).toString('hex')
    const container: StoredContainer = {
      id,
      name: spec.name ?? `tom_memory_${id.slice(0, 12)}`,
      spec,
      image,
      command: spec.command ?? image.command,
      env: { ...image.env, ...spec.env },
      files,
      state: 'created',
      exitCode: undefined,
      stoppedExitCode: 137,
      stdout: '',
      stderr: ''
    }
    this.#containers.set(id, container)
    this.#start(container)
    return id
  }

  #start(c: StoredContainer): void {
    const outcome = this.#processModel({ command: c.command, env: c.env, files: c.files })
    c.stdout = keepTail(c.stdout + (outcome.stdout ?? ''))
    c.stderr = keepTail(c.stderr + (outcome.stderr ?? ''))
    c.stoppedExitCode = outcome.stoppedExitCode ?? 137
    if (outcome.exitCode === undefined) {
      c.state = 'running'
      c.exitCode = undefined
    } else {
      c.state = 'exited'
      c.exitCode = outcome.exitCode
    }
  }

  async stop(id: string, options: StopOptions = {}): Promise<void> {
    const ref = checkContainerRef(id)
    checkGraceS(options.graceS, stopGraceSDefault)
    this.#enter(options.signal)
    const c = this.#container(ref)
    if (c.state === 'running') {
      c.state = 'exited'
      c.exitCode = c.stoppedExitCode
    }
  }

  async restart(id: string, options: StopOptions = {}): Promise<void> {
    const ref = checkContainerRef(id)
    checkGraceS(options.graceS, stopGraceSDefault)
    this.#enter(options.signal)
    this.#start(this.#container(ref))
  }

  async remove(id: string, options: RemoveOptions = {}): Promise<void> {
    const ref = checkContainerRef(id)
    if (options.force !== undefined && typeof options.force !== 'boolean') throw new RuntimeInvalidArgumentError('force must be a boolean')
    this.#enter(options.signal)
    const c = this.#container(ref)
    if (c.state === 'running' && options.force !== true) {
      throw new RuntimeFailedError(`remove container ${ref}: cannot remove a running container: stop it first or force the removal`)
    }
    this.#containers.delete(c.id)
  }

  async list(filter: ContainerFilter, options: RuntimeCallOptions = {}): Promise<ContainerSummary[]> {
    const { labels } = checkContainerFilter(filter)
    this.#enter(options.signal)
    const wanted = Object.entries(labels)
    const found = [...this.#containers.values()].filter((c) => wanted.every(([k, v]) => c.spec.labels?.[k] === v))
    if (found.length > listContainersMax) {
      throw new RuntimeFailedError(`${found.length} containers match the labels; at most ${listContainersMax} are handled`)
    }
    return found.map((c) => summary(c))
  }

  async inspect(id: string, options: RuntimeCallOptions = {}): Promise<ContainerDetails> {
    const ref = checkContainerRef(id)
    this.#enter(options.signal)
    const c = this.#container(ref)
    return {
      ...summary(c),
      exitCode: c.state === 'exited' || c.state === 'dead' ? c.exitCode : undefined,
      error: '',
      oomKilled: false,
      command: [...c.command],
      env: { ...c.env },
      memoryBytes: c.spec.memoryBytes ?? 0,
      nanoCpus: c.spec.nanoCpus ?? 0,
      networkMode: c.spec.networkMode ?? 'default',
      readOnlyFiles: (c.spec.readOnlyFiles ?? []).map((m) => ({ ...m }))
    }
  }

  async logs(id: string, options: RuntimeCallOptions = {}): Promise<ContainerLogs> {
    const ref = checkContainerRef(id)
    this.#enter(options.signal)
    const c = this.#container(ref)
    return { stdout: c.stdout, stderr: c.stderr }
  }

  #enter(signal: AbortSignal | undefined): void {
    if (signal?.aborted === true) throw new RuntimeAbortedError('aborted before it was sent')
    if (!this.#available) throw new RuntimeUnavailableError('the memory engine is set unavailable', 'memory')
  }

  #image(reference: string): StoredImage {
    const byId = this.#images.get(reference)
    if (byId !== undefined) return byId
    for (const image of this.#images.values()) if (image.tags.includes(reference)) return image
    throw new RuntimeImageNotFoundError(`image ${reference} is not on this host`)
  }

  #find(ref: string): StoredContainer | undefined {
    return this.#containers.get(ref) ?? [...this.#containers.values()].find((c) => c.name === ref)
  }

  #container(ref: string): StoredContainer {
    const c = this.#find(ref)
    if (c === undefined) throw new RuntimeContainerNotFoundError(`no container ${ref} on this host`)
    return c
  }
}

function summary(c: StoredContainer): ContainerSummary {
  return { id: c.id, name: c.name, imageId: c.image.id, labels: { ...c.spec.labels }, state: c.state }
}

function keepTail(text: string): string {
  return text.length > logBytesMax ? text.slice(text.length - logBytesMax) : text
}
