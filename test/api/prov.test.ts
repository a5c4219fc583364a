/** Provenance queries and exports over HTTP agree with the node's own answers and parse back. */
import t from 'tap'
import { ledgerProvIds } from '../../src/ledger/index.js'
import { fromProvJson, fromProvN, fromTurtle } from '../../src/prov/index.js'
import { toJsonValue } from '../../src/api/index.js'
import { apiFixture, dataHash } from './fixture.js'

t.test('lineage, who touched, history and activities match node.prov; exports parse back', async (t) => {
  const { node, admin, url, client } = await apiFixture(t)
  const b = await client.build(admin)
  await client.submit(b.dataAdd({ id: 'raw', hash: dataHash() }))
  await client.submit(b.dataAdd({ id: 'clean', hash: dataHash(), derivedFrom: ['raw'] }))
  const report = await client.submit(b.dataAdd({ id: 'report', hash: dataHash(), derivedFrom: ['clean'] }))
  if ('pending' in report) throw new Error('waited')

  const back = await client.lineage('tom:data/report', { depth: 10 })
  t.same(back, toJsonValue(await node.prov.lineage('tom:data/report', 'backward', { depth: 10 })), 'backward lineage as the node answers it')
  t.same(back.nodes.map((n) => n.id).filter((id) => id.startsWith('tom:data/')).sort(), ['tom:data/clean', 'tom:data/raw'])
  const forward = await client.lineage('tom:data/raw', { direction: 'forward', depth: 1, limit: 50 })
  t.same(forward, toJsonValue(await node.prov.lineage('tom:data/raw', 'forward', { depth: 1, limit: 50 })))
  t.notOk(forward.nodes.some((n) => n.id === 'tom:data/report'), 'depth 1 stops before report')

  const who = await client.whoTouched('tom:data/raw')
  t.same(who, toJsonValue(await node.prov.whoTouched('tom:data/raw')))
  t.ok(who.agents.some((a) => a.id === ledgerProvIds.key(admin.publicKey)), 'the admin touched raw')
  t.same(await client.history('tom:data/raw', { limit: 100 }), toJsonValue(await node.prov.history('tom:data/raw', { limit: 100 })))
  const agent = ledgerProvIds.key(admin.publicKey)
  const page = await client.activities(agent, { limit: 2 })
  t.same(page, toJsonValue(await node.prov.activitiesOf(agent, { limit: 2 })))
  t.equal(page.activities.length, 2)
  t.ok(page.next, 'more than one page')
  t.same(await client.activities(agent, { limit: 2, cursor: page.next! }), toJsonValue(await node.prov.activitiesOf(agent, { limit: 2, cursor: page.next! })), 'the next page')

  const lineageJson = await client.exportProv({ lineage: 'tom:data/report' }, 'prov-json')
  t.ok(fromProvJson(lineageJson).records.some((r) => r.kind === 'wasDerivedFrom'), 'the lineage export holds the derivations')
  t.equal(lineageJson, await node.exportProv({ lineage: 'tom:data/report' }, 'prov-json'))
  t.equal(fromProvN(await client.exportProv({ block: report.height }, 'prov-n')).bundles.length, 1, 'a block is one bundle')
  t.equal(fromTurtle(await client.exportProv({}, 'turtle')).bundles.length, node.head.height + 1, 'the ledger: one bundle per block')
  t.equal(fromProvJson(await client.exportProv({ from: 1, to: report.height })).bundles.length, report.height, 'a range')

  for (const [format, type] of [['prov-json', 'application/json; charset=utf-8'], ['prov-n', 'text/provenance-notation; charset=utf-8'], ['turtle', 'text/turtle; charset=utf-8']]) {
    const res = await fetch(`${url}/v1/prov/export?format=${format}&block=0`)
    t.equal(res.status, 200)
    t.equal(res.headers.get('content-type'), type, `${format} content type`)
  }

  const badId = await fetch(`${url}/v1/prov/lineage/not-a-qualified-name`)
  t.equal(badId.status, 400)
  t.equal(((await badId.json()) as { code: string }).code, 'ERR_PROV_QUERY_BAD_ID')
  t.match(await client.history('tom:data/raw', { cursor: 'nonsense' }).catch((e: unknown) => e), { code: 'ERR_PROV_QUERY_BAD_CURSOR', status: 400 })
  for (const query of ['format=rdf', 'block=0&from=0', `block=${node.head.height + 1}`, 'direction=sideways&lineage=tom:data/raw', 'depth=-1&lineage=tom:data/raw']) {
    const res = await fetch(`${url}/v1/prov/export?${query}`)
    t.equal(res.status, 400, query)
    t.equal(((await res.json()) as { code: string }).code, 'ERR_API_BAD_REQUEST', query)
  }
})
