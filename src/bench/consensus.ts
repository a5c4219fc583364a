/**
 * The consensus benchmark: 3 processes over real libp2p (TCP, Noise, Yamux) on loopback, each with a
 * synced LevelDB Raft log, replicating 256-byte entries.
 * - entriesPerSec: entries committed per second while the leader proposes for loadMs.
 * - commitLatencyMsP50/P99: propose to applied on the leader, per batch of 64 entries.
 * - electionMs: leader SIGKILLed to a new leader elected (median of `elections` rounds; the killed
 *   process is restarted between rounds), with the default timeouts (50 ms ticks, 10-tick elections).
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import { generateKeyPair, peerIdOf, toHex } from '../crypto/index.js'
import { findFreePorts } from '../node/index.js'

const nodeScript = fileURLToPath(new URL('./raft-bench-node.js', import.meta.url))

interface BenchEvent {
  event: string
  role?: string
  leader?: number
  t?: number
  committed?: number
  ms?: number
  latencies?: { p50: number; p99: number }
}

class BenchProcess {
  child!: ChildProcess
  role = 'follower'
  leader = 0
  #listeners: ((e: BenchEvent) => void)[] = []

  constructor(
    readonly id: number,
    readonly args: string[]
  ) {
    this.spawn()
  }

  spawn(): void {
    this.role = 'follower'
    this.leader = 0
    this.child = spawn(process.execPath, [nodeScript, ...this.args], { stdio: ['pipe', 'pipe', 'inherit'] })
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const e = JSON.parse(line) as BenchEvent
      if (e.event === 'role') {
        this.role = e.role!
        this.leader = e.leader!
      }
      for (const l of this.#listeners) l(e)
    })
  }

  next(match: (e: BenchEvent) => boolean, ms = 30_000): Promise<BenchEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`bench node ${this.id}: no matching event in ${ms} ms`)), ms)
      const listener = (e: BenchEvent): void => {
        if (!match(e)) return
        clearTimeout(timer)
        this.#listeners = this.#listeners.filter((l) => l !== listener)
        resolve(e)
      }
      this.#listeners.push(listener)
    })
  }

  kill(signal: NodeJS.Signals): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return resolve()
      this.child.once('exit', () => resolve())
      this.child.kill(signal)
    })
  }
}

async function electedLeader(nodes: BenchProcess[], except?: BenchProcess): Promise<{ node: BenchProcess; t: number }> {
  const current = nodes.find((n) => n !== except && n.role === 'leader')
  if (current !== undefined) return { node: current, t: Date.now() }
  return Promise.race(
    nodes.filter((n) => n !== except).map((n) => n.next((e) => e.event === 'role' && e.role === 'leader').then((e) => ({ node: n, t: e.t! })))
  )
}

export interface ConsensusBenchResult {
  readonly entryBytes: 256
  readonly entriesPerSec: number
  readonly commitLatencyMsP50: number
  readonly commitLatencyMsP99: number
  readonly electionMs: number
  readonly electionsMs: number[]
}

export async function benchConsensus(options: { loadMs?: number; elections?: number } = {}): Promise<ConsensusBenchResult> {
  const root = await mkdtemp(join(tmpdir(), 'tom-bench-raft-'))
  const base = await findFreePorts(3)
  const peers = [1, 2, 3].map((id) => {
    const keys = generateKeyPair()
    return { id, seed: toHex(keys.privateKey), peerId: peerIdOf(keys.publicKey), addr: `/ip4/127.0.0.1/tcp/${base + id - 1}` }
  })
  const peerList = JSON.stringify(peers.map(({ id, peerId, addr }) => ({ id, peerId, addr })))
  const nodes = peers.map((p) => new BenchProcess(p.id, [join(root, `n${p.id}`), String(p.id), p.seed, peerList]))
  try {
    let { node: leader } = await electedLeader(nodes)
    leader.child.stdin!.write(`load ${options.loadMs ?? 10_000}\n`)
    const load = await leader.next((e) => e.event === 'load', (options.loadMs ?? 10_000) + 30_000)
    const electionsMs: number[] = []
    for (let round = 0; round < (options.elections ?? 5); round++) {
      // Wait until every node follows the current leader, so that each round starts from a stable group.
      await Promise.all(nodes.filter((n) => n !== leader && n.leader !== leader.id).map((n) => n.next((e) => e.event === 'role' && e.leader === leader.id)))
      const killedAt = Date.now()
      await leader.kill('SIGKILL')
      const next = await electedLeader(nodes, leader)
      electionsMs.push(next.t - killedAt)
      leader.spawn()
      leader = next.node
    }
    electionsMs.sort((a, b) => a - b)
    return {
      entryBytes: 256,
      entriesPerSec: Math.round(load.committed! / (load.ms! / 1000)),
      commitLatencyMsP50: load.latencies!.p50,
      commitLatencyMsP99: load.latencies!.p99,
      electionMs: electionsMs[Math.floor(electionsMs.length / 2)]!,
      electionsMs
    }
  } finally {
    await Promise.all(nodes.map((n) => n.kill('SIGKILL')))
    await rm(root, { recursive: true, force: true })
  }
}
