/**
 * Membership driven by the ledger, with real processes: a fourth node prepared with init --join waits,
 * is admitted by an admin's node.add, syncs, joins the Raft group as a learner, is promoted to voter,
 * takes txs (forwarded to the leader), and is removed again by node.remove.
 */
import t from 'tap'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { initJoiningNode, initLocalNetwork, verifyDataDir, dataPath } from '../../src/node/index.js'
import { consensusOnly, freePorts, NodeProcess, untilAny } from './cluster-harness.js'

const built = existsSync(join(import.meta.dirname, '..', '..', 'dist', 'index.js'))

t.test('a node joins as learner, is promoted to voter, and leaves', { skip: built ? false : 'dist/ not built' }, async (t) => {
  const dir = t.testdir()
  const base = await freePorts(4)
  const net = await initLocalNetwork({ dir, nodes: 3, basePort: base })
  await consensusOnly(net.nodes.map((n) => n.dir))
  const nodes = net.nodes.map((n) => new NodeProcess(n.name, n.dir, net.adminKeyPath))
  t.teardown(() => {
    for (const n of nodes) if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill('SIGKILL')
  })
  await untilAny(nodes, () => nodes.some((n) => n.role === 'leader'), 'a leader')
  const leader = nodes.find((n) => n.role === 'leader')!

  const joinDir = join(dir, 'node4')
  const addr = `/ip4/127.0.0.1/tcp/${base + 3}`
  const info = await initJoiningNode({ dir: joinDir, genesis: new Uint8Array(await readFile(dataPath(net.nodes[0]!.dir, 'genesis'))), nodeName: 'node4', listen: [addr] })
  await consensusOnly([joinDir])
  const joiner = new NodeProcess('node4', joinDir, net.adminKeyPath)
  nodes.push(joiner)

  leader.command(`add-node ${info.publicKey} node4 ${addr}`)
  await leader.until(() => leader.done.includes('add-node ok'), 'node.add to commit')
  await joiner.until(() => joiner.raftId === 4, 'the new node to be admitted and start')
  await leader.until(() => leader.confs.some((c) => c.split('|')[0]!.split(',').includes('4')), 'node 4 to become a voter')
  const learnerFirst = leader.confs.findIndex((c) => c.split('|')[1]!.split(',').includes('4'))
  const voterAt = leader.confs.findIndex((c) => c.split('|')[0]!.split(',').includes('4'))
  t.ok(learnerFirst >= 0 && learnerFirst < voterAt, `joined as a learner, then promoted (${leader.confs.join(' ; ')})`)

  joiner.command('load node4 4')
  await joiner.until(() => joiner.acks.length >= 50, '50 txs through the new node')
  joiner.command('stop-load')

  // A linearizable read on the new follower sees a tx the leader acknowledged an instant before.
  leader.command('load lead 1')
  await leader.until(() => leader.acks.length >= 1, 'a tx through the leader')
  leader.command('stop-load')
  await Promise.all([leader, joiner].map((n) => n.until(() => n.idle, 'its load to settle', 60_000)))
  joiner.command('read data/lead/0')
  await joiner.until(() => joiner.reads.length === 1, 'the read')
  t.same(joiner.reads, ['data/lead/0 present'], 'the follower read reflects the committed tx')

  leader.command(`remove-node ${info.publicKey}`)
  await leader.until(() => leader.done.includes('remove-node ok'), 'node.remove to commit')
  await leader.until(() => !leader.confs.at(-1)!.split('|').some((part) => part.split(',').includes('4')), 'node 4 to leave the Raft group')
  t.pass(`membership history on the leader: ${leader.confs.join(' ; ')}`)
  const left = await joiner.exited
  t.equal(left.code, 3, 'the removed node stopped by itself')
  t.match(joiner.stderr, /removed from the network/)

  // A leader stopped gracefully hands leadership over instead of leaving the others to time out.
  await leader.stop()
  const rest = nodes.filter((n) => n !== leader && n !== joiner)
  await untilAny(rest, () => rest.some((n) => n.role === 'leader'), 'a leader after the graceful stop')
  t.match(leader.stderr, /leadership handed over/, 'the stopping leader handed over')
  for (const n of nodes) await n.stop()
  const heads = new Set<string>()
  for (const n of net.nodes) {
    const report = await verifyDataDir(n.dir)
    t.ok(report.ok, `${n.name} verifies`)
    if (report.ok) heads.add(report.hash)
  }
  t.equal(heads.size, 1, 'the three remaining nodes hold the same chain')
  t.ok((await verifyDataDir(joinDir)).ok, 'the departed node’s chain verifies too')
})
