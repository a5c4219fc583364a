/**
 * What the rest of TOM sees of the network: peers named by their PeerId string, addresses as
 * multiaddr strings, payloads as bytes. libp2p's own types never leave src/p2p (its API has changed
 * four times); src/node encodes and decodes what travels.
 */

/** The wire protocols. */
export const protocols = {
  /** One-way Raft messages, length-prefixed, on a long-lived stream per peer. */
  raft: '/tom/raft/1.0.0',
  /** Request/response: a follower forwards a signed tx to the leader and gets the commit result. */
  tx: '/tom/tx/1.0.0',
  /** Request/response: a follower forwards a signed tx to the leader and gets the answer as soon as the leader admitted it (or refused it). */
  txAdmit: '/tom/tx-admit/1.0.0',
  /** Request/response: a node fetches a range of blocks it lacks. */
  sync: '/tom/sync/1.0.0'
} as const

export type RequestProtocol = 'tx' | 'txAdmit' | 'sync'

export interface P2pNodeOptions {
  /** The node's Ed25519 seed (32 bytes): its PeerId is derived from it. */
  readonly privateKey: Uint8Array
  /** Multiaddrs to listen on, e.g. `/ip4/127.0.0.1/tcp/0`. */
  readonly listen: readonly string[]
  /** PeerIds allowed to connect at start; see setAllowedPeers. */
  readonly allowedPeers?: Iterable<string>
  /** Receives the layer's events (dial failures, reconnects, refused frames...); src/node wires pino. libp2p's own debug logs stay off. */
  readonly log?: (event: string, fields: Record<string, unknown>) => void
  // Limits and timings; each defaults to the constant of the same name in src/p2p/constants.ts.
  /** Largest frame (message, request body, response status byte + body), both ways. */
  readonly frameBytesMax?: number
  /** Most one-way messages queued per peer. */
  readonly sendQueueMessagesMax?: number
  /** Most bytes of one-way messages queued per peer. */
  readonly sendQueueBytesMax?: number
  /** First redial delay after a failure. */
  readonly reconnectDelayInitialMs?: number
  /** Largest redial delay. */
  readonly reconnectDelayMaxMs?: number
  /** Default request timeout. */
  readonly requestTimeoutMs?: number
  /** Most requests of one protocol handled at once; more are answered "busy". */
  readonly requestsInboundMax?: number
  /** Most requests in flight to one peer. */
  readonly requestsOutboundPerPeerMax?: number
}

export interface P2pNode {
  readonly peerId: string
  /** Listens and accepts allowed peers. A node can be started again after stop (same key, new listeners). */
  start(options?: { signal?: AbortSignal }): Promise<void>
  /** Closes every connection and stream; pending requests reject with P2pStoppedError; queued messages are dropped. */
  stop(options?: { signal?: AbortSignal }): Promise<void>
  /** The addresses actually listened on (with the port the OS chose for `tcp/0`), each ending in /p2p/<peerId>. */
  listenAddresses(): string[]
  /**
   * Only these peers may connect, in either direction; a peer with a valid Noise key that is not
   * listed is refused at the connection gater. Connections to peers no longer listed are closed.
   */
  setAllowedPeers(peerIds: Iterable<string>): void
  /** Where to dial a peer. */
  setPeerAddresses(peerId: string, addrs: readonly string[]): void
  /**
   * Queues a one-way message (e.g. a Raft message) to a peer, dialling and reconnecting with backoff
   * as needed. Returns false when it was dropped because the peer's queue is full or the peer is not
   * allowed, or the node is not running: the caller treats that as a lost message (Raft tolerates
   * loss). Throws P2pFrameTooLargeError when the message is over the frame limit. The message is sent
   * as is, without a copy: do not modify it afterwards.
   */
  send(peerId: string, message: Uint8Array): boolean
  /** Receives one-way messages, in order per sender. One handler: a new one replaces the previous one. */
  onMessage(handler: (from: string, message: Uint8Array) => void): void
  /**
   * Sends a request on a new stream and waits for its response. Rejects with a P2p*Error (see
   * errors.ts): P2pRequestError carries the remote handler's message; P2pTimeoutError, P2pAbortedError
   * and P2pNoResponseError mean the request may or may not have been handled.
   */
  request(peerId: string, protocol: RequestProtocol, body: Uint8Array, options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<Uint8Array>
  /** Answers requests of a protocol. A handler that throws makes the request reject at the caller with its message. */
  handleRequests(protocol: RequestProtocol, handler: (from: string, body: Uint8Array) => Promise<Uint8Array>): void
  /** Peers with an open connection now. */
  connectedPeers(): string[]
}
