/** TomNode in-process: submit and commit, adaptive blocks, admission errors, shutdown, config. */
import t from "tap"
import type { Test } from "tap"
import { join } from 'node:path'
import { writeFile } from 'node:fs/promises'
import { decode, encode, loadKeyFile, Signer, toHex } from '../../src/crypto/index.js'
import { decodeTx, signTx } from '../../src/ledger/index.js'
import type { Tx } from '../../src/ledger/index.js'
import { initNetwork, Mempool, TomNode, dataPath, silentLogger, validateConfig } from '../../src/node/index.js'
import type { NodeConfig } from '../../src/node/index.js'

async function freshNode(t: Test, config: Partial<NodeConfig> = {}): Promise<{ node: TomNode; admin: Signer; dir: string }> {
  const dir = join(t.testdir(), 'node')
  await initNetwork({ dir })
  const node = await TomNode.open({ dir, logger: silentLogger(), config })
  const admin = new Signer(await loadKeyFile(dataPath(dir, 'adminKey')))
  t.teardown(() => node.close())
  return { node, admin, dir }
}

let nonce = 0
function data(node: TomNode, admin: Signer, id: string, fields: Partial<{ expiresAt: number; network: Uint8Array }> = {}): Tx {
  return signTx(
    {
      network: fields.network ?? node.network,
      type: 'data.add',
      signer: admin.publicKey,
      nonce: nonce++,
      expiresAt: fields.expiresAt ?? Date.now() + 60_000,
      payload: { id, hash: new Uint8Array(32) }
    },
    admin
  )
}

t.test('a submitted tx resolves once committed, with its place and receipt', async (t) => {
  const { node, admin } = await freshNode(t)
  node.start()
  const tx = data(node, admin, 'one')
  const committed = await node.submitTx(tx.bytes)
  t.same(committed, { id: toHex(tx.id), height: 1, index: 0, receipt: { ok: true } })
  t.equal(node.head.height, 1)
  t.same((await node.getTx(tx.id))!.tx.bytes, tx.bytes)
  t.ok(await node.getState('data/one'))
  t.equal(await node.getStateAt('data/one', 0), undefined)
  t.ok(await node.getStateLinearizable('data/one'), 'a linearizable read sees it')
  t.equal(await node.getStateLinearizable('data/none'), undefined)
})

t.test('blocks are small under light load and full under heavy load', async (t) => {
  const { node, admin } = await freshNode(t, { blockTxMax: 200 })
  node.start()
  const sizes: number[] = []
  node.on('block', ({ block }) => sizes.push(block.txs.length))
  await node.submitTx(data(node, admin, 'light'))
  t.same(sizes, [1], 'a lone tx gets a block of its own at once')
  const txs = Array.from({ length: 1000 }, (_, i) => data(node, admin, `heavy/${i}`))
  const results = await Promise.all(txs.map((tx) => node.submitTx(tx)))
  t.ok(results.every((r) => r.receipt.ok))
  t.ok(sizes.every((n) => n <= 200), 'never more than blockTxMax')
  t.ok(sizes.length <= 1 + 10, `1000 txs in ${sizes.length - 1} blocks`)
  t.equal(Math.max(...sizes), 200, 'some blocks are full')
})

t.test('admission refusals carry their codes', async (t) => {
  const { node, admin } = await freshNode(t)
  node.start()
  const ok = data(node, admin, 'x')
  await node.submitTx(ok)
  await t.rejects(node.submitTx(ok), { name: 'TxRejectedError', code: 'ERR_TX_REPLAY' })
  await t.rejects(node.submitTx(data(node, admin, 'y', { network: new Uint8Array(32).fill(1) })), { code: 'ERR_TX_WRONG_NETWORK' })
  await t.rejects(node.submitTx(data(node, admin, 'y', { expiresAt: Date.now() - 1 })), { code: 'ERR_TX_EXPIRED' })
  const raw = decode<Record<string, Uint8Array>>(data(node, admin, 'y').bytes)
  raw.sig![0]! ^= 1
  await t.rejects(node.submitTx(decodeTx(encode(raw))), { code: 'ERR_TX_BAD_SIGNATURE' })
  await t.rejects(node.submitTx(Uint8Array.of(1, 2, 3)), { code: 'ERR_TX_MALFORMED' })
  await t.rejects(node.submitTx(new Uint8Array(70_000)), { code: 'ERR_TX_TOO_LARGE' })
  t.equal(node.head.height, 1, 'nothing refused reached a block')
})

t.test('a tx submitted twice while pending is committed once', async (t) => {
  const { node, admin } = await freshNode(t)
  node.start()
  const tx = data(node, admin, 'twice')
  const [a, b] = await Promise.all([node.submitTx(tx), node.submitTx(tx.bytes)])
  t.same(a, b)
  const block = await node.getBlock(a.height)
  t.equal(block!.txs.length, 1)
})

t.test('an aborted wait rejects with the abort reason; the tx still commits', async (t) => {
  const { node, admin } = await freshNode(t)
  node.start()
  const controller = new AbortController()
  const tx = data(node, admin, 'abandoned')
  const waiting = node.submitTx(tx, { signal: controller.signal })
  controller.abort(new Error('client went away'))
  await t.rejects(waiting, /client went away/)
  await node.submitTx(data(node, admin, 'after'))
  t.ok(await node.getTx(tx.id))
})

t.test('close refuses new txs and keeps the chain for the next open', async (t) => {
  const dir = join(t.testdir(), 'node')
  await initNetwork({ dir })
  const node = await TomNode.open({ dir, logger: silentLogger() })
  const admin = new Signer(await loadKeyFile(dataPath(dir, 'adminKey')))
  await t.rejects(node.submitTx(data(node, admin, 'early')), { code: 'ERR_NODE_STOPPED' }, 'not started yet')
  node.start()
  await node.submitTx(data(node, admin, 'kept'))
  await node.close()
  await t.rejects(node.submitTx(data(node, admin, 'late')), { code: 'ERR_NODE_STOPPED' })
  const again = await TomNode.open({ dir, logger: silentLogger() })
  t.equal(again.head.height, 1)
  t.ok(await again.getState('data/kept'))
  await again.close()
})

t.test('a data folder is opened by one process at a time', async (t) => {
  const { dir } = await freshNode(t)
  await t.rejects(TomNode.open({ dir, logger: silentLogger() }), { code: 'ERR_NODE_LOCKED' })
})

t.test('opening a folder without a network says how to make one', async (t) => {
  await t.rejects(TomNode.open({ dir: t.testdir(), logger: silentLogger() }), { code: 'ERR_NODE_NOT_INITIALISED', message: /tom-node init/ })
})

t.test('config is validated with clear errors', async (t) => {
  t.throws(() => validateConfig({ blockTxMax: 0 }), { code: 'ERR_CONFIG_INVALID', message: /blockTxMax/ })
  t.throws(() => validateConfig({ blockTxMax: 5000 }), { code: 'ERR_CONFIG_INVALID' })
  t.throws(() => validateConfig({ colour: 'blue' }), { code: 'ERR_CONFIG_INVALID', message: /unknown option colour/ })
  t.throws(() => validateConfig({ logLevel: 'loud' }), { code: 'ERR_CONFIG_INVALID' })
  t.throws(() => validateConfig({ name: '' }), { code: 'ERR_CONFIG_INVALID' })
  t.ok(Object.isFrozen(validateConfig({})))
  t.same(validateConfig({}).apiRateLimit, { burst: 200, perSecond: 100 }, 'the API rate limit is on by default')
  t.equal(validateConfig({ apiRateLimit: false }).apiRateLimit, false)
  t.same(validateConfig({ apiRateLimit: { burst: 5000, perSecond: 4000 } }).apiRateLimit, { burst: 5000, perSecond: 4000 })
  for (const bad of [true, null, [], { burst: 0, perSecond: 1 }, { burst: 1, perSecond: -1 }, { burst: 1 }, { burst: 1, perSecond: 1, colour: 1 }]) {
    t.throws(() => validateConfig({ apiRateLimit: bad }), { code: 'ERR_CONFIG_INVALID', message: /apiRateLimit/ }, JSON.stringify(bad))
  }
  const dir = join(t.testdir(), 'node')
  await initNetwork({ dir })
  await writeFile(dataPath(dir, 'config'), '{ not json')
  await t.rejects(TomNode.open({ dir, logger: silentLogger() }), { code: 'ERR_CONFIG_INVALID', message: /config.json is not JSON/ })
})

t.test('the mempool is bounded, FIFO, and joins duplicate submits', async (t) => {
  const net = await freshNode(t)
  const pool = new Mempool(3)
  const txs = [0, 1, 2, 3].map((i) => data(net.node, net.admin, `m${i}`))
  const first = pool.add(txs[0]!)
  t.equal(pool.add(txs[0]!), first, 'the same wait')
  pool.add(txs[1]!)
  const third = pool.add(txs[2]!)
  t.throws(() => pool.add(txs[3]!), { code: 'ERR_MEMPOOL_FULL' })
  t.same(pool.take(2).map((p) => p.tx), [txs[0], txs[1]])
  pool.rejectAll(new Error('stopped'))
  t.equal(pool.size, 0)
  await t.rejects(third, /stopped/, 'what is still pending is refused')
})

t.test('a misconfigured container engine does not stop the node: it runs without an orchestrator', async (t) => {
  const saved = process.env.DOCKER_HOST
  process.env.DOCKER_HOST = 'tcp://127.0.0.1:2375'
  t.teardown(() => {
    if (saved === undefined) delete process.env.DOCKER_HOST
    else process.env.DOCKER_HOST = saved
  })
  const { node, admin } = await freshNode(t)
  node.start()
  const committed = await node.submitTx(data(node, admin, 'still-works'))
  t.same(committed.receipt, { ok: true })
})
