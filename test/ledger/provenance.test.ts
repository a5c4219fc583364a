/**
 * Provenance recorded by the ledger at apply time (src/ledger/provenance.ts): the index records each
 * committed tx leaves, the PROV-CONSTRAINTS checks that fail a tx (and discard all it wrote), the
 * implied tx activities and signer agents, and `verify` re-deriving the index.
 */
import t from 'tap'
import type { Test } from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decode, encode, toHex } from '../../src/crypto/index.js'
import { CoreContracts } from '../../src/contracts/index.js'
import { decodeEdge, provNodeOf, decodeTxProvRecords, encodeTxProvRecords, LedgerLineageIndex, txProvRecords, layout, Ledger, LevelKvStore, ledgerProvIds, provKeys, txProvRecordsMax, verifyChain } from '../../src/ledger/index.js'
import type { StateReader, StateWriter, Tx, TxContext, TxExecutor } from '../../src/ledger/index.js'
import { MemoryProvIndex, normaliseRecord } from '../../src/prov/index.js'
import { sampleDocument } from '../prov/sample.js'
import { randomDocument } from '../prov/random-documents.js'
import type { ProvRecord } from '../../src/prov/index.js'
import { dataTx, makeNetwork, nextBlock, tx } from './chain-fixture.js'
import { SeededRandom } from '../crypto/seeded-random.js'

/** CoreContracts plus `prov.assert`, which writes one state key and asserts the records in its payload. */
class ProvTestContract implements TxExecutor {
  readonly inner = new CoreContracts()

  async execute(t: Tx, state: StateWriter, context: TxContext): Promise<void> {
    if (t.type !== 'prov.assert') return this.inner.execute(t, state, context)
    const p = t.payload as unknown as { key: string; records: ProvRecord[] }
    state.put(`test/${p.key}`, Uint8Array.of(1))
    // `self` stands for the tx's own activity, which the test cannot name before signing.
    const self = ledgerProvIds.tx(t.id)
    const records = p.records.map((r) => JSON.parse(JSON.stringify(r).replaceAll('"self"', JSON.stringify(self))) as ProvRecord)
    state.prov.add(...records)
  }

  isProposer(publicKey: Uint8Array, state: StateReader): Promise<boolean> {
    return this.inner.isProposer(publicKey, state)
  }
}

const entity = (id: string): ProvRecord => ({ kind: 'entity', id, attributes: [] })
const generated = (e: string, activity = 'self'): ProvRecord => ({ kind: 'wasGeneratedBy', entity: e, activity, attributes: [] })
const used = (e: string, activity = 'self'): ProvRecord => ({ kind: 'used', activity, entity: e, attributes: [] })
const invalidated = (e: string): ProvRecord => ({ kind: 'wasInvalidatedBy', entity: e, activity: 'self', attributes: [] })

async function openLedger(t: Test): Promise<{ ledger: Ledger; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'tom-prov-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const store = new LevelKvStore(join(dir, 'ledger'))
  const ledger = await Ledger.open(store, new ProvTestContract())
  return { ledger, dir }
}

async function scan(ledger: Ledger, prefix: string): Promise<string[]> {
  return (await ledger.scanProv(prefix, 1000)).map(([key]) => key)
}

t.test('data.add leaves generation, attribution, derivation edges both ways, the agent index and the tx records', async (t) => {
  const net = makeNetwork()
  const { ledger } = await openLedger(t)
  await ledger.applyBlock(net.genesis)
  const network = ledger.network!
  const a = dataTx(network, net.admin, 'a')
  const b = dataTx(network, net.admin, 'b', { derivedFrom: ['a'] })
  const { receipts } = await ledger.applyBlock(nextBlock(ledger, [a, b], net.node))
  t.same(receipts, [{ ok: true }, { ok: true }])

  const back = await ledger.scanProv(provKeys.edgePrefix('backward', 'tom:data/b'), 100)
  t.same(
    back.map(([k, v]) => decodeEdge(k, v)).sort((x, y) => x.relation.localeCompare(y.relation)),
    [
      { relation: 'wasAttributedTo', from: 'tom:data/b', to: ledgerProvIds.key(net.admin.publicKey) },
      { relation: 'wasDerivedFrom', from: 'tom:data/b', to: 'tom:data/a' },
      { relation: 'wasGeneratedBy', from: 'tom:data/b', to: ledgerProvIds.tx(b.id) }
    ]
  )
  const forward = (await ledger.scanProv(provKeys.edgePrefix('forward', 'tom:data/a'), 100)).map(([k, v]) => decodeEdge(k, v))
  t.same(forward.map((e) => [e.relation, e.from]).sort(), [
    ['used', ledgerProvIds.tx(b.id)],
    ['wasDerivedFrom', 'tom:data/b']
  ])
  t.same((await provNodeOf(ledger, 'tom:data/b'))!.generation, { at: { height: 1, index: 1 }, activity: ledgerProvIds.tx(b.id) })
  t.same((await provNodeOf(ledger, 'tom:data/a'))!.firstUse, { at: { height: 1, index: 1 }, activity: ledgerProvIds.tx(b.id) })
  t.same((await provNodeOf(ledger, 'tom:data/a'))!.kinds, ['entity'])

  // Every tx the admin signed, in chain order, genesis included; the value is the tx id.
  const byAgent = await ledger.scanProv(provKeys.agentPrefix(ledgerProvIds.key(net.admin.publicKey)), 100)
  t.same(byAgent.slice(-2).map(([, v]) => toHex(v)), [toHex(a.id), toHex(b.id)])
  // The tx's own activity, its signer and their association are implied: no kind record for them.
  t.equal(await provNodeOf(ledger, ledgerProvIds.tx(b.id)), undefined)
  t.equal(await provNodeOf(ledger, ledgerProvIds.key(net.admin.publicKey)), undefined)
  const records = await txProvRecords(ledger, { height: 1, index: 1 })
  t.same(records.map((r) => r.kind), ['entity', 'wasGeneratedBy', 'wasAttributedTo', 'used', 'wasDerivedFrom'])

  // The edges at b's own activity are not stored: its records answer for them, numbered as stored edges would be.
  const activity = ledgerProvIds.tx(b.id)
  t.same(await scan(ledger, provKeys.edgePrefix('forward', activity)), [])
  t.same(await scan(ledger, provKeys.edgePrefix('backward', activity)), [])
  const index = new LedgerLineageIndex(ledger)
  t.same(await index.positionedEdges(activity, 'forward', 'wasGeneratedBy', 10), [
    { edge: { relation: 'wasGeneratedBy', from: 'tom:data/b', to: activity }, tail: '000000000001.000001.0000', implied: false }
  ])
  t.same(await index.positionedEdges(activity, 'backward', 'used', 10), [
    { edge: { relation: 'used', from: activity, to: 'tom:data/a' }, tail: '000000000001.000001.0002', implied: false }
  ])
  t.same(await index.positionedEdges(activity, 'backward', 'used', 10, { tail: '000000000001.000001.0002', inclusive: false }), [], 'a page after the edge')
  t.same((await index.positionedEdges(activity, 'backward', 'used', 10, { tail: '000000000001.000001.0002', inclusive: true })).length, 1, 'a page at the edge')
  t.same(await index.positionedEdges(ledgerProvIds.tx(new Uint8Array(32)), 'forward', 'wasGeneratedBy', 10), [], 'no tx, no edges')
  await ledger.close()
})

t.test('a PROV-CONSTRAINTS violation fails the tx with its code and discards its state writes and index records', async (t) => {
  const net = makeNetwork()
  const { ledger } = await openLedger(t)
  await ledger.applyBlock(net.genesis)
  const network = ledger.network!
  const assert = (key: string, records: ProvRecord[]): Tx => tx(network, net.admin, 'prov.assert', { key, records } as unknown as Tx['payload'])

  const first = assert('first', [entity('tom:e/1'), generated('tom:e/1')])
  const cases: [string, Tx, string | undefined][] = [
    ['generation', first, undefined],
    ['same block: a use after the generation', assert('use', [used('tom:e/1')]), undefined],
    ['double generation', assert('double', [generated('tom:e/1')]), 'ERR_PROV_DOUBLE_GENERATION'],
    ['an undeclared id', assert('unknown', [used('tom:e/never')]), 'ERR_PROV_UNKNOWN_ID'],
    ['an entity redeclared as an activity', assert('disjoint', [{ kind: 'activity', id: 'tom:e/1', attributes: [] }]), 'ERR_PROV_ENTITY_ACTIVITY_DISJOINT'],
    ['a tx activity declared by a contract', assert('reserved', [{ kind: 'activity', id: `tom:tx/${'00'.repeat(32)}`, attributes: [] }]), 'ERR_PROV_RESERVED_ID'],
    ['a name with an undeclared prefix', assert('prefix', [entity('nope:x')]), 'ERR_PROV_INVALID_NAME'],
    ['too many records', assert('many', Array.from({ length: txProvRecordsMax + 1 }, (_, i) => entity(`tom:many/${i}`))), 'ERR_PROV_TOO_MANY_RECORDS'],
    ['invalidation', assert('inv', [invalidated('tom:e/1')]), undefined],
    ['a use after invalidation', assert('late', [used('tom:e/1')]), 'ERR_PROV_AFTER_INVALIDATION'],
    ['any key is an agent without being declared', assert('agent', [entity('tom:e/2'), { kind: 'wasAttributedTo', entity: 'tom:e/2', agent: `tom:key/${'ab'.repeat(32)}`, attributes: [] }]), undefined],
    ['an earlier tx of the block as an activity', assert('informed', [{ kind: 'wasInformedBy', informed: 'self', informant: ledgerProvIds.tx(first.id), attributes: [] }]), undefined]
  ]
  const block = nextBlock(ledger, cases.map(([, t]) => t), net.node)
  const { receipts } = await ledger.applyBlock(block)
  for (const [i, [name, , code]] of cases.entries()) {
    const receipt = receipts[i]!
    if (code === undefined) t.same(receipt, { ok: true }, name)
    else {
      t.match(receipt, { ok: false, code }, name)
      const key = (cases[i]![1].payload as { key: string }).key
      t.equal(await ledger.getState(`test/${key}`), undefined, `${name}: its state write is gone`)
      t.same(await txProvRecords(ledger, { height: 1, index: i }), [], `${name}: no records kept`)
      t.same(await scan(ledger, provKeys.agentTx(ledgerProvIds.key(net.admin.publicKey), { height: 1, index: i })), [], `${name}: not in the agent index`)
    }
  }
  t.same((await provNodeOf(ledger, 'tom:e/1'))!.invalidation, { at: { height: 1, index: 8 }, activity: ledgerProvIds.tx(cases[8]![1].id) })

  // In a later block: a committed tx's activity may be referred to; a failed tx's may not.
  const failed = cases[2]![1]
  const later = nextBlock(ledger, [
    assert('ok', [{ kind: 'wasInformedBy', informed: 'self', informant: ledgerProvIds.tx(first.id), attributes: [] }]),
    assert('bad', [{ kind: 'wasInformedBy', informed: 'self', informant: ledgerProvIds.tx(failed.id), attributes: [] }])
  ], net.node)
  const second = await ledger.applyBlock(later)
  t.same(second.receipts[0], { ok: true })
  t.match(second.receipts[1], { ok: false, code: 'ERR_PROV_UNKNOWN_ID' })
  await ledger.close()
})

t.test('verify re-derives the provenance index and reports a tampered record', async (t) => {
  const net = makeNetwork()
  const { ledger, dir } = await openLedger(t)
  await ledger.applyBlock(net.genesis)
  const network = ledger.network!
  await ledger.applyBlock(nextBlock(ledger, [dataTx(network, net.admin, 'x'), dataTx(network, net.admin, 'y', { derivedFrom: ['x'] })], net.node))
  await ledger.close()

  const verify = async (): Promise<unknown> => {
    const store = new LevelKvStore(join(dir, 'ledger'))
    await store.open()
    try {
      return await verifyChain(store, new ProvTestContract())
    } finally {
      await store.close()
    }
  }
  t.match(await verify(), { ok: true, height: 1 })
  const again = await Ledger.open(new LevelKvStore(join(dir, 'ledger')), new ProvTestContract())
  const [[edgeKey]] = (await again.scanProv(provKeys.edgePrefix('backward', 'tom:data/y'), 1)) as [[string, Uint8Array]]
  await again.close()
  const raw = new LevelKvStore(join(dir, 'ledger'))
  await raw.open()
  await raw.batch([{ type: 'put', key: layout.prov(edgeKey), value: new TextEncoder().encode('tom:data/z') }])
  await raw.close()
  t.match(await verify(), { ok: false, code: 'ERR_CHAIN_INDEX_MISMATCH' })
})

/**
 * Property: over random histories, the ledger accepts and refuses exactly the txs that the pure
 * checker (src/prov, MemoryProvIndex) does when given the tx's implied records explicitly, with the
 * same code; and the stored generations and invalidations are the reference's.
 */
t.test('property: the ledger decides as the pure PROV checker over random histories', async (t) => {
  const seeds = [1, 2, 3, 4, 5, 6, 7, 8]
  const outcomes = new Map<string, number>()
  for (const seed of seeds) {
    const random = new SeededRandom(seed)
    const net = makeNetwork()
    const { ledger } = await openLedger(t)
    await ledger.applyBlock(net.genesis)
    const network = ledger.network!
    const reference = new MemoryProvIndex()
    const entities = Array.from({ length: 8 }, (_, i) => `tom:e/${i}`)
    const agents = ['tom:org/a', 'tom:org/b', ledgerProvIds.key(net.admin.publicKey)]
    const txActivities: string[] = []
    const pickRecords = (): ProvRecord[] => {
      const records: ProvRecord[] = []
      const declared = new Set<string>()
      const declare = (kind: 'entity' | 'agent' | 'activity', id: string): void => {
        if (declared.has(id)) return
        declared.add(id)
        records.push({ kind, id, attributes: [] })
      }
      for (let n = random.intBetween(0, 4); n > 0; n--) {
        const e = random.pick(entities)
        const e2 = random.pick(entities)
        // Often declared in the same tx, so that relations get past typing to the event checks.
        if (random.bool()) declare('entity', e)
        switch (random.below(9)) {
          case 0: declare('entity', e); break
          case 1: declare(random.bool() ? 'agent' : 'activity', random.pick(agents.slice(0, 2))); break
          case 2: records.push(generated(e)); break
          case 3: records.push(used(e)); break
          case 4: records.push(invalidated(e)); break
          case 5: records.push({ kind: 'wasDerivedFrom', generatedEntity: e, usedEntity: e2, attributes: [] }); break
          case 6: records.push({ kind: 'wasAttributedTo', entity: e, agent: random.pick(agents), attributes: [] }); break
          case 7: if (txActivities.length > 0) records.push({ kind: 'wasInformedBy', informed: 'self', informant: random.pick(txActivities), attributes: [] }); break
          default: declare('activity', e); break
        }
      }
      return records
    }
    for (let height = 1; height <= 12; height++) {
      const txs: Tx[] = []
      const recordsOf: ProvRecord[][] = []
      for (let i = random.intBetween(1, 6); i > 0; i--) {
        const records = pickRecords()
        recordsOf.push(records)
        txs.push(tx(network, net.admin, 'prov.assert', { key: `${seed}/${height}/${i}`, records } as unknown as Tx['payload']))
      }
      const { receipts } = await ledger.applyBlock(nextBlock(ledger, txs, net.node))
      for (const [index, txn] of txs.entries()) {
        const self = ledgerProvIds.tx(txn.id)
        const records = recordsOf[index]!.map((r) => JSON.parse(JSON.stringify(r).replaceAll('"self"', JSON.stringify(self))) as ProvRecord)
        const implied: ProvRecord[] = [{ kind: 'activity', id: self, attributes: [] }, { kind: 'agent', id: ledgerProvIds.key(net.admin.publicKey), attributes: [] }]
        let expected: { ok: true } | { ok: false; code: string }
        try {
          reference.commit([...implied, ...records], { height, index })
          expected = { ok: true }
          txActivities.push(self)
        } catch (err) {
          expected = { ok: false, code: (err as { code: string }).code }
        }
        t.match(receipts[index], expected, `seed ${seed} height ${height} tx ${index}`)
        const outcome = expected.ok ? 'ok' : expected.code
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1)
      }
    }
    for (const e of entities) {
      const node = await provNodeOf(ledger, e)
      t.same(node?.generation, await reference.generationOf(e), `seed ${seed}: generation of ${e}`)
      t.same(node?.invalidation, await reference.invalidationOf(e), `seed ${seed}: invalidation of ${e}`)
    }
    await ledger.close()
  }
  // The histories must exercise both sides, and most of the codes.
  t.ok((outcomes.get('ok') ?? 0) >= 50, `accepted: ${JSON.stringify([...outcomes])}`)
  t.ok(outcomes.size >= 7, `outcomes: ${JSON.stringify([...outcomes])}`)
})

t.test('the positional codec of a tx\'s records gives back the normalised records', async (t) => {
  const documents = [sampleDocument(), ...Array.from({ length: 40 }, (_, i) => randomDocument(new SeededRandom(1000 + i)))]
  let records = 0
  for (const [i, doc] of documents.entries()) {
    for (const group of [doc.records, ...doc.bundles.map((b) => b.records)]) {
      const normalised = group.map(normaliseRecord)
      t.strictSame(decodeTxProvRecords(encodeTxProvRecords(normalised)), normalised, `document ${i}`)
      records += normalised.length
    }
  }
  t.ok(records > 500, `${records} records`)
})
