/**
 * The leader's watch over the other nodes, for service continuity. A node the leader has heard no Raft
 * message from for `unreachableMs` is declared unreachable on chain (`node.unreachable`, signed by this
 * node), which makes the continuity contract move its containers to healthy nodes; when it is heard
 * again, `node.reachable`. Only the leader watches: followers hear only from the leader. A new leader
 * starts every clock afresh, so a leadership change never declares a node dead at once.
 */
import { decode, toHex } from '../crypto/index.js'
import type { NodeId } from '../consensus/index.js'
import type { StateReader } from '../ledger/index.js'
import { listNodes } from '../contracts/index.js'
import type { Logger } from './logger.js'

export interface HealthMonitorOptions {
  readonly self: Uint8Array
  readonly state: StateReader
  readonly lastHeard: (id: NodeId) => number | undefined
  readonly isLeader: () => boolean
  /** Signs `type` with this node's key and submits it; resolves when committed. */
  readonly submit: (type: string, payload: { publicKey: Uint8Array }) => Promise<unknown>
  readonly unreachableMs: number
  readonly logger: Logger
  readonly clock?: () => number
}

/** How often the leader looks, as a fraction of unreachableMs (at least every second). */
const checksPerTimeout = 4

export class HealthMonitor {
  readonly #options: HealthMonitorOptions
  readonly #clock: () => number
  #timer: NodeJS.Timeout | undefined
  /** When this node last became leader; undefined while it follows. */
  #leaderSince: number | undefined
  /** Nodes whose health tx is on its way, so that one is not sent twice. */
  readonly #submitting = new Set<string>()
  #checking = false

  constructor(options: HealthMonitorOptions) {
    this.#options = options
    this.#clock = options.clock ?? Date.now
  }

  start(): void {
    const intervalMs = Math.min(1000, Math.max(50, Math.floor(this.#options.unreachableMs / checksPerTimeout)))
    this.#timer = setInterval(() => void this.check(), intervalMs)
  }

  stop(): void {
    clearInterval(this.#timer)
  }

  /** One look at every node (the timer calls it; tests may too). */
  async check(): Promise<void> {
    const { isLeader, state, self, lastHeard, unreachableMs, logger } = this.#options
    if (!isLeader()) {
      this.#leaderSince = undefined
      return
    }
    const now = this.#clock()
    this.#leaderSince ??= now
    if (this.#checking) return
    this.#checking = true
    try {
      for (const node of await listNodes(state)) {
        const hex = toHex(node.publicKey)
        if (hex === toHex(self) || this.#submitting.has(hex)) continue
        const heard = Math.max(lastHeard(node.raftId) ?? 0, this.#leaderSince)
        const health = await state.get(`node-health/${hex}`)
        const unreachable = health !== undefined && decode<{ status?: string }>(health).status === 'unreachable'
        const silentMs = now - heard
        if (!unreachable && silentMs > unreachableMs) this.#declare('node.unreachable', node.publicKey, hex, { silentMs })
        else if (unreachable && silentMs <= unreachableMs) this.#declare('node.reachable', node.publicKey, hex, { silentMs })
      }
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'node health check failed')
    } finally {
      this.#checking = false
    }
  }

  #declare(type: 'node.unreachable' | 'node.reachable', publicKey: Uint8Array, hex: string, fields: { silentMs: number }): void {
    const { submit, logger } = this.#options
    this.#submitting.add(hex)
    logger.warn({ node: hex, ...fields }, type === 'node.unreachable' ? 'a node stopped answering: declaring it unreachable' : 'a node answers again')
    submit(type, { publicKey })
      .catch((err: Error) => logger.warn({ node: hex, err: err.message }, `${type} was not committed; will retry`))
      .finally(() => this.#submitting.delete(hex))
  }
}
