/**
 * Reconnection: a peer that stops and restarts on the same port is redialled with backoff and
 * messages flow again, in order; a stopped node can be started again.
 */
import '../../src/polyfills.js'
import t from 'tap'
import { makeNode, numbered, numberOf, startMesh, waitFor } from './fixture.js'

const fast = { reconnectDelayInitialMs: 20, reconnectDelayMaxMs: 200 }

t.test('a peer that restarts on the same port is reconnected to', async (t) => {
  const a = makeNode(0, fast)
  const b = makeNode(1, fast)
  t.teardown(() => a.node.stop())
  await startMesh([a, b])
  a.node.send(b.node.peerId, numbered(1))
  await waitFor(() => b.inbox.length === 1, 'the first message')

  const address = b.node.listenAddresses()[0]?.replace(/\/p2p\/.*$/, '') ?? ''
  t.match(address, /^\/ip4\/127\.0\.0\.1\/tcp\/[1-9]/)
  await b.node.stop()
  await waitFor(() => a.events.some((e) => e.event === 'p2p.stream_dropped'), 'a to see the stream drop')
  t.same(a.node.connectedPeers(), [])
  // queued while b is down: the link keeps redialling with backoff
  for (let i = 2; i <= 5; i++) t.equal(a.node.send(b.node.peerId, numbered(i)), true)
  await waitFor(() => a.events.filter((e) => e.event === 'p2p.dial_failed').length >= 2, 'a to fail at least twice')
  const failures = a.events.filter((e) => e.event === 'p2p.dial_failed').map((e) => e.fields['failures'])
  t.same(failures.slice(0, 2), [1, 2], 'consecutive failures are counted for the backoff')

  // the same key on the same port
  const restarted = makeNode(1, { ...fast, listen: [address] })
  t.teardown(() => restarted.node.stop())
  await restarted.node.start()
  restarted.node.setAllowedPeers([a.node.peerId])
  t.equal(restarted.node.peerId, b.node.peerId)
  await waitFor(() => restarted.inbox.length === 4, 'the queued messages after the restart')
  t.same(restarted.inbox.map((m) => numberOf(m.message)), [2, 3, 4, 5], 'in order')
  t.ok(a.events.some((e) => e.event === 'p2p.reconnected'))
  a.node.send(b.node.peerId, numbered(6))
  await waitFor(() => restarted.inbox.length === 5, 'a message after the reconnection')
  // and the other way, over the connection a opened
  restarted.node.send(a.node.peerId, numbered(7))
  await waitFor(() => a.inbox.length === 1, 'a message back')
  t.equal(numberOf(a.inbox[0]?.message ?? new Uint8Array(4)), 7)
})

t.test('a stopped node can start again and talk', async (t) => {
  const a = makeNode(0, fast)
  const b = makeNode(1, fast)
  t.teardown(() => Promise.all([a.node.stop(), b.node.stop()]))
  await startMesh([a, b])
  await a.node.stop()
  await a.node.start()
  // a listens on a new port now: tell b
  b.node.setPeerAddresses(a.node.peerId, a.node.listenAddresses())
  b.node.send(a.node.peerId, numbered(1))
  a.node.send(b.node.peerId, numbered(2))
  await waitFor(() => a.inbox.length === 1 && b.inbox.length === 1, 'messages both ways after the restart')
  t.pass('both ways')
})
