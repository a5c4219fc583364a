/**
 * The provenance benchmark: a ledger on disk (LevelDB) holding about 1,000,000 PROV records, built
 * by applying blocks of pre-signed data.add txs straight to a Ledger (no consensus: the build is
 * set-up, not what is measured), then lineage and who-touched queries answered from its indexes.
 *
 * Records are counted as the ledger keeps them: each data.add stores 3 + 2p records (its entity,
 * generation and attribution, then a usage and a derivation per parent p), and each committed tx
 * implies 3 more (its activity, its signer agent, their association).
 *
 * Data items come in derivation chains (each item derived from the one before), trees (each item
 * derived from an earlier item of its tree) and, now and then, merges of two parents.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decode, generateKeyPair, Signer, WorkerVerifier } from '../crypto/index.js'
import { blockProvRecords, Ledger, LevelKvStore, ProvQueries, sealBlock, signTx } from '../ledger/index.js'
import type { Tx } from '../ledger/index.js'
import { CoreContracts } from '../contracts/index.js'
import { createGenesisBlock } from '../node/data-dir.js'
import { SeededRandom } from '../consensus/index.js'
import { percentile } from './percentile.js'

export interface ProvBenchResult {
  readonly records: number
  readonly recordsCounted: string
  readonly storedRecords: number
  readonly impliedRecords: number
  readonly txs: number
  readonly blocks: number
  readonly blockTxMax: number
  readonly buildSeconds: number
  readonly signSeconds: number
  readonly lineageQueries: number
  readonly lineageDepth: number
  readonly lineageMsP50: number
  readonly lineageMsP99: number
  readonly lineageNodesMean: number
  readonly forwardLineageMsP50: number
  readonly forwardLineageMsP99: number
  readonly whoTouchedQueries: number
  readonly whoTouchedMsP50: number
  readonly whoTouchedMsP99: number
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000
}

interface Item {
  readonly id: string
  readonly parents: readonly string[]
}

/** Items until their records reach `target`: chains of 50, trees of 200, 5% of items with a second parent. */
function plan(target: number, random: () => number): { items: Item[]; stored: number; implied: number } {
  const items: Item[] = []
  let stored = 0
  let implied = 0
  let group = 0
  while (stored + implied < target) {
    const chain = group % 2 === 0
    const size = chain ? 50 : 200
    const ids: string[] = []
    for (let i = 0; i < size && stored + implied < target; i++) {
      const id = `g${group}/${i}`
      const parents: string[] = []
      if (i > 0) parents.push(chain ? ids[i - 1]! : ids[Math.floor(random() * i)]!)
      if (i > 1 && random() < 0.05) {
        const other = ids[Math.floor(random() * (i - 1))]!
        if (!parents.includes(other)) parents.push(other)
      }
      ids.push(id)
      items.push({ id, parents })
      stored += 3 + 2 * parents.length
      implied += 3
    }
    group++
  }
  return { items, stored, implied }
}

export async function benchProv(options: { records?: number; queries?: number } = {}): Promise<ProvBenchResult> {
  const target = options.records ?? 1_000_000
  const queries = options.queries ?? 2000
  const blockTxMax = 500
  const lineageDepth = 10
  // Seeded, so that every run builds the same ledger.
  const rng = new SeededRandom(42)
  const random = (): number => rng.nextFloat()
  const root = await mkdtemp(join(tmpdir(), 'tom-bench-prov-'))
  const verifier = new WorkerVerifier()
  try {
    const adminKeys = generateKeyPair()
    const nodeKeys = generateKeyPair()
    const admin = new Signer(adminKeys)
    const node = new Signer(nodeKeys)
    const time = Date.now()
    const genesis = createGenesisBlock({ networkName: 'bench', orgName: 'org1', admin: adminKeys, nodes: [{ keys: nodeKeys, name: 'node1' }], time })
    const ledger = await Ledger.open(new LevelKvStore(join(root, 'ledger')), new CoreContracts(), { verifier })
    await ledger.applyBlock(genesis)
    const network = ledger.network!
    const { items, stored, implied } = plan(target - 3 * genesis.txs.length, random)
    const signStarted = performance.now()
    const signers = [admin, node]
    const txs: Tx[] = items.map((item, i) =>
      signTx(
        {
          network,
          type: 'data.add',
          signer: signers[i % 2]!.publicKey,
          nonce: i,
          expiresAt: time + 12 * 60 * 60 * 1000,
          payload: { id: item.id, hash: new Uint8Array(32).fill(i & 0xff), ...(item.parents.length > 0 ? { derivedFrom: [...item.parents] } : {}) }
        },
        signers[i % 2]!
      )
    )
    const signSeconds = (performance.now() - signStarted) / 1000

    const buildStarted = performance.now()
    let blocks = 0
    for (let from = 0; from < txs.length; from += blockTxMax) {
      const head = ledger.head!
      const block = sealBlock(
        { height: head.height + 1, prevHash: head.hash, time: head.time + 1000, stateRoot: head.stateDigest, raftTerm: 0, raftIndex: head.height + 1, txs: txs.slice(from, from + blockTxMax) },
        node
      )
      // Unsynced writes: the build is set-up; what is measured is the queries over the result.
      const { receipts } = await ledger.applyBlock(block, { sync: false })
      const failed = receipts.findIndex((r) => !r.ok)
      if (failed >= 0) throw new Error(`assertion: bench tx ${from + failed} failed: ${JSON.stringify(receipts[failed])}`)
      blocks++
    }
    const buildSeconds = (performance.now() - buildStarted) / 1000

    // The genesis txs' records count too: read back rather than assumed, as the contracts decide them.
    let genesisRecords = 0
    for (const records of await blockProvRecords(ledger, 0)) genesisRecords += records?.length ?? 0
    const storedRecords = stored + genesisRecords
    const impliedRecords = implied + 3 * genesis.txs.length

    const q = new ProvQueries(ledger)
    const pick = (): string => `tom:data/${items[Math.floor(random() * items.length)]!.id}`
    const lineageMs: number[] = []
    const forwardMs: number[] = []
    let nodes = 0
    for (let i = 0; i < queries; i++) {
      const start = pick()
      const t0 = performance.now()
      const r = await q.lineage(start, 'backward', { depth: lineageDepth })
      lineageMs.push(performance.now() - t0)
      nodes += r.nodes.length
      const t1 = performance.now()
      await q.lineage(start, 'forward', { depth: lineageDepth })
      forwardMs.push(performance.now() - t1)
    }
    const whoMs: number[] = []
    const whoQueries = Math.max(1, Math.floor(queries / 2))
    for (let i = 0; i < whoQueries; i++) {
      const start = pick()
      const t0 = performance.now()
      await q.whoTouched(start)
      whoMs.push(performance.now() - t0)
    }
    await ledger.close()
    const sort = (xs: number[]): number[] => xs.sort((a, b) => a - b)
    sort(lineageMs)
    sort(forwardMs)
    sort(whoMs)
    return {
      records: storedRecords + impliedRecords,
      recordsCounted: 'stored records (per data.add: entity, generation, attribution, and a usage and a derivation per parent; genesis txs read back) plus 3 implied per committed tx (activity, signer agent, association)',
      storedRecords,
      impliedRecords,
      txs: txs.length + genesis.txs.length,
      blocks: blocks + 1,
      blockTxMax,
      buildSeconds: round(buildSeconds),
      signSeconds: round(signSeconds),
      lineageQueries: queries,
      lineageDepth,
      lineageMsP50: round(percentile(lineageMs, 50)),
      lineageMsP99: round(percentile(lineageMs, 99)),
      lineageNodesMean: Math.round((nodes / queries) * 10) / 10,
      forwardLineageMsP50: round(percentile(forwardMs, 50)),
      forwardLineageMsP99: round(percentile(forwardMs, 99)),
      whoTouchedQueries: whoQueries,
      whoTouchedMsP50: round(percentile(whoMs, 50)),
      whoTouchedMsP99: round(percentile(whoMs, 99))
    }
  } finally {
    await verifier.close()
    await rm(root, { recursive: true, force: true })
  }
}
