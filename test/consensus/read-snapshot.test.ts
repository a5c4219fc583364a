/**
 * Linearizable reads with ReadIndex (thesis §6.4) and log compaction with snapshot install
 * (§7 of the paper).
 */
import t from 'tap'
import { ReadIndexDroppedError } from '../../src/consensus/index.js'
import { Cluster, electionTimeout, enc } from './cluster.js'

function readStates(c: Cluster, id: number): Array<{ index: number; ctx: string }> {
  const out: Array<{ index: number; ctx: string }> = []
  const node = c.get(id)
  // Collect from the Readies the cluster processes for this node.
  const raft = node.raft
  for (const rs of raft.readStates) out.push({ index: rs.index, ctx: new TextDecoder().decode(rs.requestContext) })
  return out
}

/** Runs the cluster while capturing the read states handed to `id`. */
function stabilizeCollecting(c: Cluster, id: number): Array<{ index: number; ctx: string }> {
  const got: Array<{ index: number; ctx: string }> = []
  for (let round = 0; round < 1000; round++) {
    got.push(...readStates(c, id))
    const moved = c.processReady()
    if (c.deliver() === 0 && !moved) break
  }
  return got
}

t.test('ReadIndex on the leader: answered with the commit index after a quorum acknowledges a heartbeat', async (t) => {
  const c = new Cluster(3)
  c.elect(1)
  c.get(1).propose(enc('a'))
  c.stabilize()
  c.get(1).readIndex(enc('r1'))
  t.same(c.get(1).raft.readStates, [], 'not answered before the heartbeat round')
  c.processReady([1])
  t.same(c.queue.map((m) => m.type), ['heartbeat', 'heartbeat'])
  t.same(stabilizeCollecting(c, 1), [{ index: 2, ctx: 'r1' }])
  // Reference: §6.4 (thesis)
})

t.test('ReadIndex on a follower is forwarded to the leader and answered with its commit index', async (t) => {
  const c = new Cluster(3)
  c.elect(1)
  c.get(1).propose(enc('a'))
  c.stabilize()
  c.get(3).readIndex(enc('f1'))
  t.same(stabilizeCollecting(c, 3), [{ index: 2, ctx: 'f1' }])
  t.throws(() => new Cluster(3).get(1).readIndex(enc('x')), ReadIndexDroppedError, 'no leader known')
  // Reference: §6.4 (thesis)
})

t.test('a deposed leader cut off from the quorum never answers a read', async (t) => {
  const c = new Cluster(3, { checkQuorum: false })
  c.elect(1)
  c.partition([1], [2, 3])
  c.get(1).readIndex(enc('stale'))
  const got = stabilizeCollecting(c, 1)
  c.tick(1, 3)
  t.same([...got, ...stabilizeCollecting(c, 1)], [])
  // Reference: §6.4 (thesis), §8
})

t.test('a new leader answers reads only once an entry of its term is committed', async (t) => {
  const c = new Cluster(3)
  c.campaign(1)
  for (let round = 0; round < 5 && c.leader() !== 1; round++) {
    c.processReady([1])
    c.deliver([2, 3])
    c.processReady([2, 3])
    c.deliver([1])
  }
  t.equal(c.leader(), 1)
  c.get(1).readIndex(enc('early'))
  c.processReady([1])
  t.equal(c.queue.filter((m) => m.type === 'heartbeat').length, 0, 'the read waits: the commit index is not known yet')
  t.same(stabilizeCollecting(c, 1), [{ index: 1, ctx: 'early' }], 'answered with the commit index that includes the no-op')
  // Reference: §6.4 (thesis)
})

t.test('a single-voter leader answers a read at once', async (t) => {
  const c = new Cluster(1)
  c.elect(1)
  c.get(1).readIndex(enc('solo'))
  t.same(c.get(1).raft.readStates.map((r) => r.index), [1])
  // Reference: §6.4 (thesis)
})

t.test('a follower behind the compacted log is sent the snapshot, installs it and catches up', async (t) => {
  const c = new Cluster(3)
  c.elect(1)
  c.crash(3)
  for (const d of ['a', 'b', 'c', 'd']) c.get(1).propose(enc(d))
  c.stabilize()
  c.compact(1, 4) // the application snapshots at applied index 5, the log keeps index 5 on
  t.equal(c.nodes.get(1)?.storage.firstIndex(), 5)
  c.get(1).propose(enc('e'))
  c.stabilize()
  c.restart(3)
  c.verbose = true
  c.tick(1)
  c.stabilize()
  t.ok(c.out.some((l) => l.includes('1->3 snap term:1 snapshot:1/5')), 'the leader sent its snapshot')
  t.equal(c.nodes.get(3)?.storage.snapshot().metadata.index, 5)
  t.same(new TextDecoder().decode(c.nodes.get(3)?.storage.snapshot().data), 'snap@5')
  t.same(c.appliedData(3), ['e'], 'entries after the snapshot are applied from the log')
  t.same(c.logOf(3), c.logOf(1).filter((e) => Number(e.split('/')[1]?.split(' ')[0]) >= 6))
  t.equal(c.get(1).status().progress['3']?.state, 'replicate')
  // Reference: §7
})

t.test('a lost snapshot is retried after the transport reports the failure', async (t) => {
  const c = new Cluster(3)
  c.elect(1)
  c.crash(3)
  for (const d of ['a', 'b']) c.get(1).propose(enc(d))
  c.stabilize()
  c.compact(1, 3)
  c.restart(3)
  let lost = false
  for (let i = 0; i < 5; i++) {
    c.tick(1)
    for (let round = 0; round < 100; round++) {
      const moved = c.processReady()
      const snap = c.queue.find((m) => m.type === 'snap')
      if (snap !== undefined && !lost) {
        lost = true
        t.equal(c.get(1).status().progress['3']?.state, 'snapshot', 'nothing else is sent while a snapshot is out')
        c.drop((m) => m === snap)
        c.get(1).reportSnapshot(3, false)
        t.equal(c.get(1).status().progress['3']?.state, 'probe', 'the failure puts the peer back to probing')
      }
      if (c.deliver() === 0 && !moved) break
    }
  }
  t.ok(lost)
  t.equal(c.nodes.get(3)?.storage.snapshot().metadata.index, 3)
  t.equal(c.get(3).raft.log.committed, c.get(1).raft.log.committed)
  // Reference: §7
})

t.test('a restarted node resumes from its snapshot and re-applies only later committed entries', async (t) => {
  const c = new Cluster(3)
  c.elect(1)
  for (const d of ['a', 'b', 'c']) c.get(1).propose(enc(d))
  c.stabilize()
  c.compact(2, 3)
  c.crash(2)
  c.restart(2)
  t.equal(c.get(2).raft.log.applied, 4, 'applied starts at the snapshot')
  c.tick(1, electionTimeout)
  c.stabilize()
  t.same(c.nodes.get(2)?.applied.map((e) => e.index), [], 'nothing after the snapshot was committed')
  c.get(1).propose(enc('d'))
  c.stabilize()
  t.same(c.appliedData(2), ['d'])
  // Reference: §7
})
