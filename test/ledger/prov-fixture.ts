/** Ledgers of data items on LevelDB for the provenance query and export tests. */
import type { Test } from 'tap'
import { join } from 'node:path'
import { decode, toHex } from '../../src/crypto/index.js'
import type { Signer } from '../../src/crypto/index.js'
import { blockProvRecords, Ledger, LedgerLineageIndex, LevelKvStore, ledgerProvIds, ProvQueries } from '../../src/ledger/index.js'
import type { StateReader, StateWriter, Tx, TxContext, TxExecutor } from '../../src/ledger/index.js'
import { CoreContracts } from '../../src/contracts/index.js'
import { relationKinds } from '../../src/prov/index.js'
import type { LineageDirection, ProvRecord, QualifiedName, RelationKind } from '../../src/prov/index.js'
import { dataTx, makeNetwork, nextBlock, tx } from './chain-fixture.js'
import type { TestNetwork } from './chain-fixture.js'

export interface ProvLedger {
  readonly ledger: Ledger
  readonly queries: ProvQueries
  readonly net: TestNetwork
  /** Every tx applied after genesis, by the name the test gave it. */
  readonly txs: Map<string, Tx>
}

/** `tom:data/<id>` lives in state key `data/<id>`, `tom:node/<hex>` in `node/<hex>` (src/contracts/core.ts). */
export function coreStateKeyOf(id: QualifiedName): string | undefined {
  const m = /^tom:(data|node)\/(.+)$/.exec(id)
  return m === null ? undefined : `${m[1]}/${m[2]}`
}

/**
 * The core contracts plus `prov.associate` { activity?, agent }, which asserts one association (of
 * its own tx without `activity`): the
 * core contracts assert none, and the queries must merge stored associations with implied ones.
 */
export class AssociatingContract implements TxExecutor {
  constructor(readonly inner: TxExecutor) {}

  async execute(t: Tx, state: StateWriter, context: TxContext): Promise<void> {
    if (t.type !== 'prov.associate') return this.inner.execute(t, state, context)
    const { activity, agent } = t.payload as { activity?: string; agent: string }
    state.prov.add({ kind: 'wasAssociatedWith', activity: activity ?? ledgerProvIds.tx(t.id), agent, attributes: [] })
  }

  isProposer(publicKey: Uint8Array, state: StateReader): Promise<boolean> {
    return this.inner.isProposer(publicKey, state)
  }
}

export async function openProvLedger(t: Test): Promise<ProvLedger> {
  const net = makeNetwork()
  const ledger = await Ledger.open(new LevelKvStore(join(t.testdir(), 'ledger')), new AssociatingContract(new CoreContracts()))
  t.teardown(() => ledger.close())
  await ledger.applyBlock(net.genesis)
  return { ledger, queries: new ProvQueries(ledger, { stateKeyOf: coreStateKeyOf }), net, txs: new Map() }
}

export interface DataItem {
  readonly id: string
  readonly parents?: readonly string[]
  readonly signer?: 'admin' | 'node'
}

/** A data.add tx for `item`, remembered under its id. */
export function itemTx(p: ProvLedger, item: DataItem): Tx {
  const signer: Signer = item.signer === 'node' ? p.net.node : p.net.admin
  const extra: Record<string, Tx['payload']> = item.parents === undefined || item.parents.length === 0 ? {} : { derivedFrom: [...item.parents] }
  const t = dataTx(p.ledger.network!, signer, item.id, extra)
  p.txs.set(item.id, t)
  return t
}

/** Any other tx, remembered under `name`. */
export function namedTx(p: ProvLedger, name: string, signer: Signer, type: string, payload: Tx['payload']): Tx {
  const t = tx(p.ledger.network!, signer, type, payload)
  p.txs.set(name, t)
  return t
}

/** Applies one block of `txs` (time: 1 s after the head) and returns its receipts' ok flags. */
export async function applyTxs(p: ProvLedger, txs: Tx[]): Promise<boolean[]> {
  const { receipts } = await p.ledger.applyBlock(nextBlock(p.ledger, txs, p.net.node))
  return receipts.map((r) => r.ok)
}

export const data = (id: string): QualifiedName => `tom:data/${id}`

export function activityOf(p: ProvLedger, name: string): QualifiedName {
  return ledgerProvIds.tx(p.txs.get(name)!.id)
}

export function keyAgent(signer: Signer): QualifiedName {
  return `tom:key/${toHex(signer.publicKey)}`
}

/**
 * The records of the ledger as src/prov's MemoryLineageIndex should see them, in chain order: for
 * each committed tx its implied association, then what its contract stored. Read block by block.
 */
export async function ledgerRecords(ledger: Ledger): Promise<ProvRecord[]> {
  const out: ProvRecord[] = []
  for (let h = 0; h <= ledger.head!.height; h++) {
    const block = (await ledger.getBlock(h))!
    const receipts = (await ledger.getReceipts(h))!
    const records = await blockProvRecords(ledger, h)
    for (const [index, t] of block.txs.entries()) {
      if (!receipts[index]!.ok) continue
      out.push({ kind: 'wasAssociatedWith', activity: ledgerProvIds.tx(t.id), agent: ledgerProvIds.key(t.signer), attributes: [] })
      out.push(...(records[index] ?? []))
    }
  }
  return out
}

/**
 * The edges the ledger's index holds at `node` in `direction` (of `relation`, or of every relation by
 * name), as [relation, the other end], without the implied associations of txs with their signers.
 */
export async function indexedEdges(ledger: Ledger, direction: LineageDirection, node: QualifiedName, relation?: RelationKind): Promise<[string, string][]> {
  const index = new LedgerLineageIndex(ledger)
  const out: [string, string][] = []
  for (const r of relation === undefined ? [...relationKinds].sort() : [relation]) {
    for (const e of await index.positionedEdges(node, direction, r, 100)) {
      if (!e.implied) out.push([e.edge.relation, direction === 'backward' ? e.edge.to : e.edge.from])
    }
  }
  return out
}
