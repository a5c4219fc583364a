/**
 * PROV export of a ledger: a block is a bundle with every committed tx's activity, signer agent and
 * association spelt out next to its stored records; the whole ledger is one bundle per block; the
 * lineage of an entity is a subgraph. Each round-trips through PROV-JSON, PROV-N and Turtle, and the
 * PROV-JSON validates against the W3C schema.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import AjvModule from 'ajv-draft-04'
import { toHex } from '../../src/crypto/index.js'
import { blockDocument, ledgerBundles, ledgerDocument, lineageExport, provFormats, serialiseProv } from '../../src/ledger/index.js'
import type { ProvFormat } from '../../src/ledger/index.js'
import { fromProvJson, fromProvN, fromTurtle, toProvJsonObject } from '../../src/prov/index.js'
import type { Activity, ProvDocument, ProvRecord } from '../../src/prov/index.js'
import { genesisTime } from './chain-fixture.js'
import { activityOf, applyTxs, data, itemTx, keyAgent, namedTx, openProvLedger } from './prov-fixture.js'

const Ajv = AjvModule.default
// The published schema misspells wasEndedBy (see test/prov/formats.test.ts); patched the same way.
const schema = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/prov/prov-json.schema.json', import.meta.url)), 'utf8')) as Record<string, any>
schema.properties.wasEndedBy = schema.properties.wasEndedby
schema.definitions.bundle.properties.wasEndedBy = schema.definitions.bundle.properties.wasEndedby
schema.id = 'http://provenance.ecs.soton.ac.uk/prov-json/schema-patched#'
const ajv = new Ajv({ allErrors: true, strictSchema: false })
ajv.addFormat('uri', /^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$/)
ajv.addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?$/)
const validate = ajv.compile(schema)

const parsers: Record<ProvFormat, (text: string) => ProvDocument> = { 'prov-json': fromProvJson, 'prov-n': fromProvN, turtle: fromTurtle }

function find(records: readonly ProvRecord[], kind: string, id?: string): ProvRecord[] {
  return records.filter((r) => r.kind === kind && (id === undefined || ('id' in r && r.id === id)))
}

t.test('exports of a ledger', async (t) => {
  const p = await openProvLedger(t)
  t.strictSame(await applyTxs(p, [itemTx(p, { id: 'c0' }), itemTx(p, { id: 'c1', parents: ['c0'] }), namedTx(p, 'dup', p.net.admin, 'data.add', { id: 'c0', hash: new Uint8Array(32) })]), [true, true, false])
  t.strictSame(await applyTxs(p, [itemTx(p, { id: 'c2', parents: ['c1'], signer: 'node' }), itemTx(p, { id: 'c3', parents: ['c1', 'c2'] })]), [true, true])
  const admin = keyAgent(p.net.admin)

  t.test('a block is a bundle: implied activities, agents and associations, then the stored records', async (t) => {
    const doc = await blockDocument(p.ledger, 1)
    t.strictSame(doc.prefixes, { tom: 'https://tom.example/ns#' })
    t.equal(doc.bundles.length, 1)
    const bundle = doc.bundles[0]!
    t.equal(bundle.id, 'tom:block/1')
    const activities = find(bundle.records, 'activity') as Activity[]
    t.strictSame(activities.map((a) => a.id), [activityOf(p, 'c0'), activityOf(p, 'c1')], 'the failed tx is not there')
    const time = new Date(genesisTime + 1000).toISOString()
    for (const a of activities) {
      t.equal(a.startTime, time)
      t.equal(a.endTime, time)
      t.strictSame(a.attributes, [{ name: 'prov:type', value: { value: 'tom:data.add', type: 'xsd:QName' } }])
    }
    t.strictSame(find(bundle.records, 'agent').map((r) => 'id' in r && r.id), [admin], 'the signer once, however many txs it signed')
    t.strictSame(find(bundle.records, 'wasAssociatedWith'), activities.map((a) => ({ kind: 'wasAssociatedWith', activity: a.id, agent: admin, attributes: [] })))
    t.strictSame(find(bundle.records, 'entity').map((r) => 'id' in r && r.id), [data('c0'), data('c1')])
    t.strictSame(find(bundle.records, 'wasDerivedFrom').map((r) => r.kind === 'wasDerivedFrom' && `${r.generatedEntity}<${r.usedEntity}`), [`${data('c1')}<${data('c0')}`])

    const genesis = (await blockDocument(p.ledger, 0)).bundles[0]!
    t.strictSame((find(genesis.records, 'activity') as Activity[]).map((a) => a.attributes[0]!.value.value), ['tom:network.create', 'tom:org.create', 'tom:node.add'])
    t.equal(find(genesis.records, 'agent', admin).length, 1, 'declared by org.create and implied by the txs: one record')
    const nodeId = `tom:node/${toHex(p.net.node.publicKey)}`
    t.equal(find(genesis.records, 'entity', nodeId).length + find(genesis.records, 'agent', nodeId).length, 2, 'a node is an entity and an agent')
  })

  t.test('the whole ledger: one bundle per block, also as an async iterable', async (t) => {
    const doc = await ledgerDocument(p.ledger)
    t.strictSame(doc.bundles.map((b) => b.id), ['tom:block/0', 'tom:block/1', 'tom:block/2'])
    const streamed = []
    for await (const bundle of ledgerBundles(p.ledger, { from: 1 })) streamed.push(bundle)
    t.strictSame(streamed.map((b) => b.id), ['tom:block/1', 'tom:block/2'])
    t.strictSame(fromProvJson(serialiseProv({ prefixes: doc.prefixes, records: [], bundles: streamed }, 'prov-json')).bundles, doc.bundles.slice(1))
    const two = doc.bundles[2]!
    t.strictSame(find(two.records, 'agent').map((r) => 'id' in r && r.id).sort(), [admin, keyAgent(p.net.node)].sort())
  })

  t.test('every export round-trips through PROV-JSON, PROV-N and Turtle; PROV-JSON is schema-valid', async (t) => {
    const docs: [string, ProvDocument][] = [
      ['block 0', await blockDocument(p.ledger, 0)],
      ['block 2', await blockDocument(p.ledger, 2)],
      ['the ledger', await ledgerDocument(p.ledger)],
      ['lineage of c3', await lineageExport(p.queries, data('c3'), 'backward', { depth: 10 })]
    ]
    for (const [what, doc] of docs) {
      for (const format of provFormats) t.strictSame(parsers[format](serialiseProv(doc, format)), doc, `${what} as ${format}`)
      t.ok(validate(toProvJsonObject(doc)), `${what}: ${ajv.errorsText(validate.errors)}`)
    }
    const lineageDoc = docs[3]![1]
    t.strictSame(find(lineageDoc.records, 'entity').map((r) => 'id' in r && r.id).sort(), [data('c0'), data('c1'), data('c2'), data('c3')].sort())
    t.equal(find(lineageDoc.records, 'wasDerivedFrom').length, 4, 'c1<c0, c2<c1, c3<c1, c3<c2')
  })

  t.test('bad input', async (t) => {
    await t.rejects(blockDocument(p.ledger, 3), { code: 'ERR_PROV_QUERY_BAD_HEIGHT' })
    await t.rejects(ledgerDocument(p.ledger, { from: 2, to: 1 }), { code: 'ERR_PROV_QUERY_BAD_HEIGHT' })
    await t.rejects(lineageExport(p.queries, 'not a name', 'backward'), { code: 'ERR_PROV_QUERY_BAD_ID' })
    await t.rejects(blockDocument(p.ledger, 1, { signal: AbortSignal.abort() }), { name: 'AbortError' })
  })
})
