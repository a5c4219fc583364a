/** The node's Prometheus metrics: what a scrape of a real one-node network shows, and one registry per node. */
import t from 'tap'
import type { Test } from 'tap'
import { join } from 'node:path'
import { loadKeyFile, Signer } from '../../src/crypto/index.js'
import { signTx } from '../../src/ledger/index.js'
import type { Tx } from '../../src/ledger/index.js'
import { initNetwork, metricsContentType, NodeMetrics, TomNode, dataPath, silentLogger } from '../../src/node/index.js'

async function freshNode(t: Test, name: string): Promise<{ node: TomNode; admin: Signer }> {
  const dir = join(t.testdir(), name)
  await initNetwork({ dir })
  const node = await TomNode.open({ dir, logger: silentLogger(), config: { orchestrator: false } })
  t.teardown(() => node.close())
  return { node, admin: new Signer(await loadKeyFile(dataPath(dir, 'adminKey'))) }
}

let nonce = 0
function dataAdd(node: TomNode, admin: Signer, id: string): Tx {
  return signTx(
    { network: node.network, type: 'data.add', signer: admin.publicKey, nonce: nonce++, expiresAt: Date.now() + 60_000, payload: { id, hash: new Uint8Array(32) } },
    admin
  )
}

interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

const metricName = '[a-zA-Z_:][a-zA-Z0-9_:]*'
const sampleLine = new RegExp(`^(${metricName})(?:\\{(.*)\\})? (\\S+)$`)
const labelPair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/y
const metricTypes = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped'])

/**
 * A strict reader of the Prometheus text exposition format (0.0.4): every line is a HELP, a TYPE
 * declared once before its samples, or a sample of a declared family whose labels and value parse.
 * prom-client has no parser of its own.
 */
function parseExposition(text: string): Sample[] {
  const types = new Map<string, string>()
  const samples: Sample[] = []
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline')
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue
    const comment = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line)
    if (comment !== null) {
      const [, kind, name, rest] = comment
      if (!new RegExp(`^${metricName}$`).test(name!)) throw new Error(`bad metric name: ${line}`)
      if (kind === 'TYPE') {
        if (types.has(name!)) throw new Error(`TYPE given twice: ${line}`)
        if (!metricTypes.has(rest!)) throw new Error(`unknown type: ${line}`)
        types.set(name!, rest!)
      }
      continue
    }
    if (line.startsWith('#')) throw new Error(`unexpected comment: ${line}`)
    const m = sampleLine.exec(line)
    if (m === null) throw new Error(`not a sample: ${line}`)
    const [, name, rawLabels, rawValue] = m
    const family = types.has(name!) ? name! : name!.replace(/_(bucket|sum|count)$/, '')
    if (!types.has(family)) throw new Error(`sample of an undeclared family: ${line}`)
    const labels: Record<string, string> = {}
    if (rawLabels !== undefined && rawLabels !== '') {
      labelPair.lastIndex = 0
      while (labelPair.lastIndex < rawLabels.length) {
        const pair = labelPair.exec(rawLabels)
        if (pair === null) throw new Error(`bad labels: ${line}`)
        labels[pair[1]!] = pair[2]!
      }
    }
    const value = rawValue === '+Inf' ? Infinity : rawValue === '-Inf' ? -Infinity : Number(rawValue)
    if (Number.isNaN(value) && rawValue !== 'NaN') throw new Error(`bad value: ${line}`)
    samples.push({ name: name!, labels, value })
  }
  return samples
}

/** The value of the one sample named `name` whose labels include `labels`. */
function valueOf(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
  if (found.length !== 1) throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`)
  return found[0]!.value
}

t.test('the exposition format parser refuses what is not exposition text', async (t) => {
  t.throws(() => parseExposition('tom_x 1\n'), /undeclared family/)
  t.throws(() => parseExposition('# TYPE tom_x gauge\ntom_x one\n'), /bad value/)
  t.throws(() => parseExposition('# TYPE tom_x gauge\ntom_x{a=1} 1\n'), /bad labels/)
  t.throws(() => parseExposition('# TYPE tom_x gauge\ntom_x 1'), /newline/)
  t.same(parseExposition('# HELP tom_x x\n# TYPE tom_x gauge\ntom_x{a="b\\"c",d=""} 2.5\n'), [{ name: 'tom_x', labels: { a: 'b\\"c', d: '' }, value: 2.5 }])
})

t.test('a scrape of a one-node network shows its Raft state, height, txs and latencies', async (t) => {
  const { node, admin } = await freshNode(t, 'node')
  node.start()
  const txs = Array.from({ length: 5 }, (_, i) => dataAdd(node, admin, `item/${i}`))
  for (const tx of txs) t.ok((await node.submitTx(tx)).receipt.ok)
  // A second data.add of an existing id is admitted but fails when applied: committed, failed receipt.
  const again = await node.submitTx(dataAdd(node, admin, 'item/0'))
  t.equal(again.receipt.ok, false, 'the duplicate commits with a failed receipt')
  await t.rejects(node.submitTx(txs[0]!), { code: 'ERR_TX_REPLAY' })

  t.match(metricsContentType, /^text\/plain; version=0\.0\.4/)
  const samples = parseExposition(await node.metrics())
  t.ok(samples.every((s) => s.name.startsWith('tom_')), 'every metric is the node\'s own (no process defaults)')
  t.equal(valueOf(samples, 'tom_block_height'), node.head.height)
  t.equal(valueOf(samples, 'tom_block_height'), 6, 'one block per tx submitted one at a time')
  t.equal(valueOf(samples, 'tom_blocks_applied_total'), 6)
  t.equal(valueOf(samples, 'tom_txs_committed_total', { outcome: 'ok' }), 5)
  t.equal(valueOf(samples, 'tom_txs_committed_total', { outcome: 'failed' }), 1)
  t.equal(valueOf(samples, 'tom_tx_submits_total', { result: 'committed' }), 6)
  t.equal(valueOf(samples, 'tom_tx_submits_total', { result: 'rejected' }), 1, 'the replay')
  t.equal(valueOf(samples, 'tom_tx_commit_latency_seconds_count'), 6)
  const sum = valueOf(samples, 'tom_tx_commit_latency_seconds_sum')
  t.ok(sum > 0 && sum < 60, `latency sum ${sum} s`)
  t.equal(valueOf(samples, 'tom_tx_commit_latency_seconds_bucket', { le: '+Inf' }), 6)
  const buckets = samples.filter((s) => s.name === 'tom_tx_commit_latency_seconds_bucket').map((s) => s.value)
  t.same(buckets, [...buckets].sort((a, b) => a - b), 'buckets are cumulative')

  const term = valueOf(samples, 'tom_raft_term')
  const commit = valueOf(samples, 'tom_raft_commit_index')
  const applied = valueOf(samples, 'tom_raft_applied_index')
  t.ok(term > 0, `term ${term}`)
  t.ok(commit >= 6, `commit index ${commit} covers the 6 blocks`)
  t.equal(applied, commit, 'a lone node has applied what it committed')
  t.equal(valueOf(samples, 'tom_raft_role', { role: 'leader' }), 1)
  t.equal(valueOf(samples, 'tom_raft_role', { role: 'follower' }), 0)
  t.equal(valueOf(samples, 'tom_raft_leader_id'), node.raftId)
  t.ok(valueOf(samples, 'tom_raft_role_changes_total') >= 1, 'becoming leader was counted')
  t.equal(valueOf(samples, 'tom_mempool_txs'), 0, 'nothing pending once all committed')
  t.equal(valueOf(samples, 'tom_peers_connected'), 0)
  t.equal(valueOf(samples, 'tom_peers_known'), 0, 'a lone node knows no other node')
})

t.test('live gauges are read at scrape time', async (t) => {
  let pending = 3
  const metrics = new NodeMetrics({
    raft: () => ({ term: 2, commit: 9, applied: 8, role: 'candidate', leader: 0 }),
    height: () => 4,
    pendingTxs: () => pending,
    connectedPeers: () => 1,
    knownPeers: async () => 2
  })
  t.equal(valueOf(parseExposition(await metrics.text()), 'tom_mempool_txs'), 3)
  pending = 7
  const samples = parseExposition(await metrics.text())
  t.equal(valueOf(samples, 'tom_mempool_txs'), 7, 'the new value, with no event in between')
  t.equal(valueOf(samples, 'tom_raft_applied_index'), 8)
  t.equal(valueOf(samples, 'tom_raft_role', { role: 'candidate' }), 1)
  t.equal(valueOf(samples, 'tom_peers_connected'), 1)
  t.equal(valueOf(samples, 'tom_peers_known'), 2, 'an async collect is awaited')
})

t.test('a node scraped under load shows its pending txs', async (t) => {
  const { node, admin } = await freshNode(t, 'node')
  node.start()
  let settled = false
  const waiting = Promise.all(Array.from({ length: 500 }, (_, i) => node.submitTx(dataAdd(node, admin, `burst/${i}`)))).finally(() => (settled = true))
  let most = 0
  while (!settled) {
    most = Math.max(most, valueOf(parseExposition(await node.metrics()), 'tom_mempool_txs'))
    // A scrape resolves in microtasks only: yield, or the node never gets to commit.
    await new Promise((resolve) => setImmediate(resolve))
  }
  await waiting
  t.ok(most > 0 && most <= 500, `a scrape saw ${most} pending txs`)
  t.equal(valueOf(parseExposition(await node.metrics()), 'tom_mempool_txs'), 0, 'none once all committed')
})

t.test('two nodes in one process keep separate registries', async (t) => {
  const a = await freshNode(t, 'a')
  const b = await freshNode(t, 'b')
  a.node.start()
  b.node.start()
  for (let i = 0; i < 3; i++) await a.node.submitTx(dataAdd(a.node, a.admin, `a/${i}`))
  await b.node.submitTx(dataAdd(b.node, b.admin, 'b/0'))
  const sa = parseExposition(await a.node.metrics())
  const sb = parseExposition(await b.node.metrics())
  t.equal(valueOf(sa, 'tom_txs_committed_total', { outcome: 'ok' }), 3)
  t.equal(valueOf(sb, 'tom_txs_committed_total', { outcome: 'ok' }), 1)
  t.equal(valueOf(sa, 'tom_block_height'), 3)
  t.equal(valueOf(sb, 'tom_block_height'), 1)
  t.equal(valueOf(sa, 'tom_tx_commit_latency_seconds_count'), 3)
  t.equal(valueOf(sb, 'tom_tx_commit_latency_seconds_count'), 1)
})

t.test('orchestrator outcomes are counted by tx type, status and result', async (t) => {
  const metrics = new NodeMetrics({
    raft: () => ({ term: 1, commit: 0, applied: 0, role: 'follower', leader: 0 }),
    height: () => 0,
    pendingTxs: () => 0,
    connectedPeers: () => 0,
    knownPeers: async () => 0
  })
  metrics.orchestratorOutcome('action.report', 'done', 'committed')
  metrics.orchestratorOutcome('action.report', 'done', 'committed')
  metrics.orchestratorOutcome('container.join', undefined, 'refused')
  metrics.orchestratorOutcome('action.report', 'failed', 'failed')
  const samples = parseExposition(await metrics.text())
  t.equal(valueOf(samples, 'tom_orchestrator_outcomes_total', { tx: 'action.report', status: 'done', result: 'committed' }), 2)
  t.equal(valueOf(samples, 'tom_orchestrator_outcomes_total', { tx: 'container.join', status: '', result: 'refused' }), 1)
  t.equal(valueOf(samples, 'tom_orchestrator_outcomes_total', { tx: 'action.report', status: 'failed', result: 'failed' }), 1)
  t.equal(valueOf(samples, 'tom_raft_role', { role: 'follower' }), 1)
  t.equal(valueOf(samples, 'tom_raft_role', { role: 'leader' }), 0)
})
