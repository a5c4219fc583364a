/**
 * The ledger benchmark: one node, LevelDB on disk, blocks of 500.
 * - applyTxPerSec: pre-signed data.add txs submitted to a node, admitted (signature, network, expiry,
 *   replay checks), cut into blocks and applied with synced writes; committed txs per second.
 * - followerApplyTxPerSec: the same blocks applied from their bytes by a second ledger, as a node that
 *   did not admit them would (decode, every signature, execute, synced write).
 * - verifyTxPerSec: `tom-node verify` over the resulting chain.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { loadKeyFile, Signer, WorkerVerifier } from '../crypto/index.js'
import { Ledger, LevelKvStore, decodeBlock, signTx } from '../ledger/index.js'
import type { Tx } from '../ledger/index.js'
import { CoreContracts } from '../contracts/index.js'
import { initNetwork, TomNode, verifyDataDir, dataPath, silentLogger } from '../node/index.js'

export interface LedgerBenchResult {
  readonly txs: number
  readonly blockTxMax: number
  readonly blocks: number
  readonly applyTxPerSec: number
  readonly followerApplyTxPerSec: number
  readonly verifyTxPerSec: number
}

export async function benchLedger(options: { txs?: number } = {}): Promise<LedgerBenchResult> {
  const count = options.txs ?? 20_000
  const blockTxMax = 500
  const root = await mkdtemp(join(tmpdir(), 'tom-bench-ledger-'))
  try {
    const dir = join(root, 'node')
    await initNetwork({ dir })
    const admin = new Signer(await loadKeyFile(dataPath(dir, 'adminKey')))
    const node = await TomNode.open({ dir, config: { blockTxMax, logLevel: 'silent' }, logger: silentLogger() })
    const network = node.network
    const expiresAt = Date.now() + 30 * 60 * 1000
    const txs: Tx[] = []
    for (let i = 0; i < count; i++) {
      txs.push(signTx({ network, type: 'data.add', signer: admin.publicKey, nonce: i, expiresAt, payload: { id: `bench/${i}`, hash: randomBytes(32), size: 1024 } }, admin))
    }
    // Decode from bytes so that nothing is taken as already verified.
    const fresh = txs.map((tx) => tx.bytes)
    node.start()
    const started = performance.now()
    const receipts = await Promise.all(fresh.map((bytes) => node.submitTx(bytes)))
    const applySeconds = (performance.now() - started) / 1000
    const failed = receipts.filter((r) => !r.receipt.ok).length
    if (failed > 0) throw new Error(`assertion: ${failed} bench txs failed`)
    const headHeight = node.head.height
    await node.close()

    const verifier = new WorkerVerifier()
    const follower = await Ledger.open(new LevelKvStore(join(root, 'follower')), new CoreContracts(), { verifier })
    const source = await Ledger.open(new LevelKvStore(dataPath(dir, 'ledger')), new CoreContracts())
    const blocks = []
    for (let h = 0; h <= headHeight; h++) blocks.push((await source.getBlock(h))!.bytes)
    await source.close()
    const followerStarted = performance.now()
    for (const bytes of blocks) await follower.applyBlock(decodeBlock(bytes))
    const followerSeconds = (performance.now() - followerStarted) / 1000
    await follower.close()
    await verifier.close()

    const report = await verifyDataDir(dir)
    if (!report.ok) throw new Error(`assertion: bench chain does not verify: ${report.code} ${report.reason}`)
    return {
      txs: count,
      blockTxMax,
      blocks: headHeight,
      applyTxPerSec: Math.round(count / applySeconds),
      followerApplyTxPerSec: Math.round(count / followerSeconds),
      verifyTxPerSec: Math.round(report.txs / (report.ms / 1000))
    }
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}
