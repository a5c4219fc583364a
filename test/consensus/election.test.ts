/** Leader election and the persistent state behind it, mapped to §5.1-§5.2 of the Raft paper. */
import t from 'tap'
import { makeMessage } from '../../src/consensus/raft.js'
import { MemoryStorage, RaftInvariantError, RawNode, SeededRandom } from '../../src/consensus/index.js'
import { Cluster, electionTimeout } from './cluster.js'

t.test('a follower that hears nothing campaigns after a randomised timeout in [T, 2T)', async (t) => {
  const seen = new Set<number>()
  for (let seed = 1; seed <= 30; seed++) {
    const node = new RawNode({ id: 1, storage: new MemoryStorage({ voters: [1, 2, 3], learners: [] }), random: new SeededRandom(seed), electionTimeoutTicks: electionTimeout })
    let ticks = 0
    while (node.raft.role === 'follower') {
      node.tick()
      ticks++
    }
    t.ok(ticks >= electionTimeout && ticks < 2 * electionTimeout, `seed ${seed}: ${ticks} ticks`)
    seen.add(ticks)
  }
  t.ok(seen.size > 3, 'timeouts are spread, so split votes resolve')
  // Reference: §5.2
})

t.test('a candidate that wins a majority becomes leader and appends an empty entry of its term', async (t) => {
  const c = new Cluster(3)
  c.elect(1)
  t.equal(c.leader(), 1)
  t.equal(c.get(1).raft.term, 1)
  for (const id of [1, 2, 3]) {
    t.same(c.logOf(id), ['1/1 (empty)'])
    t.equal(c.get(id).raft.log.committed, 1, `node ${id} learned the commit`)
    t.equal(c.get(id).raft.lead, 1)
  }
  // Reference: §5.2, §8 (no-op at the start of the term)
})

t.test('each node grants at most one vote per term (Election Safety)', async (t) => {
  const c = new Cluster(3, { preVote: false })
  const n1 = c.get(1)
  n1.step(makeMessage({ type: 'vote', from: 2, to: 1, term: 1, index: 0, logTerm: 0 }))
  n1.step(makeMessage({ type: 'vote', from: 3, to: 1, term: 1, index: 0, logTerm: 0 }))
  n1.step(makeMessage({ type: 'vote', from: 2, to: 1, term: 1, index: 0, logTerm: 0 }))
  const rd = n1.ready()
  t.same(rd.messages.map((m) => `${m.to}:${m.reject ? 'reject' : 'grant'}`), ['2:grant', '3:reject', '2:grant'])
  t.same(rd.hardState, { term: 1, vote: 2, commit: 0 })
  // Reference: §5.2
})

t.test('the vote is persisted before the grant is sent, and survives a restart', async (t) => {
  const c = new Cluster(3, { preVote: false })
  c.get(1).step(makeMessage({ type: 'vote', from: 2, to: 1, term: 1, index: 0, logTerm: 0 }))
  const rd = c.get(1).ready()
  t.same(rd.hardState, { term: 1, vote: 2, commit: 0 }, 'the grant and the vote that must be persisted first are in one Ready')
  t.equal(rd.messages[0]?.type, 'voteResp')
  t.throws(() => c.get(1).ready(), RaftInvariantError, 'ready() twice without advance() is a bug')
  c.nodes.get(1)?.storage.setHardState(rd.hardState ?? { term: 0, vote: 0, commit: 0 })
  c.get(1).advance()
  c.crash(1)
  c.restart(1)
  c.get(1).step(makeMessage({ type: 'vote', from: 3, to: 1, term: 1, index: 0, logTerm: 0 }))
  t.equal(c.get(1).ready().messages[0]?.reject, true, 'no second vote in term 1 after the restart')
  // Reference: §5.2, Figure 2 (persistent state: currentTerm, votedFor)
})

t.test('a split vote elects nobody; a later timeout elects a leader in a higher term', async (t) => {
  const c = new Cluster(4, { preVote: false })
  c.campaign(1)
  c.campaign(2)
  c.processReady([1, 2])
  c.deliver([3]) // 3 hears 1 first
  c.deliver([4], (m) => m.from === 2) // 4 hears 2 first
  c.stabilize()
  t.equal(c.leader(), undefined, 'two votes each of four: no quorum')
  t.equal(c.get(1).raft.term, 1)
  c.tickElection(1)
  c.stabilize()
  t.equal(c.leader(), 1)
  t.equal(c.get(1).raft.term, 2)
  // Reference: §5.2
})

t.test('a candidate that hears from a leader of its term becomes its follower', async (t) => {
  const c = new Cluster(3, { preVote: false })
  c.campaign(2)
  c.processReady([2])
  c.deliver([3])
  c.processReady([3])
  c.deliver([2])
  t.equal(c.leader(), 2)
  c.campaign(1)
  c.processReady([1])
  c.drop((m) => m.from === 1)
  t.equal(c.get(1).raft.role, 'candidate')
  t.equal(c.get(1).raft.term, 1)
  c.processReady([2])
  c.deliver([1])
  t.equal(c.get(1).raft.role, 'follower')
  t.equal(c.get(1).raft.lead, 2)
  // Reference: §5.2
})

t.test('a stale leader steps down when it learns of a higher term', async (t) => {
  const c = new Cluster(3, { checkQuorum: false })
  c.elect(1)
  c.partition([1], [2, 3])
  c.tickElection(2)
  c.stabilize()
  t.equal(c.get(2).raft.role, 'leader')
  t.equal(c.get(1).raft.role, 'leader', 'the partitioned old leader does not know yet')
  c.heal()
  c.tick(1)
  c.stabilize()
  t.equal(c.get(1).raft.role, 'follower')
  t.equal(c.get(1).raft.term, 2)
  t.equal(c.leader(), 2)
  // Reference: §5.1
})

t.test('a candidate whose log is behind cannot win (election restriction)', async (t) => {
  const c = new Cluster(3, { preVote: false, checkQuorum: false })
  c.elect(1)
  c.partition([1, 2], [3])
  c.get(1).propose(new TextEncoder().encode('a'))
  c.stabilize()
  t.same(c.appliedData(1), ['a'])
  c.heal()
  c.campaign(3)
  c.stabilize()
  t.not(c.leader(), 3, 'nodes 1 and 2 refuse: their logs are more up to date')
  t.equal(c.get(3).raft.role, 'follower')
  c.tickElection(1)
  c.stabilize()
  t.equal(c.leader(), 1)
  t.same(c.appliedData(3), ['a'])
  // Reference: §5.4.1
})

t.test('RawNode drops local-only messages and messages for another node from the network', async (t) => {
  const c = new Cluster(3)
  c.get(1).step(makeMessage({ type: 'hup', from: 2, to: 1 }))
  t.equal(c.get(1).raft.role, 'follower', 'a hup from the network is ignored')
  c.get(1).step(makeMessage({ type: 'vote', from: 2, to: 3, term: 5 }))
  t.equal(c.get(1).raft.term, 0, 'a message for node 3 is ignored by node 1')
  // Reference: §5.1 (servers communicate with RPCs addressed to them)
})
