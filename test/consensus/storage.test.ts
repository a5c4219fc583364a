/** MemoryStorage against the shared storage contract, plus the assertions it makes on what it is given. */
import t from 'tap'
import { MemoryStorage, RaftInvariantError } from '../../src/consensus/index.js'
import { storageSuite } from './storage-suite.js'

storageSuite(t, (genesis) => new MemoryStorage(genesis))

t.test('MemoryStorage asserts what it is given', async (t) => {
  const s = new MemoryStorage({ voters: [1], learners: [] })
  const e = (index: number, term: number): { index: number; term: number; type: 'normal'; data: Uint8Array } => ({ index, term, type: 'normal', data: new Uint8Array() })
  t.throws(() => s.append([e(2, 1)]), RaftInvariantError, 'a gap')
  t.throws(() => s.append([e(1, 2), e(2, 1)]), RaftInvariantError, 'terms going back')
  t.throws(() => s.append([e(1, 1), e(3, 1)]), RaftInvariantError, 'indexes not consecutive')
  s.append([e(1, 1)])
  t.throws(() => s.compact(1), RaftInvariantError, 'compacting beyond the snapshot')
  t.throws(() => s.createSnapshot(1, { voters: [1], learners: [] }, new Uint8Array()), RaftInvariantError, 'snapshot beyond commit')
  s.setHardState({ term: 2, vote: 1, commit: 1 })
  t.throws(() => s.setHardState({ term: 1, vote: 1, commit: 1 }), RaftInvariantError, 'term going back')
})
