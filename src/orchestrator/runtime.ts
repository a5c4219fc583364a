/**
 * The container runtime interface: what the orchestrator asks of the container engine on its host,
 * and nothing more. Two implementations keep the same contract and pass the same test suite
 * (test/orchestrator/runtime-suite.ts): DockerContainerRuntime over the Docker Engine API (Docker or
 * Podman's compatible socket), and MemoryContainerRuntime for tests of the layers above.
 *
 * Image identity. TOM approves, and the orchestrator runs, images by their image ID: the
 * `sha256:` digest of the image config, which names the layers (by their uncompressed digests), the
 * entrypoint, env and the rest. It is what every engine has for every local image. A registry's
 * manifest digest (`RepoDigests`) exists only for pulled images, and no registry is reachable on
 * these hosts, so it cannot be what TOM approves. The image ID is the same on every host that pulled
 * or `docker load`ed the same image; two `docker import`s of the same files give different IDs
 * (import stamps a creation time), so an image is imported once and copied with save/load.
 * Starting a container by the ID (not a tag) makes the engine run exactly the approved content.
 */
import { RuntimeInvalidArgumentError } from './errors.js'
import {
  commandArgsMax,
  envEntriesMax,
  labelsMax,
  memoryBytesMin,
  mountsMax,
  nameBytesMax,
  stopGraceSMax,
  valueBytesMax
} from './constants.js'

/** Options every async runtime call takes last. */
export interface RuntimeCallOptions {
  signal?: AbortSignal
}

/** Which engine answered, for logs and the node's status. */
export interface RuntimeInfo {
  /** `docker`, `podman` (its Docker-compatible API), or `memory`. */
  readonly engine: 'docker' | 'podman' | 'memory'
  /** The engine's version string. */
  readonly version: string
  /** The Engine API version it speaks (empty for the memory runtime). */
  readonly apiVersion: string
  /** Where it was reached: a unix socket path, or `memory`. */
  readonly endpoint: string
}

/** A local image. */
export interface ImageInfo {
  /** The image ID, `sha256:` + 64 hex: the digest TOM approves (see the file header). */
  readonly id: string
  /** Tags naming it on this host (`repo:tag`), possibly none. */
  readonly tags: readonly string[]
  /** Registry manifest digests (`repo@sha256:...`), only for pulled images; informative, never approved. */
  readonly repoDigests: readonly string[]
}

/** A host file mounted read-only into a container (e.g. the container's identity key). */
export interface ReadOnlyFileMount {
  /** Absolute path on the host; it must exist. */
  readonly hostPath: string
  /** Absolute path inside the container. */
  readonly containerPath: string
}

/** What to run. Everything but `image` is optional. */
export interface ContainerSpec {
  /** Image ID (`sha256:...`, what the orchestrator passes) or a local reference (`repo:tag`). Never pulled. */
  readonly image: string
  /** Container name, unique on the host: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`. The engine picks one if absent. */
  readonly name?: string
  /** Command and arguments; the image's default command if absent. */
  readonly command?: readonly string[]
  /** Environment, added to the image's. */
  readonly env?: Readonly<Record<string, string>>
  /** Labels; the orchestrator's (network, node, action id) are how it finds its containers again. */
  readonly labels?: Readonly<Record<string, string>>
  /** Memory limit in bytes (at least memoryBytesMin); none if absent. */
  readonly memoryBytes?: number
  /** CPU limit in billionths of a CPU (1e9 = one CPU); none if absent. */
  readonly nanoCpus?: number
  /** Host files mounted read-only. */
  readonly readOnlyFiles?: readonly ReadOnlyFileMount[]
  /** Network mode: `none` (no network), `bridge`, `host`, or a network name. The engine's default if absent. */
  readonly networkMode?: string
}

/**
 * Container states as the Docker Engine API names them. A started container is `running` until its
 * process ends (`exited`, with an exit code) or it is stopped (`exited` too).
 */
export type ContainerState = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead'

/** A container as list() returns it. */
export interface ContainerSummary {
  /** Full container id (64 hex). */
  readonly id: string
  /** Name without the leading `/`. */
  readonly name: string
  /** The image ID it runs (`sha256:...`), whatever reference it was started with. */
  readonly imageId: string
  readonly labels: Readonly<Record<string, string>>
  readonly state: ContainerState
}

/** A container as inspect() returns it. */
export interface ContainerDetails extends ContainerSummary {
  /** The process's exit code once the container has exited (or is dead); undefined before. */
  readonly exitCode: number | undefined
  /** The engine's error for a container that could not run (empty if none). */
  readonly error: string
  /** True if the kernel killed the process for exceeding its memory limit. */
  readonly oomKilled: boolean
  /** The command it runs (entrypoint and arguments as the engine resolved them). */
  readonly command: readonly string[]
  /** Its whole environment: the image's, then the spec's. */
  readonly env: Readonly<Record<string, string>>
  /** Memory limit in bytes; 0 for none. */
  readonly memoryBytes: number
  /** CPU limit in billionths of a CPU; 0 for none. */
  readonly nanoCpus: number
  readonly networkMode: string
  readonly readOnlyFiles: readonly ReadOnlyFileMount[]
}

/** What list() selects by. */
export interface ContainerFilter {
  /** Containers carrying every one of these labels with these values. At least one label: the orchestrator never lists what it does not own. */
  readonly labels: Readonly<Record<string, string>>
}

/** Options of stop() and restart(). */
export interface StopOptions extends RuntimeCallOptions {
  /** Seconds between SIGTERM and SIGKILL; stopGraceSDefault if absent, at most stopGraceSMax. */
  graceS?: number
}

/** Options of remove(). */
export interface RemoveOptions extends RuntimeCallOptions {
  /** Kill and remove a running container; without it, removing a running container fails. */
  force?: boolean
}

/** A container's output so far (its last logBytesMax bytes of each stream). */
export interface ContainerLogs {
  readonly stdout: string
  readonly stderr: string
}

/**
 * The container engine of one host.
 *
 * Contract, for every implementation:
 * - No call pulls an image, and none touches a container it was not given by id or label.
 * - Every call either does what it says or throws a ContainerRuntimeError (errors.ts). Timeouts and
 *   aborts (ERR_RUNTIME_TIMEOUT, ERR_RUNTIME_ABORTED) mean the outcome is unknown: the caller finds
 *   out with list() by its labels, which is why every container the orchestrator starts carries
 *   labels naming its action. Every other error means nothing changed.
 * - An engine that is not there is ERR_RUNTIME_UNAVAILABLE from any call, never a crash.
 * - stop() of an exited container succeeds (stop is idempotent); remove() of a missing container is
 *   ERR_RUNTIME_CONTAINER_NOT_FOUND, so the caller knows it was already gone.
 */
export interface ContainerRuntime {
  /** Succeeds if the engine answers. */
  ping(options?: RuntimeCallOptions): Promise<void>
  /** Which engine answers, and where. */
  info(options?: RuntimeCallOptions): Promise<RuntimeInfo>
  /** The local image named by `reference` (a `repo:tag` or an image ID); ERR_RUNTIME_IMAGE_NOT_FOUND if absent. */
  inspectImage(reference: string, options?: RuntimeCallOptions): Promise<ImageInfo>
  /**
   * Creates the container and starts it; returns its id. If the start fails, the created container
   * is removed before the error is thrown, so a failure leaves nothing behind (unless the outcome is
   * unknown: timeout or abort).
   */
  run(spec: ContainerSpec, options?: RuntimeCallOptions): Promise<string>
  /** Stops a running container (SIGTERM, then SIGKILL after the grace time); an exited one stays as it is. */
  stop(id: string, options?: StopOptions): Promise<void>
  /** Stops the container if it runs, then starts it again with the same spec; its id stays. */
  restart(id: string, options?: StopOptions): Promise<void>
  /** Removes a stopped container (or a running one with `force`). */
  remove(id: string, options?: RemoveOptions): Promise<void>
  /** Containers with all the filter's labels, running or not, in no set order (at most listContainersMax). */
  list(filter: ContainerFilter, options?: RuntimeCallOptions): Promise<ContainerSummary[]>
  /** One container by id (or name). */
  inspect(id: string, options?: RuntimeCallOptions): Promise<ContainerDetails>
  /** The container's output so far. */
  logs(id: string, options?: RuntimeCallOptions): Promise<ContainerLogs>
}

const containerNamePattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/
const envNamePattern = /^[^=\0]+$/
const utf8Bytes = (s: string): number => Buffer.byteLength(s, 'utf8')

function invalid(message: string): never {
  throw new RuntimeInvalidArgumentError(message)
}

function checkText(what: string, value: unknown, bytesMax: number, allowEmpty = true): string {
  if (typeof value !== 'string') invalid(`${what} must be a string`)
  if (!allowEmpty && value.length === 0) invalid(`${what} must not be empty`)
  if (value.includes('\0')) invalid(`${what} must not contain NUL`)
  if (utf8Bytes(value) > bytesMax) invalid(`${what} is longer than ${bytesMax} bytes`)
  return value
}

function checkRecord(what: string, value: unknown, entriesMax: number, keyPattern: RegExp): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalid(`${what} must be an object of strings`)
  const entries = Object.entries(value)
  if (entries.length > entriesMax) invalid(`${what} has ${entries.length} entries; at most ${entriesMax}`)
  const out: Record<string, string> = {}
  for (const [key, v] of entries) {
    checkText(`${what} key ${JSON.stringify(key)}`, key, nameBytesMax, false)
    if (!keyPattern.test(key)) invalid(`${what} key ${JSON.stringify(key)} is not allowed`)
    out[key] = checkText(`${what}[${JSON.stringify(key)}]`, v, valueBytesMax)
  }
  return out
}

function checkAbsolutePath(what: string, value: unknown): string {
  const path = checkText(what, value, 4096, false)
  if (!path.startsWith('/')) invalid(`${what} must be an absolute path`)
  if (path.split('/').includes('..')) invalid(`${what} must not contain '..'`)
  return path
}

/** Checks a container id or name argument. */
export function checkContainerRef(id: unknown): string {
  const ref = checkText('container id', id, nameBytesMax, false)
  if (!containerNamePattern.test(ref)) invalid(`container id ${JSON.stringify(ref)} is not an id or a name`)
  return ref
}

/** Checks an image reference argument. */
export function checkImageRef(reference: unknown): string {
  const ref = checkText('image reference', reference, nameBytesMax, false)
  if (/\s/.test(ref)) invalid(`image reference ${JSON.stringify(ref)} contains white space`)
  // No reference has one; in an Engine API path it would name another endpoint.
  if (ref.split('/').some((part) => part === '.' || part === '..')) invalid(`image reference ${JSON.stringify(ref)} has a . or .. path segment`)
  return ref
}

/** Checks and defaults the grace time of stop() and restart(). */
export function checkGraceS(graceS: unknown, fallback: number): number {
  if (graceS === undefined) return fallback
  if (typeof graceS !== 'number' || !Number.isInteger(graceS) || graceS < 0 || graceS > stopGraceSMax) {
    invalid(`graceS must be an integer from 0 to ${stopGraceSMax}`)
  }
  return graceS
}

/** Checks a list filter; returns a frozen copy. */
export function checkContainerFilter(filter: unknown): ContainerFilter {
  if (typeof filter !== 'object' || filter === null) invalid('filter must be an object')
  const labels = checkRecord('filter.labels', (filter as ContainerFilter).labels, labelsMax, /^[^=]+$/)
  if (Object.keys(labels).length === 0) invalid('filter.labels must name at least one label')
  return Object.freeze({ labels: Object.freeze(labels) })
}

/**
 * Checks a container spec against the limits in constants.ts, the same way for every
 * implementation, so that both refuse the same specs with the same error before any engine call.
 * Returns a frozen copy: a caller changing its object afterwards changes nothing.
 */
export function checkContainerSpec(spec: unknown): ContainerSpec {
  if (typeof spec !== 'object' || spec === null) invalid('spec must be an object')
  const s = spec as Record<string, unknown>
  const out: { -readonly [K in keyof ContainerSpec]: ContainerSpec[K] } = { image: checkImageRef(s.image) }
  if (s.name !== undefined) {
    out.name = checkText('spec.name', s.name, nameBytesMax, false)
    if (!containerNamePattern.test(out.name)) invalid(`spec.name ${JSON.stringify(out.name)} must match ${containerNamePattern.source}`)
  }
  if (s.command !== undefined) {
    if (!Array.isArray(s.command)) invalid('spec.command must be an array of strings')
    if (s.command.length === 0) invalid('spec.command must not be empty (leave it out for the image default)')
    if (s.command.length > commandArgsMax) invalid(`spec.command has ${s.command.length} arguments; at most ${commandArgsMax}`)
    out.command = Object.freeze(s.command.map((arg: unknown, i) => checkText(`spec.command[${i}]`, arg, valueBytesMax)))
  }
  if (s.env !== undefined) out.env = Object.freeze(checkRecord('spec.env', s.env, envEntriesMax, envNamePattern))
  if (s.labels !== undefined) out.labels = Object.freeze(checkRecord('spec.labels', s.labels, labelsMax, /^[^=]+$/))
  if (s.memoryBytes !== undefined) {
    if (typeof s.memoryBytes !== 'number' || !Number.isSafeInteger(s.memoryBytes) || s.memoryBytes < memoryBytesMin) {
      invalid(`spec.memoryBytes must be an integer of at least ${memoryBytesMin}`)
    }
    out.memoryBytes = s.memoryBytes
  }
  if (s.nanoCpus !== undefined) {
    if (typeof s.nanoCpus !== 'number' || !Number.isSafeInteger(s.nanoCpus) || s.nanoCpus <= 0) {
      invalid('spec.nanoCpus must be a positive integer (1e9 = one CPU)')
    }
    out.nanoCpus = s.nanoCpus
  }
  if (s.readOnlyFiles !== undefined) {
    if (!Array.isArray(s.readOnlyFiles)) invalid('spec.readOnlyFiles must be an array')
    if (s.readOnlyFiles.length > mountsMax) invalid(`spec.readOnlyFiles has ${s.readOnlyFiles.length} entries; at most ${mountsMax}`)
    out.readOnlyFiles = Object.freeze(
      s.readOnlyFiles.map((m: unknown, i): ReadOnlyFileMount => {
        if (typeof m !== 'object' || m === null) invalid(`spec.readOnlyFiles[${i}] must be an object`)
        const mount = m as Record<string, unknown>
        return Object.freeze({
          hostPath: checkAbsolutePath(`spec.readOnlyFiles[${i}].hostPath`, mount.hostPath),
          containerPath: checkAbsolutePath(`spec.readOnlyFiles[${i}].containerPath`, mount.containerPath)
        })
      })
    )
  }
  if (s.networkMode !== undefined) out.networkMode = checkText('spec.networkMode', s.networkMode, nameBytesMax, false)
  return Object.freeze(out)
}
