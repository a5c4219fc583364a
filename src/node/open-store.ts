/** Opening a data folder's LevelDB with a clear error when another process holds it. */
import { LevelKvStore } from '../ledger/index.js'
import { dataPath } from './data-dir.js'
import { NodeError } from './errors.js'

export async function openLedgerStore(dir: string): Promise<LevelKvStore> {
  const store = new LevelKvStore(dataPath(dir, 'ledger'))
  try {
    await store.open()
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause
    if (cause?.code === 'LEVEL_LOCKED') throw new NodeError('ERR_NODE_LOCKED', `${dir}/ledger is open in another process (is a node running there?)`)
    throw err
  }
  return store
}
