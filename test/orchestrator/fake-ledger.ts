/**
 * A test double of the ledger edge the orchestrator sees: world state records in CBOR, the reader of
 * one node's view, and a recording submit that applies each tx the way the contracts do (the part
 * of them the orchestrator relies on). It is not the ledger: it checks what the orchestrator sends,
 * and lets a test make a tx fail, refuse or hang, as a real network would.
 */
import { encode, fromHex, toHex, generateKeyPair } from '../../src/crypto/index.js'
import type { OpenActionEntry, OrchestratorStateReader, SubmitResult, SubmitTx } from '../../src/orchestrator/index.js'

export interface Submitted {
  readonly node: string
  readonly type: string
  readonly payload: Record<string, unknown>
  readonly result: SubmitResult
}

interface ActionRecord {
  id: string
  type: string
  node: string
  params: Record<string, unknown>
  status: string
  origin: string
  tx: string
  height: number
  updatedHeight: number
  detail?: string
}

interface ContainerRecord {
  id: string
  org: string
  node: Uint8Array
  imageDigest: string
  publicKey: Uint8Array
  status: 'joined' | 'left' | 'lost'
  identified: boolean
  joinedAt: number
  action?: string
  stopped?: boolean
}

/** What the next submits of a type do instead of committing: refuse with a code, or hang until released. */
export type Interception = { refuse: string } | { hang: true } | { fail: string }

export const newNodeKey = (): string => toHex(generateKeyPair().publicKey)

export class FakeLedger {
  readonly network = toHex(generateKeyPair().publicKey)
  readonly actions = new Map<string, ActionRecord>()
  readonly containers = new Map<string, ContainerRecord>()
  readonly images = new Map<string, 'approved' | 'revoked'>()
  readonly submitted: Submitted[] = []
  readonly #intercepts = new Map<string, Interception[]>()
  readonly #hung: (() => void)[] = []
  #height = 1
  #actionCount = 0

  approveImage(hex: string): void {
    this.images.set(hex, 'approved')
  }

  /** Records an action, as a contract would emit it; returns its id. */
  addAction(type: string, node: string, params: Record<string, unknown>): string {
    const id = `${'ab'.repeat(32)}-${this.#actionCount++}`
    this.actions.set(id, { id, type, node, params, status: 'pending', origin: 'test', tx: 'ab'.repeat(32), height: this.#height, updatedHeight: this.#height })
    return id
  }

  /** The next `count` submits of `type` do `what` instead of committing. */
  intercept(type: string, what: Interception, count = 1): void {
    const list = this.#intercepts.get(type) ?? []
    for (let i = 0; i < count; i++) list.push(what)
    this.#intercepts.set(type, list)
  }

  /** Lets hung submits go on (they then commit). */
  releaseHung(): void {
    for (const release of this.#hung.splice(0)) release()
  }

  setContainerStatus(id: string, status: 'joined' | 'left' | 'lost'): void {
    const c = this.containers.get(id)
    if (c === undefined) throw new Error(`no container ${id}`)
    c.status = status
  }

  ofType(type: string, node?: string): Submitted[] {
    return this.submitted.filter((s) => s.type === type && (node === undefined || s.node === node))
  }

  reader(node: string): OrchestratorStateReader {
    return {
      get: async (key) => this.#get(key),
      listOpen: async (): Promise<OpenActionEntry[]> =>
        [...this.actions.values()]
          .filter((a) => (a.status === 'pending' || a.status === 'running') && (a.node === node || (a.type === 'container.migrate' && a.params.target === node)))
          .map((a) => ({ id: a.id, type: a.type, status: a.status })),
      listMyContainers: async () => [...this.containers.values()].filter((c) => toHex(c.node) === node).map((c) => c.id)
    }
  }

  submit(node: string): SubmitTx {
    return async (type, payload) => {
      const what = this.#intercepts.get(type)?.shift()
      if (what !== undefined && 'hang' in what) await new Promise<void>((resolve) => this.#hung.push(resolve))
      if (what !== undefined && 'fail' in what) {
        this.submitted.push({ node, type, payload, result: { ok: false, code: what.fail } })
        const err = new Error(`submit failed: ${what.fail}`) as Error & { code: string }
        err.code = what.fail
        throw err
      }
      const result: SubmitResult = what !== undefined && 'refuse' in what ? { ok: false, code: what.refuse, message: 'refused by the test' } : this.#apply(node, type, payload)
      this.submitted.push({ node, type, payload, result })
      if (result.ok) this.#height++
      return result
    }
  }

  #get(key: string): Uint8Array | undefined {
    const [kind, ...rest] = key.split('/')
    const id = rest.join('/')
    if (kind === 'action') {
      const a = this.actions.get(id)
      return a === undefined ? undefined : encode(a)
    }
    if (kind === 'container') {
      const c = this.containers.get(id)
      return c === undefined ? undefined : encode(c)
    }
    if (kind === 'image' && id.startsWith('sha256:')) {
      const status = this.images.get(id.slice(7))
      return status === undefined ? undefined : encode({ digest: id, status, org: 'org1', approvedAt: 1 })
    }
    return undefined
  }

  #apply(node: string, type: string, p: Record<string, unknown>): SubmitResult {
    const refuse = (code: string, message: string): SubmitResult => ({ ok: false, code, message })
    switch (type) {
      case 'container.join': {
        const id = p.id as string
        const digest = p.imageDigest as string
        if (this.images.get(digest.slice(7)) !== 'approved') return refuse('ERR_IMAGE_NOT_APPROVED', `image ${digest} is not approved to run`)
        if (this.containers.has(id)) return refuse('ERR_CONTAINER_EXISTS', `container ${id} exists`)
        const action = this.actions.get(p.action as string)
        if (action === undefined || action.status === 'done' || action.status === 'failed') return refuse('ERR_ACTION_CLOSED', 'action closed')
        if (!(p.publicKey instanceof Uint8Array) || p.publicKey.length !== 32) return refuse('ERR_TX_INVALID_PAYLOAD', 'publicKey')
        this.containers.set(id, { id, org: 'org1', node: fromHex(node), imageDigest: digest, publicKey: p.publicKey, status: 'joined', identified: false, joinedAt: this.#height, action: action.id })
        if (action.type === 'container.migrate' && (action.params.target !== node || action.params.newContainer !== id)) return refuse('ERR_ACTION_MISMATCH', 'not this migrate')
        if (action.type === 'container.start' && (action.node !== node || action.params.container !== id)) return refuse('ERR_ACTION_MISMATCH', 'not this start')
        // As the contract does: the join closes the action, and the container a migrate moves leaves.
        this.#close(action, 'done')
        const moved = action.type === 'container.migrate' ? this.containers.get(action.params.container as string) : undefined
        if (moved?.status === 'joined') moved.status = 'left'
        return { ok: true }
      }
      case 'action.report': {
        const action = this.actions.get(p.id as string)
        if (action === undefined) return refuse('ERR_ACTION_UNKNOWN', 'no action')
        if (action.node !== node) return refuse('ERR_TX_UNAUTHORIZED', 'not the addressed node')
        if (action.status === 'done' || action.status === 'failed') return refuse('ERR_ACTION_CLOSED', 'closed')
        // As the contract does: a done stop keeps the container, stopped; a done restart runs it again.
        if (p.status === 'done' && (action.type === 'container.stop' || action.type === 'container.restart')) {
          const c = this.containers.get(action.params.container as string)
          if (c !== undefined && c.status === 'joined' && toHex(c.node) === action.node) {
            if (action.type === 'container.stop') c.stopped = true
            else delete c.stopped
          }
        }
        action.status = p.status as string
        action.updatedHeight = this.#height
        if (typeof p.detail === 'string') action.detail = p.detail
        else delete action.detail
        return { ok: true }
      }
      case 'container.leave': {
        const c = this.containers.get(p.id as string)
        if (c === undefined) return refuse('ERR_CONTAINER_UNKNOWN', 'no container')
        if (c.status === 'left') return refuse('ERR_CONTAINER_LEFT', 'left already')
        c.status = 'left'
        return { ok: true }
      }
      case 'container.status': {
        const c = this.containers.get(p.id as string)
        if (c === undefined) return refuse('ERR_CONTAINER_UNKNOWN', 'no container')
        if (toHex(c.node) !== node) return refuse('ERR_TX_UNAUTHORIZED', 'not its node')
        if (c.status !== 'joined') return refuse(c.status === 'left' ? 'ERR_CONTAINER_LEFT' : 'ERR_CONTAINER_LOST', `container ${c.id} is ${c.status}`)
        return { ok: true }
      }
      default:
        return refuse('ERR_TX_UNKNOWN_TYPE', type)
    }
  }

  #close(action: ActionRecord, status: string): void {
    action.status = status
    action.updatedHeight = this.#height
  }
}

/** A logger that keeps what it was told. */
export function recordingLogger(): { logger: { info: Log; warn: Log; error: Log; debug: Log }; lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = []
  const at = (level: string): Log => (_obj, msg) => void lines.push({ level, msg })
  return { logger: { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') }, lines }
}
type Log = (obj: object, msg: string) => void
