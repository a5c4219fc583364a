/**
 * The Orchestrator: turns the committed actions addressed to this node into container operations on
 * the local engine, and reports what happened as txs the node signs. It owns two loops, never run at
 * the same time (one pass at a time, so the engine never sees two hands):
 *
 * - sync(): each open action for this node, carried out IDEMPOTENTLY. Every container it starts
 *   carries the labels tom.network, tom.node, tom.action and tom.container, and before starting
 *   anything it looks for a container with the action's label: a node that crashed after starting a
 *   container but before its join committed finds it and only resubmits the join. Outcomes (join,
 *   report, leave) are submitted in the background; while one is on its way (resubmitAfterMs), the
 *   action is left alone, so a block that does not yet hold the outcome does not make it run again.
 * - reconcile(): the ledger's joined containers of this node against what the engine runs: a dead
 *   one is restarted (with a doubling wait if it keeps dying), a missing one recreated with its own
 *   key, one the ledger does not want stopped and removed; each drift goes on chain as
 *   container.status. Containers an open action is working on are left to sync().
 *
 * A migrate is make-before-break: the target starts the copy and joins it with the action, which
 * closes the action and makes the old container leave; the source keeps serving until then, and its
 * reconcile (run at once when it sees the migrate closed) stops and removes the old container.
 *
 * Nothing here throws into the node: every failure is logged and the next pass tries again. Without
 * an engine, the node says so once and reports each pending action as pending with that reason.
 */
import { RuntimeUnavailableError, ContainerRuntimeError, OrchestratorOptionError } from './errors.js'
import type { ContainerRuntime, ContainerSpec, ContainerSummary } from './runtime.js'
import * as constants from './constants.js'
import { ContainerKeys } from './container-keys.js'
import {
  decodeAction,
  decodeContainer,
  decodeImage,
  worldKeys,
  type ActionView,
  type ContainerView,
  type StartParams,
  type OpenActionEntry,
  type OrchestratorStateReader,
  type SubmitResult,
  type SubmitTx
} from './world.js'
import { toHex } from '../crypto/index.js'

/** A minimal structured logger (pino's shape): an object of fields, then the message. */
export interface OrchestratorLogger {
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
  error(obj: object, msg: string): void
  debug(obj: object, msg: string): void
}

/** Wall-clock time in ms; injected so that tests can move it. */
export interface OrchestratorClock {
  now(): number
}

/** Options of the Orchestrator. The first six are required; the rest default from constants.ts. */
export interface OrchestratorOptions {
  /** The container engine of this host. */
  runtime: ContainerRuntime
  /** The committed world state. */
  reader: OrchestratorStateReader
  /** Signs a tx with this node's key and submits it. */
  submit: SubmitTx
  /** The network (genesis hash), 64 hex: the tom.network label. */
  networkId: string
  /** This node's public key, 64 hex: the tom.node label, and whom actions are addressed to. */
  nodeKey: string
  /** Folder of the containers' private key files (created 0700). */
  keysDir: string
  logger?: OrchestratorLogger
  clock?: OrchestratorClock
  /** Period of reconcile() (and of a retrying sync()). Default reconcileIntervalMsDefault. */
  reconcileIntervalMs?: number
  /** Grace time of the stops it makes, in seconds. Default stopGraceSDefault. */
  stopGraceS?: number
  /** How long a submitted outcome may stay uncommitted before the action is carried out again. Default resubmitAfterMsDefault. */
  resubmitAfterMs?: number
  /** Actions carried out per sync. Default actionsPerSyncMax. */
  actionsPerSyncMax?: number
  /** Network mode of the containers it starts (`none`, `bridge`, ...). The engine's default if absent. */
  networkMode?: string
  /** Extra labels on every container it starts (never the tom.* ones). */
  labels?: Readonly<Record<string, string>>
  /** Named in the "no engine" message when the runtime's error names no socket. */
  engineEndpoint?: string
}

/** The labels that make a container the orchestrator's. */
export const orchestratorLabels = {
  network: 'tom.network',
  node: 'tom.node',
  action: 'tom.action',
  container: 'tom.container'
} as const

const silentLogger: OrchestratorLogger = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} }
const systemClock: OrchestratorClock = { now: () => Date.now() }
const hex64 = /^[0-9a-f]{64}$/

/** A step of an outcome submitted in the background: a tx, and what a refusal means. */
interface SubmitStep {
  readonly type: string
  readonly payload: Record<string, unknown>
  /** On a refusal (not a retryable failure): go on with the next step, or stop ('give-up' logs it). Default 'give-up'. */
  readonly onRefused?: (result: SubmitResult) => 'continue' | 'give-up'
  /** After it committed. */
  readonly onOk?: () => Promise<void>
}

/** How a container is launched: image, command, env of the action that first started it. */
interface Launch {
  readonly imageHex: string
  readonly env: Readonly<Record<string, string>>
  readonly cmd: readonly string[] | undefined
  readonly limits?: { readonly memoryBytes?: number; readonly nanoCpus?: number }
  readonly labels?: Readonly<Record<string, string>>
}

/** What a start action asks for, as the engine will be told. */
function launchOf(params: StartParams): Launch {
  return {
    imageHex: params.image,
    env: params.env ?? {},
    cmd: params.cmd,
    ...(params.limits === undefined ? {} : { limits: params.limits }),
    ...(params.labels === undefined ? {} : { labels: params.labels })
  }
}

function checkHex(name: string, value: unknown): string {
  if (typeof value !== 'string' || !hex64.test(value)) throw new OrchestratorOptionError(`${name} must be 64 lowercase hex characters`)
  return value
}

function checkInt(name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new OrchestratorOptionError(`${name} must be an integer from ${min} to ${max}`)
  }
  return value
}

function clip(text: string): string {
  return text.length > constants.detailCharsMax ? `${text.slice(0, constants.detailCharsMax - 3)}...` : text
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** Errors after which the engine may or may not have done the operation: look again later, by label. */
function outcomeUnknown(err: unknown): boolean {
  const code = (err as { code?: unknown }).code
  return code === 'ERR_RUNTIME_TIMEOUT' || code === 'ERR_RUNTIME_NO_RESPONSE' || code === 'ERR_RUNTIME_ABORTED'
}

export class Orchestrator {
  readonly #runtime: ContainerRuntime
  readonly #reader: OrchestratorStateReader
  readonly #submit: SubmitTx
  readonly #network: string
  readonly #node: string
  readonly #keys: ContainerKeys
  readonly #log: OrchestratorLogger
  readonly #clock: OrchestratorClock
  readonly #reconcileIntervalMs: number
  readonly #stopGraceS: number
  readonly #resubmitAfterMs: number
  readonly #actionsPerSyncMax: number
  readonly #networkMode: string | undefined
  readonly #extraLabels: Readonly<Record<string, string>>
  readonly #engineEndpoint: string

  #state: 'new' | 'started' | 'stopped' = 'new'
  #timer: NodeJS.Timeout | undefined
  /** The pass in progress and those queued behind it: sync and reconcile never overlap. */
  #chain: Promise<void> = Promise.resolve()
  #syncQueued: Promise<void> | undefined
  #reconcileQueued: Promise<void> | undefined
  /** Actions whose outcome is on its way, by id: when it was submitted (Infinity: refused, not retried). */
  readonly #inflight = new Map<string, number>()
  /** Actions whose container.join the ledger refused, with the reason: the next sync undoes the start. */
  readonly #joinRefused = new Map<string, string>()
  /** Outcome submissions not yet settled. */
  readonly #submissions = new Set<Promise<void>>()
  #engineDown = false
  #engineChecked = false
  /** Actions reported pending for the lack of an engine, during this outage. */
  readonly #pendingReported = new Set<string>()
  /** Restarts of dying containers, by ledger id: how many, and the earliest time of the next. */
  readonly #restarts = new Map<string, { count: number; nextAt: number }>()
  /** Containers that could not be recreated, by id: the reason last put on chain. */
  readonly #notRecreated = new Map<string, string>()
  /** Open migrates away from this node: when one closes, reconcile retires the old container at once. */
  readonly #migratingAway = new Set<string>()

  constructor(options: OrchestratorOptions) {
    if (typeof options !== 'object' || options === null) throw new OrchestratorOptionError('options must be an object')
    const { runtime, reader, submit } = options
    if (typeof runtime?.run !== 'function') throw new OrchestratorOptionError('runtime must be a ContainerRuntime')
    if (typeof reader?.get !== 'function' || typeof reader.listOpen !== 'function' || typeof reader.listMyContainers !== 'function') {
      throw new OrchestratorOptionError('reader must have get, listOpen and listMyContainers')
    }
    if (typeof submit !== 'function') throw new OrchestratorOptionError('submit must be a function')
    if (typeof options.keysDir !== 'string' || options.keysDir === '') throw new OrchestratorOptionError('keysDir must be a folder path')
    for (const key of Object.keys(options.labels ?? {})) {
      if (Object.values<string>(orchestratorLabels).includes(key)) throw new OrchestratorOptionError(`labels must not set ${key}`)
    }
    this.#runtime = runtime
    this.#reader = reader
    this.#submit = submit
    this.#network = checkHex('networkId', options.networkId)
    this.#node = checkHex('nodeKey', options.nodeKey)
    this.#keys = new ContainerKeys(options.keysDir)
    this.#log = options.logger ?? silentLogger
    this.#clock = options.clock ?? systemClock
    this.#reconcileIntervalMs = checkInt('reconcileIntervalMs', options.reconcileIntervalMs, constants.reconcileIntervalMsDefault, constants.reconcileIntervalMsMin, constants.reconcileIntervalMsMax)
    this.#stopGraceS = checkInt('stopGraceS', options.stopGraceS, constants.stopGraceSDefault, 0, constants.stopGraceSMax)
    this.#resubmitAfterMs = checkInt('resubmitAfterMs', options.resubmitAfterMs, constants.resubmitAfterMsDefault, 1, 3_600_000)
    this.#actionsPerSyncMax = checkInt('actionsPerSyncMax', options.actionsPerSyncMax, constants.actionsPerSyncMax, 1, 10_000)
    if (options.networkMode !== undefined && (typeof options.networkMode !== 'string' || options.networkMode === '')) {
      throw new OrchestratorOptionError('networkMode must be a non-empty string')
    }
    this.#networkMode = options.networkMode
    this.#extraLabels = Object.freeze({ ...options.labels })
    this.#engineEndpoint = options.engineEndpoint ?? (runtime as { socketPath?: unknown }).socketPath?.toString() ?? 'the configured socket'
  }

  /** Runs a sync and a reconcile now, then both every reconcileIntervalMs. */
  start(): void {
    if (this.#state !== 'new') return
    this.#state = 'started'
    void this.sync()
    void this.reconcile()
    this.#timer = setInterval(() => {
      void this.sync()
      void this.reconcile()
    }, this.#reconcileIntervalMs)
    this.#timer.unref()
  }

  /**
   * Stops the timer and waits for the pass in progress; later calls of sync() and reconcile() do
   * nothing. Outcomes already submitted are not waited for (settled() does): they are the node's.
   */
  async stop(): Promise<void> {
    this.#state = 'stopped'
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
    await this.#chain
  }

  /**
   * Carries out this node's open actions. Never two at once: a call while one runs queues one more
   * pass (which reads the newest state), and further calls share that queued pass. Never rejects.
   */
  sync(): Promise<void> {
    if (this.#state === 'stopped') return Promise.resolve()
    this.#syncQueued ??= this.#exclusive(async () => {
      this.#syncQueued = undefined
      await this.#syncOnce()
    }, 'sync')
    return this.#syncQueued
  }

  /** Compares the ledger's containers of this node with the engine's and repairs the drift. Never rejects. */
  reconcile(): Promise<void> {
    if (this.#state === 'stopped') return Promise.resolve()
    this.#reconcileQueued ??= this.#exclusive(async () => {
      this.#reconcileQueued = undefined
      await this.#reconcileOnce()
    }, 'reconcile')
    return this.#reconcileQueued
  }

  /** Resolves when every outcome submitted so far has settled (committed, refused or failed). */
  async settled(): Promise<void> {
    while (this.#submissions.size > 0) await Promise.allSettled([...this.#submissions])
  }

  #exclusive(pass: () => Promise<void>, name: string): Promise<void> {
    const run = this.#chain.then(async () => {
      if (this.#state === 'stopped') return
      try {
        await pass()
      } catch (err) {
        this.#log.error({ err: errorMessage(err) }, `orchestrator ${name} failed; the next pass tries again`)
      }
    })
    this.#chain = run
    return run
  }

  // ---------------------------------------------------------------- sync

  async #syncOnce(): Promise<void> {
    const open = await this.#reader.listOpen()
    const openIds = new Set(open.map((a) => a.id))
    for (const map of [this.#inflight, this.#joinRefused]) for (const id of map.keys()) if (!openIds.has(id)) map.delete(id)
    for (const id of this.#pendingReported) if (!openIds.has(id)) this.#pendingReported.delete(id)
    let migrated = false
    for (const id of this.#migratingAway) {
      if (!openIds.has(id)) {
        this.#migratingAway.delete(id)
        migrated = true
      }
    }
    // Queued behind this pass: the copy joined, so the old container is no longer wanted here.
    if (migrated) void this.reconcile()
    // The first pass asks the engine even with nothing to do, so that a missing engine is said at start.
    if (open.length === 0 && this.#engineChecked) return
    this.#engineChecked = true
    const noEngine = await this.#checkEngine()
    if (noEngine !== undefined) {
      await this.#reportNoEngine(open, noEngine)
      return
    }
    let carried = 0
    for (const entry of open) {
      if (this.#state === 'stopped' || carried >= this.#actionsPerSyncMax) break
      const since = this.#inflight.get(entry.id)
      if (since !== undefined && this.#clock.now() - since < this.#resubmitAfterMs) continue
      if (this.#migratingAway.has(entry.id)) continue
      const action = await this.#readAction(entry.id)
      if (action === undefined || action.status === 'done' || action.status === 'failed') continue
      carried++
      try {
        await this.#carryOut(action)
      } catch (err) {
        if (err instanceof RuntimeUnavailableError) {
          this.#engineLost(err)
          break
        }
        if (outcomeUnknown(err)) {
          this.#log.warn({ action: action.id, err: errorMessage(err) }, 'the engine did not answer in time: the next sync looks for the container by its labels')
        } else if (err instanceof ContainerRuntimeError) {
          this.#report(action, 'failed', err.message)
        } else {
          this.#log.error({ action: action.id, err: errorMessage(err) }, 'could not carry out the action; the next sync tries again')
        }
      }
    }
  }

  /** undefined if the engine answers; else the reason actions stay pending. */
  async #checkEngine(): Promise<string | undefined> {
    try {
      await this.#runtime.ping()
    } catch (err) {
      if (err instanceof RuntimeUnavailableError) return this.#engineLost(err)
      throw err
    }
    if (this.#engineDown) {
      this.#engineDown = false
      this.#pendingReported.clear()
      this.#log.info({ engine: this.#engineEndpoint }, 'the container engine answers again: carrying out pending actions')
    }
    return undefined
  }

  #engineLost(err: RuntimeUnavailableError): string {
    const socket = err.socketPath !== '' ? err.socketPath : this.#engineEndpoint
    const detail = `no container engine at ${socket}: actions for this node stay pending`
    if (!this.#engineDown) {
      this.#engineDown = true
      this.#log.warn({ engine: socket, err: err.message }, detail)
    }
    return detail
  }

  /** Reports each pending action as pending with the reason, once (the ledger's detail says whether it was). */
  async #reportNoEngine(open: readonly OpenActionEntry[], detail: string): Promise<void> {
    let reported = 0
    for (const entry of open) {
      if (reported >= this.#actionsPerSyncMax) break
      if (entry.status !== 'pending' || this.#pendingReported.has(entry.id)) continue
      const action = await this.#readAction(entry.id)
      if (action === undefined) continue
      this.#pendingReported.add(entry.id)
      // Only the addressed node reports; a migrate waits on its target, which may not report on it.
      if (action.node !== this.#node || action.type === 'container.migrate') continue
      if (action.status !== 'pending' || action.detail === detail) continue
      reported++
      this.#submitSteps(undefined, [{ type: 'action.report', payload: { id: action.id, status: 'pending', detail } }])
    }
  }

  async #carryOut(action: ActionView): Promise<void> {
    switch (action.type) {
      case 'container.start':
        if (action.node !== this.#node) return
        await this.#start(action, action.params.container, launchOf(action.params))
        return
      case 'container.migrate': {
        const { container, image, target, newContainer } = action.params
        if (target === this.#node) {
          const earlier = await this.#launchOf(container)
          await this.#start(action, newContainer, { ...(earlier ?? { env: {}, cmd: undefined }), imageHex: image })
        } else if (action.node === this.#node && !this.#migratingAway.has(action.id)) {
          // Make before break: the source keeps serving until the target's join commits, which closes
          // the action and makes the old container leave; reconcile then stops and removes it. (A
          // source that stopped and reported done first would close the action before the target
          // started the copy: the copy would never start.)
          this.#migratingAway.add(action.id)
          this.#log.info({ action: action.id, container, target: target.slice(0, 16), newContainer }, 'migrating away: the container runs until its copy joins on the target')
        }
        return
      }
      case 'container.stop':
        if (action.node === this.#node) await this.#stopOnly(action)
        return
      case 'container.remove':
        if (action.node === this.#node) await this.#stopForGood(action, action.params.container, 'stopped and removed')
        return
      case 'container.restart':
        if (action.node === this.#node) await this.#restartFor(action)
        return
    }
  }

  /** Starts `container` for `action` (a start, or a migrate's copy on this target), then joins it. */
  async #start(action: ActionView, container: string, launch: Launch): Promise<void> {
    const existing = await this.#runtime.list({ labels: this.#labels({ [orchestratorLabels.action]: action.id }) })
    const refused = this.#joinRefused.get(action.id)
    if (refused !== undefined) {
      // The ledger will not have this container: take it down, then say why the action failed.
      for (const c of existing) await this.#removeContainer(c)
      await this.#keys.remove(container)
      this.#joinRefused.delete(action.id)
      this.#report(action, 'failed', `container.join refused: ${refused}`)
      return
    }
    if (existing.length > 0) {
      const keys = await this.#keys.load(container).catch(() => undefined)
      if (keys !== undefined) {
        // Started before (a crash, or a join that has not committed): never a second one, join again.
        this.#log.info({ action: action.id, container, engineId: existing[0]!.id.slice(0, 12) }, 'found the container started for this action: submitting its join again')
        this.#join(action, container, launch.imageHex, keys.publicKey)
        return
      }
      // Its key is gone, so it could never prove its identity: replace it.
      this.#log.warn({ action: action.id, container }, 'the container started for this action has no key file: removing it and starting afresh')
      for (const c of existing) await this.#removeContainer(c)
    }
    const digest = `sha256:${launch.imageHex}`
    if (!(await this.#imageApproved(launch.imageHex))) {
      this.#report(action, 'failed', `image ${digest} is not approved`)
      return
    }
    if ((await this.#reader.get(worldKeys.container(container))) !== undefined) {
      this.#report(action, 'failed', `container ${container} already exists on the ledger: a container id is used once`)
      return
    }
    const refusal = await this.#checkLocalImage(digest)
    if (refusal !== undefined) {
      this.#report(action, 'failed', refusal)
      return
    }
    const keys = await this.#keys.create(container)
    try {
      const engineId = await this.#runtime.run(this.#spec(action.id, container, launch, this.#keys.path(container)))
      this.#log.info({ action: action.id, container, image: digest, engineId: engineId.slice(0, 12) }, 'container started')
    } catch (err) {
      if (outcomeUnknown(err)) throw err
      await this.#keys.remove(container)
      if (err instanceof ContainerRuntimeError && !(err instanceof RuntimeUnavailableError)) {
        this.#report(action, 'failed', `the engine could not start container ${container}: ${err.message}`)
        return
      }
      throw err
    }
    this.#join(action, container, launch.imageHex, keys.publicKey)
  }

  /** undefined if the local image with this ID is there; else why it is refused. */
  async #checkLocalImage(digest: string): Promise<string | undefined> {
    const refusal = `no local image with the approved digest ${digest}; a local image with a different digest is never run`
    try {
      const image = await this.#runtime.inspectImage(digest)
      return image.id === digest ? undefined : refusal
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ERR_RUNTIME_IMAGE_NOT_FOUND') return refusal
      throw err
    }
  }

  #spec(actionId: string, container: string, launch: Launch, keyFile: string): ContainerSpec {
    return {
      image: `sha256:${launch.imageHex}`,
      name: this.#engineName(container),
      ...(launch.cmd !== undefined && launch.cmd.length > 0 ? { command: launch.cmd } : {}),
      ...(launch.limits?.memoryBytes === undefined ? {} : { memoryBytes: launch.limits.memoryBytes }),
      ...(launch.limits?.nanoCpus === undefined ? {} : { nanoCpus: launch.limits.nanoCpus }),
      // TOM's variables last: an action cannot point the container at another key or identity.
      env: { ...launch.env, TOM_CONTAINER_ID: container, TOM_NETWORK: this.#network, TOM_KEY_FILE: constants.containerKeyPath },
      // The action's labels first: the tom.* labels are the orchestrator's and always win.
      labels: { ...launch.labels, ...this.#labels({ [orchestratorLabels.action]: actionId, [orchestratorLabels.container]: container }) },
      readOnlyFiles: [{ hostPath: keyFile, containerPath: constants.containerKeyPath }],
      ...(this.#networkMode !== undefined ? { networkMode: this.#networkMode } : {})
    }
  }

  /** The engine's name of a container: unique per node on a shared engine, readable by an operator. */
  #engineName(container: string): string {
    return `tom-${this.#node.slice(0, 12)}-${container}`
  }

  #labels(more: Record<string, string>): Record<string, string> {
    return { ...this.#extraLabels, [orchestratorLabels.network]: this.#network, [orchestratorLabels.node]: this.#node, ...more }
  }

  #join(action: ActionView, container: string, imageHex: string, publicKey: Uint8Array): void {
    this.#submitSteps(action.id, [
      {
        type: 'container.join',
        payload: { id: container, imageDigest: `sha256:${imageHex}`, publicKey, action: action.id },
        onRefused: (r) => {
          this.#joinRefused.set(action.id, `${r.code ?? 'refused'}: ${r.message ?? ''}`)
          this.#inflight.delete(action.id)
          return 'give-up'
        }
      }
    ])
  }

  /** A stop action: stop and remove the container, leave, report done (then its key is deleted). */
  async #stopForGood(action: ActionView, container: string, done: string): Promise<void> {
    const found = await this.#runtime.list({ labels: this.#labels({ [orchestratorLabels.container]: container }) })
    const record = await this.#readContainer(container)
    if (found.length === 0) {
      // Gone from this host already (a crash after removing it, before the report committed): done, if it was ours.
      if (record === undefined || record.node !== this.#node) {
        this.#report(action, 'failed', `no container ${container} on this node`)
        return
      }
      this.#leaveAndReport(action, container, record, `container ${container} does not run on this node`)
      return
    }
    for (const c of found) await this.#removeContainer(c)
    this.#log.info({ action: action.id, container }, `container ${done}`)
    this.#leaveAndReport(action, container, record, done)
  }

  #leaveAndReport(action: ActionView, container: string, record: ContainerView | undefined, detail: string): void {
    const steps: SubmitStep[] = []
    if (record?.status === 'joined') {
      steps.push({
        type: 'container.leave',
        payload: { id: container },
        // Left already (an earlier attempt's leave committed): the report still has to go.
        onRefused: (r) => (r.code === 'ERR_CONTAINER_LEFT' ? 'continue' : 'give-up'),
        onOk: () => this.#keys.remove(container)
      })
    }
    steps.push({ type: 'action.report', payload: { id: action.id, status: 'done', detail: clip(detail) } })
    this.#submitSteps(action.id, steps)
  }

  /** Stops the container and keeps it: the done report marks it stopped on the ledger, so reconcile leaves it stopped. */
  async #stopOnly(action: ActionView & { type: 'container.stop' }): Promise<void> {
    const { container } = action.params
    const found = await this.#runtime.list({ labels: this.#labels({ [orchestratorLabels.container]: container }) })
    if (found.length === 0) {
      this.#report(action, 'failed', `no container ${container} on this node`)
      return
    }
    for (const c of found) await this.#runtime.stop(c.id, { graceS: this.#stopGraceS })
    this.#log.info({ action: action.id, container }, 'container stopped')
    this.#report(action, 'done', 'stopped')
  }

  async #restartFor(action: ActionView & { type: 'container.restart' }): Promise<void> {
    const { container } = action.params
    const found = await this.#runtime.list({ labels: this.#labels({ [orchestratorLabels.container]: container }) })
    if (found.length === 0) {
      this.#report(action, 'failed', `no container ${container} on this node`)
      return
    }
    for (const c of found) await this.#runtime.restart(c.id, { graceS: this.#stopGraceS })
    this.#log.info({ action: action.id, container }, 'container restarted')
    this.#report(action, 'done', 'restarted')
  }

  #report(action: ActionView, status: 'failed' | 'done', detail: string): void {
    if (status === 'failed') this.#log.warn({ action: action.id, type: action.type, reason: detail }, 'action failed')
    if (action.node !== this.#node) {
      // A migrate's target: the ledger takes reports from the addressed node only. Try again later
      // (an image loaded meanwhile makes the copy possible); until then the source keeps its container.
      this.#inflight.set(action.id, this.#clock.now())
      return
    }
    this.#submitSteps(action.id, [{ type: 'action.report', payload: { id: action.id, status, detail: clip(detail) } }])
  }

  /**
   * Submits `steps` in order, in the background. While they are on their way the action is left
   * alone (resubmitAfterMs); a retryable failure frees it at once for the next sync; a refusal is
   * logged and the action is not carried out again by this process (the ledger said no).
   */
  #submitSteps(actionId: string | undefined, steps: readonly SubmitStep[]): void {
    if (actionId !== undefined) this.#inflight.set(actionId, this.#clock.now())
    const run = (async (): Promise<void> => {
      for (const step of steps) {
        let result: SubmitResult
        try {
          result = await this.#submit(step.type, step.payload)
        } catch (err) {
          const code = (err as { code?: unknown }).code
          result = { ok: false, message: errorMessage(err), ...(typeof code === 'string' ? { code } : {}) }
        }
        if (result.ok) {
          this.#log.debug({ action: actionId, tx: step.type }, 'outcome committed')
          await step.onOk?.().catch((err: unknown) => this.#log.warn({ err: errorMessage(err) }, 'after-commit step failed'))
          continue
        }
        // No code (the submit itself failed) or a code that says "try again": it did not commit.
        if (result.code === undefined || constants.retryableSubmitCodes.includes(result.code)) {
          this.#log.warn({ action: actionId, tx: step.type, code: result.code, err: result.message }, 'outcome did not commit: the next sync tries again')
          if (actionId !== undefined) this.#inflight.delete(actionId)
          return
        }
        const next = step.onRefused?.(result) ?? 'give-up'
        if (next === 'continue') continue
        this.#log.error({ action: actionId, tx: step.type, code: result.code, err: result.message }, 'the ledger refused the outcome')
        if (actionId !== undefined && this.#inflight.has(actionId)) this.#inflight.set(actionId, Number.POSITIVE_INFINITY)
        return
      }
    })()
    this.#submissions.add(run)
    void run.finally(() => this.#submissions.delete(run))
  }

  // ---------------------------------------------------------------- reconcile

  async #reconcileOnce(): Promise<void> {
    try {
      await this.#runtime.ping()
    } catch (err) {
      // sync() says it once; reconciling without an engine has nothing to compare.
      this.#log.debug({ err: errorMessage(err) }, 'reconcile skipped: the engine does not answer')
      return
    }
    const desired = new Map<string, ContainerView>()
    for (const id of await this.#reader.listMyContainers()) {
      const record = await this.#readContainer(id)
      if (record?.status === 'joined' && record.node === this.#node) desired.set(id, record)
    }
    // What open actions work on is theirs: a container started and not yet joined, one being stopped.
    const busyActions = new Set<string>()
    const busyContainers = new Set<string>()
    for (const entry of await this.#reader.listOpen()) {
      busyActions.add(entry.id)
      const action = await this.#readAction(entry.id)
      if (action === undefined) continue
      busyContainers.add(action.params.container)
      if (action.type === 'container.migrate') busyContainers.add(action.params.newContainer)
    }
    const live = (c: ContainerSummary): boolean => c.state === 'running' || c.state === 'paused' || c.state === 'restarting'
    // Running ones first: of two containers for one id, the one kept is a running one.
    const actual = (await this.#runtime.list({ labels: { [orchestratorLabels.node]: this.#node } })).sort((a, b) => Number(live(b)) - Number(live(a)))
    const seen = new Set<string>()
    let budget = constants.reconcileContainersMax
    for (const c of actual) {
      if (budget <= 0 || this.#state === 'stopped') break
      const id = c.labels[orchestratorLabels.container] ?? ''
      const ours = c.labels[orchestratorLabels.network] === this.#network
      if (ours && (busyActions.has(c.labels[orchestratorLabels.action] ?? '') || busyContainers.has(id))) {
        seen.add(id)
        continue
      }
      try {
        // The record itself decides, not only the index: a joined container of this node is wanted.
        const record = ours && id !== '' ? (desired.get(id) ?? (await this.#readContainer(id))) : undefined
        const wanted = record?.status === 'joined' && record.node === this.#node
        if (!wanted || seen.has(id)) {
          await this.#removeUnwanted(c, live(c), id, record, wanted)
          budget--
          continue
        }
        seen.add(id)
        if (record.stopped === true) {
          // Stopped on purpose: keep it so, never revive it.
          if (live(c)) {
            await this.#runtime.stop(c.id, { graceS: this.#stopGraceS })
            budget--
          }
          continue
        }
        if (await this.#reviveIfDead(c, id)) budget--
      } catch (err) {
        if (err instanceof RuntimeUnavailableError) return
        this.#log.warn({ container: id, err: errorMessage(err) }, 'reconcile could not repair a container; the next pass tries again')
      }
    }
    for (const [id, record] of desired) {
      if (budget <= 0 || this.#state === 'stopped') break
      if (seen.has(id) || busyContainers.has(id) || record.stopped === true) continue
      budget--
      try {
        await this.#recreate(record)
      } catch (err) {
        if (err instanceof RuntimeUnavailableError) return
        this.#log.warn({ container: id, err: errorMessage(err) }, 'reconcile could not recreate a container; the next pass tries again')
      }
    }
  }

  /**
   * Stops and removes a container the ledger does not want here, or a second container for a wanted
   * id. Only the latter goes on chain (container.status stopped): the ledger accepts drift only of a
   * joined container of this node, and one that left or was lost already says it should not run.
   */
  async #removeUnwanted(c: ContainerSummary, live: boolean, id: string, record: ContainerView | undefined, duplicate: boolean): Promise<void> {
    const ours = c.labels[orchestratorLabels.network] === this.#network
    let why: string
    if (!ours) why = `it belongs to network ${(c.labels[orchestratorLabels.network] ?? '?').slice(0, 16)}`
    else if (duplicate) why = `a second container for ${id}`
    else if (record === undefined) why = `the ledger does not know container ${id}`
    else if (record.node !== this.#node) why = `the ledger places container ${id} on node ${record.node.slice(0, 16)}`
    else why = `the ledger says container ${id} is ${record.status}`
    if (live) await this.#runtime.stop(c.id, { graceS: this.#stopGraceS })
    await this.#removeContainer(c)
    this.#log.info({ container: id, engineId: c.id.slice(0, 12), state: c.state }, `removed a container: ${why}`)
    // Its identity is retired (or never was): the private key has no use left on this host.
    if (ours && !duplicate && id !== '' && (record === undefined || record.status !== 'joined' || record.node !== this.#node)) {
      await this.#keys.remove(id).catch(() => undefined)
    }
    if (live && duplicate) this.#submitSteps(undefined, [{ type: 'container.status', payload: { id, status: 'stopped', detail: clip(why) } }])
  }

  /** Restarts a wanted container whose process ended (not more often than its backoff allows); true if it did. */
  async #reviveIfDead(c: ContainerSummary, id: string): Promise<boolean> {
    const now = this.#clock.now()
    const backoff = this.#restarts.get(id)
    if (c.state !== 'exited' && c.state !== 'dead' && c.state !== 'created') {
      if (backoff !== undefined && now >= backoff.nextAt) this.#restarts.delete(id)
      return false
    }
    if (backoff !== undefined && now < backoff.nextAt) return false
    const details = await this.#runtime.inspect(c.id)
    const detail = c.state === 'created' ? 'never started' : `exit code ${details.exitCode ?? 'unknown'}${details.oomKilled ? ' (out of memory)' : ''}`
    await this.#runtime.restart(c.id, { graceS: this.#stopGraceS })
    const count = (backoff?.count ?? 0) + 1
    this.#restarts.set(id, { count, nextAt: now + Math.min(constants.restartBackoffMsMax, this.#reconcileIntervalMs * 2 ** (count - 1)) })
    this.#log.warn({ container: id, engineId: c.id.slice(0, 12), detail, restarts: count }, 'restarted a container that had stopped')
    this.#submitSteps(undefined, [{ type: 'container.status', payload: { id, status: 'restarted', detail } }])
    return true
  }

  /** Starts a joined container that is gone from the engine, with its own key; or says on chain why it cannot. */
  async #recreate(record: ContainerView): Promise<void> {
    const id = record.id
    const why = await this.#whyNotRecreate(record)
    if (why !== undefined) {
      if (this.#notRecreated.get(id) !== why) {
        this.#notRecreated.set(id, why)
        this.#log.error({ container: id, reason: why }, 'a joined container is missing and cannot be recreated')
        this.#submitSteps(undefined, [{ type: 'container.status', payload: { id, status: 'missing', detail: clip(`not recreated: ${why}`) } }])
      }
      return
    }
    const launch = (await this.#launchOf(id)) ?? { imageHex: record.imageDigest.slice(7), env: {}, cmd: undefined }
    const engineId = await this.#runtime.run(this.#spec(record.action ?? 'reconcile', id, { ...launch, imageHex: record.imageDigest.slice(7) }, this.#keys.path(id)))
    this.#notRecreated.delete(id)
    this.#log.warn({ container: id, engineId: engineId.slice(0, 12) }, 'recreated a missing container')
    this.#submitSteps(undefined, [{ type: 'container.status', payload: { id, status: 'missing', detail: 'recreated' } }])
  }

  async #whyNotRecreate(record: ContainerView): Promise<string | undefined> {
    const hex = record.imageDigest.slice(7)
    if (!(await this.#imageApproved(hex))) return `image ${record.imageDigest} is not approved`
    const local = await this.#checkLocalImage(record.imageDigest)
    if (local !== undefined) return local
    let keys
    try {
      keys = await this.#keys.load(record.id)
    } catch (err) {
      return `its key file cannot be used: ${errorMessage(err)}`
    }
    if (keys === undefined) return `its key file ${this.#keys.path(record.id)} is gone; a new key would not be the one it joined with`
    if (toHex(keys.publicKey) !== toHex(record.publicKey)) return 'its key file does not hold the key it joined with'
    return undefined
  }

  /** How the container `id` was first started: the image, env and command of its start action (through migrations). */
  async #launchOf(id: string): Promise<Launch | undefined> {
    let current = id
    for (let hops = 0; hops < 8; hops++) {
      const record = await this.#readContainer(current)
      if (record?.action === undefined) return undefined
      const action = await this.#readAction(record.action)
      if (action === undefined) return undefined
      if (action.type === 'container.start') return launchOf(action.params)
      if (action.type !== 'container.migrate') return undefined
      current = action.params.container
    }
    return undefined
  }

  // ---------------------------------------------------------------- reads and small engine steps

  async #removeContainer(c: ContainerSummary): Promise<void> {
    await this.#runtime.remove(c.id, { force: true }).catch((err: unknown) => {
      if ((err as { code?: unknown }).code !== 'ERR_RUNTIME_CONTAINER_NOT_FOUND') throw err
    })
  }

  async #imageApproved(hex: string): Promise<boolean> {
    const raw = await this.#reader.get(worldKeys.image(hex))
    if (raw === undefined) return false
    try {
      return decodeImage(raw).status === 'approved'
    } catch (err) {
      this.#log.error({ image: hex, err: errorMessage(err) }, 'unreadable image record')
      return false
    }
  }

  async #readAction(id: string): Promise<ActionView | undefined> {
    const raw = await this.#reader.get(worldKeys.action(id))
    if (raw === undefined) return undefined
    try {
      return decodeAction(raw)
    } catch (err) {
      this.#log.error({ action: id, err: errorMessage(err) }, 'unreadable action record: skipped')
      return undefined
    }
  }

  async #readContainer(id: string): Promise<ContainerView | undefined> {
    const raw = await this.#reader.get(worldKeys.container(id))
    if (raw === undefined) return undefined
    try {
      return decodeContainer(raw)
    } catch (err) {
      this.#log.error({ container: id, err: errorMessage(err) }, 'unreadable container record: skipped')
      return undefined
    }
  }
}

/** Creates an Orchestrator (the factory form). */
export function createOrchestrator(options: OrchestratorOptions): Orchestrator {
  return new Orchestrator(options)
}
