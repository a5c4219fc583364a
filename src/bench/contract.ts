/**
 * The deployed-contract benchmark: one node, LevelDB on disk, blocks of 500, through the same path as
 * the ledger benchmark (TomNode.open on an initNetwork data folder, pre-signed txs, submitTx).
 * - contractTxPerSec: committed txs per second of a deployed contract run in the QuickJS sandbox. The
 *   handler (benchContractSource of sandbox/bench.ts) reads two keys of its state and writes one; the
 *   second key cycles over `slots` values, so the sandbox's prefetch hints miss on most calls and the
 *   call runs twice, as a contract keyed by its payload does.
 * - cpuTxPerSec: the same txs per second of CPU time of the process (all threads): a figure that
 *   holds on a machine busy with other work, where the wall-clock one does not.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadKeyFile, Signer } from '../crypto/index.js'
import { signTx } from '../ledger/index.js'
import type { Tx } from '../ledger/index.js'
import { benchContractSource } from '../contracts/sandbox/bench.js'
import { initNetwork, TomNode, dataPath, silentLogger } from '../node/index.js'

export interface ContractBenchResult {
  readonly txs: number
  readonly blockTxMax: number
  readonly slots: number
  readonly contractTxPerSec: number
  readonly cpuTxPerSec: number
}

export async function benchContract(options: { txs?: number; slots?: number } = {}): Promise<ContractBenchResult> {
  const count = options.txs ?? 20_000
  const slots = options.slots ?? 16
  const blockTxMax = 500
  const root = await mkdtemp(join(tmpdir(), 'tom-bench-contract-'))
  try {
    const dir = join(root, 'node')
    await initNetwork({ dir })
    const admin = new Signer(await loadKeyFile(dataPath(dir, 'adminKey')))
    const node = await TomNode.open({ dir, config: { blockTxMax, logLevel: 'silent' }, logger: silentLogger() })
    try {
      const network = node.network
      const expiresAt = Date.now() + 30 * 60 * 1000
      const sign = (type: string, nonce: number, payload: Tx['payload']): Tx => signTx({ network, type, signer: admin.publicKey, nonce, expiresAt, payload }, admin)
      node.start()
      const deployed = await node.submitTx(sign('contract.deploy', 0, { name: 'bench', source: benchContractSource }).bytes)
      if (!deployed.receipt.ok) throw new Error(`assertion: the bench contract did not deploy: ${deployed.receipt.code} ${deployed.receipt.message}`)
      const txs: Uint8Array[] = []
      for (let i = 0; i < count; i++) txs.push(sign('bench.add', i + 1, { n: i, slot: i % slots }).bytes)
      const started = performance.now()
      const cpuStarted = process.cpuUsage()
      const receipts = await Promise.all(txs.map((bytes) => node.submitTx(bytes)))
      const seconds = (performance.now() - started) / 1000
      const cpu = process.cpuUsage(cpuStarted)
      const cpuSeconds = (cpu.user + cpu.system) / 1e6
      const failed = receipts.filter((r) => !r.receipt.ok)
      if (failed.length > 0) throw new Error(`assertion: ${failed.length} bench txs failed, e.g. ${JSON.stringify(failed[0]!.receipt)}`)
      return { txs: count, blockTxMax, slots, contractTxPerSec: Math.round(count / seconds), cpuTxPerSec: Math.round(count / cpuSeconds) }
    } finally {
      await node.close()
    }
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}
