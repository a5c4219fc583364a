/** The API's read and write paths against a real node, through TomClient and raw fetch. */
import t from 'tap'
import { toHex } from '../../src/crypto/index.js'
import { ApiError, TomClient } from '../../src/api/index.js'
import type { BlockEvent } from '../../src/api/index.js'
import { apiFixture, dataHash, startApi, startNode } from './fixture.js'

t.test('submit as CBOR and as JSON, then read back block, tx, state, state at a height, linearizable', async (t) => {
  const { node, admin, url, client } = await apiFixture(t)
  const b = await client.build(admin)
  t.same(b.network, node.network, 'the builder signs for the node network')

  const rawTx = b.dataAdd({ id: 'raw', hash: dataHash(), size: 10 })
  const raw = await client.submit(rawTx)
  t.ok(!('pending' in raw) && raw.receipt.ok, 'committed with an ok receipt')
  if ('pending' in raw) return
  t.equal(raw.id, toHex(rawTx.id))

  const cleanTx = b.dataAdd({ id: 'clean', hash: dataHash(), derivedFrom: ['raw'] })
  const res = await fetch(`${url}/v1/txs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tx: toHex(cleanTx.bytes) }) })
  t.equal(res.status, 200)
  const clean = (await res.json()) as { id: string; height: number; index: number; receipt: { ok: boolean } }
  t.equal(clean.id, toHex(cleanTx.id))
  t.ok(clean.receipt.ok)
  t.ok(clean.height > raw.height, 'a later block')

  const block = await client.block(raw.height)
  const stored = (await node.getBlock(raw.height))!
  t.equal(block.hash, toHex(stored.hash), 'the block the node stored')
  t.equal(block.header.prevHash, toHex(stored.header.prevHash))
  const inBlock = block.txs[raw.index]!
  t.equal(inBlock.id, raw.id, 'the tx at its index')
  t.same(inBlock.receipt, { ok: true })

  const record = await client.tx(raw.id)
  t.equal(record.tx.type, 'data.add')
  t.equal(record.tx.bytes, toHex(rawTx.bytes), 'the exact signed bytes')
  t.equal(record.tx.signer, toHex(admin.publicKey))
  t.same(record.tx.payload, { id: 'raw', hash: toHex((rawTx.payload as { hash: Uint8Array }).hash), size: 10 }, 'payload bytes as hex')
  t.same({ height: record.height, index: record.index, receipt: record.receipt }, { height: raw.height, index: raw.index, receipt: { ok: true } })
  t.equal((await client.tx(rawTx.id)).id, raw.id, 'by id bytes too')

  const now = await client.state('data/clean')
  t.ok(now)
  t.same(now!.value, await node.getState('data/clean'), 'the value the node holds')
  t.equal(now!.height, node.head.height)
  const rawSlash = await fetch(`${url}/v1/state/data/clean`)
  t.equal(rawSlash.status, 200, 'a key with an unencoded slash is the same key')
  t.equal(((await rawSlash.json()) as { value: string }).value, toHex(now!.value))
  t.equal(await client.state('data/clean', { height: raw.height }), undefined, 'clean did not exist at the height raw committed')
  const then = await client.state('data/clean', { height: clean.height })
  t.same(then!.value, await node.getStateAt('data/clean', clean.height))
  const lin = await client.state('data/raw', { linearizable: true })
  t.same(lin!.value, await node.getState('data/raw'))
  t.equal(await client.state('data/none'), undefined, 'a missing key')

  const status = await client.status()
  const raft = node.status().raft
  t.same(status, {
    role: 'leader',
    leader: node.raftId,
    network: toHex(node.network),
    head: { height: node.head.height, hash: toHex(node.head.hash), time: node.head.time },
    node: { name: node.config.name, raftId: node.raftId, publicKey: toHex(node.publicKey), peerId: node.peerId },
    raft: { term: raft.term, commitIndex: raft.commitIndex, appliedIndex: raft.appliedIndex, lastIndex: raft.lastIndex, voters: [{ raftId: node.raftId, peerId: node.peerId }], learners: [] },
    peers: { connected: 0, ids: [] },
    mempool: { txs: 0, max: node.config.mempoolTxMax }
  })
  t.ok(status.raft.term >= 1, 'a term was won')
  // One Raft entry per block (plus the leader's empty entry): a quiet node has applied all it committed.
  t.ok(status.raft.appliedIndex > status.head.height, `applied index ${status.raft.appliedIndex} past the height ${status.head.height}`)
  t.equal(status.raft.appliedIndex, status.raft.commitIndex)
  t.equal(status.raft.lastIndex, status.raft.commitIndex)
})

t.test('wait=false answers at once; the event stream delivers the block of a submitted tx', async (t) => {
  const { admin, client, url } = await apiFixture(t)
  const b = await client.build(admin)
  const events = await client.events()
  t.teardown(() => events.return?.())
  const tx = b.dataAdd({ id: 'streamed', hash: dataHash() })
  const accepted = await client.submit(tx, { wait: false })
  t.same(accepted, { id: toHex(tx.id), pending: true })
  let seen: (BlockEvent & { event: 'block' }) | undefined
  for await (const event of events) {
    if (event.event === 'block' && event.txs.some((x) => x.id === toHex(tx.id))) {
      seen = event
      break
    }
  }
  t.ok(seen, 'the block with the tx came over SSE')
  t.equal(seen!.event, 'block')
  t.same(seen!.txs.find((x) => x.id === toHex(tx.id)), { id: toHex(tx.id), type: 'data.add', signer: toHex(admin.publicKey), receipt: { ok: true } })
  const block = await client.block(seen!.height)
  t.equal(block.hash, seen!.hash, 'the event names the committed block')

  // Raw SSE framing, as a browser's EventSource reads it.
  const res = await fetch(`${url}/v1/events`)
  t.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8')
  const reader = res.body!.getReader()
  const tx2 = b.dataAdd({ id: 'streamed2', hash: dataHash() })
  const committed = await client.submit(tx2)
  let text = ''
  while (!text.includes(toHex(tx2.id))) {
    const { value, done } = await reader.read()
    if (done) break
    text += new TextDecoder().decode(value)
  }
  await reader.cancel()
  if ('pending' in committed) throw new Error('waited')
  t.match(text, new RegExp(`event: block\\nid: ${committed.height}\\ndata: \\{`), 'event name, id = height, JSON data')
})

t.test('a committed tx that failed is 409 with its receipt code; refusals carry their codes', async (t) => {
  const { node, admin, client, url } = await apiFixture(t)
  const b = await client.build(admin)
  // derivedFrom an id that was never added: the data contract fails the tx, which still commits.
  const failing = b.dataAdd({ id: 'orphan', hash: dataHash(), derivedFrom: ['never-added'] })
  const err = await client.submit(failing).then(
    () => undefined,
    (e: unknown) => e
  )
  t.ok(err instanceof ApiError, 'an ApiError')
  const e = err as ApiError
  t.equal(e.status, 409)
  const record = await client.tx(failing.id)
  t.equal(record.receipt.ok, false, 'the tx is in its block, failed')
  t.equal(e.code, record.receipt.ok ? '' : record.receipt.code, "the receipt's code")
  t.same(e.details, { id: toHex(failing.id), height: record.height, index: record.index, receipt: record.receipt })
  t.equal(await node.getState('data/orphan'), undefined, 'and changed nothing')

  const ok = b.dataAdd({ id: 'once', hash: dataHash() })
  await client.submit(ok)
  const replay = await fetch(`${url}/v1/txs`, { method: 'POST', headers: { 'content-type': 'application/cbor' }, body: ok.bytes })
  t.equal(replay.status, 409)
  t.same(((await replay.json()) as { code: string }).code, 'ERR_TX_REPLAY', 'a committed id commits once')

  const badSig = Uint8Array.from(b.dataAdd({ id: 'forged', hash: dataHash() }).bytes)
  // The canonical map starts with `sig`: header (1), key "sig" (4), byte-string head (2), then the 64 bytes.
  badSig[7] = badSig[7]! ^ 0xff
  const forged = await fetch(`${url}/v1/txs`, { method: 'POST', headers: { 'content-type': 'application/cbor' }, body: badSig })
  t.equal(forged.status, 409)
  t.same(await forged.json(), { code: 'ERR_TX_BAD_SIGNATURE', message: 'signature does not verify against the signer key' })

  const other = new TomClient({ url })
  const foreign = TomClient.sign(admin, new Uint8Array(32).fill(7), 'data.add', { id: 'elsewhere', hash: dataHash() })
  const wrongNet = await other.submit(foreign).catch((x: unknown) => x)
  t.match(wrongNet, { name: 'ApiError', code: 'ERR_TX_WRONG_NETWORK', status: 409 })
  const expired = b.dataAdd({ id: 'late', hash: dataHash() }, { expiresAt: 1 })
  t.match(await client.submit(expired).catch((x: unknown) => x), { code: 'ERR_TX_EXPIRED', status: 409 })
})

t.test('GET /metrics serves the node\'s Prometheus metrics', async (t) => {
  const { node, admin } = await startNode(t)
  const { url, client } = await startApi(t, node)
  await client.submit(TomClient.sign(admin, node.network, 'data.add', { id: 'metered', hash: dataHash() }))
  const res = await fetch(`${url}/metrics`)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/)
  const text = await res.text()
  t.match(text, /^tom_block_height \d+$/m)
  t.match(text, /^tom_txs_committed_total\{outcome="ok"\} [1-9]\d*$/m, 'the committed tx is counted')
})
