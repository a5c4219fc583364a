/**
 * PreVote, CheckQuorum and the leader lease (§9.6 of the paper; §4.2.3 and §6.2 of Ongaro's
 * thesis), leadership transfer (thesis §3.10) and flow control (thesis §10.2).
 */
import t from 'tap'
import { ProposalDroppedError } from '../../src/consensus/index.js'
import { Cluster, electionTimeout, enc } from './cluster.js'

t.test('PreVote: a partitioned node does not raise its term, and does not disrupt the leader on return', async (t) => {
  const c = new Cluster(3)
  c.elect(1)
  c.partition([1, 2], [3])
  for (let i = 0; i < 5; i++) {
    c.tickElection(3)
    c.stabilize()
  }
  t.equal(c.get(3).raft.term, 1, 'pre-elections that cannot win leave the term alone')
  c.heal()
  c.tick(1)
  c.stabilize()
  t.equal(c.leader(), 1)
  t.equal(c.get(1).raft.term, 1)
  // Reference: §9.6
})

t.test('without PreVote the same partition bumps terms and deposes the leader on return', async (t) => {
  const c = new Cluster(3, { preVote: false, checkQuorum: false })
  c.elect(1)
  c.partition([1, 2], [3])
  for (let i = 0; i < 5; i++) {
    c.tickElection(3)
    c.stabilize()
  }
  t.equal(c.get(3).raft.term, 6)
  c.heal()
  c.tickElection(3)
  c.stabilize()
  t.ok(c.get(1).raft.term >= 7, 'the rejoining node forced the leader out of its term')
  // Reference: §9.6
})

t.test('PreVote: a pre-candidate with a stale log gets no pre-votes', async (t) => {
  const c = new Cluster(3, { checkQuorum: false })
  c.elect(1)
  c.partition([1, 2], [3])
  c.get(1).propose(enc('a'))
  c.stabilize()
  c.heal()
  c.crash(1)
  c.campaign(3)
  c.stabilize([2, 3])
  t.not(c.get(3).raft.role, 'leader')
  t.equal(c.get(3).raft.term, 1)
  c.campaign(2)
  c.stabilize([2, 3])
  t.equal(c.get(2).raft.role, 'leader')
  // Reference: §9.6, §5.4.1
})

t.test('CheckQuorum: a leader that cannot reach a quorum steps down after an election timeout', async (t) => {
  const c = new Cluster(3)
  c.elect(1)
  c.partition([1], [2, 3])
  c.tick(1, electionTimeout)
  c.stabilize()
  t.equal(c.get(1).raft.role, 'leader', 'the first check sees the activity of the last round')
  c.tick(1, electionTimeout)
  c.stabilize()
  t.equal(c.get(1).raft.role, 'follower')
  t.throws(() => c.get(1).propose(enc('x')), ProposalDroppedError, 'so clients learn to go elsewhere')
  // Reference: §6.2 (thesis), §9.6
})

t.test('leader lease: a follower that hears from a live leader ignores vote requests', async (t) => {
  const c = new Cluster(3, { preVote: false })
  c.elect(1)
  c.campaign(3) // forced, as a removed or partitioned node would
  c.processReady([3])
  c.deliver([1, 2])
  c.processReady([1, 2])
  t.equal(c.get(2).raft.term, 1, 'node 2 ignored the term-2 vote request')
  t.equal(c.get(1).raft.role, 'leader')
  t.equal(c.queue.filter((m) => m.type === 'voteResp').length, 0)
  // Reference: §4.2.3 (thesis), §9.6
})

t.test('a stale leader that does not know it is deposed learns the term from the response to its append', async (t) => {
  const c = new Cluster(3)
  c.elect(1)
  c.partition([1], [2, 3])
  c.tick(3, electionTimeout) // node 3's lease on leader 1 expires, so it grants pre-votes
  c.tickElection(2)
  c.stabilize()
  t.equal(c.get(2).raft.role, 'leader')
  c.heal()
  c.tick(1)
  c.stabilize()
  t.equal(c.get(1).raft.role, 'follower', 'with PreVote/CheckQuorum the follower answers a stale heartbeat with its term')
  // Reference: §5.1, §9.6
})

t.test('leadership transfer: the leader brings the target up to date, then tells it to campaign now', async (t) => {
  const c = new Cluster(3)
  c.elect(1)
  c.partition([1, 2], [3])
  c.get(1).propose(enc('a'))
  c.stabilize()
  c.heal()
  c.get(1).transferLeader(3)
  t.throws(() => c.get(1).propose(enc('b')), ProposalDroppedError, 'no proposals while transferring')
  c.stabilize()
  t.equal(c.leader(), 3)
  t.equal(c.get(3).raft.term, 2)
  t.same(c.appliedData(3), ['a'])
  // Reference: §3.10 (thesis)
})

t.test('leadership transfer through a follower, and to an unreachable node aborts after an election timeout', async (t) => {
  const c = new Cluster(3)
  c.elect(1)
  c.get(2).transferLeader(2)
  c.stabilize()
  t.equal(c.leader(), 2, 'the follower forwarded the request to the leader')
  c.crash(3)
  c.get(2).transferLeader(3)
  c.stabilize()
  t.equal(c.get(2).raft.leadTransferee, 3)
  c.tick(2, electionTimeout)
  c.stabilize()
  t.equal(c.get(2).raft.leadTransferee, 0, 'aborted')
  t.equal(c.leader(), 2)
  c.get(2).propose(enc('after'))
  c.stabilize()
  t.same(c.appliedData(1), ['after'])
  // Reference: §3.10 (thesis)
})

t.test('flow control: at most appendInflightMax appends in flight per peer, each within appendBytesMax', async (t) => {
  const c = new Cluster(2, { appendInflightMax: 3, appendBytesMax: 60 })
  c.elect(1)
  c.get(1).proposeBatch(Array.from({ length: 20 }, (_, i) => enc(`entry-${String(i).padStart(2, '0')}`)))
  c.processReady([1])
  const apps = c.queue.filter((m) => m.type === 'app' && m.to === 2)
  t.equal(apps.length, 3, 'three appends pipelined, then the window is full')
  for (const m of apps) t.equal(m.entries.length, 1, 'a 32-byte entry and its overhead leave room for one only')
  t.same(apps.map((m) => m.index), [1, 2, 3], 'optimistic next index: each starts where the last ended')
  c.stabilize()
  t.equal(c.appliedData(2).length, 20, 'acknowledgements reopen the window')
  // Reference: §10.2.1 (thesis; pipelining and batching)
})

t.test('an entry larger than appendBytesMax is still sent, alone', async (t) => {
  const c = new Cluster(2, { appendBytesMax: 10 })
  c.elect(1)
  c.get(1).propose(new Uint8Array(100))
  c.stabilize()
  t.equal(c.nodes.get(2)?.applied.length, 2)
  // Reference: §10.2.1 (thesis)
})
