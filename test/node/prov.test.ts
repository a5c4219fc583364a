/** A node's provenance: queries and exports through TomNode, on a real node with LevelDB. */
import t from 'tap'
import { join } from 'node:path'
import { loadKeyFile, Signer } from '../../src/crypto/index.js'
import { ledgerProvIds, signTx } from '../../src/ledger/index.js'
import { fromProvJson, fromProvN, fromTurtle } from '../../src/prov/index.js'
import { initNetwork, TomNode, dataPath, silentLogger } from '../../src/node/index.js'

t.test('lineage, who touched, state at a height and exports of a data chain on one node', async (t) => {
  const dir = join(t.testdir(), 'node')
  await initNetwork({ dir })
  const node = await TomNode.open({ dir, logger: silentLogger() })
  t.teardown(() => node.close())
  const admin = new Signer(await loadKeyFile(dataPath(dir, 'adminKey')))
  node.start()
  let nonce = 0
  const add = (id: string, derivedFrom: string[] = []) =>
    node.submitTx(
      signTx({ network: node.network, type: 'data.add', signer: admin.publicKey, nonce: nonce++, expiresAt: Date.now() + 60_000, payload: { id, hash: new Uint8Array(32).fill(nonce), derivedFrom } }, admin)
    )
  const raw = await add('raw')
  await add('clean', ['raw'])
  const report = await add('report', ['clean'])

  const back = await node.prov.lineage('tom:data/report', 'backward', { depth: 10 })
  t.same(back.nodes.map((n) => n.id).filter((id) => id.startsWith('tom:data/')).sort(), ['tom:data/clean', 'tom:data/raw'], 'what report came from')
  const forward = await node.prov.lineage('tom:data/raw', 'forward', { depth: 1 })
  t.ok(forward.nodes.some((n) => n.id === 'tom:data/clean'), 'one step forward from raw is clean')
  t.notOk(forward.nodes.some((n) => n.id === 'tom:data/report'), 'depth 1 stops before report')

  const who = await node.prov.whoTouched('tom:data/raw')
  t.ok(who.agents.some((a) => a.id === ledgerProvIds.key(admin.publicKey)), 'the admin touched raw')
  t.ok(who.activities.length >= 2, 'generated once, used once')

  const before = await node.prov.stateAt('tom:data/report', raw.height)
  t.equal(before.live, false, 'report did not exist yet')
  const after = await node.prov.stateAt('tom:data/report', report.height)
  t.equal(after.live, true)
  t.equal(after.stateKey, 'data/report')
  t.ok(after.value)

  const json = await node.exportProv({ lineage: 'tom:data/report' }, 'prov-json')
  const doc = fromProvJson(json)
  t.ok(doc.records.some((r) => r.kind === 'wasDerivedFrom'), 'the lineage export holds the derivations')
  const block = await node.exportProv({ block: report.height }, 'prov-n')
  t.equal(fromProvN(block).bundles.length, 1, 'a block is one bundle')
  const all = fromTurtle(await node.exportProv({}, 'turtle'))
  t.equal(all.bundles.length, node.head.height + 1, 'the ledger: one bundle per block, genesis included')
})
