/**
 * The cluster benchmark: `tom-node up --nodes 3` as a real process on loopback (free ports), driven
 * through the nodes' HTTP APIs by this process as many concurrent clients (load-client.ts: a lean HTTP/1.1
 * client, as the bench shares the machine's cores with the nodes).
 * - readyMs: from spawning `tom-node up` (on an existing network folder, so key generation is not
 *   counted) to every node's API answering GET /v1/status with a leader known (leader != 0).
 * - txPerSec: closed loop, `clients` concurrent submitters, each POSTing a pre-signed data.add tx
 *   (CBOR, signed before the clock starts) with wait=true and sending the next on its commit; txs
 *   answered 200 (committed, receipt ok) within `measureMs`, after a `warmupMs` warm-up, per second.
 * - latencyMsP50/P99: open loop at txPerSec / 2: txs sent on a fixed schedule whatever the answers,
 *   latency from the scheduled send to the commit answer, so queueing behind a slow answer counts
 *   (no coordinated omission) and back-pressure cannot hide it. Txs scheduled in the first
 *   `latencyWarmupMs` are sent but not counted: what the full-load phase left to do (LevelDB's
 *   compactions above all) is not half load.
 * - rssMbIdle: the largest VmRSS of the three node processes after `idleMs` of no load once ready.
 *   rssMbLoaded: the largest VmHWM (the kernel's record of the peak resident set) after both load
 *   phases: a peak cannot slip between samples. Both from /proc/PID/status.
 * - benchCpuPercent / nodesCpuPercent: CPU used during the throughput window (100 = one core), as the
 *   bench shares the machine's cores with the nodes.
 * Submits go to the leader (found again if leadership moves): a follower forwards each tx to the leader
 * as one p2p request held open until the commit, and refuses beyond 64 such requests in flight per
 * peer, which a load of a thousand concurrent clients spread over the followers exceeds at once. The
 * forwarding path is measured by `target: 'all'`.
 * The nodes run with their default config except `apiRateLimit` (config.json), raised above the load:
 * every request comes from 127.0.0.1, and the default (100 requests/s per client address) would
 * otherwise refuse the bench itself. The limiter still runs on every request.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { Agent, request } from 'node:http'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { fromHex, loadKeyFile, Signer } from '../crypto/index.js'
import { signTx } from '../ledger/index.js'
import { apiPortOffset, dataPath, findFreePorts, initLocalNetwork } from '../node/index.js'
import type { LocalNetwork } from '../node/index.js'
import { LoadConnection, LoadPool } from './load-client.js'
import type { LoadResponse } from './load-client.js'
import { OutputWaiters } from './output-waiters.js'
import { percentile } from './percentile.js'
import { childProcesses, readProcCpuSeconds, readProcMemory } from './proc-stats.js'

const tomNodeBin = fileURLToPath(new URL('../../bin/tom-node.js', import.meta.url))

/** Where submits go: spread over all nodes (followers forward to the leader), or only to the leader. */
export type SubmitTarget = 'all' | 'leader'

export interface ClusterBenchOptions {
  /** Concurrent submitters in the throughput phase: two full blocks (blockTxMax 500) in flight. Default 1000. */
  readonly clients?: number
  readonly target?: SubmitTarget
  /** Default 30 s, as the issue asks (sustained). */
  readonly measureMs?: number
  /** Load before the throughput window opens. Default 5 s. */
  readonly warmupMs?: number
  /** The open-loop latency phase. Default 20 s. */
  readonly latencyMs?: number
  /** The open loop before the latency window opens: the full-load phase's backlog is not half load. Default 5 s. */
  readonly latencyWarmupMs?: number
  /** No load between ready and reading rssMbIdle. Default 5 s. */
  readonly idleMs?: number
  /** Where the network is created and kept (the nodes' logs are in DIR/nodeK/node.log). Default: a temporary folder, removed. */
  readonly dir?: string
  /** Txs signed for the throughput phase (warm-up and window); it fails when they run out. Default 70,000 (2000 tx/s). */
  readonly txs?: number
}

export interface ClusterBenchResult {
  readonly txPerSec: number
  readonly latencyMsP50: number
  readonly latencyMsP99: number
  readonly rssMbIdle: number
  readonly rssMbLoaded: number
  readonly readyMs: number
  /** Of readyMs, the part until every node's API listened (as `up` printed it); the rest is the election. */
  readonly apisMs: number
  readonly target: SubmitTarget
  readonly clients: number
  readonly latencyRateTxPerSec: number
  readonly latencySamples: number
  /** Per node, MiB: VmRSS when idle, VmHWM at the end. */
  readonly nodesRssMbIdle: number[]
  readonly nodesRssMbPeak: number[]
  readonly benchCpuPercent: number
  readonly nodesCpuPercent: number[]
  /** Answers other than 200, by status and code, over both phases: expected none. */
  readonly failures: Record<string, number>
  /** Raft elections during both phases (the highest term any node reports, after minus before): expected 0. */
  readonly elections: number
  /** Committed txs per block in the throughput window (the leader's height at its ends); null when a height could not be read. */
  readonly txsPerBlock: number | null
}

/** How often readiness is probed once a node's API listens: the resolution of readyMs. */
const readyProbeMs = 10
/** Bounds on waits that only guard against a hung cluster. */
const readyTimeoutMs = 60_000
const stopTimeoutMs = 30_000
/** The open-loop scheduler wakes this often and sends what is due. */
const scheduleTickMs = 1
/** How long a client waits after a refused submit before its next one. */
const failureBackoffMs = 100
/** Far above any rate the bench reaches, so the limiter never refuses it (it still runs). */
const benchRateLimit = { burst: 100_000, perSecond: 100_000 }
const submitPath = '/v1/txs?wait=true'

const mb = (n: number): number => Math.round(n * 10) / 10

/**
 * One POST /v1/txs?wait=true of pre-encoded CBOR: resolves with the status and, when not 200, the code
 * (status 0 and the socket error's code when the connection failed: counted, not thrown).
 */
async function submit(post: (path: string, contentType: string, body: Buffer) => Promise<LoadResponse>, body: Buffer): Promise<{ status: number; code?: string }> {
  const r = await post(submitPath, 'application/cbor', body)
  if (r.status === 0) return { status: 0, code: r.code ?? 'unknown' }
  if (r.status === 200) return { status: 200 }
  let code = 'unknown'
  try {
    code = (JSON.parse(r.body.toString('utf8')) as { code?: string }).code ?? code
  } catch {
    // Not our JSON error body: the status alone says enough.
  }
  return { status: r.status, code }
}

async function getJson(url: string, agent: Agent): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')))
        } catch (err) {
          reject(err as Error)
        }
      })
    })
    req.on('error', reject)
    req.end()
  })
}

/** Data-added txs signed by the network's admin, as CBOR ready to send. */
async function presign(net: LocalNetwork, from: number, count: number): Promise<Buffer[]> {
  const admin = new Signer(await loadKeyFile(net.adminKeyPath))
  const network = fromHex(net.network)
  const expiresAt = Date.now() + 60 * 60 * 1000
  const out: Buffer[] = []
  for (let i = from; i < from + count; i++) {
    const tx = signTx({ network, type: 'data.add', signer: admin.publicKey, nonce: i, expiresAt, payload: { id: `bench/${i}`, hash: randomBytes(32), size: 1024 } }, admin)
    out.push(Buffer.from(tx.bytes.buffer, tx.bytes.byteOffset, tx.bytes.byteLength))
  }
  return out
}

/** `tom-node up` as a child process, following what it prints. */
class UpProcess {
  readonly child: ChildProcess
  readonly apis = new Map<string, string>()
  readonly exited: Promise<void>
  stderr = ''
  /** Set when `up` says a node exited: nothing that waits for the cluster need wait out its deadline. */
  failed: string | undefined
  readonly #waiters = new OutputWaiters()

  constructor(dir: string) {
    this.child = spawn(process.execPath, [tomNodeBin, 'up', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] })
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()))
    this.child.stderr!.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-5000)
    })
    createInterface({ input: this.child.stderr! }).on('line', (line) => {
      if (/^node\d+ exited/.test(line)) this.failed ??= line
      this.#waiters.notify()
    })
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const api = /^(node\d+): API (http:\/\/\S+)$/.exec(line)
      if (api !== null) this.apis.set(api[1]!, api[2]!)
      this.#waiters.notify()
    })
  }

  async untilApis(count: number): Promise<void> {
    await this.#waiters.until(
      () => this.apis.size === count || this.failed !== undefined,
      readyTimeoutMs,
      () => new Error(`tom-node up: ${this.apis.size} of ${count} APIs within ${readyTimeoutMs} ms; stderr: ${this.stderr}`)
    )
    this.throwIfFailed()
  }

  throwIfFailed(): void {
    if (this.failed !== undefined) throw new Error(`tom-node up: ${this.failed}; stderr: ${this.stderr}`)
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    this.child.kill('SIGINT')
    const timer = setTimeout(() => this.child.kill('SIGKILL'), stopTimeoutMs)
    await this.exited
    clearTimeout(timer)
  }
}

/** The highest Raft term the nodes report (a node that does not answer is left out). */
async function highestTerm(apis: readonly string[], agent: Agent): Promise<number> {
  const all = await Promise.all(apis.map((api) => getJson(`${api}/v1/status`, agent).catch(() => undefined)))
  return Math.max(0, ...all.map((s) => (s as { raft?: { term?: number } } | undefined)?.raft?.term ?? 0))
}

/** Resolves once the node at `api` answers /v1/status with a leader; probes every readyProbeMs. */
async function untilLeaderKnown(up: UpProcess, api: string, agent: Agent, deadline: number): Promise<void> {
  for (;;) {
    up.throwIfFailed()
    const status = (await getJson(`${api}/v1/status`, agent).catch(() => undefined)) as { leader: number } | undefined
    if (status !== undefined && status.leader !== 0) return
    if (performance.now() > deadline) throw new Error(`${api}: no leader known within ${readyTimeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, readyProbeMs))
  }
}

export async function benchCluster(options: ClusterBenchOptions = {}): Promise<ClusterBenchResult> {
  const clients = options.clients ?? 1000
  const target = options.target ?? 'leader'
  const measureMs = options.measureMs ?? 30_000
  const warmupMs = options.warmupMs ?? 5_000
  const latencyMs = options.latencyMs ?? 20_000
  const latencyWarmupMs = options.latencyWarmupMs ?? 5_000
  const idleMs = options.idleMs ?? 5_000
  const root = options.dir ?? (await mkdtemp(join(tmpdir(), 'tom-bench-cluster-')))
  let up: UpProcess | undefined
  try {
    const dir = join(root, 'net')
    // Node K takes p2p port base + K - 1 and API port base + 100 + K - 1: the whole span is checked free.
    const net = await initLocalNetwork({ dir, nodes: 3, basePort: await findFreePorts(apiPortOffset + 3) })
    for (const n of net.nodes) {
      const path = dataPath(n.dir, 'config')
      const config = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>
      await writeFile(path, JSON.stringify({ ...config, apiRateLimit: benchRateLimit }, null, 2))
    }
    const txs = await presign(net, 0, options.txs ?? 70_000)

    // Ready: spawn to every API answering with a leader known.
    const startedAt = performance.now()
    up = new UpProcess(dir)
    await up.untilApis(net.nodes.length)
    const apisMs = Math.round(performance.now() - startedAt)
    const probe = new Agent({ keepAlive: true })
    await Promise.all(net.nodes.map((n) => untilLeaderKnown(up!, up!.apis.get(n.name)!, probe, startedAt + readyTimeoutMs)))
    const readyMs = Math.round(performance.now() - startedAt)
    probe.destroy()
    const children = await childProcesses(up.child.pid!)
    const pids = net.nodes.map((n) => {
      const child = children.find((c) => c.argv.includes(n.dir))
      if (child === undefined) throw new Error(`no process of ${n.name} under tom-node up`)
      return child.pid
    })

    await new Promise((resolve) => setTimeout(resolve, idleMs))
    const idle = await Promise.all(pids.map(readProcMemory))

    // Where each client sends: the node it was dealt, or the leader.
    const apis = net.nodes.map((n) => up!.apis.get(n.name)!)
    const urls = apis.map((api) => new URL(api))
    // For status reads only; txs go through the lean load client (load-client.ts).
    const agent = new Agent({ keepAlive: true })
    // Client k sends to node k mod 3, or to the leader, found again when a node says it no longer leads.
    let leader = -1
    const nodeOf = (k: number): number => (target === 'leader' ? leader : k % urls.length)
    let findingLeader: Promise<void> | undefined
    /** The node that says it leads in the highest term (a deposed leader may not know it yet). */
    const findLeader = (): Promise<void> =>
      (findingLeader ??= Promise.all(apis.map((api) => getJson(`${api}/v1/status`, agent).catch(() => undefined)))
        .then((all) => {
          let term = -1
          for (const [i, s] of (all as ({ role: string; raft: { term: number } } | undefined)[]).entries()) {
            if (s?.role === 'leader' && s.raft.term > term) [leader, term] = [i, s.raft.term]
          }
        })
        .finally(() => (findingLeader = undefined)))
    // Found again after the idle wait: leadership may have moved since the nodes were ready.
    await findLeader()
    if (target === 'leader' && leader < 0) throw new Error(`no node said it leads after ${idleMs} ms idle`)
    const failures: Record<string, number> = {}
    const termBefore = await highestTerm(apis, agent)
    /** Counts a refusal; the client backs off before its next tx, as a real client would, rather than spin. */
    const fail = async (r: { status: number; code?: string }): Promise<void> => {
      const key = `${r.status} ${r.code ?? ''}`.trim()
      failures[key] = (failures[key] ?? 0) + 1
      if (r.code === 'ERR_NOT_LEADER' || r.code === 'ERR_NO_LEADER') await findLeader()
      await new Promise((resolve) => setTimeout(resolve, failureBackoffMs))
    }

    // Throughput: closed loop.
    let next = 0
    let committed = 0
    const loadStarted = performance.now()
    const windowOpens = loadStarted + warmupMs
    const windowCloses = windowOpens + measureMs
    let cpuAtOpen: { bench: NodeJS.CpuUsage; nodes: number[] } | undefined
    // The chain's height as the leader has it when the window opens and closes: blocks made in it.
    const leaderHeight = (): Promise<number | undefined> =>
      getJson(`${apis[leader]}/v1/status`, agent).then((s) => (s as { head: { height: number } }).head.height, () => undefined)
    const heights: { open?: number; close?: number } = {}
    const openWindow = setTimeout(() => {
      void Promise.all(pids.map(readProcCpuSeconds)).then((nodes) => (cpuAtOpen = { bench: process.cpuUsage(), nodes }), () => {})
      void leaderHeight().then((h) => (heights.open = h))
    }, warmupMs)
    const closeWindow = setTimeout(() => void leaderHeight().then((h) => (heights.close = h)), warmupMs + measureMs)
    const client = async (k: number): Promise<void> => {
      // One connection per node this client sends to: the leader may move.
      const connections = urls.map((url) => new LoadConnection(url))
      while (performance.now() < windowCloses) {
        if (next >= txs.length) throw new Error(`the ${txs.length} pre-signed txs ran out: raise txs`)
        const connection = connections[nodeOf(k)]!
        const r = await submit((...a) => connection.post(...a), txs[next++]!)
        if (r.status !== 200) await fail(r)
        else {
          const now = performance.now()
          if (now >= windowOpens && now < windowCloses) committed++
        }
      }
      for (const c of connections) c.close()
    }
    await Promise.all(Array.from({ length: clients }, (_, k) => client(k)))
    clearTimeout(openWindow)
    clearTimeout(closeWindow)
    const blocks = heights.open === undefined || heights.close === undefined ? undefined : heights.close - heights.open
    const benchCpu = process.cpuUsage(cpuAtOpen?.bench)
    const nodesCpuAtClose = await Promise.all(pids.map(readProcCpuSeconds))
    const txPerSec = Math.round(committed / (measureMs / 1000))

    // Latency: open loop at half that rate, with txs signed before its clock starts.
    const rate = Math.max(1, Math.round(txPerSec / 2))
    const latencyTxs = await presign(net, txs.length, Math.ceil((rate * (latencyWarmupMs + latencyMs)) / 1000))
    // Fresh connections, FIFO: see LoadPool.
    const pools = urls.map((url) => new LoadPool(url))
    const latencies: number[] = []
    const inFlight: Promise<void>[] = []
    await new Promise<void>((resolve) => {
      const start = performance.now()
      const windowOpens = start + latencyWarmupMs
      let sent = 0
      const timer = setInterval(() => {
        const due = Math.min(latencyTxs.length, Math.floor(((performance.now() - start) * rate) / 1000))
        for (; sent < due; sent++) {
          const scheduled = start + (sent * 1000) / rate
          const n = nodeOf(sent)
          inFlight.push(
            submit((...a) => pools[n]!.post(...a), latencyTxs[sent]!).then(async (r) => {
              if (r.status !== 200) await fail(r)
              else if (scheduled >= windowOpens) latencies.push(performance.now() - scheduled)
            })
          )
        }
        if (sent >= latencyTxs.length) {
          clearInterval(timer)
          resolve()
        }
      }, scheduleTickMs)
    })
    await Promise.all(inFlight)
    latencies.sort((a, b) => a - b)
    const peak = await Promise.all(pids.map(readProcMemory))
    const elections = (await highestTerm(apis, agent)) - termBefore
    for (const p of pools) p.close()
    agent.destroy()

    const cpuSeconds = measureMs / 1000
    return {
      txPerSec,
      latencyMsP50: Math.round(percentile(latencies, 50)),
      latencyMsP99: Math.round(percentile(latencies, 99)),
      rssMbIdle: mb(Math.max(...idle.map((m) => m.rssMb))),
      rssMbLoaded: mb(Math.max(...peak.map((m) => m.hwmMb))),
      readyMs,
      apisMs,
      target,
      clients,
      latencyRateTxPerSec: rate,
      latencySamples: latencies.length,
      nodesRssMbIdle: idle.map((m) => mb(m.rssMb)),
      nodesRssMbPeak: peak.map((m) => mb(m.hwmMb)),
      benchCpuPercent: Math.round(((benchCpu.user + benchCpu.system) / 1e6 / cpuSeconds) * 100),
      nodesCpuPercent: nodesCpuAtClose.map((s, i) => Math.round(((s - (cpuAtOpen?.nodes[i] ?? 0)) / cpuSeconds) * 100)),
      failures,
      elections,
      txsPerBlock: blocks === undefined || blocks <= 0 ? null : Math.round(committed / blocks)
    }
  } finally {
    await up?.stop()
    if (options.dir === undefined) await rm(root, { recursive: true, force: true })
  }
}

