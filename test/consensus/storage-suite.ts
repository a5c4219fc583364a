/**
 * The contract of a consensus Storage, as a reusable suite: `storageSuite(t, factory)` runs it
 * against any implementation. MemoryStorage passes it (storage.test.ts); the LevelDB storage
 * must pass it too. The factory returns a fresh storage with the given genesis membership and the
 * write methods the driver uses. Writes may be synchronous (MemoryStorage) or asynchronous (a durable
 * storage resolves once the write is on disk), so the suite awaits each one, and checks a refused write
 * with `t.rejects` on an async wrapper, which catches a synchronous throw and a rejection alike.
 */
import type { Test } from 'tap'
import {
  StorageCompactedError,
  StorageUnavailableError,
  SnapshotOutOfDateError,
  type ConfState,
  type Entry,
  type HardState,
  type Snapshot,
  type Storage
} from '../../src/consensus/index.js'

/** The write side a driver needs besides the read-only Storage the core uses. */
export interface WritableStorage extends Storage {
  append(entries: readonly Entry[]): void | Promise<void>
  setHardState(hs: HardState): void | Promise<void>
  applySnapshot(snapshot: Snapshot): void | Promise<void>
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot | Promise<Snapshot>
  compact(index: number): void | Promise<void>
}

export type StorageFactory = (genesis: ConfState) => WritableStorage | Promise<WritableStorage>

function entry(index: number, term: number, data = `e${index}`): Entry {
  return { index, term, type: 'normal', data: new TextEncoder().encode(data) }
}

function range(lo: number, hi: number, term: (i: number) => number): Entry[] {
  const out: Entry[] = []
  for (let i = lo; i <= hi; i++) out.push(entry(i, term(i)))
  return out
}

const genesis: ConfState = { voters: [1, 2, 3], learners: [] }

export function storageSuite(t: Test, factory: StorageFactory): void {
  t.test('a new storage is empty, with the genesis membership', async (t) => {
    const s = await factory(genesis)
    t.equal(s.firstIndex(), 1)
    t.equal(s.lastIndex(), 0)
    t.equal(s.term(0), 0)
    t.same(s.initialState(), { hardState: { term: 0, vote: 0, commit: 0 }, confState: genesis })
    t.equal(s.snapshot().metadata.index, 0)
    t.same(s.snapshot().metadata.confState, genesis)
    t.same(s.entries(1, 1, 1000), [])
  })

  t.test('append, then read entries and terms back', async (t) => {
    const s = await factory(genesis)
    await s.append(range(1, 5, (i) => (i < 3 ? 1 : 2)))
    t.equal(s.lastIndex(), 5)
    t.equal(s.term(2), 1)
    t.equal(s.term(3), 2)
    t.same(s.entries(2, 5, Number.MAX_SAFE_INTEGER).map((e) => e.index), [2, 3, 4])
    t.throws(() => s.term(6), StorageUnavailableError)
    t.throws(() => s.entries(4, 7, 1000), StorageUnavailableError)
  })

  t.test('entries respects maxBytes but always returns at least one entry', async (t) => {
    const s = await factory(genesis)
    await s.append(range(1, 5, () => 1))
    t.equal(s.entries(1, 6, 0).length, 1)
    const one = 2 + 24 // data 'eN' plus the per-entry overhead
    t.equal(s.entries(1, 6, one * 3).length, 3)
    t.equal(s.entries(1, 6, one * 3 + 1).length, 3)
  })

  t.test('an append that conflicts replaces the suffix from the conflict on', async (t) => {
    const s = await factory(genesis)
    await s.append(range(1, 5, () => 1))
    await s.append([entry(3, 2, 'x3'), entry(4, 2, 'x4')])
    t.equal(s.lastIndex(), 4)
    t.same(s.entries(1, 5, Number.MAX_SAFE_INTEGER).map((e) => `${e.term}/${e.index}`), ['1/1', '1/2', '2/3', '2/4'])
    await s.append([entry(5, 2)])
    t.equal(s.lastIndex(), 5)
  })

  t.test('hard state round trips', async (t) => {
    const s = await factory(genesis)
    await s.append(range(1, 3, () => 2))
    await s.setHardState({ term: 2, vote: 3, commit: 3 })
    t.same(s.initialState().hardState, { term: 2, vote: 3, commit: 3 })
  })

  t.test('createSnapshot and compact drop the prefix but remember the term before it', async (t) => {
    const s = await factory(genesis)
    await s.append(range(1, 10, (i) => (i <= 6 ? 1 : 2)))
    await s.setHardState({ term: 2, vote: 1, commit: 8 })
    const snap = await s.createSnapshot(7, { voters: [1, 2], learners: [4] }, new Uint8Array([7]))
    t.same(snap.metadata, { index: 7, term: 2, confState: { voters: [1, 2], learners: [4] } })
    await s.compact(7)
    t.equal(s.firstIndex(), 8)
    t.equal(s.lastIndex(), 10)
    t.equal(s.term(7), 2)
    t.throws(() => s.term(6), StorageCompactedError)
    t.throws(() => s.entries(7, 9, 1000), StorageCompactedError)
    t.same(s.entries(8, 11, Number.MAX_SAFE_INTEGER).map((e) => e.index), [8, 9, 10])
    t.same(s.snapshot().data, new Uint8Array([7]))
    t.same(s.initialState().confState, { voters: [1, 2], learners: [4] })
    await t.rejects(async () => s.compact(7), StorageCompactedError)
  })

  t.test('an older snapshot is refused', async (t) => {
    const s = await factory(genesis)
    await s.append(range(1, 5, () => 1))
    await s.setHardState({ term: 1, vote: 1, commit: 5 })
    await s.createSnapshot(4, genesis, new Uint8Array())
    await t.rejects(async () => s.createSnapshot(3, genesis, new Uint8Array()), SnapshotOutOfDateError)
    const older: Snapshot = { metadata: { index: 2, term: 1, confState: genesis }, data: new Uint8Array() }
    await t.rejects(async () => s.applySnapshot(older), SnapshotOutOfDateError)
  })

  t.test('applySnapshot replaces the whole log', async (t) => {
    const s = await factory(genesis)
    await s.append(range(1, 5, () => 1))
    const snap: Snapshot = { metadata: { index: 20, term: 3, confState: { voters: [1, 2, 3, 4], learners: [] } }, data: new Uint8Array([1]) }
    await s.applySnapshot(snap)
    t.equal(s.firstIndex(), 21)
    t.equal(s.lastIndex(), 20)
    t.equal(s.term(20), 3)
    t.same(s.initialState().confState, { voters: [1, 2, 3, 4], learners: [] })
    await s.append([entry(21, 3)])
    t.equal(s.lastIndex(), 21)
  })

  t.test('appending entries already covered by the snapshot ignores that part', async (t) => {
    const s = await factory(genesis)
    await s.append(range(1, 5, () => 1))
    await s.setHardState({ term: 1, vote: 1, commit: 5 })
    await s.createSnapshot(3, genesis, new Uint8Array())
    await s.compact(3)
    await s.append(range(2, 6, () => 1))
    t.equal(s.firstIndex(), 4)
    t.equal(s.lastIndex(), 6)
  })
}
