import t from 'tap'
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
