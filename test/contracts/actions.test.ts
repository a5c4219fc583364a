/**
 * Orchestration actions on a real LevelDB ledger: emitted by a deployed contract (api.action) and by
 * a built-in one (emitAction), recorded pending and listed per node, reported by the addressed node
 * only, through pending -> running -> done | failed, with their PROV.
 */
import t from 'tap'
import type { Test } from 'tap'
import { join } from 'node:path'
import { decode, generateKeyPair, Signer, toHex } from '../../src/crypto/index.js'
import { provNodeOf, Ledger, LevelKvStore, ledgerProvIds, provKeys } from '../../src/ledger/index.js'
import type { Receipt, StateReader, StateWriter, Tx, TxContext, TxExecutor } from '../../src/ledger/index.js'
import { CoreContracts } from '../../src/contracts/index.js'
import { actionStateKeys, emitAction, listOpenActions, readAction } from '../../src/contracts/actions.js'
import { txActionsMax } from '../../src/contracts/deployed-constants.js'
import { closeDeployedSandboxes } from '../../src/contracts/deployed.js'
import { makeNetwork, nextBlock, tx } from '../ledger/chain-fixture.js'

t.teardown(closeDeployedSandboxes)

/** A built-in contract of the test: `test.orchestrate { specs }` emits each spec through emitAction. */
class OrchestratingContract implements TxExecutor {
  constructor (readonly inner: TxExecutor) {}

  async execute (t: Tx, state: StateWriter, context: TxContext): Promise<void> {
    if (t.type !== 'test.orchestrate') return this.inner.execute(t, state, context)
    for (const spec of (t.payload as { specs: unknown[] }).specs) await emitAction(t, state, context, spec)
  }

  isProposer (publicKey: Uint8Array, state: StateReader): Promise<boolean> {
    return this.inner.isProposer(publicKey, state)
  }
}

/** The image the chain approves; actions that start it are valid. */
const digest = 'ab'.repeat(32)

interface Chain {
  readonly ledger: Ledger
  readonly network: Uint8Array
  readonly admin: Signer
  readonly node1: Signer
  readonly node2: Signer
  block(txs: Tx[]): Promise<string[]>
}

async function chain (t: Test): Promise<Chain> {
  const net = makeNetwork()
  const ledger = await Ledger.open(new LevelKvStore(join(t.testdir(), 'ledger')), new OrchestratingContract(new CoreContracts()))
  await ledger.applyBlock(net.genesis)
  t.teardown(() => ledger.close())
  const block = async (txs: Tx[]): Promise<string[]> =>
    (await ledger.applyBlock(nextBlock(ledger, txs, net.node))).receipts.map((r: Receipt) => (r.ok ? 'ok' : r.code))
  const node2 = new Signer(generateKeyPair())
  const network = ledger.network!
  const added = await block([tx(network, net.admin, 'node.add', { org: 'org1', publicKey: node2.publicKey, name: 'node2', addrs: [] })])
  if (added[0] !== 'ok') throw new Error(`node.add failed: ${added[0]}`)
  const approved = await block([tx(network, net.admin, 'image.approve', { digest: `sha256:${digest}` })])
  if (approved[0] !== 'ok') throw new Error(`image.approve failed: ${approved[0]}`)
  return { ledger, network, admin: net.admin, node1: net.node, node2, block }
}

const orchestrator = `
handlers['orch.start'] = (tx, api) => {
  api.action({ type: 'container.start', node: tx.payload.node, params: { image: 'sha256:${digest}', container: 'web-' + tx.payload.n, env: { B: '2', A: '1' }, cmd: ['serve'] } })
}
handlers['orch.migrate'] = (tx, api) => {
  api.action({ type: 'container.migrate', node: tx.payload.from, params: { container: 'web-1', image: '${digest}', target: tx.payload.to } })
}
handlers['orch.raw'] = (tx, api) => { api.action(tx.payload.spec) }
handlers['orch.many'] = (tx, api) => { for (let i = 0; i < tx.payload.n; i++) api.action({ type: 'container.stop', node: tx.payload.node, params: { container: 'c' + i } }) }
`

t.test('a deployed contract emits actions; the addressed node lists and reports them', async (t) => {
  const c = await chain(t)
  const n1 = toHex(c.node1.publicKey)
  const n2 = toHex(c.node2.publicKey)
  const deploy = tx(c.network, c.admin, 'contract.deploy', { name: 'orch', source: orchestrator })
  const start = tx(c.network, c.admin, 'orch.start', { node: n1, n: 1 })
  const twice = tx(c.network, c.admin, 'orch.many', { node: n2, n: 2 })
  t.same(await c.block([deploy, start, twice]), ['ok', 'ok', 'ok'])
  const id = `${toHex(start.id)}-0`
  const record = await readAction({ get: (k) => c.ledger.getState(k) }, id)
  t.same(record, {
    id,
    type: 'container.start',
    node: n1,
    params: { image: digest, container: 'web-1', env: { A: '1', B: '2' }, cmd: ['serve'] },
    status: 'pending',
    origin: 'contract:orch/1',
    tx: toHex(start.id),
    height: 3,
    updatedHeight: 3
  })
  t.same(await listOpenActions(c.ledger, c.node1.publicKey), [{ id, type: 'container.start', status: 'pending' }])
  t.same((await listOpenActions(c.ledger, n2)).map((a) => a.id), [`${toHex(twice.id)}-0`, `${toHex(twice.id)}-1`], 'numbered within their tx')
  t.same((await provNodeOf(c.ledger, `tom:action/${id}`))!.generation, { at: { height: 3, index: 1 }, activity: ledgerProvIds.tx(start.id) })

  const report = (signer: Signer, payload: Record<string, string>): Tx => tx(c.network, signer, 'action.report', payload)
  t.same(await c.block([
    report(c.node2, { id, status: 'running' }),
    report(c.admin, { id, status: 'running' }),
    report(c.node1, { id, status: 'pending' }),
    report(c.node1, { id: `${toHex(start.id)}-9`, status: 'running' }),
    report(c.node1, { id, status: 'running', detail: 'pulling' }),
    report(c.node1, { id, status: 'running' })
  ]), ['ERR_TX_UNAUTHORIZED', 'ERR_TX_UNAUTHORIZED', 'ERR_TX_INVALID_PAYLOAD', 'ERR_ACTION_UNKNOWN', 'ok', 'ERR_ACTION_BAD_TRANSITION'])
  t.same(await listOpenActions(c.ledger, n1), [{ id, type: 'container.start', status: 'running' }])
  t.equal((await readAction({ get: (k) => c.ledger.getState(k) }, id))!.detail, 'pulling')

  const done = report(c.node1, { id, status: 'done' })
  t.same(await c.block([done, report(c.node1, { id, status: 'failed' })]), ['ok', 'ERR_ACTION_CLOSED'])
  const closed = await readAction({ get: (k) => c.ledger.getState(k) }, id)
  t.equal(closed!.status, 'done')
  t.equal(closed!.updatedHeight, 5)
  t.notOk('detail' in closed!, 'a report without detail clears the last one')
  t.same(await listOpenActions(c.ledger, n1), [], 'a done action leaves the open list')
  t.equal(await c.ledger.getState(actionStateKeys.nodeAction(n1, id)), undefined)
  t.same((await provNodeOf(c.ledger, `tom:action/${id}`))!.invalidation, { at: { height: 5, index: 0 }, activity: ledgerProvIds.tx(done.id) })
  t.ok((await provNodeOf(c.ledger, `tom:action/${id}/status/running`))?.generation, 'each reported status is an entity')
  t.ok((await provNodeOf(c.ledger, `tom:action/${id}/status/done`))?.generation)
})

t.test('a migrate is listed for both nodes and closed by the addressed one', async (t) => {
  const c = await chain(t)
  const n1 = toHex(c.node1.publicKey)
  const n2 = toHex(c.node2.publicKey)
  const migrate = tx(c.network, c.admin, 'orch.migrate', { from: n1, to: n2 })
  t.same(await c.block([tx(c.network, c.admin, 'contract.deploy', { name: 'orch', source: orchestrator }), migrate]), ['ok', 'ok'])
  const id = `${toHex(migrate.id)}-0`
  t.same((await listOpenActions(c.ledger, n1)).map((a) => a.id), [id])
  t.same((await listOpenActions(c.ledger, n2)).map((a) => a.id), [id], 'the target sees it too')
  t.same(await c.block([
    tx(c.network, c.node2, 'action.report', { id, status: 'done' }),
    tx(c.network, c.node1, 'action.report', { id, status: 'failed', detail: 'target unreachable' })
  ]), ['ERR_TX_UNAUTHORIZED', 'ok'])
  t.same(await listOpenActions(c.ledger, n1), [])
  t.same(await listOpenActions(c.ledger, n2), [])
})

t.test('malformed actions fail the tx that emits them, and nothing of it is kept', async (t) => {
  const c = await chain(t)
  const n1 = toHex(c.node1.publicKey)
  const n2 = toHex(c.node2.publicKey)
  const stranger = toHex(generateKeyPair().publicKey)
  await c.block([tx(c.network, c.admin, 'contract.deploy', { name: 'orch', source: orchestrator })])
  const raw = (spec: unknown): Tx => tx(c.network, c.admin, 'orch.raw', { spec: spec as Tx['payload'] })
  const cases: Array<[string, unknown, string]> = [
    ['unknown type', { type: 'container.explode', node: n1, params: {} }, 'ERR_ACTION_INVALID'],
    ['node not a key', { type: 'container.stop', node: 'node1', params: { container: 'a' } }, 'ERR_ACTION_INVALID'],
    ['node unknown', { type: 'container.stop', node: stranger, params: { container: 'a' } }, 'ERR_ACTION_NODE_UNKNOWN'],
    ['bad image', { type: 'container.start', node: n1, params: { image: 'latest', container: 'a' } }, 'ERR_ACTION_INVALID'],
    ['image not approved', { type: 'container.start', node: n1, params: { image: 'cd'.repeat(32), container: 'a' } }, 'ERR_IMAGE_NOT_APPROVED'],
    ['bad container name', { type: 'container.stop', node: n1, params: { container: '../etc' } }, 'ERR_ACTION_INVALID'],
    ['extra param', { type: 'container.stop', node: n1, params: { container: 'a', force: true } }, 'ERR_ACTION_INVALID'],
    ['extra field', { type: 'container.stop', node: n1, params: { container: 'a' }, id: 'mine' }, 'ERR_ACTION_INVALID'],
    ['bad env', { type: 'container.start', node: n1, params: { image: digest, container: 'a', env: { 'A=B': 'x' } } }, 'ERR_ACTION_INVALID'],
    ['migrate to itself', { type: 'container.migrate', node: n1, params: { container: 'a', image: digest, target: n1 } }, 'ERR_ACTION_INVALID'],
    ['migrate to a stranger', { type: 'container.migrate', node: n1, params: { container: 'a', image: digest, target: stranger } }, 'ERR_ACTION_NODE_UNKNOWN'],
    ['fine', { type: 'container.restart', node: n2, params: { container: 'a' } }, 'ok']
  ]
  const txs = cases.map(([, spec]) => raw(spec))
  t.same(await c.block(txs), cases.map(([, , code]) => code))
  t.same((await listOpenActions(c.ledger, n1)), [], 'no refused action was recorded')
  t.same((await listOpenActions(c.ledger, n2)).map((a) => a.id), [`${toHex(txs[txs.length - 1]!.id)}-0`])
  t.same(await c.block([tx(c.network, c.admin, 'orch.many', { node: n1, n: 17 })]), ['ERR_CONTRACT_OUTPUT_LIMIT'], 'the sandbox bounds a contract\'s actions')
})

t.test('a built-in contract emits actions through emitAction, within txActionsMax', async (t) => {
  const c = await chain(t)
  const n2 = toHex(c.node2.publicKey)
  const stop = (i: number): Record<string, unknown> => ({ type: 'container.stop', node: c.node2.publicKey, params: { container: `c${i}` } })
  const ok = tx(c.network, c.admin, 'test.orchestrate', { specs: [stop(0), stop(1)] as Tx['payload'] })
  const tooMany = tx(c.network, c.admin, 'test.orchestrate', { specs: Array.from({ length: txActionsMax + 1 }, (_, i) => stop(i)) as Tx['payload'] })
  t.same(await c.block([ok, tooMany]), ['ok', 'ERR_ACTION_TOO_MANY'])
  const open = await listOpenActions(c.ledger, n2)
  t.same(open.map((a) => a.id), [`${toHex(ok.id)}-0`, `${toHex(ok.id)}-1`])
  const record = await readAction({ get: (k) => c.ledger.getState(k) }, open[0]!.id)
  t.equal(record!.origin, 'test.orchestrate')
  t.equal(record!.node, n2, 'a node given as bytes is recorded as hex')
})

t.test('start limits and labels are checked and recorded; a done stop keeps the container, stopped; restart clears it; remove is an action', async (t) => {
  const c = await chain(t)
  const n2 = toHex(c.node2.publicKey)
  const orchestrate = (...specs: Record<string, unknown>[]): Tx => tx(c.network, c.admin, 'test.orchestrate', { specs: specs as Tx['payload'] })
  const start = (params: Record<string, unknown>): Record<string, unknown> => ({ type: 'container.start', node: n2, params: { image: digest, container: 'box', ...params } })
  t.same(await c.block([
    orchestrate(start({ limits: { memoryBytes: 1024 } })),
    orchestrate(start({ limits: { nanoCpus: 1.5 } })),
    orchestrate(start({ limits: { disk: 1 } })),
    orchestrate(start({ labels: { 'tom.node': 'x' } })),
    orchestrate(start({ labels: { app: 7 } }))
  ]), ['ERR_ACTION_INVALID', 'ERR_ACTION_INVALID', 'ERR_ACTION_INVALID', 'ERR_ACTION_INVALID', 'ERR_ACTION_INVALID'])
  const ok = orchestrate(start({ limits: { memoryBytes: 64 * 1024 * 1024, nanoCpus: 250_000_000 }, labels: { tier: 'edge', app: 'cam' } }))
  t.same(await c.block([ok]), ['ok'])
  const startId = `${toHex(ok.id)}-0`
  const recorded = await readAction({ get: (k) => c.ledger.getState(k) }, startId)
  t.same((recorded!.params as { limits: unknown; labels: unknown }).limits, { memoryBytes: 64 * 1024 * 1024, nanoCpus: 250_000_000 })
  t.same(Object.keys((recorded!.params as { labels: object }).labels), ['app', 'tier'], 'labels recorded in key order')

  const boxKey = generateKeyPair().publicKey
  t.same(await c.block([tx(c.network, c.node2, 'container.join', { id: 'box', imageDigest: `sha256:${digest}`, publicKey: boxKey, action: startId })]), ['ok'])
  const container = async (): Promise<Record<string, unknown>> => decode<Record<string, unknown>>((await c.ledger.getState('container/box'))!)
  const stopTx = orchestrate({ type: 'container.stop', node: n2, params: { container: 'box' } })
  t.same(await c.block([stopTx]), ['ok'])
  t.same(await c.block([tx(c.network, c.node2, 'action.report', { id: `${toHex(stopTx.id)}-0`, status: 'done' })]), ['ok'])
  t.equal((await container()).stopped, true, 'a done stop marks it stopped')
  t.equal((await container()).status, 'joined', 'and keeps it')
  const restartTx = orchestrate({ type: 'container.restart', node: n2, params: { container: 'box' } })
  t.same(await c.block([restartTx]), ['ok'])
  t.same(await c.block([tx(c.network, c.node2, 'action.report', { id: `${toHex(restartTx.id)}-0`, status: 'done' })]), ['ok'])
  t.equal((await container()).stopped, undefined, 'a done restart runs it again')
  const removeTx = orchestrate({ type: 'container.remove', node: n2, params: { container: 'box' } })
  t.same(await c.block([removeTx]), ['ok'])
  t.same((await listOpenActions(c.ledger, n2)).map((a) => a.type), ['container.remove'])
})
