/**
 * The allow-list connection gater with real Noise keys: a stranger is refused in both directions, and
 * a peer removed from the list is disconnected (and admitted again when it is listed again).
 */
import '../../src/polyfills.js'
import t from 'tap'
import { P2pNotAllowedError } from '../../src/p2p/index.js'
import { makeNode, numbered, numberOf, startMesh, waitFor } from './fixture.js'

const fast = { reconnectDelayInitialMs: 20, reconnectDelayMaxMs: 200 }

t.test('a stranger with a valid key is refused inbound and outbound', async (t) => {
  const nodes = [makeNode(0, fast), makeNode(1, fast), makeNode(2, fast)]
  const stranger = makeNode(3, fast)
  t.teardown(() => Promise.all([...nodes, stranger].map((n) => n.node.stop())))
  await startMesh(nodes)
  const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]]
  await stranger.node.start()
  stranger.node.setAllowedPeers([a.node.peerId])
  stranger.node.setPeerAddresses(a.node.peerId, a.node.listenAddresses())
  a.node.handleRequests('tx', async (_from, body) => body)

  // inbound: the stranger dials a; a's gater refuses it after the Noise handshake names it
  const refused = await stranger.node.request(a.node.peerId, 'tx', new Uint8Array(1)).catch((e: unknown) => e)
  t.match(refused, { code: /^ERR_P2P_(UNREACHABLE|NO_RESPONSE)$/ }, 'the stranger cannot reach a')
  t.ok(a.events.some((e) => e.event === 'p2p.peer_refused' && e.fields['peer'] === stranger.node.peerId && e.fields['direction'] === 'inbound'), 'a logged the refusal')
  t.equal(stranger.node.send(a.node.peerId, numbered(1)), true, 'the stranger queues a message')
  await waitFor(() => stranger.events.some((e) => e.event === 'p2p.dial_failed'), 'the stranger to fail to dial a')
  t.notOk(a.node.connectedPeers().includes(stranger.node.peerId), 'a has no connection to the stranger')
  t.same(a.inbox, [], 'nothing reached a')

  // outbound: a refuses to send to it, and an address that turns out to be the stranger's fails the handshake
  t.equal(a.node.send(stranger.node.peerId, numbered(1)), false)
  await t.rejects(a.node.request(stranger.node.peerId, 'tx', new Uint8Array(1)), P2pNotAllowedError)
  a.node.setPeerAddresses(b.node.peerId, stranger.node.listenAddresses().map((address) => address.replace(/\/p2p\/.*$/, '')))
  await t.rejects(a.node.request(b.node.peerId, 'tx', new Uint8Array(1)), { code: 'ERR_P2P_UNREACHABLE' }, "a dial to b's PeerId at the stranger's address fails")
  t.notOk(stranger.node.connectedPeers().includes(a.node.peerId), 'the stranger has no connection from a')
  t.notOk(a.node.connectedPeers().includes(stranger.node.peerId))
})

t.test('a peer removed from the allow-list is disconnected, and admitted again when listed again', async (t) => {
  const nodes = [makeNode(0, fast), makeNode(1, fast), makeNode(2, fast)]
  t.teardown(() => Promise.all(nodes.map((n) => n.node.stop())))
  await startMesh(nodes)
  const [a, b, c] = nodes as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]]
  a.node.send(b.node.peerId, numbered(1))
  b.node.send(a.node.peerId, numbered(1))
  a.node.send(c.node.peerId, numbered(1))
  await waitFor(() => a.inbox.length === 1 && b.inbox.length === 1 && c.inbox.length === 1, 'the first messages')
  t.ok(a.node.connectedPeers().includes(b.node.peerId))

  a.node.setAllowedPeers([c.node.peerId])
  await waitFor(() => !a.node.connectedPeers().includes(b.node.peerId), 'a to drop b')
  await waitFor(() => !b.node.connectedPeers().includes(a.node.peerId), 'b to see the connection closed')
  t.ok(a.events.some((e) => e.event === 'p2p.peer_removed' && e.fields['peer'] === b.node.peerId))
  t.equal(a.node.send(b.node.peerId, numbered(2)), false, 'a no longer sends to b')
  await t.rejects(a.node.request(b.node.peerId, 'tx', new Uint8Array(1)), P2pNotAllowedError)
  // b still lists a: its messages queue, but its dials are refused
  t.equal(b.node.send(a.node.peerId, numbered(2)), true)
  await waitFor(() => a.events.some((e) => e.event === 'p2p.peer_refused' && e.fields['peer'] === b.node.peerId), "a to refuse b's redial")
  t.same(a.inbox.map((m) => numberOf(m.message)), [1], 'nothing more from b')
  // c is unaffected
  a.node.send(c.node.peerId, numbered(2))
  await waitFor(() => c.inbox.length === 2, 'c to keep receiving')

  // listed again: b's link redials with its backoff and its queued message arrives
  a.node.setAllowedPeers([b.node.peerId, c.node.peerId])
  await waitFor(() => a.inbox.length === 2, "b's queued message after a lists b again")
  t.same(a.inbox.map((m) => [m.from, numberOf(m.message)]), [[b.node.peerId, 1], [b.node.peerId, 2]])
})
