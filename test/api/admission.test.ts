/**
 * POST /v1/txs?wait=false answers once the node admitted the tx: every refusal gets the same status
 * and code as with wait=true, and a 202 means the tx is in the leader's mempool (or further).
 */
import t from 'tap'
import { toHex } from '../../src/crypto/index.js'
import { TomClient } from '../../src/api/index.js'
import type { Tx } from '../../src/ledger/index.js'
import { apiFixture, dataHash, startApi, startNode } from './fixture.js'

type Outcome = { status: number; code: string | undefined }

function poster(url: string): (body: Uint8Array, wait: boolean) => Promise<Outcome> {
  return async (body, wait) => {
    const res = await fetch(`${url}/v1/txs?wait=${wait}`, { method: 'POST', headers: { 'content-type': 'application/cbor' }, body })
    return { status: res.status, code: ((await res.json()) as { code?: string }).code }
  }
}

t.test('every admission refusal: the same status and code with wait=false as with wait=true', async (t) => {
  const { admin, url, client, node } = await apiFixture(t)
  const post = poster(url)
  const b = await client.build(admin)
  const committed = b.dataAdd({ id: 'once', hash: dataHash() })
  await client.submit(committed)
  const forged = Uint8Array.from(b.dataAdd({ id: 'forged', hash: dataHash() }).bytes)
  // The canonical map starts with `sig`: header (1), key "sig" (4), byte-string head (2), then the 64 bytes.
  forged[7] = forged[7]! ^ 0xff
  const cases: [string, Uint8Array, Outcome][] = [
    ['replay', committed.bytes, { status: 409, code: 'ERR_TX_REPLAY' }],
    ['bad signature', forged, { status: 409, code: 'ERR_TX_BAD_SIGNATURE' }],
    ['wrong network', TomClient.sign(admin, new Uint8Array(32).fill(7), 'data.add', { id: 'elsewhere', hash: dataHash() }).bytes, { status: 409, code: 'ERR_TX_WRONG_NETWORK' }],
    ['expired', b.dataAdd({ id: 'late', hash: dataHash() }, { expiresAt: 1 }).bytes, { status: 409, code: 'ERR_TX_EXPIRED' }],
    ['expiry too far', b.dataAdd({ id: 'far', hash: dataHash() }, { expiresAt: Date.now() + 48 * 3600_000 }).bytes, { status: 409, code: 'ERR_TX_EXPIRY_TOO_FAR' }],
    ['malformed', new Uint8Array([0xa1, 0x61, 0x78, 0x01]), { status: 400, code: 'ERR_TX_MALFORMED' }]
  ]
  for (const [name, bytes, expected] of cases) {
    t.same(await post(bytes, true), expected, `${name}: wait=true`)
    t.same(await post(bytes, false), expected, `${name}: wait=false`)
  }
  t.equal(node.status().mempool.txs, 0, 'nothing refused was admitted')
})

t.test('202 only once the tx is admitted; an admitted tx commits', async (t) => {
  const { admin, url, client, node } = await apiFixture(t)
  const b = await client.build(admin)
  const events = await client.events()
  t.teardown(() => events.return?.())
  const tx = b.dataAdd({ id: 'admitted', hash: dataHash() })
  const res = await fetch(`${url}/v1/txs?wait=false`, { method: 'POST', headers: { 'content-type': 'application/cbor' }, body: tx.bytes })
  t.equal(res.status, 202)
  t.same(await res.json(), { id: toHex(tx.id), pending: true })
  // Admitted: waiting in the mempool or in a proposed block, or already committed; not still being checked.
  const pending = node.status().mempool.txs
  const stored = await node.getTx(tx.id)
  t.ok(pending > 0 || stored !== undefined, `admitted when answered (pending ${pending}, committed ${stored !== undefined})`)
  for await (const e of events) if (e.event === 'block' && e.txs.some((x) => x.id === toHex(tx.id))) break
  t.same((await client.tx(tx.id)).receipt, { ok: true }, 'and it committed')
})

t.test('a node that is not running refuses either way', async (t) => {
  const stopped = await startNode(t, { start: false })
  const api = await startApi(t, stopped.node)
  const post = poster(api.url)
  const early = TomClient.sign(stopped.admin, stopped.node.network, 'data.add', { id: 'early', hash: dataHash() }) as Tx
  t.same(await post(early.bytes, true), { status: 503, code: 'ERR_NODE_STOPPED' }, 'wait=true')
  t.same(await post(early.bytes, false), { status: 503, code: 'ERR_NODE_STOPPED' }, 'wait=false')
})
