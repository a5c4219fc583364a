/** Opening a data folder's LevelDB with a clear error when another process holds it. */
import { LevelKvStore } from '../ledger/index.js'
import { dataPath } from './data-dir.js'
import { NodeError } from './errors.js'

/**
 * The ledger's LevelDB memtable. Index keys (tx ids, PROV ids) spread over the whole key space, so each
 * time the memtable goes to disk LevelDB rewrites all of level 1 and then a level-2 range: about 20 MB
 * of compaction per flush, on every node at once. At LevelDB's default of 4 MiB that was about every 1.5 s
 * under full load (3 s at half load), each showing as a latency spike of 200-400 ms. At 8 MiB it is half
 * as often and the cluster bench commits more per second; at 16 MiB it commits more again, but each
 * flush stalls for about a second and the p99 at half load doubled. It costs up to 8 MiB more resident
 * under load (this memtable and the one being flushed), nothing when idle.
 */
export const ledgerWriteBufferBytes = 8 * 1024 * 1024

export async function openLedgerStore(dir: string): Promise<LevelKvStore> {
  const store = new LevelKvStore(dataPath(dir, 'ledger'), { writeBufferBytes: ledgerWriteBufferBytes })
  try {
    await store.open()
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause
    if (cause?.code === 'LEVEL_LOCKED') throw new NodeError('ERR_NODE_LOCKED', `${dir}/ledger is open in another process (is a node running there?)`)
    throw err
  }
  return store
}
