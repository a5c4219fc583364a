/** Running multi-process test networks: node processes, their output, and waiting on it without sleeps. */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { readFile, writeFile } from 'node:fs/promises'
import { dataPath } from '../../src/node/index.js'
import { OutputWaiters } from '../../src/bench/output-waiters.js'

const fixture = join(import.meta.dirname, '..', 'fixtures', 'cluster-node.mjs')

export { findFreePorts as freePorts } from '../../src/node/index.js'

export class NodeProcess {
  readonly child: ChildProcess
  readonly acks: string[] = []
  height = -1
  hash = ''
  raftId = 0
  role = 'follower'
  leader = 0
  /** Set when the process says its load workers are all done (after stop-load). */
  idle = false
  /** Membership changes seen, as 'voters|learners'. */
  readonly confs: string[] = []
  readonly done: string[] = []
  readonly reads: string[] = []
  stderr = ''
  readonly exited: Promise<{ code: number | null; signal: string | null }>
  readonly #waiters = new OutputWaiters()

  /** With `netns`, the process runs in that network namespace (`ip netns exec`, which execs node itself). */
  constructor(readonly name: string, dir: string, adminKeyPath: string, netns?: string) {
    const command = netns === undefined ? [process.execPath, fixture, dir, adminKeyPath] : ['ip', 'netns', 'exec', netns, process.execPath, fixture, dir, adminKeyPath]
    this.child = spawn(command[0]!, command.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] })
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()))
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })))
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const [word, a, b] = line.split(' ')
      if (word === 'ack') this.acks.push(a!)
      else if (word === 'height') {
        this.height = Number(a)
        this.hash = b!
      } else if (word === 'ready') {
        this.raftId = Number(a)
        this.height = Number(b)
      } else if (word === 'conf') {
        this.confs.push(`${a ?? ''}|${b ?? ''}`)
      } else if (word === 'read') {
        this.reads.push(`${a} ${b}`)
      } else if (word === 'done') {
        this.done.push(`${a} ${b}`)
      } else if (word === 'idle') {
        this.idle = true
      } else if (word === 'role') {
        this.role = a!
        this.leader = Number(b)
      }
      this.#waiters.notify()
    })
  }

  /** Resolves when `check` holds after some output line; rejects after `ms` (a failure guard). */
  until(check: () => boolean, what: string, ms = 30_000): Promise<void> {
    return this.#waiters.until(check, ms, () => new Error(`${this.name}: timed out waiting for ${what}; stderr: ${this.stderr.slice(-2000)}`))
  }

  command(line: string): void {
    if (line.startsWith('load ')) this.idle = false
    this.child.stdin!.write(line + '\n')
  }

  async stop(): Promise<void> {
    this.child.kill('SIGTERM')
    await this.exited
  }

  async kill(): Promise<void> {
    this.child.kill('SIGKILL')
    await this.exited
  }
}

/** Waits until any of `nodes` satisfies `check` (each node's output re-checks it). */
export function untilAny(nodes: NodeProcess[], check: () => boolean, what: string, ms = 30_000): Promise<void> {
  return Promise.race(nodes.map((n) => n.until(check, what, ms)))
}

/**
 * Config for tests of consensus alone: the leader never declares a node unreachable (a stopped or
 * partitioned node would otherwise add health txs while the test compares chains) and no
 * orchestrator runs. Merged into each node's config.json.
 */
export async function consensusOnly(dirs: readonly string[], extra: Record<string, unknown> = {}): Promise<void> {
  for (const dir of dirs) {
    const path = dataPath(dir, 'config')
    const config = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>
    await writeFile(path, JSON.stringify({ ...config, nodeUnreachableMs: 3_600_000, orchestrator: false, ...extra }))
  }
}
