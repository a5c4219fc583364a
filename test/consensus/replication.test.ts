/** Log replication and the safety argument, mapped to §5.3-§5.5 of the Raft paper (Figures 7 and 8). */
import t from 'tap'
import { makeMessage } from '../../src/consensus/raft.js'
import { MemoryStorage, RawNode, SeededRandom, type Entry } from '../../src/consensus/index.js'
import { Cluster, enc } from './cluster.js'

t.test('the leader commits an entry once a majority stores it, and every node applies it', async (t) => {
  const c = new Cluster(5)
  c.elect(1)
  c.partition([1, 2, 3], [4, 5])
  c.get(1).propose(enc('a'))
  c.stabilize()
  for (const id of [1, 2, 3]) t.same(c.appliedData(id), ['a'], `node ${id} applied`)
  for (const id of [4, 5]) t.same(c.appliedData(id), [], `node ${id} is cut off`)
  c.heal()
  c.tick(1)
  c.stabilize()
  for (const id of [4, 5]) t.same(c.appliedData(id), ['a'], `node ${id} caught up`)
  // Reference: §5.3
})

t.test('without a majority nothing commits', async (t) => {
  const c = new Cluster(5)
  c.elect(1)
  c.partition([1, 2], [3, 4, 5])
  c.get(1).propose(enc('a'))
  c.stabilize()
  t.equal(c.get(1).raft.log.committed, 1, 'only the no-op of term 1 is committed')
  t.same(c.appliedData(1), [])
  // Reference: §5.3
})

function follower(entries: Array<[number, number]>): RawNode {
  const storage = new MemoryStorage({ voters: [1, 2, 3], learners: [] })
  const es: Entry[] = entries.map(([term, index]) => ({ term, index, type: 'normal', data: enc(`${term}/${index}`) }))
  storage.append(es)
  storage.setHardState({ term: entries[entries.length - 1]?.[0] ?? 0, vote: 0, commit: 0 })
  return new RawNode({ id: 2, storage, random: new SeededRandom(2) })
}

t.test('the consistency check rejects an append whose previous entry does not match, with a hint', async (t) => {
  // Follower log: 1/1 1/2 2/3 2/4 2/5. The leader of term 4 believes index 6 follows 3/6.
  const n = follower([[1, 1], [1, 2], [2, 3], [2, 4], [2, 5]])
  n.step(makeMessage({ type: 'app', from: 1, to: 2, term: 4, index: 6, logTerm: 3, entries: [{ term: 4, index: 7, type: 'normal', data: enc('x') }] }))
  const resp = n.ready().messages[0]
  t.equal(resp?.type, 'appResp')
  t.equal(resp?.reject, true)
  t.equal(resp?.rejectHint, 5, 'our last index')
  t.equal(resp?.logTerm, 2, 'and its term, so the leader can skip term 2 in one step')
  t.equal(n.raft.log.lastIndex(), 5, 'nothing appended')
  // Reference: §5.3
})

t.test('a follower truncates a conflicting suffix and takes the leader entries (Figure 7)', async (t) => {
  const n = follower([[1, 1], [1, 2], [2, 3], [2, 4], [2, 5]])
  const e = (term: number, index: number): Entry => ({ term, index, type: 'normal', data: enc(`L${term}/${index}`) })
  n.step(makeMessage({ type: 'app', from: 1, to: 2, term: 3, index: 2, logTerm: 1, entries: [e(3, 3), e(3, 4)], commit: 3 }))
  const rd = n.ready()
  t.same(rd.entries.map((x) => `${x.term}/${x.index}`), ['3/3', '3/4'])
  t.equal(rd.messages[0]?.index, 4)
  t.equal(rd.hardState?.commit, 3)
  t.same(n.raft.log.allEntries().map((x) => `${x.term}/${x.index}`), ['1/1', '1/2', '3/3', '3/4'])
  // Reference: §5.3, Figure 7
})

t.test('an append that is already applied (a duplicate) does not truncate anything', async (t) => {
  const n = follower([[1, 1], [1, 2], [1, 3]])
  const e = (term: number, index: number): Entry => ({ term, index, type: 'normal', data: enc(`${term}/${index}`) })
  n.step(makeMessage({ type: 'app', from: 1, to: 2, term: 1, index: 0, logTerm: 0, entries: [e(1, 1), e(1, 2)], commit: 0 }))
  t.equal(n.raft.log.lastIndex(), 3, 'a matching prefix keeps the entries after it')
  // Reference: §5.3 (Log Matching)
})

t.test('a diverged follower is repaired with one rejection per term, not per entry', async (t) => {
  const c = new Cluster(3, { checkQuorum: false })
  c.elect(1)
  c.partition([1], [2, 3])
  for (let i = 0; i < 30; i++) c.get(1).propose(enc(`old${i}`)) // term 1, never committed
  c.stabilize()
  c.tickElection(2)
  c.stabilize()
  t.equal(c.get(2).raft.role, 'leader')
  for (let i = 0; i < 30; i++) c.get(2).propose(enc(`new${i}`))
  c.stabilize()
  // A leader elected now starts probing node 1 at its own last index + 1, far past the divergence.
  c.get(2).transferLeader(3)
  c.stabilize()
  t.equal(c.get(3).raft.role, 'leader')
  c.heal()
  let rejections = 0
  c.tick(3)
  for (let round = 0; round < 100; round++) {
    const moved = c.processReady()
    rejections += c.queue.filter((m) => m.type === 'appResp' && m.reject).length
    if (c.deliver() === 0 && !moved) break
  }
  t.ok(rejections >= 1, 'the follower rejected the first probe')
  t.ok(rejections <= 2, `${rejections} rejections for 30 diverged entries`)
  t.same(c.logOf(1), c.logOf(3))
  t.equal(c.appliedData(1).filter((d) => d.startsWith('old')).length, 0, 'the uncommitted entries of term 1 were never applied')
  t.equal(c.appliedData(1).length, 30)
  // Reference: §5.3 (the optimisation at the end of the section)
})

t.test('Figure 8: an entry of an earlier term is not committed by counting replicas', async (t) => {
  for (const broken of [false, true]) {
    const opts = { preVote: false, checkQuorum: false, appendBytesMax: 1 }
    const c = new Cluster(5, broken ? { ...opts, unsafeFaults: { ignoreCurrentTermCommitRule: true } } : opts)
    // (a) S1 leads term 1 and replicates x (index 2) only to S2.
    c.elect(1)
    c.get(1).propose(enc('x'))
    c.processReady([1])
    c.deliver([2], (m) => m.type === 'app')
    c.drop()
    c.processReady([2])
    c.drop()
    // (b) S1 crashes; S5 wins term 2 with S3 and S4, appends its no-op at index 2, and crashes.
    c.crash(1)
    c.campaign(5)
    c.processReady([5])
    c.deliver([2, 3, 4])
    c.processReady([2, 3, 4])
    c.deliver([5])
    t.equal(c.leader(), 5)
    c.processReady([5])
    c.drop()
    c.crash(5)
    // (c) S1 restarts and wins term 3 (after losing term 2, where S3 and S4 had voted).
    c.restart(1)
    for (let attempt = 0; attempt < 2 && c.leader() !== 1; attempt++) {
      c.campaign(1)
      c.processReady([1])
      c.deliver([2, 3, 4])
      c.processReady([2, 3, 4])
      c.deliver([1])
    }
    t.equal(c.leader(), 1)
    t.equal(c.get(1).raft.term, 3)
    // S1 sends its no-op (index 3); S2 takes it; S3 rejects (it lacks index 2) and is sent x alone.
    c.processReady([1])
    c.drop((m) => m.to === 4)
    c.deliver([2, 3])
    c.processReady([2, 3])
    c.deliver([1])
    c.processReady([1])
    c.deliver([3], (m) => m.type === 'app' && m.entries.length === 1 && m.entries[0]?.index === 2)
    c.drop()
    c.processReady([3])
    c.deliver([1])
    // x is now on S1, S2 and S3: a majority, but of term 1.
    t.same(c.nodes.get(3)?.storage.entries(2, 3, 100).map((e) => new TextDecoder().decode(e.data)), ['x'])
    c.processReady([1])
    c.drop()
    const committed = c.get(1).raft.log.committed
    if (!broken) t.equal(committed, 1, 'S1 does not commit x: it is not of the current term')
    else t.equal(committed, 2, 'the broken core commits x by counting replicas')
    // (d) S1 crashes; S5 restarts and wins term 4 with S3 and S4, overwriting x everywhere.
    c.crash(1)
    c.restart(5)
    for (let attempt = 0; attempt < 3 && c.leader() !== 5; attempt++) {
      c.campaign(5)
      c.processReady([5])
      c.deliver([2, 3, 4])
      c.processReady([2, 3, 4])
      c.deliver([5])
    }
    t.equal(c.leader(), 5)
    c.stabilize()
    const at2 = (id: number): string => new TextDecoder().decode(c.nodes.get(id)?.storage.entries(2, 3, 100)[0]?.data)
    t.equal(at2(3), '', 'S5 replaced x at index 2 with its term-2 entry')
    const s1Applied = c.nodes.get(1)?.applied.map((e) => `${e.term}/${e.index}`) ?? []
    if (!broken) t.notOk(s1Applied.includes('1/2'), 'nobody applied x')
    else t.ok(s1Applied.includes('1/2') && c.nodes.get(5)?.applied.some((e) => e.index === 2 && e.term === 2), 'S1 applied x at 2, S5 applied another entry there: State Machine Safety is broken')
  }
  // Reference: §5.4.2, Figure 8
})

t.test('a new leader holds every entry committed before its term (Leader Completeness)', async (t) => {
  const c = new Cluster(5, { checkQuorum: false })
  c.elect(1)
  for (const d of ['a', 'b', 'c']) c.get(1).propose(enc(d))
  c.stabilize()
  c.partition([1], [2, 3, 4, 5])
  c.get(1).propose(enc('lost'))
  c.stabilize()
  c.tickElection(4)
  c.stabilize()
  t.equal(c.get(4).raft.role, 'leader')
  const log4 = c.logOf(4)
  for (const d of ['a', 'b', 'c']) t.ok(log4.some((e) => e.endsWith(`"${d}"`)), `leader 4 holds ${d}`)
  t.notOk(log4.some((e) => e.endsWith('"lost"')))
  // Reference: §5.4.3
})

t.test('a crashed follower is retried until it catches up', async (t) => {
  const c = new Cluster(3)
  c.elect(1)
  c.crash(3)
  c.get(1).propose(enc('a'))
  c.get(1).propose(enc('b'))
  c.stabilize()
  c.restart(3)
  t.same(c.appliedData(3), [])
  for (let i = 0; i < 3; i++) {
    c.tick(1)
    c.stabilize()
  }
  t.same(c.appliedData(3), ['a', 'b'])
  // Reference: §5.5
})

t.test('a crash before the Ready is persisted loses only uncommitted entries', async (t) => {
  const c = new Cluster(3)
  c.elect(1)
  c.get(1).propose(enc('a'))
  c.processReady([1])
  c.crash(1) // its append went out only in memory: the messages are still queued...
  t.equal(c.queue.filter((m) => m.from === 1).length, 2, '...because they were handed over after persisting')
  c.drop()
  c.restart(1)
  t.same(c.logOf(1).slice(-1), ['1/2 "a"'], 'the entry persisted before the send survives the crash')
  // Reference: §5.5, Figure 2 (persistent state is updated before responding to RPCs)
})

t.test('batched proposals get consecutive indexes and commit together', async (t) => {
  const c = new Cluster(3)
  c.elect(1)
  const r = c.get(1).proposeBatch([enc('a'), enc('b'), enc('c')])
  t.same(r, { firstIndex: 2, lastIndex: 4, term: 1 })
  c.stabilize()
  t.same(c.appliedData(3), ['a', 'b', 'c'])
  // Reference: §5.3
})
