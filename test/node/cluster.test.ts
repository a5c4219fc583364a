/**
 * Three real node processes over libp2p on loopback. Under load, the leader is SIGKILLed: a new
 * leader is elected, no tx acknowledged as committed is lost, and after the killed node restarts it
 * catches up (past a compacted log, so by fetching blocks) until every chain is identical and verifies.
 */
import t from 'tap'
import { existsSync } from 'node:fs'
import { writeFile, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fromHex } from '../../src/crypto/index.js'
import { Ledger, LevelKvStore } from '../../src/ledger/index.js'
import { CoreContracts } from '../../src/contracts/index.js'
import { initLocalNetwork, verifyDataDir, dataPath } from '../../src/node/index.js'
import { consensusOnly, freePorts, NodeProcess, untilAny } from './cluster-harness.js'

const built = existsSync(join(import.meta.dirname, '..', '..', 'dist', 'index.js'))

t.test('leader SIGKILLed under load: no acknowledged tx lost; the restarted node catches up by block sync', { skip: built ? false : 'dist/ not built' }, async (t) => {
  const dir = t.testdir()
  const net = await initLocalNetwork({ dir, nodes: 3, basePort: await freePorts(3) })
  // Snapshot and compact the Raft log often, so that the node we kill falls behind the log.
  for (const n of net.nodes) {
    await consensusOnly([n.dir], { snapshotEveryEntries: 8, logEntriesKept: 2, blockTxMax: 50 })
  }
  const start = (i: number): NodeProcess => new NodeProcess(`node${i + 1}`, net.nodes[i]!.dir, net.adminKeyPath)
  const nodes = [0, 1, 2].map(start)
  t.teardown(async () => {
    for (const n of nodes) if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill('SIGKILL')
  })
  await untilAny(nodes, () => nodes.some((n) => n.role === 'leader'), 'a leader')
  const leader = nodes.find((n) => n.role === 'leader')!
  const followers = nodes.filter((n) => n !== leader)
  for (const n of nodes) n.command(`load ${n.name} 16`)
  const acked = (): number => nodes.reduce((sum, n) => sum + n.acks.length, 0)
  await untilAny(nodes, () => acked() >= 600, '600 acks before the kill')

  await leader.kill()
  const killedAt = acked()
  await untilAny(followers, () => followers.some((n) => n.role === 'leader'), 'a new leader')
  t.ok(followers.some((n) => n.role === 'leader'), 'a new leader was elected among the survivors')
  await untilAny(followers, () => acked() >= killedAt + 600, '600 more acks after the kill')
  for (const n of followers) n.command('stop-load')
  // Every tx in flight settles first (a retried one may still commit), then the chains must converge.
  await Promise.all(followers.map((n) => n.until(() => n.idle, 'its load to settle', 60_000)))

  const index = nodes.indexOf(leader)
  const restarted = start(index)
  nodes[index] = restarted
  await Promise.all(followers.map((n) => n.until(() => n.height === Math.max(...followers.map((f) => f.height)), 'the followers to agree')))
  const target = Math.max(...followers.map((f) => f.height))
  await restarted.until(() => restarted.height >= target, `the restarted node to reach height ${target}`, 60_000)
  t.ok(restarted.height >= target, `restarted node caught up to height ${restarted.height}`)
  t.match(restarted.stderr, /restoring from a snapshot: fetching blocks/, 'it caught up past the compacted log by fetching blocks')

  for (const n of nodes) await n.stop()
  const allAcks = [...leader.acks, ...followers.flatMap((n) => n.acks), ...restarted.acks]
  const heads: string[] = []
  for (const info of net.nodes) {
    const report = await verifyDataDir(info.dir)
    t.ok(report.ok, `${info.name}: chain verifies (${report.ok ? `height ${report.height}` : `${report.code} ${report.reason}`})`)
    if (report.ok) heads.push(`${report.height}:${report.hash}`)
    const ledger = await Ledger.open(new LevelKvStore(dataPath(info.dir, 'ledger')), new CoreContracts())
    let missing = 0
    for (const id of allAcks) if ((await ledger.getTx(fromHex(id)))?.receipt.ok !== true) missing++
    t.equal(missing, 0, `${info.name}: all ${allAcks.length} acknowledged txs are committed`)
    await ledger.close()
  }
  t.equal(new Set(heads).size, 1, `all chains identical: ${heads.join(', ')}`)
})
