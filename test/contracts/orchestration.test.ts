/**
 * The ledger side of orchestration on a real LevelDB ledger: a container.join that fulfils an action
 * closes it; pending reports with a reason; node health and service continuity (node.unreachable,
 * node.remove) moving containers by the placement rule (labels, capacity, ties by key); migrate's
 * copy; container.status drift records; orchestration templates on device.join and data.add. Each
 * step checks receipts with their codes, the world state, and the PROV edges the ledger indexed.
 */
import t from 'tap'
import type { Test } from 'tap'
import { join } from 'node:path'
import { decode, generateKeyPair, Signer, toHex } from '../../src/crypto/index.js'
import { provNodeOf, Ledger, LevelKvStore, ledgerProvIds, provKeys } from '../../src/ledger/index.js'
import type { Receipt, StateReader, StateWriter, Tx, TxContext, TxExecutor } from '../../src/ledger/index.js'
import type { LineageDirection, RelationKind } from '../../src/prov/index.js'
import { CoreContracts, listNodeContainers, listNodes } from '../../src/contracts/index.js'
import type { ActionRecord, ContainerRecord, StartParams, UnplacedRecord } from '../../src/contracts/index.js'
import { emitAction, listOpenActions, readAction } from '../../src/contracts/actions.js'
import { closeDeployedSandboxes } from '../../src/contracts/deployed.js'
import { makeNetwork, nextBlock, tx } from '../ledger/chain-fixture.js'
import { indexedEdges } from '../ledger/prov-fixture.js'

t.teardown(closeDeployedSandboxes)

/** `test.orchestrate { specs }` emits each spec through emitAction, as a built-in contract would. */
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

const digest = 'ab'.repeat(32)
const image = `sha256:${digest}`
const otherDigest = 'cd'.repeat(32)
const hash = new Uint8Array(32).fill(3)

interface Chain {
  readonly ledger: Ledger
  readonly admin: Signer
  /** node1 is the genesis node; node2, node3, node4 are added with the labels and capacities asked for. */
  readonly nodes: Signer[]
  readonly hex: string[]
  tx(signer: Signer, type: string, payload: Tx['payload']): Tx
  apply(...txs: Tx[]): Promise<string[]>
  last(): readonly Receipt[]
  state<T>(key: string): Promise<T | undefined>
  action(id: string): Promise<ActionRecord | undefined>
  open(node: number): Promise<string[]>
  edges(direction: LineageDirection, node: string, relation?: RelationKind): Promise<[string, string][]>
  height(): number
}

type NodeSpec = { labels?: Record<string, string>, capacity?: number }

async function openChain (t: Test, extra: NodeSpec[] = [{}, {}]): Promise<Chain> {
  const net = makeNetwork()
  const ledger = await Ledger.open(new LevelKvStore(join(t.testdir(), 'ledger')), new OrchestratingContract(new CoreContracts()))
  t.teardown(() => ledger.close())
  await ledger.applyBlock(net.genesis)
  let receipts: readonly Receipt[] = []
  const network = ledger.network!
  const c: Chain = {
    ledger,
    admin: net.admin,
    nodes: [net.node],
    hex: [toHex(net.node.publicKey)],
    tx: (signer, type, payload) => tx(network, signer, type, payload),
    async apply (...txs) {
      receipts = (await ledger.applyBlock(nextBlock(ledger, txs, net.node))).receipts
      return receipts.map((r) => (r.ok ? 'ok' : r.code))
    },
    last: () => receipts,
    async state<T> (key: string) {
      const raw = await ledger.getState(key)
      return raw === undefined ? undefined : decode<T>(raw)
    },
    action: (id) => readAction({ get: (k) => ledger.getState(k) }, id),
    async open (node) {
      return (await listOpenActions(ledger, c.hex[node]!)).map((a) => a.id)
    },
    edges: (direction, node, relation) => indexedEdges(ledger, direction, node, relation),
    height: () => ledger.head!.height
  }
  const adds: Tx[] = []
  extra.forEach((spec, i) => {
    const node = new Signer(generateKeyPair())
    c.nodes.push(node)
    c.hex.push(toHex(node.publicKey))
    adds.push(c.tx(net.admin, 'node.add', { org: 'org1', publicKey: node.publicKey, name: `node${i + 2}`, addrs: [], ...spec }))
  })
  const setup = await c.apply(...adds, c.tx(net.admin, 'image.approve', { digest: image }), c.tx(net.admin, 'image.approve', { digest: `sha256:${otherDigest}` }))
  if (setup.some((r) => r !== 'ok')) throw new Error(`setup failed: ${setup.join(', ')}`)
  return c
}

function start (node: string, container: string, extra: Partial<StartParams> = {}): Record<string, unknown> {
  return { type: 'container.start', node, params: { image: digest, container, ...extra } }
}

/** Emits `specs` in one tx; returns their action ids. */
async function emit (c: Chain, ...specs: Record<string, unknown>[]): Promise<string[]> {
  const emitting = c.tx(c.admin, 'test.orchestrate', { specs: specs as Tx['payload'] })
  const codes = await c.apply(emitting)
  if (codes[0] !== 'ok') throw new Error(`emitting failed: ${codes[0]} ${JSON.stringify(c.last()[0])}`)
  return specs.map((_, i) => `${toHex(emitting.id)}-${i}`)
}

function joinTx (c: Chain, node: number, id: string, action?: string, imageDigest = image): { tx: Tx, key: Signer } {
  const key = new Signer(generateKeyPair())
  return { tx: c.tx(c.nodes[node]!, 'container.join', { id, imageDigest, publicKey: key.publicKey, ...(action === undefined ? {} : { action }) }), key }
}

t.test('a container.join that fulfils a start action closes it; a join that does not fit is refused', async (t) => {
  const c = await openChain(t)
  const [web, stop] = (await emit(c, start(c.hex[1]!, 'web'), { type: 'container.stop', node: c.hex[1], params: { container: 'web' } })) as [string, string]
  t.same(await c.open(1), [web, stop].sort())
  t.same(await c.state('node-load/' + c.hex[1]), { containers: [], starting: [web] }, 'an open start counts on its node')
  const ok = joinTx(c, 1, 'web', web)
  t.same(await c.apply(
    joinTx(c, 0, 'web', web).tx,
    joinTx(c, 1, 'web', web, `sha256:${otherDigest}`).tx,
    joinTx(c, 1, 'web2', web).tx,
    joinTx(c, 1, 'web', `${web.slice(0, -2)}-9`).tx,
    joinTx(c, 1, 'web', stop).tx,
    c.tx(c.nodes[1]!, 'container.join', { id: 'web', imageDigest: image, publicKey: ok.key.publicKey, action: 'nope' }),
    ok.tx,
    joinTx(c, 1, 'web-again', web).tx
  ), ['ERR_ACTION_MISMATCH', 'ERR_ACTION_MISMATCH', 'ERR_ACTION_MISMATCH', 'ERR_ACTION_UNKNOWN', 'ERR_ACTION_MISMATCH', 'ERR_TX_INVALID_PAYLOAD', 'ok', 'ERR_ACTION_CLOSED'])
  t.match(c.last()[0], { message: /addressed to node/ })
  t.match(c.last()[1], { message: /not sha256:cdcd/ })
  t.match(c.last()[2], { message: /joins as web, not web2/ })
  const h = c.height()
  t.match(await c.action(web), { status: 'done', updatedHeight: h })
  t.same(await c.open(1), [stop], 'the fulfilled action left the open list; the stop stays')
  t.match(await c.state<ContainerRecord>('container/web'), { status: 'joined', action: web })
  t.same(await c.state('node-load/' + c.hex[1]), { containers: ['web'], starting: [] })
  t.same(await listNodeContainers(c.ledger, c.hex[1]!), [{ id: 'web', imageDigest: image, action: web }])
  const activity = ledgerProvIds.tx(ok.tx.id)
  t.same(await c.edges('backward', activity, 'used'), [['used', `tom:image/${digest}`], ['used', `tom:action/${web}`]])
  t.same((await provNodeOf(c.ledger, `tom:action/${web}`))!.invalidation, { at: { height: h, index: 6 }, activity })
  t.same(await c.edges('backward', 'tom:container/web', 'wasGeneratedBy'), [['wasGeneratedBy', activity]])
})

t.test('a pending report records why the action waits; it never goes back to pending', async (t) => {
  const c = await openChain(t)
  const [id] = await emit(c, start(c.hex[1]!, 'web'))
  const report = (payload: Record<string, string>): Tx => c.tx(c.nodes[1]!, 'action.report', { id: id!, ...payload })
  const waiting = report({ status: 'pending', detail: 'no container engine on this node' })
  t.same(await c.apply(report({ status: 'pending' }), waiting, report({ status: 'pending', detail: 'still no engine' })), ['ERR_TX_INVALID_PAYLOAD', 'ok', 'ok'])
  const h = c.height()
  t.match(await c.action(id!), { status: 'pending', detail: 'still no engine', updatedHeight: h })
  t.same(await c.open(1), [id], 'it stays open')
  t.ok((await provNodeOf(c.ledger, `tom:action/${id}/status/pending/${h}.1`))?.generation, 'each pending report is its own entity')
  t.ok((await provNodeOf(c.ledger, `tom:action/${id}/status/pending/${h}.2`))?.generation)
  t.same(await c.apply(report({ status: 'running' }), report({ status: 'pending', detail: 'again' })), ['ok', 'ERR_ACTION_BAD_TRANSITION'])
})

t.test('node.unreachable moves containers by the placement rule; the replacement closes the story', async (t) => {
  // node2 and node3 carry gpu (node2 takes one container), node4 is in another zone.
  const c = await openChain(t, [{ labels: { gpu: 'yes' }, capacity: 1 }, { labels: { gpu: 'yes', zone: 'a' } }, { labels: { zone: 'b' } }])
  t.match((await listNodes({ get: (k) => c.ledger.getState(k) }))[1], { labels: { gpu: 'yes' }, capacity: 1 }, 'listNodes gives labels and capacity')
  const gpu = { placement: { labels: { gpu: 'yes' } } }
  const actions = await emit(c,
    start(c.hex[0]!, 'c1', { ...gpu, env: { MODE: 'fast' }, cmd: ['run'], limits: { memoryBytes: 64 * 1024 * 1024 }, labels: { app: 'vision' } }),
    start(c.hex[0]!, 'c2', gpu),
    start(c.hex[0]!, 'c3', { placement: { labels: { zone: 'c' } } }),
    start(c.hex[0]!, 'c4'),
    start(c.hex[0]!, 'c5', gpu))
  const joins = ['c1', 'c2', 'c3', 'c4', 'c5'].map((id, i) => joinTx(c, 0, id, actions[i]))
  t.same(await c.apply(...joins.map((j) => j.tx)), ['ok', 'ok', 'ok', 'ok', 'ok'])
  t.same(await c.apply(c.tx(joins[0]!.key, 'container.identify', { id: 'c1' })), ['ok'])

  const unreachable = c.tx(c.nodes[1]!, 'node.unreachable', { publicKey: c.nodes[0]!.publicKey })
  t.same(await c.apply(
    c.tx(c.nodes[0]!, 'node.unreachable', { publicKey: c.nodes[0]!.publicKey }),
    c.tx(c.admin, 'node.unreachable', { publicKey: c.nodes[0]!.publicKey }),
    c.tx(c.nodes[1]!, 'node.unreachable', { publicKey: generateKeyPair().publicKey }),
    unreachable,
    c.tx(c.nodes[2]!, 'node.unreachable', { publicKey: c.nodes[0]!.publicKey })
  ), ['ERR_TX_UNAUTHORIZED', 'ERR_TX_UNAUTHORIZED', 'ERR_NODE_UNKNOWN', 'ok', 'ERR_NODE_HEALTH'])
  const h = c.height()
  t.same(await c.state(`node-health/${c.hex[0]}`), { status: 'unreachable', since: h })

  // c1: gpu nodes tie at 0, the lower key wins. c2: the other one (the winner is full or busier).
  // c3: no node in zone c. c4: node4 has no load. c5: node2 is full (capacity 1), so node3.
  const [low, high] = [2, 1].map((n) => c.hex[n]!).sort() as [string, string]
  const placedOn = async (node: string): Promise<Record<string, StartParams>> => {
    const out: Record<string, StartParams> = {}
    for (const a of await listOpenActions(c.ledger, node)) {
      const record = (await c.action(a.id))!
      out[(record.params as StartParams).replaces!] = record.params as StartParams
    }
    return out
  }
  const byNode = { [c.hex[1]!]: await placedOn(c.hex[1]!), [c.hex[2]!]: await placedOn(c.hex[2]!), [c.hex[3]!]: await placedOn(c.hex[3]!) }
  t.ok(byNode[low]!.c1, 'c1 went to the gpu node with the lower key')
  t.ok(byNode[high]!.c2, 'c2 went to the other gpu node')
  t.same(Object.keys(byNode[c.hex[1]!]!).length, 1, 'node2 took no more than its capacity')
  t.ok(byNode[c.hex[2]!]!.c5, 'c5 went to node3: node2 is full')
  t.same(Object.keys(byNode[c.hex[3]!]!), ['c4'], 'c4 went to the least loaded node; no gpu container went to node4')
  t.same(byNode[low]!.c1, { image: digest, container: `c1-r${h}`, env: { MODE: 'fast' }, cmd: ['run'], placement: { labels: { gpu: 'yes' } }, limits: { memoryBytes: 64 * 1024 * 1024 }, labels: { app: 'vision' }, replaces: 'c1' }, 'the replacement keeps what the original start asked for')
  t.same(await c.state<UnplacedRecord>('continuity/unplaced/c3'), {
    container: 'c3', node: c.hex[0], image, labels: { zone: 'c' }, height: h, reason: 'no healthy node has the labels and the capacity it needs'
  })
  for (const id of ['c1', 'c2', 'c3', 'c4', 'c5']) {
    t.match(await c.state<ContainerRecord>(`container/${id}`), { status: 'lost', lostAt: h }, `${id} is lost`)
    t.same((await provNodeOf(c.ledger, `tom:container/${id}`))!.invalidation!.activity, ledgerProvIds.tx(unreachable.id))
  }
  t.equal(await c.state(`node-load/${c.hex[0]}`), undefined, 'the failed node runs nothing any more')
  t.same(await listNodeContainers(c.ledger, c.hex[0]!), [])
  const c1Action = (await listOpenActions(c.ledger, low))[0]!.id
  t.same(await c.edges('backward', `tom:action/${c1Action}`, 'wasDerivedFrom'), [['wasDerivedFrom', 'tom:container/c1']], 'the decision is derived from the old container')
  t.same(await c.edges('backward', `tom:action/${c1Action}`, 'wasGeneratedBy'), [['wasGeneratedBy', ledgerProvIds.tx(unreachable.id)]])
  t.same(await c.apply(c.tx(joins[0]!.key, 'data.add', { id: 'late', hash })), ['ERR_CONTAINER_LOST'], 'a lost container may not act')

  // The chosen node starts the replacement; its join closes the action and derives it from the decision.
  const lowIndex = c.hex.indexOf(low)
  const replacement = joinTx(c, lowIndex, `c1-r${h}`, c1Action)
  t.same(await c.apply(replacement.tx), ['ok'])
  t.match(await c.state<ContainerRecord>(`container/c1-r${h}`), { status: 'joined', replaces: 'c1', action: c1Action })
  t.match(await c.state<ContainerRecord>('container/c1'), { status: 'lost', replacedBy: `c1-r${h}` })
  const lineage = await c.edges('backward', `tom:container/c1-r${h}`, 'wasDerivedFrom')
  t.same(lineage, [['wasDerivedFrom', `tom:image/${digest}`], ['wasDerivedFrom', `tom:action/${c1Action}`]])
  t.same(await c.edges('forward', 'tom:container/c1', 'wasDerivedFrom'), [['wasDerivedFrom', `tom:action/${c1Action}`]], 'old -> decision -> new')

  t.same(await c.apply(
    c.tx(c.nodes[0]!, 'node.reachable', { publicKey: c.nodes[0]!.publicKey }),
    c.tx(c.nodes[1]!, 'node.reachable', { publicKey: c.nodes[0]!.publicKey })
  ), ['ok', 'ERR_NODE_HEALTH'])
  t.equal(await c.state(`node-health/${c.hex[0]}`), undefined)
  t.match(await c.state<ContainerRecord>('container/c2'), { status: 'lost' }, 'reachable again gives nothing back')
})

t.test('unreachable nodes are no candidates; node.remove moves the leaving node\'s containers', async (t) => {
  const c = await openChain(t, [{}, {}])
  const solo = joinTx(c, 1, 'solo')
  t.same(await c.apply(solo.tx, c.tx(c.nodes[1]!, 'node.unreachable', { publicKey: c.nodes[2]!.publicKey })), ['ok', 'ok'])
  const remove = c.tx(c.admin, 'node.remove', { publicKey: c.nodes[1]!.publicKey })
  t.same(await c.apply(remove), ['ok'])
  const h = c.height()
  t.same(await c.open(2), [], 'the unreachable node3 got nothing')
  const [moved] = await listOpenActions(c.ledger, c.hex[0]!)
  t.same((await c.action(moved!.id))!.params, { image: digest, container: `solo-r${h}`, replaces: 'solo' }, 'no start action known: image only')
  t.match(await c.state<ContainerRecord>('container/solo'), { status: 'lost', lostAt: h })
  t.same((await provNodeOf(c.ledger, 'tom:container/solo'))!.invalidation!.activity, ledgerProvIds.tx(remove.id))
  t.same(await c.edges('backward', ledgerProvIds.tx(remove.id), 'used'), [['used', 'tom:container/solo']])
})

t.test('a migrate names the copy; its target joins it, and the old container leaves derived-from', async (t) => {
  const c = await openChain(t)
  const web = joinTx(c, 0, 'web')
  t.same(await c.apply(web.tx), ['ok'])
  const [migrate] = await emit(c, { type: 'container.migrate', node: c.hex[0], params: { container: 'web', image: digest, target: c.hex[1] } })
  const h = c.height()
  t.same((await c.action(migrate!))!.params, { container: 'web', image: digest, target: c.hex[1], newContainer: `web-m${h}` })
  t.same(await c.state(`node-load/${c.hex[1]}`), { containers: [], starting: [migrate] }, 'counted on the target')
  const copy = joinTx(c, 1, `web-m${h}`, migrate)
  t.same(await c.apply(joinTx(c, 0, `web-m${h}`, migrate).tx, joinTx(c, 1, 'web-copy', migrate).tx, copy.tx), ['ERR_ACTION_MISMATCH', 'ERR_ACTION_MISMATCH', 'ok'])
  t.match(await c.action(migrate!), { status: 'done' })
  t.same(await c.open(0), [])
  t.same(await c.open(1), [])
  t.match(await c.state<ContainerRecord>('container/web'), { status: 'left', replacedBy: `web-m${h}` })
  t.same(await listNodeContainers(c.ledger, c.hex[0]!), [])
  t.same((await listNodeContainers(c.ledger, c.hex[1]!)).map((x) => x.id), [`web-m${h}`])
  t.same(await c.edges('backward', `tom:container/web-m${h}`, 'wasDerivedFrom'), [['wasDerivedFrom', `tom:image/${digest}`], ['wasDerivedFrom', 'tom:container/web']])
  t.same((await provNodeOf(c.ledger, 'tom:container/web'))!.invalidation!.activity, ledgerProvIds.tx(copy.tx.id))
  t.same(await c.edges('backward', `tom:action/${migrate}`, 'wasDerivedFrom'), [['wasDerivedFrom', 'tom:container/web']])
})

t.test('container.status records the drift a node repaired', async (t) => {
  const c = await openChain(t)
  const web = joinTx(c, 0, 'web')
  t.same(await c.apply(web.tx), ['ok'])
  const restarted = c.tx(c.nodes[0]!, 'container.status', { id: 'web', status: 'restarted', detail: 'exited with 137' })
  t.same(await c.apply(
    c.tx(c.nodes[1]!, 'container.status', { id: 'web', status: 'restarted' }),
    c.tx(c.nodes[0]!, 'container.status', { id: 'web', status: 'exploded' }),
    c.tx(c.nodes[0]!, 'container.status', { id: 'nope', status: 'missing' }),
    restarted,
    c.tx(c.nodes[0]!, 'container.status', { id: 'web', status: 'missing' })
  ), ['ERR_TX_UNAUTHORIZED', 'ERR_TX_INVALID_PAYLOAD', 'ERR_CONTAINER_UNKNOWN', 'ok', 'ok'])
  const h = c.height()
  t.match(await c.state<ContainerRecord>('container/web'), { status: 'joined', lastStatus: { status: 'missing', height: h } })
  const outcome = `tom:container/web/status/${h}.3`
  t.same(await c.edges('backward', outcome, 'wasDerivedFrom'), [['wasDerivedFrom', 'tom:container/web']])
  t.same(await c.edges('backward', outcome, 'wasGeneratedBy'), [['wasGeneratedBy', ledgerProvIds.tx(restarted.id)]])
  t.same(await c.apply(c.tx(c.nodes[0]!, 'container.leave', { id: 'web' }), c.tx(c.nodes[0]!, 'container.status', { id: 'web', status: 'stopped' })), ['ok', 'ERR_CONTAINER_LEFT'])
})

t.test('templates start containers when a device joins or data is added, and only on a match', async (t) => {
  const c = await openChain(t, [{}])
  const camera = { id: 'cam-tpl', on: 'device.join', match: { type: 'camera' }, image, env: { FPS: '30' } }
  const video = { id: 'proc', on: 'data.add', match: { dataType: 'video' }, image, cmd: ['process'] }
  t.same(await c.apply(
    c.tx(c.nodes[0]!, 'template.set', camera),
    c.tx(c.admin, 'template.set', { ...camera, image: `sha256:${'ee'.repeat(32)}` }),
    c.tx(c.admin, 'template.set', { ...camera, on: 'device.leave' }),
    c.tx(c.admin, 'template.set', { ...camera, id: 'bad/id' }),
    c.tx(c.admin, 'template.set', camera),
    c.tx(c.admin, 'template.set', video),
    c.tx(c.admin, 'template.remove', { id: 'nope' })
  ), ['ERR_ACL_DENIED', 'ERR_IMAGE_NOT_APPROVED', 'ERR_TX_INVALID_PAYLOAD', 'ERR_TX_INVALID_PAYLOAD', 'ok', 'ok', 'ERR_TEMPLATE_UNKNOWN'])
  t.match(await c.state('template/cam-tpl'), { org: 'org1', on: 'device.join', match: { type: 'camera' }, image, env: { FPS: '30' }, version: 1, status: 'active' })
  t.same(await c.state('templates/device.join'), ['cam-tpl'])

  const cam = new Signer(generateKeyPair())
  const thermo = new Signer(generateKeyPair())
  const camAttrs = { firmwareHash: 'fw1', type: 'camera' }
  t.same(await c.apply(
    c.tx(c.admin, 'device.authorise', { id: 'cam1', publicKey: cam.publicKey, attributes: camAttrs }),
    c.tx(c.admin, 'device.authorise', { id: 'thermo1', publicKey: thermo.publicKey, attributes: { firmwareHash: 'fw1', type: 'sensor' } })
  ), ['ok', 'ok'])
  const camJoin = c.tx(cam, 'device.join', { id: 'cam1', attributes: camAttrs, node: c.hex[1]! })
  t.same(await c.apply(
    c.tx(cam, 'device.join', { id: 'cam1', attributes: camAttrs, node: toHex(generateKeyPair().publicKey) }),
    camJoin,
    c.tx(thermo, 'device.join', { id: 'thermo1', attributes: { firmwareHash: 'fw1', type: 'sensor' }, node: c.hex[1]! })
  ), ['ERR_NODE_UNKNOWN', 'ok', 'ok'])
  const [camAction, ...others] = await listOpenActions(c.ledger, c.hex[1]!)
  t.same(others, [], 'the sensor matched no template')
  t.match(await c.action(camAction!.id), {
    type: 'container.start', node: c.hex[1], origin: 'template:cam-tpl', tx: toHex(camJoin.id),
    params: { image: digest, container: 'cam-tpl-cam1', env: { FPS: '30', TOM_DEVICE_ID: 'cam1' } }
  })
  t.match(await c.state('device/cam1'), { status: 'joined', node: c.hex[1] })
  t.same(await c.edges('backward', ledgerProvIds.tx(camJoin.id), 'used'), [['used', 'tom:device/cam1'], ['used', 'tom:template/cam-tpl/1']])

  // data.add: placement picks the least loaded node (node2 has the camera container starting).
  const clip = c.tx(c.admin, 'data.add', { id: 'clips/1', hash, dataType: 'video' })
  t.same(await c.apply(
    clip,
    c.tx(c.admin, 'data.add', { id: 'audio/1', hash, dataType: 'audio' }),
    c.tx(c.admin, 'data.add', { id: 'plain', hash }),
    c.tx(c.admin, 'data.add', { id: `clips/${'x'.repeat(130)}`, hash, dataType: 'video' })
  ), ['ok', 'ok', 'ok', 'ERR_TEMPLATE_CONTAINER_NAME'])
  const onNode1 = await listOpenActions(c.ledger, c.hex[0]!)
  t.same(onNode1.length, 1, 'one processing container, for the video only')
  t.match(await c.action(onNode1[0]!.id), { origin: 'template:proc', params: { container: 'proc-clips.1', env: { TOM_DATA_ID: 'clips/1' }, cmd: ['process'] } })
  t.match(await c.state('data/clips/1'), { dataType: 'video' })

  // Removed: the next matching event starts nothing; set again, it is the template's next version.
  t.same(await c.apply(c.tx(c.admin, 'template.remove', { id: 'proc' })), ['ok'])
  t.same(await c.apply(c.tx(c.admin, 'data.add', { id: 'clips/3', hash, dataType: 'video' }), c.tx(c.admin, 'template.remove', { id: 'proc' })), ['ok', 'ERR_TEMPLATE_UNKNOWN'])
  t.same((await listOpenActions(c.ledger, c.hex[0]!)).length, 1)
  t.same(await c.state('templates/data.add'), [])
  t.ok((await provNodeOf(c.ledger, 'tom:template/proc/1'))?.invalidation, 'a removed template is invalidated')
  t.same(await c.apply(c.tx(c.admin, 'template.set', video)), ['ok'])
  t.match(await c.state('template/proc'), { version: 2, status: 'active' })
})

t.test('replaces and placement are checked when an action is emitted', async (t) => {
  const c = await openChain(t)
  t.same(await c.apply(joinTx(c, 0, 'old').tx), ['ok'])
  const raw = (spec: Record<string, unknown>): Tx => c.tx(c.admin, 'test.orchestrate', { specs: [spec] as Tx['payload'] })
  t.same(await c.apply(
    raw(start(c.hex[1]!, 'new', { replaces: 'ghost' })),
    raw(start(c.hex[1]!, 'old', { replaces: 'old' })),
    raw(start(c.hex[1]!, 'new', { placement: { labels: { 'bad-name': 'x' } } } as unknown as Partial<StartParams>)),
    raw(start(c.hex[1]!, 'new', { placement: { zone: 'a' } } as unknown as Partial<StartParams>)),
    raw({ type: 'container.migrate', node: c.hex[0], params: { container: 'x'.repeat(127), image: digest, target: c.hex[1] } }),
    raw(start(c.hex[1]!, 'new', { replaces: 'old', placement: { labels: { zone: 'a' } } }))
  ), ['ERR_CONTAINER_UNKNOWN', 'ERR_ACTION_INVALID', 'ERR_ACTION_INVALID', 'ERR_ACTION_INVALID', 'ERR_ACTION_INVALID', 'ok'])
})
