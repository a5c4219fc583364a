/**
 * Request/response on /tom/tx/1.0.0 and /tom/sync/1.0.0 between real nodes on loopback: answers,
 * a handler's error reaching the caller, timeout, abort, "busy", stop() rejecting pending requests.
 */
import '../../src/polyfills.js'
import t from 'tap'
import { P2pAbortedError, P2pBusyError, P2pRequestError, P2pStoppedError, P2pTimeoutError } from '../../src/p2p/index.js'
import { makeNode, startMesh, waitFor } from './fixture.js'

const utf8 = new TextEncoder()
const text = new TextDecoder()

t.test('both request protocols answer, and a handler error reaches the caller with its message', async (t) => {
  const a = makeNode(0)
  const b = makeNode(1)
  t.teardown(() => Promise.all([a.node.stop(), b.node.stop()]))
  await startMesh([a, b])
  b.node.handleRequests('tx', async (from, body) => {
    const tx = text.decode(body)
    if (tx === 'bad') throw new Error('tx rejected: ERR_TX_BAD_SIGNATURE')
    return utf8.encode(`committed ${tx} from ${from.slice(-6)}`)
  })
  b.node.handleRequests('sync', async (_from, body) => {
    const [from, to] = text.decode(body).split('-').map(Number) as [number, number]
    return utf8.encode(Array.from({ length: to - from + 1 }, (_, i) => `block ${from + i}`).join(','))
  })
  t.equal(text.decode(await a.node.request(b.node.peerId, 'tx', utf8.encode('tx1'))), `committed tx1 from ${a.node.peerId.slice(-6)}`)
  t.equal(text.decode(await a.node.request(b.node.peerId, 'sync', utf8.encode('3-5'))), 'block 3,block 4,block 5')
  const many = await Promise.all(Array.from({ length: 20 }, (_, i) => a.node.request(b.node.peerId, 'tx', utf8.encode(`tx${i}`))))
  t.same(many.map((r) => text.decode(r).split(' ')[1]), Array.from({ length: 20 }, (_, i) => `tx${i}`), 'concurrent requests each get their own answer')
  const bigBody = new Uint8Array(12 * 1024 * 1024).fill(7)
  b.node.handleRequests('sync', async (_from, body) => body)
  const echoed = await a.node.request(b.node.peerId, 'sync', bigBody)
  t.equal(echoed.byteLength, bigBody.byteLength, 'a 12 MiB body and response')

  await t.rejects(a.node.request(b.node.peerId, 'tx', utf8.encode('bad')), {
    name: 'P2pRequestError',
    code: 'ERR_P2P_REQUEST_FAILED',
    message: 'tx rejected: ERR_TX_BAD_SIGNATURE',
    peerId: b.node.peerId
  })
  const err = await a.node.request(b.node.peerId, 'tx', utf8.encode('bad')).catch((e: unknown) => e)
  t.ok(err instanceof P2pRequestError, 'a typed P2pRequestError')

  // a protocol without a handler answers with an error, not a hang
  await t.rejects(b.node.request(a.node.peerId, 'sync', new Uint8Array(1)), { code: 'ERR_P2P_REQUEST_FAILED', message: /does not handle \/tom\/sync\/1\.0\.0/ })
})

t.test('a request times out, and an aborted request rejects at once', async (t) => {
  const a = makeNode(0)
  const b = makeNode(1)
  t.teardown(() => Promise.all([a.node.stop(), b.node.stop()]))
  await startMesh([a, b])
  const release: Array<() => void> = []
  b.node.handleRequests('tx', (_from, body) => new Promise((resolve) => release.push(() => resolve(body))))

  const started = Date.now()
  const timedOut = await a.node.request(b.node.peerId, 'tx', new Uint8Array(1), { timeoutMs: 300 }).catch((e: unknown) => e)
  t.ok(timedOut instanceof P2pTimeoutError, 'P2pTimeoutError')
  t.match(timedOut, { code: 'ERR_P2P_TIMEOUT' })
  t.ok(Date.now() - started >= 290, 'not before the timeout')

  const controller = new AbortController()
  const pending = a.node.request(b.node.peerId, 'tx', new Uint8Array(1), { signal: controller.signal })
  await waitFor(() => release.length === 2, 'the handler to receive the second request')
  controller.abort()
  const aborted = await pending.catch((e: unknown) => e)
  t.ok(aborted instanceof P2pAbortedError, 'P2pAbortedError')
  t.match(aborted, { code: 'ERR_P2P_ABORTED' })
  await t.rejects(a.node.request(b.node.peerId, 'tx', new Uint8Array(1), { signal: AbortSignal.abort() }), { code: 'ERR_P2P_ABORTED' }, 'an aborted signal is refused before sending')

  // the handlers finish late: their answers go nowhere and nothing breaks
  for (const r of release) r()
  b.node.handleRequests('tx', async (_from, body) => body)
  t.same(await a.node.request(b.node.peerId, 'tx', Uint8Array.of(42)), Uint8Array.of(42), 'the next request works')
})

t.test('a responder at its limit answers busy', async (t) => {
  const a = makeNode(0)
  const b = makeNode(1, { requestsInboundMax: 2 })
  t.teardown(() => Promise.all([a.node.stop(), b.node.stop()]))
  await startMesh([a, b])
  const release: Array<() => void> = []
  b.node.handleRequests('sync', (_from, body) => new Promise((resolve) => release.push(() => resolve(body))))
  const first = [a.node.request(b.node.peerId, 'sync', Uint8Array.of(1)), a.node.request(b.node.peerId, 'sync', Uint8Array.of(2))]
  await waitFor(() => release.length === 2, 'two requests in the handler')
  const third = await a.node.request(b.node.peerId, 'sync', Uint8Array.of(3)).catch((e: unknown) => e)
  t.ok(third instanceof P2pBusyError, 'the third is answered busy', { third: String(third) })
  for (const r of release) r()
  t.same(await Promise.all(first), [Uint8Array.of(1), Uint8Array.of(2)])
  b.node.handleRequests('sync', async (_from, body) => body)
  t.same(await a.node.request(b.node.peerId, 'sync', Uint8Array.of(4)).then(() => 'ok'), 'ok', 'capacity is back once they finish')
})

t.test('stop() rejects pending requests and closes everything', async (t) => {
  const a = makeNode(0)
  const b = makeNode(1)
  t.teardown(() => b.node.stop())
  await startMesh([a, b])
  let received = 0
  b.node.handleRequests('tx', () => {
    received++
    return new Promise<Uint8Array>(() => undefined) // never answers
  })
  const pending = [a.node.request(b.node.peerId, 'tx', new Uint8Array(1)), a.node.request(b.node.peerId, 'sync', new Uint8Array(1))].map((p) => p.catch((e: unknown) => e))
  await waitFor(() => received === 1, 'the request to reach the handler')
  a.node.send(b.node.peerId, new Uint8Array(8))
  await a.node.stop()
  const errors = await Promise.all(pending)
  t.ok(errors[0] instanceof P2pStoppedError, 'the pending tx request rejects with P2pStoppedError')
  t.match(errors[1], { code: /ERR_P2P_(STOPPED|REQUEST_FAILED)/ }, 'the sync request (no handler at b) settles too')
  t.same(a.node.connectedPeers(), [])
  t.same(a.node.listenAddresses(), [])
  await t.rejects(a.node.request(b.node.peerId, 'tx', new Uint8Array(1)), { code: 'ERR_P2P_STOPPED' })
  t.equal(a.node.send(b.node.peerId, new Uint8Array(1)), false)
  await waitFor(() => b.node.connectedPeers().length === 0, 'b to see the connection closed')
})
