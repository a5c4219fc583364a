/** Every error path of the API: status, code, and that the SDK surfaces it as an ApiError. */
import t from 'tap'
import { request } from 'node:http'
import { toHex } from '../../src/crypto/index.js'
import { ApiError, apiBodyBytesMax, createApiServer, TomClient } from '../../src/api/index.js'
import type { ApiNode } from '../../src/api/index.js'
import { P2pBusyError } from '../../src/p2p/index.js'
import { apiFixture, dataHash, startApi, startNode } from './fixture.js'

async function errorOf(res: Response): Promise<{ status: number; code: string; message: string }> {
  const body = (await res.json()) as { code: string; message: string }
  t.equal(res.headers.get('content-type'), 'application/json; charset=utf-8', 'errors are JSON')
  t.type(body.message, 'string')
  return { status: res.status, code: body.code, message: body.message }
}

/** POSTs `chunks` with chunked transfer encoding (no Content-Length), so only counting can stop it. */
function postChunked(url: string, chunks: Uint8Array[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/v1/txs`, { method: 'POST', headers: { 'content-type': 'application/cbor' } }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (body += c))
      res.on('end', () => resolve({ status: res.statusCode!, body }))
    })
    req.on('error', reject)
    for (const c of chunks) req.write(c)
    req.end()
  })
}

t.test('bad input, unknown routes and unknown things', async (t) => {
  const { node, admin, url, client } = await apiFixture(t)
  const post = (body: string | Uint8Array, type: string, query = ''): Promise<Response> => fetch(`${url}/v1/txs${query}`, { method: 'POST', headers: { 'content-type': type }, body })
  t.same(await errorOf(await post('{"tx":"abc"}', 'application/json')), { status: 400, code: 'ERR_API_BAD_REQUEST', message: 'expected { "tx": "<hex of the signed tx CBOR>" } with an even number of hex digits' }, 'odd hex')
  t.match(await errorOf(await post('{"tx":"zz"}', 'application/json')), { status: 400, code: 'ERR_API_BAD_REQUEST' }, 'not hex')
  t.match(await errorOf(await post('{"tx":', 'application/json')), { status: 400, code: 'ERR_API_BAD_REQUEST', message: 'the body is not JSON' })
  t.match(await errorOf(await post('[1]', 'application/json')), { status: 400, code: 'ERR_API_BAD_REQUEST' }, 'JSON without tx')
  t.match(await errorOf(await post(new Uint8Array([0xff, 0x00, 0x01]), 'application/cbor')), { status: 400, code: 'ERR_TX_MALFORMED' }, 'bad CBOR')
  t.match(await errorOf(await post(JSON.stringify({ tx: '01' }), 'application/json')), { status: 400, code: 'ERR_TX_MALFORMED' }, 'CBOR that is not a tx')
  t.match(await errorOf(await post(new Uint8Array(0), 'application/cbor')), { status: 400, code: 'ERR_API_BAD_REQUEST' }, 'empty body')
  t.match(await errorOf(await post('x', 'text/plain')), { status: 415, code: 'ERR_API_UNSUPPORTED_MEDIA_TYPE' })
  const tx = (await client.build(admin)).dataAdd({ id: 'x', hash: dataHash() })
  t.match(await errorOf(await post(tx.bytes, 'application/cbor', '?wait=maybe')), { status: 400, code: 'ERR_API_BAD_REQUEST' }, 'wait is a boolean')
  t.equal(await node.getTx(tx.id), undefined, 'a refused request submitted nothing')

  const big = await post(new Uint8Array(apiBodyBytesMax + 1), 'application/cbor')
  t.match(await errorOf(big), { status: 413, code: 'ERR_API_BODY_TOO_LARGE' }, 'declared too large')
  const chunked = await postChunked(url, [new Uint8Array(apiBodyBytesMax / 2), new Uint8Array(apiBodyBytesMax / 2), new Uint8Array(1)])
  t.equal(chunked.status, 413, 'counted too large, without Content-Length')
  t.equal((JSON.parse(chunked.body) as { code: string }).code, 'ERR_API_BODY_TOO_LARGE')
  t.equal((await fetch(`${url}/v1/status`)).status, 200, 'the server carries on')

  t.match(await errorOf(await fetch(`${url}/v1/nope`)), { status: 404, code: 'ERR_API_NO_ROUTE' })
  t.match(await errorOf(await fetch(`${url}/v2/status`)), { status: 404, code: 'ERR_API_NO_ROUTE' })
  const wrongMethod = await fetch(`${url}/v1/status`, { method: 'DELETE' })
  t.equal(wrongMethod.headers.get('allow'), 'GET')
  t.match(await errorOf(wrongMethod), { status: 405, code: 'ERR_API_METHOD_NOT_ALLOWED' })
  t.match(await errorOf(await fetch(`${url}/v1/txs`)), { status: 405, code: 'ERR_API_METHOD_NOT_ALLOWED' }, 'GET of the submit route')

  const unknownId = toHex(new Uint8Array(32).fill(9))
  t.match(await errorOf(await fetch(`${url}/v1/txs/${unknownId}`)), { status: 404, code: 'ERR_API_NOT_FOUND' })
  t.match(await client.tx(unknownId).catch((e: unknown) => e), { name: 'ApiError', code: 'ERR_API_NOT_FOUND', status: 404 }, 'the SDK throws an ApiError')
  t.match(await errorOf(await fetch(`${url}/v1/txs/abc`)), { status: 400, code: 'ERR_API_BAD_REQUEST' }, 'not a tx id')
  t.match(await errorOf(await fetch(`${url}/v1/blocks/${node.head.height + 1}`)), { status: 404, code: 'ERR_API_NOT_FOUND' }, 'past the head')
  t.match(await errorOf(await fetch(`${url}/v1/blocks/-1`)), { status: 400, code: 'ERR_API_BAD_REQUEST' })
  t.match(await errorOf(await fetch(`${url}/v1/state/data%2Fnone`)), { status: 404, code: 'ERR_API_NOT_FOUND' })
  t.match(await errorOf(await fetch(`${url}/v1/state/k?height=${node.head.height + 1}`)), { status: 400, code: 'ERR_API_BAD_REQUEST' }, 'a height past the head')
  t.match(await errorOf(await fetch(`${url}/v1/state/k?height=0&linearizable=true`)), { status: 400, code: 'ERR_API_BAD_REQUEST' })
  t.match(await errorOf(await fetch(`${url}/v1/state/%E0%A4%A`)), { status: 400, code: 'ERR_API_BAD_REQUEST' }, 'bad percent-encoding')
})

t.test('rate limit: a token bucket per client, refilled with time', async (t) => {
  const { node } = await startNode(t)
  let now = 1_000_000
  const { url } = await startApi(t, node, { rateLimit: { burst: 2, perSecond: 1 }, clock: () => now })
  t.equal((await fetch(`${url}/v1/status`)).status, 200)
  t.equal((await fetch(`${url}/v1/status`)).status, 200)
  const limited = await fetch(`${url}/v1/status`)
  t.equal(limited.headers.get('retry-after'), '1')
  t.match(await errorOf(limited), { status: 429, code: 'ERR_API_RATE_LIMITED' })
  t.match(await new TomClient({ url }).status().catch((e: unknown) => e), { code: 'ERR_API_RATE_LIMITED', status: 429 }, 'the SDK surfaces it')
  now += 1000
  t.equal((await fetch(`${url}/v1/status`)).status, 200, 'one token back after a second')
  t.equal((await fetch(`${url}/v1/status`)).status, 429, 'and only one')
})

t.test('503 without a leader, 504 when the commit does not come, 500 without details, unreachable', async (t) => {
  const { node, admin } = await startNode(t, { start: false })
  const { url, client } = await startApi(t, node)
  const tx = TomClient.sign(admin, node.network, 'data.add', { id: 'early', hash: dataHash() })
  const noLeader = await client.submit(tx).catch((e: unknown) => e)
  t.ok(noLeader instanceof ApiError)
  t.match(noLeader, { status: 503 })
  t.equal((noLeader as ApiError).code, 'ERR_NODE_STOPPED', 'a node that is not running refuses with its own code, passed through')

  // A node whose commit never comes, and whose block store fails: the adapter a test builds.
  const failures: unknown[] = []
  const stuck: ApiNode = {
    network: node.network,
    head: node.head,
    prov: node.prov,
    status: () => node.status(),
    submitTx: (_tx, options) => new Promise((_resolve, reject) => options?.signal?.addEventListener('abort', () => reject(options.signal!.reason))),
    admitTx: (_tx, options) => new Promise((_resolve, reject) => options?.signal?.addEventListener('abort', () => reject(options.signal!.reason))),
    getAppliedBlock: () => Promise.reject(new Error('disk on fire: secret path /var/x')),
    getBlock: () => Promise.reject(new Error('disk on fire: secret path /var/x')),
    actionsOf: (applied) => node.actionsOf(applied),
    getTx: (id) => node.getTx(id),
    getState: (key) => node.getState(key),
    getStateLinearizable: (key) => node.getState(key),
    getStateAt: (key, h) => node.getStateAt(key, h),
    scanState: (prefix, limit, after) => node.scanState(prefix, limit, after),
    exportProv: (what, format) => node.exportProv(what, format),
    on: () => undefined,
    off: () => undefined,
    metrics: () => node.metrics()
  }
  const stuckApi = await startApi(t, stuck, { submitWaitMs: 50, onError: (err) => failures.push(err) })
  t.match(await stuckApi.client.submit(tx).catch((e: unknown) => e), { code: 'ERR_API_WAIT_TIMEOUT', status: 504, message: /was not committed within 50 ms/ })
  t.match(await stuckApi.client.submit(tx, { wait: false }).catch((e: unknown) => e), { code: 'ERR_API_WAIT_TIMEOUT', status: 504, message: /was not admitted within 50 ms/ }, 'wait=false waits for the admission, as long')
  const internal = await fetch(`${stuckApi.url}/v1/blocks/0`)
  t.same(await internal.json(), { code: 'ERR_API_INTERNAL', message: 'internal error' }, 'no detail leaks')
  t.equal(internal.status, 500)
  t.equal(failures.length, 1, 'the failure is reported to onError')

  // A follower whose forwarding link to the leader is saturated: busy, not broken (503, retry later).
  const busy: ApiNode = { ...stuck, submitTx: () => Promise.reject(new P2pBusyError('64 requests to the leader are in flight already')) }
  const busyApi = await startApi(t, busy)
  t.match(await busyApi.client.submit(tx).catch((e: unknown) => e), { code: 'ERR_P2P_BUSY', status: 503 }, 'a saturated forward is a 503 with its code')

  const server = createApiServer(node, { port: 0 })
  const gone = new TomClient({ url: (await server.start()).url })
  await server.stop()
  t.match(await gone.status().catch((e: unknown) => e), { name: 'ApiError', code: 'ERR_API_UNREACHABLE', status: 0 })
  t.ok(url)
})

t.test('stop ends event streams and refuses new requests', async (t) => {
  const { node } = await apiFixture(t)
  const server = createApiServer(node, { port: 0, sseClientsMax: 1 })
  const { url } = await server.start()
  const client = new TomClient({ url })
  const events = await client.events()
  t.match(await client.events().catch((e: unknown) => e), { code: 'ERR_API_UNAVAILABLE', status: 503 }, 'at most sseClientsMax streams')
  const next = events.next()
  await server.stop()
  t.same(await next, { done: true, value: undefined }, 'the stream ended')
})
