/**
 * The node's metrics in the Prometheus text format, for the API's `/metrics`. Each TomNode owns one
 * prom-client Registry (never the process-wide default one: several nodes may share a process, in
 * tests or in `tom-node up`). Gauges of live values (Raft indexes, height, pending txs, peers) are
 * read from the node when scraped; counters and the latency histogram are fed by the node's events
 * and its submit path, so a scrape costs nothing while nobody asks.
 */
import { Counter, Gauge, Histogram, prometheusContentType, Registry } from 'prom-client'
import type { AppliedBlock } from '../ledger/index.js'
import type { Role } from '../consensus/index.js'

/** The Content-Type of what NodeMetrics.text() returns (Prometheus text exposition 0.0.4). */
export const metricsContentType: string = prometheusContentType

/** Every Raft role, so that a role gauge is 0 rather than absent for the roles a node is not in. */
const roles: readonly Role[] = ['follower', 'preCandidate', 'candidate', 'leader']

/**
 * Upper bounds (seconds) of the submit-to-commit latency buckets: a one-node commit takes a few
 * milliseconds, a loaded three-node network is held to p99 <= 300 ms, and a submit waiting out an
 * election can take seconds.
 */
const commitLatencyBucketsS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/** What the metrics read from the node at scrape time. */
export interface NodeMetricsSource {
  /** Raft: current term, commit index, last applied index, role, known leader (0: none). */
  raft(): { term: number; commit: number; applied: number; role: Role; leader: number }
  /** Height of the last applied block. */
  height(): number
  /** Txs admitted and not yet committed: in the mempool or in a proposed block. */
  pendingTxs(): number
  /** Other nodes with an open p2p connection now. */
  connectedPeers(): number
  /** Other nodes the ledger lists. */
  knownPeers(): Promise<number>
}

/** How an outcome the orchestrator submitted ended: committed, refused by the ledger, or not committed (retried later). */
export type OrchestratorOutcomeResult = 'committed' | 'refused' | 'failed'

export class NodeMetrics {
  readonly registry: Registry
  readonly #blocks: Counter
  readonly #txsCommitted: Counter<'outcome'>
  readonly #commitLatency: Histogram
  readonly #submits: Counter<'result'>
  readonly #roleChanges: Counter
  readonly #orchestratorOutcomes: Counter<'tx' | 'status' | 'result'>

  constructor(source: NodeMetricsSource) {
    const registry = new Registry()
    this.registry = registry
    const registers = [registry]

    new Gauge({
      name: 'tom_raft_term',
      help: 'Current Raft term.',
      registers,
      collect(this: Gauge) {
        this.set(source.raft().term)
      }
    })
    new Gauge({
      name: 'tom_raft_commit_index',
      help: 'Highest Raft log index known to be committed.',
      registers,
      collect(this: Gauge) {
        this.set(source.raft().commit)
      }
    })
    new Gauge({
      name: 'tom_raft_applied_index',
      help: 'Highest Raft log index applied to the ledger.',
      registers,
      collect(this: Gauge) {
        this.set(source.raft().applied)
      }
    })
    new Gauge({
      name: 'tom_raft_role',
      help: 'Raft role of this node: 1 for the role it is in, 0 for the others.',
      labelNames: ['role'] as const,
      registers,
      collect(this: Gauge<'role'>) {
        const now = source.raft().role
        for (const role of roles) this.set({ role }, role === now ? 1 : 0)
      }
    })
    new Gauge({
      name: 'tom_raft_leader_id',
      help: 'Raft id of the leader this node knows of (0: none).',
      registers,
      collect(this: Gauge) {
        this.set(source.raft().leader)
      }
    })
    new Gauge({
      name: 'tom_block_height',
      help: 'Height of the last block applied to the ledger.',
      registers,
      collect(this: Gauge) {
        this.set(source.height())
      }
    })
    new Gauge({
      name: 'tom_mempool_txs',
      help: 'Txs admitted and not yet committed (waiting for a block, or in a proposed block).',
      registers,
      collect(this: Gauge) {
        this.set(source.pendingTxs())
      }
    })
    new Gauge({
      name: 'tom_peers_connected',
      help: 'Other nodes with an open p2p connection.',
      registers,
      collect(this: Gauge) {
        this.set(source.connectedPeers())
      }
    })
    new Gauge({
      name: 'tom_peers_known',
      help: 'Other nodes the ledger lists.',
      registers,
      async collect(this: Gauge) {
        this.set(await source.knownPeers())
      }
    })
    this.#blocks = new Counter({ name: 'tom_blocks_applied_total', help: 'Blocks applied to the ledger since the node started.', registers })
    this.#txsCommitted = new Counter({
      name: 'tom_txs_committed_total',
      help: 'Txs in applied blocks since the node started, by receipt: ok, or failed (committed with a failed receipt).',
      labelNames: ['outcome'] as const,
      registers
    })
    this.#commitLatency = new Histogram({
      name: 'tom_tx_commit_latency_seconds',
      help: 'Time from a submit through this node to the commit of its tx.',
      buckets: commitLatencyBucketsS,
      registers
    })
    this.#submits = new Counter({
      name: 'tom_tx_submits_total',
      help: 'Txs submitted through this node, by result: committed, or rejected (refused at admission, no leader, node stopped).',
      labelNames: ['result'] as const,
      registers
    })
    this.#roleChanges = new Counter({ name: 'tom_raft_role_changes_total', help: 'Changes of Raft role or known leader since the node started.', registers })
    this.#orchestratorOutcomes = new Counter({
      name: 'tom_orchestrator_outcomes_total',
      help: 'Outcomes the orchestrator submitted (container.join, container.leave, container.status, action.report), by tx type, reported status and result.',
      labelNames: ['tx', 'status', 'result'] as const,
      registers
    })
    // Start the counters at 0, so that a rate() is defined before the first event.
    for (const outcome of ['ok', 'failed']) this.#txsCommitted.inc({ outcome }, 0)
    for (const result of ['committed', 'rejected']) this.#submits.inc({ result }, 0)
  }

  /** A block was applied: counts it and its txs by receipt. */
  blockApplied({ receipts }: AppliedBlock): void {
    this.#blocks.inc()
    let ok = 0
    for (const r of receipts) if (r.ok) ok++
    if (ok > 0) this.#txsCommitted.inc({ outcome: 'ok' }, ok)
    if (receipts.length > ok) this.#txsCommitted.inc({ outcome: 'failed' }, receipts.length - ok)
  }

  /** A tx submitted through this node committed after `seconds`. */
  submitCommitted(seconds: number): void {
    this.#submits.inc({ result: 'committed' })
    this.#commitLatency.observe(seconds)
  }

  /** A tx submitted through this node did not commit (refused, or its outcome unknown). */
  submitRejected(): void {
    this.#submits.inc({ result: 'rejected' })
  }

  roleChanged(): void {
    this.#roleChanges.inc()
  }

  /**
   * The orchestrator submitted an outcome tx of `type`; `status` is the payload's status where it has
   * one (action.report: done/failed/pending; container.status: stopped/restarted/missing).
   */
  orchestratorOutcome(type: string, status: string | undefined, result: OrchestratorOutcomeResult): void {
    this.#orchestratorOutcomes.inc({ tx: type, status: status ?? '', result })
  }

  /** The exposition text (metricsContentType). */
  text(): Promise<string> {
    return this.registry.metrics()
  }
}
