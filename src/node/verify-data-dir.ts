/** `tom-node verify`: the chain of a (stopped) node's data folder, checked from genesis. */
import { WorkerVerifier } from '../crypto/index.js'
import { verifyChain } from '../ledger/index.js'
import type { ChainReport, VerifyOptions } from '../ledger/index.js'
import { CoreContracts } from '../contracts/index.js'
import { readGenesis } from './data-dir.js'
import { openLedgerStore } from './open-store.js'

export async function verifyDataDir(dir: string, options: VerifyOptions = {}): Promise<ChainReport> {
  await readGenesis(dir) // a clear error for a folder that holds no network
  const store = await openLedgerStore(dir)
  const verifier = new WorkerVerifier()
  try {
    return await verifyChain(store, new CoreContracts(), { verifier, ...options })
  } finally {
    await store.close()
    await verifier.close()
  }
}
