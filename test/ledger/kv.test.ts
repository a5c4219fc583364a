import t from 'tap'
import { randomBytes } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { LevelKvStore, MemoryKvStore } from '../../src/ledger/index.js'
import { kvSuite } from './kv-suite.js'

t.test('MemoryKvStore', async (t) => kvSuite(t, () => new MemoryKvStore()))
t.test('LevelKvStore', async (t) => {
  let n = 0
  kvSuite(t, (t) => new LevelKvStore(join(t.testdir(), `db${n++}`)))
})

t.test('LevelKvStore keeps data across close and reopen', async (t) => {
  const dir = join(t.testdir(), 'db')
  const a = new LevelKvStore(dir)
  await a.open()
  await a.batch([{ type: 'put', key: Uint8Array.of(1), value: Uint8Array.of(2) }], { sync: true })
  await a.close()
  const b = new LevelKvStore(dir)
  await b.open()
  t.same(await b.get(Uint8Array.of(1)), Uint8Array.of(2))
  await b.close()
})

t.test('LevelKvStore writes its memtable to a table file when writeBufferBytes fill, not before', async (t) => {
  // 8 MiB of incompressible values: over LevelDB's default memtable (4 MiB), under one of 16 MiB.
  const write = async (store: LevelKvStore): Promise<number> => {
    await store.open()
    for (let b = 0; b < 8; b++) {
      const ops = Array.from({ length: 16 }, (_, i) => ({ type: 'put' as const, key: Uint8Array.of(b, i), value: randomBytes(64 * 1024) }))
      await store.batch(ops)
    }
    await store.close()
    return (await readdir(store.location)).filter((f) => f.endsWith('.ldb')).length
  }
  t.ok((await write(new LevelKvStore(join(t.testdir(), 'default')))) > 0, 'the default memtable filled and went to disk')
  t.equal(await write(new LevelKvStore(join(t.testdir(), 'large'), { writeBufferBytes: 16 * 1024 * 1024 })), 0, 'everything still in the 16 MiB memtable (and its log)')
})
