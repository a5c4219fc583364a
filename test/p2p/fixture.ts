/**
 * Helpers for the p2p tests: nodes on real loopback sockets (port 0), full-mesh allow-lists, and
 * waits on events or conditions with a bounded failure guard instead of sleeps.
 */
import '../../src/polyfills.js'
import { keyPairFromSeed } from '../../src/crypto/index.js'
import { createP2pNode, type P2pNode, type P2pNodeOptions } from '../../src/p2p/index.js'

export interface TestNode {
  readonly node: P2pNode
  readonly seed: Uint8Array
  readonly publicKey: Uint8Array
  readonly events: Array<{ event: string; fields: Record<string, unknown> }>
  /** Messages received, in order. */
  readonly inbox: Array<{ from: string; message: Uint8Array }>
}

/** A deterministic seed per index, so that failures reproduce with the same PeerIds. */
export function seedOf(index: number): Uint8Array {
  return new Uint8Array(32).fill(index + 1)
}

export function makeNode(index: number, options: Partial<P2pNodeOptions> = {}): TestNode {
  const seed = seedOf(index)
  const events: TestNode['events'] = []
  const inbox: TestNode['inbox'] = []
  const node = createP2pNode({
    privateKey: seed,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    log: (event, fields) => events.push({ event, fields }),
    ...options
  })
  node.onMessage((from, message) => inbox.push({ from, message }))
  return { node, seed, publicKey: keyPairFromSeed(seed).publicKey, events, inbox }
}

/** Starts the nodes, lets each one allow the others (and `extraAllowed`), and tells each where the others listen. */
export async function startMesh(nodes: readonly TestNode[], extraAllowed: readonly string[] = []): Promise<void> {
  await Promise.all(nodes.map((n) => n.node.start()))
  for (const n of nodes) {
    n.node.setAllowedPeers([...nodes.filter((o) => o !== n).map((o) => o.node.peerId), ...extraAllowed])
    for (const o of nodes) if (o !== n) n.node.setPeerAddresses(o.node.peerId, o.node.listenAddresses())
  }
}

/** Resolves when `condition()` holds, checking after every turn of the event loop; rejects after `guardMs`. */
export async function waitFor(condition: () => boolean, what: string, guardMs = 10_000): Promise<void> {
  const deadline = Date.now() + guardMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${guardMs} ms waiting for ${what}`)
    await new Promise<void>((resolve) => setImmediate(resolve))
  }
}

/** A message whose bytes say which one it is. */
export function numbered(i: number, bytes = 16): Uint8Array {
  const out = new Uint8Array(Math.max(bytes, 4))
  new DataView(out.buffer).setUint32(0, i)
  return out
}

export function numberOf(message: Uint8Array): number {
  return new DataView(message.buffer, message.byteOffset, message.byteLength).getUint32(0)
}
