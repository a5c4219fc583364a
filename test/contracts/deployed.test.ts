/**
 * Deployed contracts on a real LevelDB ledger through CoreContracts: deploy, call, upgrade, state
 * confined to the contract's prefix, PROV statements confined to its namespace and indexed by the
 * ledger, and hostile contracts failing their tx with a clear code while the block goes on.
 */
import t from 'tap'
import type { Test } from 'tap'
import { join } from 'node:path'
import { decode, generateKeyPair, Signer, toHex } from '../../src/crypto/index.js'
import { decodeEdge, provNodeOf, txProvRecords, Ledger, LevelKvStore, MemoryKvStore, provKeys, ledgerProvIds } from '../../src/ledger/index.js'
import type { Receipt, StateReader, Tx } from '../../src/ledger/index.js'
import { CoreContracts } from '../../src/contracts/index.js'
import { closeDeployedSandboxes, deployedStateKeys, readDeployedContract, readDeployedVersion } from '../../src/contracts/deployed.js'
import { dataTx, makeNetwork, nextBlock, tx } from '../ledger/chain-fixture.js'

t.teardown(closeDeployedSandboxes)

const dec = new TextDecoder()

interface Chain {
  readonly ledger: Ledger
  readonly net: ReturnType<typeof makeNetwork>
  readonly network: Uint8Array
  /** Applies one block of `txs` and returns its receipts. */
  block(txs: Tx[]): Promise<readonly Receipt[]>
}

async function chain(t: Test): Promise<Chain> {
  const net = makeNetwork()
  const ledger = await Ledger.open(new LevelKvStore(join(t.testdir(), 'ledger')), new CoreContracts())
  await ledger.applyBlock(net.genesis)
  t.teardown(() => ledger.close())
  return {
    ledger,
    net,
    network: ledger.network!,
    block: async (txs) => (await ledger.applyBlock(nextBlock(ledger, txs, net.node))).receipts
  }
}

/** The ledger's committed state as a StateReader. */
function reader(ledger: Ledger): StateReader {
  return { get: (key) => ledger.getState(key) }
}

function codes(receipts: readonly Receipt[]): string[] {
  return receipts.map((r) => (r.ok ? 'ok' : r.code))
}

async function text(ledger: Ledger, key: string): Promise<string | undefined> {
  const raw = await ledger.getState(key)
  return raw === undefined ? undefined : dec.decode(raw)
}

const counterV1 = `
handlers['counter.add'] = (tx, api) => {
  const n = Number(api.state.get('n') ?? '0') + tx.payload.by
  api.state.put('n', String(n))
  api.emit({ added: tx.payload.by, by: tx.signer })
  return { n, version: 1 }
}
handlers['counter.escape'] = (tx, api) => {
  api.state.put('../../../node/' + tx.signer, 'owned')
  api.state.put('/identity/' + tx.signer, 'owned')
}
`
const counterV2 = `
handlers['counter.add'] = (tx, api) => {
  const n = Number(api.state.get('n') ?? '0') + 2 * tx.payload.by
  api.state.put('n', String(n))
  return { n, version: 2 }
}
handlers['counter.reset'] = (tx, api) => { api.state.delete('n') }
`

t.test('deploy, call, upgrade: versions, state under the contract prefix, outputs, PROV of the code', async (t) => {
  const c = await chain(t)
  const { network, net } = c
  const deploy1 = tx(network, net.admin, 'contract.deploy', { name: 'counter', source: counterV1 })
  const add1 = tx(network, net.admin, 'counter.add', { by: 5 })
  t.same(codes(await c.block([deploy1, add1])), ['ok', 'ok'], 'deployed and called in the same block')
  t.same(await readDeployedContract(reader(c.ledger), 'counter'), { name: 'counter', org: 'org1', version: 1, hash: (await readDeployedVersion(reader(c.ledger), 'counter', 1))!.hash, types: ['counter.add', 'counter.escape'] })
  t.equal(await text(c.ledger, 'contract/counter/state/n'), '5', 'the contract wrote under contract/counter/state/')
  t.same(decode(( await c.ledger.getState(deployedStateKeys.output('counter', toHex(add1.id))))!), {
    events: [{ added: 5, by: toHex(net.admin.publicKey) }],
    result: { n: 5, version: 1 }
  }, 'events and result are kept for the tx')

  const escape = tx(network, net.admin, 'counter.escape', {})
  t.same(codes(await c.block([escape])), ['ok'])
  t.equal(await c.ledger.getState(`node/${toHex(net.admin.publicKey)}`), undefined, 'a ../ key does not leave the prefix')
  t.equal(await text(c.ledger, `contract/counter/state/../../../node/${toHex(net.admin.publicKey)}`), 'owned', 'it is an odd key inside the prefix')
  t.ok(decode<{ kind: string }>((await c.ledger.getState(`identity/${toHex(net.admin.publicKey)}`))!).kind === 'admin', 'the identity is untouched')

  // Upgrade: a stale expected version fails, the right one succeeds; state carries over.
  const stale = tx(network, net.admin, 'contract.deploy', { name: 'counter', source: counterV2, version: 1 })
  const deploy2 = tx(network, net.admin, 'contract.deploy', { name: 'counter', source: counterV2, version: 2 })
  const add2 = tx(network, net.admin, 'counter.add', { by: 5 })
  const escapeGone = tx(network, net.admin, 'counter.escape', {})
  t.same(codes(await c.block([stale, deploy2, add2, escapeGone])), ['ERR_CONTRACT_VERSION', 'ok', 'ok', 'ERR_CONTRACT_NO_HANDLER'])
  t.equal(await text(c.ledger, 'contract/counter/state/n'), '15', 'v2 handles calls (2 x 5 on top of 5)')
  t.same(decode<{ result: unknown }>((await c.ledger.getState(deployedStateKeys.output('counter', toHex(add2.id))))!).result, { n: 15, version: 2 })
  const v1 = await readDeployedVersion(reader(c.ledger), 'counter', 1)
  const v2 = await readDeployedVersion(reader(c.ledger), 'counter', 2)
  t.equal(v1!.source, counterV1, 'the old version stays readable')
  t.equal(v2!.source, counterV2)
  t.equal(v2!.version, 2)
  t.same(v2!.tx, deploy2.id)
  t.equal((await readDeployedContract(reader(c.ledger), 'counter'))!.version, 2)

  // PROV: each version is an entity generated by its deploy, v2 a revision of v1; every call used its version.
  t.same((await provNodeOf(c.ledger, 'tom:contract/counter/1'))!.generation, { at: { height: 1, index: 0 }, activity: ledgerProvIds.tx(deploy1.id) })
  const revisions = (await c.ledger.scanProv(provKeys.edgePrefix('backward', 'tom:contract/counter/2', 'wasDerivedFrom'), 10)).map(([k, v]) => decodeEdge(k, v))
  t.same(revisions.map((e) => e.to), ['tom:contract/counter/1'])
  const uses = (await c.ledger.scanProv(provKeys.edgePrefix('forward', 'tom:contract/counter/2', 'used'), 10)).map(([k, v]) => decodeEdge(k, v))
  t.same(uses.map((e) => e.from), [ledgerProvIds.tx(add2.id)], 'the call used version 2')
})

t.test('contract.deploy refusals', async (t) => {
  const c = await chain(t)
  const { network, net } = c
  const stranger = new Signer(generateKeyPair())
  const cases: Array<[string, Tx, string]> = [
    ['syntax error', tx(network, net.admin, 'contract.deploy', { name: 'bad', source: 'handlers["bad.x"] = (' }), 'ERR_CONTRACT_COMPILE'],
    ['top level loops', tx(network, net.admin, 'contract.deploy', { name: 'spin', source: 'for (;;) {}' }), 'ERR_CONTRACT_COMPILE'],
    ['no handler', tx(network, net.admin, 'contract.deploy', { name: 'empty', source: 'const a = 1' }), 'ERR_CONTRACT_COMPILE'],
    ['a handler outside its name', tx(network, net.admin, 'contract.deploy', { name: 'sneaky', source: 'handlers["data.add"] = () => 1' }), 'ERR_CONTRACT_HANDLER_TYPES'],
    ['a bare-name handler', tx(network, net.admin, 'contract.deploy', { name: 'sneaky', source: 'handlers["sneaky."] = () => 1' }), 'ERR_CONTRACT_HANDLER_TYPES'],
    ['a built-in namespace', tx(network, net.admin, 'contract.deploy', { name: 'node', source: 'handlers["node.x"] = () => 1' }), 'ERR_CONTRACT_NAME_RESERVED'],
    ['a bad name', tx(network, net.admin, 'contract.deploy', { name: 'Has.Dot', source: 'handlers["x"] = () => 1' }), 'ERR_TX_INVALID_PAYLOAD'],
    ['an unknown field', tx(network, net.admin, 'contract.deploy', { name: 'ok', source: 'handlers["ok.x"] = () => 1', owner: 'me' }), 'ERR_TX_INVALID_PAYLOAD'],
    // The default ACL rules stop a node before the processor would (ERR_TX_UNAUTHORIZED).
    ['a node key is not an admin', tx(network, net.node, 'contract.deploy', { name: 'ok', source: 'handlers["ok.x"] = () => 1' }), 'ERR_ACL_DENIED'],
    ['an unknown signer', tx(network, stranger, 'contract.deploy', { name: 'ok', source: 'handlers["ok.x"] = () => 1' }), 'ERR_TX_UNKNOWN_SIGNER'],
    ['version 1 is the first', tx(network, net.admin, 'contract.deploy', { name: 'ok', source: 'handlers["ok.x"] = () => 1', version: 2 }), 'ERR_CONTRACT_VERSION'],
    ['no contract of that name', tx(network, net.admin, 'nothing.x', {}), 'ERR_TX_UNKNOWN_TYPE'],
    ['a type without a dot', tx(network, net.admin, 'nothing', {}), 'ERR_TX_UNKNOWN_TYPE']
  ]
  const good = tx(network, net.admin, 'contract.deploy', { name: 'ok', source: 'handlers["ok.x"] = () => 1' })
  const call = tx(network, net.admin, 'ok.x', {})
  const strangerCall = tx(network, stranger, 'ok.x', {})
  const receipts = await c.block([...cases.map(([, x]) => x), good, call, strangerCall])
  for (const [i, [what, , code]] of cases.entries()) t.equal(codes(receipts)[i], code, what)
  t.same(codes(receipts).slice(cases.length), ['ok', 'ok', 'ERR_TX_UNKNOWN_SIGNER'], 'a good deploy and call after the refusals; strangers do not call')
  for (const name of ['bad', 'spin', 'empty', 'sneaky', 'node']) t.equal(await readDeployedContract(reader(c.ledger), name), undefined, `${name} not deployed`)
})

const provContract = `
handlers['lab.derive'] = (tx, api) => {
  const id = 'result/' + tx.payload.n
  api.prov.entity(id, { 'prov:type': 'tom:LabResult', 'tom:score': tx.payload.n, 'prov:label': 'result ' + tx.payload.n })
  api.prov.wasGeneratedBy(id)
  api.prov.used('tom:data/' + tx.payload.from)
  api.prov.wasDerivedFrom(id, 'tom:data/' + tx.payload.from)
  api.prov.wasAttributedTo(id, 'tom:org/org1')
}
handlers['lab.raw'] = (tx, api) => {
  const s = tx.payload.s
  if (s === 'data') { api.prov.entity('tom:data/squat'); api.prov.wasGeneratedBy('tom:data/squat') }
  if (s === 'tx') api.prov.used('tom:tx/' + tx.id)
  if (s === 'other') api.prov.entity('tom:contract/other/data/x')
  if (s === 'code') api.prov.wasInvalidatedBy('tom:contract/lab/2')
  if (s === 'attr') api.prov.entity('x', { 'dc:title': 'no' })
  if (s === 'attrType') api.prov.entity('x', { 'tom:what': { nested: 1 } })
  if (s === 'badId') api.prov.entity('has space')
  if (s === 'undeclared') api.prov.wasGeneratedBy('never-declared')
}
`

t.test('PROV statements of a contract: recorded and indexed, confined to its namespace', async (t) => {
  const c = await chain(t)
  const { network, net } = c
  await c.block([dataTx(network, net.admin, 'sample'), tx(network, net.admin, 'contract.deploy', { name: 'lab', source: provContract })])
  const derive = tx(network, net.admin, 'lab.derive', { n: 7, from: 'sample' })
  t.same(codes(await c.block([derive])), ['ok'])
  const result = 'tom:contract/lab/data/result/7'
  t.same((await provNodeOf(c.ledger, result))!.generation, { at: { height: 2, index: 0 }, activity: ledgerProvIds.tx(derive.id) })
  const back = (await c.ledger.scanProv(provKeys.edgePrefix('backward', result), 10)).map(([k, v]) => decodeEdge(k, v))
  t.same(back.map((e) => [e.relation, e.to]).sort(), [
    ['wasAttributedTo', 'tom:org/org1'],
    ['wasDerivedFrom', 'tom:data/sample'],
    ['wasGeneratedBy', ledgerProvIds.tx(derive.id)]
  ])
  const entity = ((await txProvRecords(c.ledger, { height: 2, index: 0 })) as Array<{ kind: string; id?: string; attributes?: Array<{ name: string; value: { value: string; type: string } }> }>).find((r) => r.kind === 'entity')
  t.same(entity!.attributes!.map((a) => [a.name, a.value.type, a.value.value]), [
    ['prov:label', 'xsd:string', 'result 7'],
    ['prov:type', 'xsd:QName', 'tom:LabResult'],
    ['tom:score', 'xsd:int', '7']
  ])

  const refused: Array<[string, string]> = [
    ['data', 'ERR_CONTRACT_BAD_PROV'],
    ['tx', 'ERR_CONTRACT_BAD_PROV'],
    ['other', 'ERR_CONTRACT_BAD_PROV'],
    ['code', 'ERR_CONTRACT_BAD_PROV'],
    ['attr', 'ERR_CONTRACT_BAD_PROV'],
    ['attrType', 'ERR_CONTRACT_BAD_PROV'],
    ['badId', 'ERR_CONTRACT_BAD_PROV'],
    ['undeclared', 'ERR_PROV_UNKNOWN_ID']
  ]
  const receipts = await c.block([...refused.map(([s]) => tx(network, net.admin, 'lab.raw', { s })), tx(network, net.admin, 'lab.derive', { n: 8, from: 'sample' })])
  t.same(codes(receipts), [...refused.map(([, code]) => code), 'ok'])
  t.equal(await provNodeOf(c.ledger, 'tom:data/squat'), undefined, 'nothing of a refused statement is indexed')
  t.same(codes(await c.block([dataTx(network, net.admin, 'squat')])), ['ok'], 'so data.add may still create that id')
})

const evil = `
handlers['evil.loop'] = () => { for (;;) {} }
handlers['evil.alloc'] = () => { const a = []; for (let i = 0; ; i++) a.push({ i, s: 'v' + i }) }
handlers['evil.huge-string'] = () => 'x'.repeat(1 << 28).length
handlers['evil.recurse'] = () => { const f = (n) => f(n + 1) + 1; return f(0) }
handlers['evil.throw'] = () => { throw new RangeError('no thanks') }
handlers['evil.function'] = () => Function('return this')().process.exit(1)
handlers['evil.host'] = (tx, api) => globalThis.__tomHost.put('x', 'y')
handlers['evil.ctor'] = (tx, api) => api.state.get.constructor('return require')()('fs')
handlers['evil.import'] = () => { import('fs'); return 1 }
handlers['evil.proto'] = () => { Object.prototype.polluted = 1; return 1 }
handlers['evil.big-result'] = () => 'x'.repeat(100000)
handlers['evil.big-value'] = (tx, api) => { api.state.put('k', 'x'.repeat(70000)) }
handlers['evil.events'] = (tx, api) => { for (let i = 0; i < 1000; i++) api.emit({ i }) }
handlers['evil.writes'] = (tx, api) => { for (let i = 0; i < 1000; i++) api.state.put('k' + i, '1') }
handlers['evil.async'] = async () => 1
handlers['evil.ok'] = (tx, api) => { api.state.put('after', String(tx.payload.n)); return Object.prototype.polluted === undefined }
`

t.test('hostile contracts fail their tx with a clear code; later txs of the block apply; every node agrees', async (t) => {
  const c = await chain(t)
  const { network, net } = c
  t.same(codes(await c.block([tx(network, net.admin, 'contract.deploy', { name: 'evil', source: evil })])), ['ok'])
  const cases: Array<[string, string]> = [
    ['loop', 'ERR_CONTRACT_INSTRUCTION_LIMIT'],
    ['alloc', 'ERR_CONTRACT_MEMORY_LIMIT'],
    ['huge-string', 'ERR_CONTRACT_MEMORY_LIMIT'],
    ['recurse', 'ERR_CONTRACT_STACK_OVERFLOW'],
    ['throw', 'ERR_CONTRACT_THROWN'],
    ['function', 'ERR_CONTRACT_THROWN'],
    ['host', 'ERR_CONTRACT_THROWN'],
    ['ctor', 'ERR_CONTRACT_THROWN'],
    ['import', 'ERR_CONTRACT_BAD_OUTPUT'],
    ['proto', 'ERR_CONTRACT_THROWN'],
    ['big-result', 'ERR_CONTRACT_OUTPUT_LIMIT'],
    ['big-value', 'ERR_CONTRACT_OUTPUT_LIMIT'],
    ['events', 'ERR_CONTRACT_OUTPUT_LIMIT'],
    ['writes', 'ERR_CONTRACT_OUTPUT_LIMIT'],
    ['async', 'ERR_CONTRACT_BAD_OUTPUT']
  ]
  const txs: Tx[] = []
  for (const [i, [fn]] of cases.entries()) txs.push(tx(network, net.admin, `evil.${fn}`, {}), tx(network, net.admin, 'evil.ok', { n: i }))
  const receipts = await c.block(txs)
  for (const [i, [fn, code]] of cases.entries()) {
    t.equal(codes(receipts)[2 * i], code, `evil.${fn}: ${code}`)
    t.equal(codes(receipts)[2 * i + 1], 'ok', `the tx after evil.${fn} applies`)
  }
  t.equal(await text(c.ledger, 'contract/evil/state/after'), String(cases.length - 1), 'the last good call wrote')
  t.equal(await text(c.ledger, 'contract/evil/state/k'), undefined, 'failed calls wrote nothing')
  t.same((await c.ledger.getReceipts(2))!.length, txs.length)
  const ok = decode<{ result: boolean }>((await c.ledger.getState(deployedStateKeys.output('evil', toHex(txs[txs.length - 1]!.id))))!)
  t.equal(ok.result, true, 'no prototype pollution reached the next call')

  // A node that did not admit these txs replays the blocks and reaches the same state digest.
  const follower = await Ledger.open(new MemoryKvStore(), new CoreContracts())
  closeDeployedSandboxes() // it compiles afresh, as another process would
  for (let h = 0; h <= c.ledger.head!.height; h++) await follower.applyBlock((await c.ledger.getBlock(h))!)
  t.same(follower.head!.stateDigest, c.ledger.head!.stateDigest, 'the follower computed the same state digest')
  await follower.close()
})
