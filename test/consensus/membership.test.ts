/**
 * Membership changes one server at a time, driven by committed entries (§6 of the paper as
 * refined in chapter 4 of Ongaro's thesis), with non-voting learners (thesis §4.2.1).
 */
import t from 'tap'
import { ConfChangeRefusedError, ProposalDroppedError } from '../../src/consensus/index.js'
import { Cluster, electionTimeout, enc } from './cluster.js'

t.test('a leader refuses a membership change until an entry of its term is committed', async (t) => {
  const c = new Cluster(3)
  c.campaign(1)
  for (let round = 0; round < 5 && c.leader() !== 1; round++) {
    c.processReady([1])
    c.deliver([2, 3])
    c.processReady([2, 3])
    c.deliver([1])
  }
  t.equal(c.leader(), 1, 'leader now; its no-op is appended but not yet replicated')
  t.throws(() => c.get(1).proposeConfChange({ type: 'addLearner', nodeId: 4 }), ConfChangeRefusedError)
  c.stabilize()
  t.doesNotThrow(() => c.get(1).proposeConfChange({ type: 'addLearner', nodeId: 4 }))
  // Reference: §4.1 (thesis) and the fix for the single-server change bug (raft-dev, 2015)
})

t.test('one membership change at a time: a second is refused while the first is not applied', async (t) => {
  const c = new Cluster(3)
  c.elect(1)
  c.get(1).proposeConfChange({ type: 'addLearner', nodeId: 4 })
  t.throws(() => c.get(1).proposeConfChange({ type: 'addLearner', nodeId: 5 }), ConfChangeRefusedError)
  c.stabilize()
  t.doesNotThrow(() => c.get(1).proposeConfChange({ type: 'addLearner', nodeId: 5 }))
  // Reference: §4.1 (thesis)
})

t.test('invalid changes are refused', async (t) => {
  const c = new Cluster(1)
  c.elect(1)
  t.throws(() => c.get(1).proposeConfChange({ type: 'addVoter', nodeId: 1 }), ConfChangeRefusedError, 'already a voter')
  t.throws(() => c.get(1).proposeConfChange({ type: 'removeVoter', nodeId: 9 }), ConfChangeRefusedError, 'not a member')
  t.throws(() => c.get(1).proposeConfChange({ type: 'removeVoter', nodeId: 1 }), ConfChangeRefusedError, 'the last voter')
  t.throws(() => new Cluster(3).get(2).proposeConfChange({ type: 'addLearner', nodeId: 4 }), ProposalDroppedError, 'not the leader')
  // Reference: §4.1 (thesis)
})

t.test('a learner replicates and applies, but neither votes nor counts for the quorum', async (t) => {
  const c = new Cluster(4, { learners: [4] })
  c.elect(1)
  c.get(1).propose(enc('a'))
  c.stabilize()
  t.same(c.appliedData(4), ['a'], 'the learner applies committed entries')
  t.equal(c.queue.length, 0)
  c.partition([1, 4], [2, 3])
  c.get(1).propose(enc('b'))
  c.stabilize()
  t.equal(c.get(4).raft.log.lastIndex(), 3, 'the learner stores b')
  t.same(c.appliedData(1), ['a'], 'but leader plus learner is not a quorum of three voters')
  c.heal()
  for (let i = 0; i < 3; i++) c.tickElection(4)
  t.equal(c.get(4).raft.role, 'follower', 'a learner never campaigns')
  // Reference: §4.2.1 (thesis)
})

t.test('add a learner, let it catch up, then promote it to voter', async (t) => {
  const c = new Cluster(3)
  c.elect(1)
  for (const d of ['a', 'b', 'c']) c.get(1).propose(enc(d))
  c.stabilize()
  c.addNode(4) // starts from the genesis membership, not a member of it
  c.get(1).proposeConfChange({ type: 'addLearner', nodeId: 4 })
  c.stabilize()
  c.tick(1)
  c.stabilize()
  t.same(c.appliedData(4), ['a', 'b', 'c'])
  t.same(c.nodes.get(4)?.confState, { voters: [1, 2, 3], learners: [4] })
  c.get(1).proposeConfChange({ type: 'addVoter', nodeId: 4 })
  c.stabilize()
  for (const id of [1, 2, 3, 4]) t.same(c.nodes.get(id)?.confState, { voters: [1, 2, 3, 4], learners: [] }, `node ${id}`)
  // Now a quorum is 3 of 4: with 1 and 4 alone nothing commits.
  c.partition([1, 4], [2, 3])
  c.get(1).propose(enc('d'))
  c.stabilize()
  t.same(c.appliedData(1), ['a', 'b', 'c'])
  c.partition([1, 2, 4], [3])
  c.tick(1)
  c.stabilize()
  t.same(c.appliedData(4), ['a', 'b', 'c', 'd'])
  // Reference: §4.2.1 (thesis)
})

t.test('a learner that has not caught up is not promoted', async (t) => {
  const c = new Cluster(4, { learners: [4] })
  c.elect(1)
  c.partition([1, 2, 3], [4])
  c.get(1).propose(enc('a'))
  c.stabilize()
  t.throws(() => c.get(1).proposeConfChange({ type: 'addVoter', nodeId: 4 }), ConfChangeRefusedError)
  c.heal()
  c.tick(1)
  c.stabilize()
  t.doesNotThrow(() => c.get(1).proposeConfChange({ type: 'addVoter', nodeId: 4 }))
  // Reference: §4.2.1 (thesis)
})

t.test('removing the leader: it steps down once the removal commits, and the rest elect a new leader', async (t) => {
  const c = new Cluster(3)
  c.elect(1)
  c.get(1).proposeConfChange({ type: 'removeVoter', nodeId: 1 })
  c.stabilize()
  t.equal(c.get(1).raft.role, 'follower')
  t.same(c.nodes.get(2)?.confState, { voters: [2, 3], learners: [] })
  t.same(c.nodes.get(3)?.confState, { voters: [2, 3], learners: [] })
  c.tick(3, electionTimeout) // node 3's lease on the old leader runs out
  c.tickElection(2)
  c.stabilize()
  t.equal(c.get(2).raft.role, 'leader')
  c.get(2).propose(enc('after'))
  c.stabilize()
  t.same(c.appliedData(3), ['after'])
  t.throws(() => c.get(1).propose(enc('x')), ProposalDroppedError)
  // Reference: §4.2.2 (thesis)
})

t.test('a removed node cannot disrupt the cluster', async (t) => {
  const c = new Cluster(3)
  c.elect(1)
  c.get(1).proposeConfChange({ type: 'removeVoter', nodeId: 3 })
  c.stabilize()
  t.same(c.nodes.get(3)?.confState, { voters: [1, 2], learners: [] })
  for (let i = 0; i < 5; i++) {
    c.tickElection(3)
    c.stabilize()
  }
  t.equal(c.leader(), 1)
  t.equal(c.get(1).raft.term, 1, 'node 3 knows it was removed and never campaigns')
  // A removed node that missed its removal is held off by the leader lease and PreVote.
  const d = new Cluster(3)
  d.elect(1)
  d.partition([1, 2], [3])
  d.get(1).proposeConfChange({ type: 'removeVoter', nodeId: 3 })
  d.stabilize()
  d.heal()
  for (let i = 0; i < 5; i++) {
    d.tickElection(3)
    d.tick(1)
    d.stabilize()
  }
  t.equal(d.leader(), 1)
  t.equal(d.get(1).raft.term, 1)
  // Reference: §4.2.3 (thesis)
})

t.test('membership changes survive a restart: committed changes are re-applied from the log', async (t) => {
  const c = new Cluster(3)
  c.elect(1)
  c.get(1).proposeConfChange({ type: 'addLearner', nodeId: 4 })
  c.stabilize()
  c.crash(2)
  c.restart(2)
  t.same(c.get(2).raft.tracker.confState(), { voters: [1, 2, 3], learners: [] }, 'the storage snapshot is the genesis')
  c.tick(1)
  c.stabilize()
  t.same(c.nodes.get(2)?.confState, { voters: [1, 2, 3], learners: [4] }, 're-applied with the committed entries')
  // Reference: §4.1 (thesis)
})
