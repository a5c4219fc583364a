/**
 * A local network of orchestrated node processes (orchestrated-node.ts) on the real container engine:
 * used by the orchestrator benchmark and the failover test. The driver follows what each process
 * prints (committed txs, roles) and waits on it without sleeps; every wait has a deadline.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { writeFile, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { generateKeyPair, saveKeyFile, toHex } from '../crypto/index.js'
import { dataPath, findFreePorts, initLocalNetwork } from '../node/index.js'
import type { LocalNetwork } from '../node/index.js'
import { OutputWaiters } from './output-waiters.js'

// The built node script, whether this module runs from dist/bench or (in tests) from src/bench.
const nodeScript = fileURLToPath(new URL('../../dist/bench/orchestrated-node.js', import.meta.url))

/** A tx a node saw committed (applied), as orchestrated-node.ts prints it. */
export interface SeenTx {
  readonly height: number
  readonly type: string
  readonly outcome: string
  readonly fields: Readonly<Record<string, string>>
  /** When this process printed it (Date.now()). */
  readonly at: number
}

export class OrchestratedProcess {
  child!: ChildProcess
  readonly txs: SeenTx[] = []
  readonly done = new Map<string, string>()
  role = 'follower'
  leader = 0
  raftId = 0
  stderr = ''
  exited!: Promise<void>
  readonly #waiters = new OutputWaiters()

  constructor(
    readonly name: string,
    readonly dir: string,
    readonly publicKey: string
  ) {}

  spawn(): void {
    this.child = spawn(process.execPath, [nodeScript, this.dir], { stdio: ['pipe', 'pipe', 'pipe'] })
    this.role = 'follower'
    this.child.stderr!.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-20_000)
    })
    this.exited = new Promise((resolve) => this.child.on('exit', () => resolve()))
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const [word, a, b, c, ...rest] = line.split(' ')
      if (word === 'tx') this.txs.push({ height: Number(a), type: b!, outcome: c!, fields: JSON.parse(rest.join(' ')) as Record<string, string>, at: Date.now() })
      else if (word === 'done') this.done.set(a!, b!)
      else if (word === 'ready') this.raftId = Number(a)
      else if (word === 'role') {
        this.role = a!
        this.leader = Number(b)
      }
      this.#waiters.notify()
    })
  }

  /** Resolves when `check` holds after some output line; rejects after `ms` (a failure guard). */
  until(check: () => boolean, what: string, ms = 30_000): Promise<void> {
    return this.#waiters.until(check, ms, () => new Error(`${this.name}: timed out waiting for ${what}; stderr: ${this.stderr.slice(-3000)}`))
  }

  /** The first committed tx of `type` matching `fields`, if this node applied one. */
  find(type: string, fields: Record<string, string> = {}, outcome = 'ok'): SeenTx | undefined {
    return this.txs.find((t) => t.type === type && t.outcome === outcome && Object.entries(fields).every(([k, v]) => t.fields[k] === v))
  }

  untilTx(type: string, fields: Record<string, string> = {}, ms = 30_000): Promise<SeenTx> {
    return this.until(() => this.find(type, fields) !== undefined, `${type} ${JSON.stringify(fields)}`, ms).then(() => this.find(type, fields)!)
  }

  /** Signs (with `keyFile`) and submits a tx through this node; resolves with 'ok' or the code. */
  async submit(keyFile: string, type: string, payload: unknown, ms = 30_000): Promise<string> {
    const tag = `t${nextTag++}`
    this.child.stdin!.write(`submit ${tag} ${keyFile} ${type} ${JSON.stringify(payload)}\n`)
    await this.until(() => this.done.has(tag), `submit ${type}`, ms)
    return this.done.get(tag)!
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    this.child.kill('SIGTERM')
    await this.exited
  }

  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    this.child.kill('SIGKILL')
    await this.exited
  }
}

let nextTag = 0

export interface OrchestratedNetwork {
  readonly local: LocalNetwork
  readonly adminKeyPath: string
  readonly nodes: OrchestratedProcess[]
  /** A fresh key file in the network folder (a device's or a container's key). */
  newKey(name: string): Promise<{ path: string; publicKey: string }>
  leader(): Promise<OrchestratedProcess>
  close(): Promise<void>
}

/**
 * Creates `count` nodes in `dir` with `config` (merged into each node's config.json), starts them and
 * waits for a leader.
 */
export async function startOrchestratedNetwork(dir: string, count: number, config: Record<string, unknown>): Promise<OrchestratedNetwork> {
  const local = await initLocalNetwork({ dir, nodes: count, basePort: await findFreePorts(count) })
  for (const n of local.nodes) {
    const path = dataPath(n.dir, 'config')
    const current = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>
    await writeFile(path, JSON.stringify({ ...current, ...config }, null, 2))
  }
  const nodes = local.nodes.map((n) => new OrchestratedProcess(n.name, n.dir, n.publicKey))
  for (const n of nodes) n.spawn()
  const network: OrchestratedNetwork = {
    local,
    adminKeyPath: local.adminKeyPath,
    nodes,
    async newKey(name) {
      const keys = generateKeyPair()
      const path = join(dir, `${name}.key`)
      await saveKeyFile(path, keys)
      return { path, publicKey: toHex(keys.publicKey) }
    },
    async leader() {
      const live = nodes.filter((n) => n.child.exitCode === null && n.child.signalCode === null)
      await Promise.race(live.map((n) => n.until(() => n.role === 'leader', 'a leader', 30_000)))
      return live.find((n) => n.role === 'leader')!
    },
    async close() {
      await Promise.all(nodes.map((n) => n.stop()))
    }
  }
  await network.leader()
  return network
}
