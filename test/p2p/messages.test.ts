/**
 * One-way messages on /tom/raft/1.0.0 between real nodes on loopback: order, large frames, the frame
 * limit both ways, the bounded send queue, and the PeerId derived from our own key.
 */
import '../../src/polyfills.js'
import t from 'tap'
import { peerIdOf } from '../../src/crypto/index.js'
import { frameBytesMax } from '../../src/p2p/constants.js'
import { createP2pNode, P2pFrameTooLargeError } from '../../src/p2p/index.js'
import { makeNode, numbered, numberOf, startMesh, waitFor } from './fixture.js'

t.test('the PeerId is peerIdOf(publicKey) of src/crypto', async (t) => {
  const a = makeNode(0)
  t.equal(a.node.peerId, peerIdOf(a.publicKey))
  await a.node.start()
  t.teardown(() => a.node.stop())
  const addresses = a.node.listenAddresses()
  t.ok(addresses.length > 0, 'it listens')
  for (const address of addresses) t.match(address, new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/[1-9][0-9]*/p2p/${a.node.peerId}$`))
})

t.test('three nodes exchange messages in order, including a 10 MiB frame', async (t) => {
  const nodes = [makeNode(0), makeNode(1), makeNode(2)]
  t.teardown(() => Promise.all(nodes.map((n) => n.node.stop())))
  await startMesh(nodes)
  const perPair = 200
  const big = numbered(perPair, 10 * 1024 * 1024)
  big.fill(0xab, 4)
  const accepted: boolean[] = []
  for (const from of nodes) {
    for (const to of nodes) {
      if (from === to) continue
      for (let i = 0; i < perPair; i++) accepted.push(from.node.send(to.node.peerId, numbered(i, 64)))
      accepted.push(from.node.send(to.node.peerId, big), from.node.send(to.node.peerId, numbered(perPair + 1, 64)))
    }
  }
  t.ok(accepted.every((ok) => ok), 'every message, the 10 MiB frames included, is queued')
  const expected = perPair + 2
  await waitFor(() => nodes.every((n) => n.inbox.length === expected * 2), 'every message to arrive', 20_000)
  for (const to of nodes) {
    for (const from of nodes) {
      if (from === to) continue
      const got = to.inbox.filter((m) => m.from === from.node.peerId)
      t.same(got.map((m) => numberOf(m.message)), Array.from({ length: expected }, (_, i) => i), `${to.node.peerId.slice(-6)} got ${from.node.peerId.slice(-6)}'s messages in order`)
      const bigReceived = got[perPair]?.message
      t.equal(bigReceived?.byteLength, big.byteLength, 'the 10 MiB frame arrived whole')
      t.ok(bigReceived !== undefined && bigReceived.every((b, i) => i < 4 || b === 0xab), 'with its bytes')
    }
  }
  t.same(nodes[0]?.node.connectedPeers().sort(), [nodes[1]?.node.peerId, nodes[2]?.node.peerId].sort())
})

t.test('a frame over the limit is refused on both sides', async (t) => {
  // the sender refuses to queue a message over its own limit
  const lone = makeNode(5)
  t.throws(() => lone.node.send(lone.node.peerId, new Uint8Array(frameBytesMax + 1)), P2pFrameTooLargeError)

  // the receiver refuses a frame over its limit (here 1 MiB) from a sender with a higher one
  const sender = makeNode(0)
  const receiver = makeNode(1, { frameBytesMax: 1024 * 1024 })
  t.teardown(() => Promise.all([sender.node.stop(), receiver.node.stop()]))
  await startMesh([sender, receiver])
  t.equal(sender.node.send(receiver.node.peerId, numbered(1)), true)
  await waitFor(() => receiver.inbox.length === 1, 'the first small message')
  t.equal(sender.node.send(receiver.node.peerId, numbered(2, 2 * 1024 * 1024)), true, 'the sender queues it: its own limit is higher')
  await waitFor(() => receiver.events.some((e) => e.event === 'p2p.frame_refused'), 'the receiver to refuse the frame')
  t.throws(() => receiver.node.send(sender.node.peerId, new Uint8Array(1024 * 1024 + 1)), P2pFrameTooLargeError, 'the receiver refuses to send one too')
  // the refused frame is lost, the stream was reset, and the link redials for the next message
  t.equal(sender.node.send(receiver.node.peerId, numbered(3)), true)
  await waitFor(() => receiver.inbox.length === 2, 'the message after the refused frame')
  t.same(receiver.inbox.map((m) => numberOf(m.message)), [1, 3])
})

t.test('the send queue is bounded while the peer is unreachable', async (t) => {
  const a = makeNode(0, { sendQueueMessagesMax: 8, sendQueueBytesMax: 1024 })
  const b = makeNode(1)
  t.teardown(() => a.node.stop())
  await a.node.start()
  a.node.setAllowedPeers([b.node.peerId])
  // nothing listens there: port 1 on loopback refuses connections
  a.node.setPeerAddresses(b.node.peerId, ['/ip4/127.0.0.1/tcp/1'])
  const accepted: boolean[] = []
  for (let i = 0; i < 20; i++) accepted.push(a.node.send(b.node.peerId, numbered(i, 16)))
  t.same(accepted, [...Array(8).fill(true), ...Array(12).fill(false)], 'the count limit: 8 queued, then refused')
  await waitFor(() => a.events.some((e) => e.event === 'p2p.dial_failed'), 'a failed dial')
  t.equal(a.node.send(b.node.peerId, numbered(99)), false, 'still full after the dial failed')

  const c = makeNode(2, { sendQueueMessagesMax: 1000, sendQueueBytesMax: 1024 })
  t.teardown(() => c.node.stop())
  await c.node.start()
  c.node.setAllowedPeers([b.node.peerId])
  c.node.setPeerAddresses(b.node.peerId, ['/ip4/127.0.0.1/tcp/1'])
  t.equal(c.node.send(b.node.peerId, new Uint8Array(1000)), true)
  t.equal(c.node.send(b.node.peerId, new Uint8Array(25)), false, 'the byte limit')
  t.equal(c.node.send(b.node.peerId, new Uint8Array(24)), true, 'what fits still goes in')
  t.equal(c.node.send(makeNode(9).node.peerId, new Uint8Array(1)), false, 'a peer not allowed')
})

t.test('send returns false when the node is not running; invalid options are refused', async (t) => {
  const a = makeNode(0)
  t.equal(a.node.send(makeNode(1).node.peerId, numbered(1)), false)
  t.throws(() => createP2pNode({ privateKey: new Uint8Array(31), listen: [] }), { code: 'ERR_P2P_INVALID_OPTIONS' })
  t.throws(() => createP2pNode({ privateKey: new Uint8Array(32), listen: ['not a multiaddr'] }), { code: 'ERR_P2P_INVALID_OPTIONS' })
  t.throws(() => createP2pNode({ privateKey: new Uint8Array(32), listen: [], sendQueueMessagesMax: 0 }), { code: 'ERR_P2P_INVALID_OPTIONS' })
  t.throws(() => a.node.setAllowedPeers(['nope']), { code: 'ERR_P2P_INVALID_OPTIONS' })
})

t.test('start() rejects with P2pListenError when the port is taken', async (t) => {
  const a = makeNode(0)
  await a.node.start()
  t.teardown(() => a.node.stop())
  const port = /tcp\/(\d+)/.exec(a.node.listenAddresses()[0] ?? '')?.[1]
  const b = makeNode(1, { listen: [`/ip4/127.0.0.1/tcp/${port}`] })
  await t.rejects(b.node.start(), { name: 'P2pListenError', code: 'ERR_P2P_LISTEN_FAILED' })
  t.same(b.node.listenAddresses(), [])
  await b.node.stop()
})
