/** The small parts: errors, the PRNG, conf change encoding, flow-control window, quorum and log helpers. */
import t from 'tap'
import * as consensus from '../../src/consensus/index.js'
import {
  consensusErrorCodes,
  decodeConfChange,
  encodeConfChange,
  InvalidConfigError,
  MemoryStorage,
  RaftInvariantError,
  RawNode,
  SeededRandom,
  type Entry
} from '../../src/consensus/index.js'
import { RaftLog } from '../../src/consensus/log.js'
import { Inflights, quorumSize } from '../../src/consensus/progress.js'

t.test('every error class has a stable name and a code listed in consensusErrorCodes', async (t) => {
  const classes = Object.entries(consensus).filter(([name, v]) => typeof v === 'function' && name.endsWith('Error'))
  const codes = new Set<string>()
  for (const [name, Cls] of classes) {
    const err = new (Cls as new (m: string, l?: number) => Error & { code: string })('x', 0)
    t.equal(err.name, name)
    t.ok(err.code in consensusErrorCodes, `${name} code ${err.code} is documented`)
    codes.add(err.code)
  }
  t.same([...codes].sort(), Object.keys(consensusErrorCodes).sort(), 'and every documented code has its class')
})

t.test('SeededRandom replays from its seed and stays in range', async (t) => {
  const a = new SeededRandom(7)
  const b = new SeededRandom(7)
  const xs = Array.from({ length: 100 }, () => a.nextInt(10))
  t.same(xs, Array.from({ length: 100 }, () => b.nextInt(10)))
  t.ok(xs.every((x) => x >= 0 && x < 10))
  t.not(new SeededRandom(8).nextInt(1e9), new SeededRandom(7).nextInt(1e9))
  t.throws(() => a.nextInt(0), RaftInvariantError)
})

t.test('conf changes round trip through entry data; garbage is an invariant failure', async (t) => {
  for (const type of ['addVoter', 'removeVoter', 'addLearner'] as const) {
    t.same(decodeConfChange(encodeConfChange({ type, nodeId: 12 })), { type, nodeId: 12 })
  }
  t.throws(() => decodeConfChange(new TextEncoder().encode('addVoter x')), RaftInvariantError)
  t.throws(() => decodeConfChange(new TextEncoder().encode('promote 3')), RaftInvariantError)
})

t.test('the inflights window is bounded by count and by bytes', async (t) => {
  const w = new Inflights(3, 100)
  w.add(1, 10)
  w.add(2, 10)
  t.notOk(w.full())
  w.add(5, 10)
  t.ok(w.full(), 'three messages')
  t.throws(() => w.add(6, 1), RaftInvariantError)
  w.freeLE(2)
  t.equal(w.count(), 1)
  w.add(6, 95)
  t.ok(w.full(), '105 bytes')
  w.freeFirstOne()
  t.equal(w.count(), 1)
})

t.test('quorum sizes', async (t) => {
  t.same([1, 2, 3, 4, 5, 6, 7].map(quorumSize), [1, 2, 2, 3, 3, 4, 4])
})

function logWith(terms: number[]): RaftLog {
  const s = new MemoryStorage({ voters: [1], learners: [] })
  s.append(terms.map((term, i): Entry => ({ term, index: i + 1, type: 'normal', data: new Uint8Array() })))
  return new RaftLog(s)
}

t.test('findConflictByTerm finds the last index whose term is at most the given one', async (t) => {
  const log = logWith([1, 1, 2, 2, 4, 4, 4]) // indexes 1..7
  t.same(log.findConflictByTerm(7, 3), { index: 4, term: 2 })
  t.same(log.findConflictByTerm(7, 4), { index: 7, term: 4 })
  t.same(log.findConflictByTerm(7, 0), { index: 0, term: 0 })
  t.same(log.findConflictByTerm(3, 1), { index: 2, term: 1 })
})

t.test('overwriting a committed entry is an invariant failure, not a silent truncation', async (t) => {
  const log = logWith([1, 1, 1])
  log.commitTo(3)
  const e: Entry = { term: 2, index: 2, type: 'normal', data: new Uint8Array() }
  t.throws(() => log.maybeAppend(1, 1, 3, [e]), RaftInvariantError)
  t.throws(() => log.commitTo(9), RaftInvariantError, 'committing past the end of the log')
})

t.test('config is validated once, up front', async (t) => {
  const storage = new MemoryStorage({ voters: [1], learners: [] })
  const random = new SeededRandom(1)
  t.throws(() => new RawNode({ id: 0, storage, random }), InvalidConfigError)
  t.throws(() => new RawNode({ id: 1, storage, random, electionTimeoutTicks: 2, heartbeatIntervalTicks: 2 }), InvalidConfigError)
  t.throws(() => new RawNode({ id: 1, storage, random, appendInflightMax: 0 }), InvalidConfigError)
})

t.test('messages and Ready contents are plain CBOR-friendly data: no undefined fields, no Maps, no classes', async (t) => {
  const { Cluster, enc } = await import('./cluster.js')
  const c = new Cluster(3)
  c.elect(1)
  c.get(1).propose(enc('a'))
  c.get(1).readIndex(enc('r'))
  const plain = (v: unknown, path: string): void => {
    if (v === undefined) t.fail(`${path} is undefined`)
    if (v === null || typeof v !== 'object') return
    if (v instanceof Uint8Array) return
    if (Array.isArray(v)) return v.forEach((x, i) => plain(x, `${path}[${i}]`))
    t.equal(Object.getPrototypeOf(v), Object.prototype, `${path} is a plain object`)
    for (const [k, x] of Object.entries(v)) plain(x, `${path}.${k}`)
  }
  for (let i = 0; i < 20; i++) {
    for (const id of [1, 2, 3]) {
      const n = c.get(id)
      if (!n.hasReady()) continue
      const rd = n.ready()
      plain(rd, `ready of ${id}`)
      c.queue.push(...rd.messages)
      c.nodes.get(id)?.storage.append(rd.entries)
      if (rd.hardState !== undefined) c.nodes.get(id)?.storage.setHardState(rd.hardState)
      n.advance()
    }
    c.deliver()
  }
  t.pass('checked')
})
