/**
 * The libp2p host of a TOM node: TCP + Noise + Yamux and nothing else (no DHT, no mDNS, no identify,
 * no autodial), a connection gater that admits only the allow-listed PeerIds, and TOM's three wire
 * protocols. libp2p types stay in this folder; callers see PeerId strings, multiaddr strings and bytes.
 *
 * Identify is left out on purpose: it only exchanges listen addresses and protocol lists, which TOM
 * already gets from the ledger (setPeerAddresses) and does not need (every node speaks the same three
 * protocols). libp2p's connection monitor stays on: its ping closes a connection whose peer stopped
 * answering, which is what makes a raft link redial after a silent network failure.
 */
import '../polyfills.js'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { privateKeyFromRaw } from '@libp2p/crypto/keys'
import type { ComponentLogger, Connection, ConnectionGater, Libp2p, Logger, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { keyPairFromSeed, peerIdOf, privateKeyBytes } from '../crypto/index.js'
import * as constants from './constants.js'
import {
  P2pAbortedError,
  P2pBusyError,
  P2pFrameTooLargeError,
  P2pInvalidOptionsError,
  P2pListenError,
  P2pNotAllowedError,
  P2pStoppedError,
  P2pTimeoutError,
  P2pUnreachableError
} from './errors.js'
import { FrameDecoder } from './frame.js'
import { PeerLink } from './peer-link.js'
import { exchange, messageOf, readFrame, responsePayload, responseStatus, writeFrame } from './request-response.js'
import { protocols, type P2pNode, type P2pNodeOptions, type RequestProtocol } from './types.js'

type Log = (event: string, fields: Record<string, unknown>) => void
type RequestHandler = (from: string, body: Uint8Array) => Promise<Uint8Array>

/** P2pNodeOptions after validation, with every default filled in. */
interface ResolvedOptions {
  readonly seed: Uint8Array
  readonly listen: readonly string[]
  readonly log: Log
  readonly frameBytesMax: number
  readonly sendQueueMessagesMax: number
  readonly sendQueueBytesMax: number
  readonly reconnectDelayInitialMs: number
  readonly reconnectDelayMaxMs: number
  readonly requestTimeoutMs: number
  readonly requestsInboundMax: number
  readonly requestsOutboundPerPeerMax: number
}

const requestProtocols: readonly RequestProtocol[] = ['tx', 'txAdmit', 'sync']

/** Creates a stopped node; `start()` listens. Throws P2pInvalidOptionsError on a bad option. */
export function createP2pNode(options: P2pNodeOptions): P2pNode {
  return new Libp2pNode(resolveOptions(options), options.allowedPeers ?? [])
}

function resolveOptions(options: P2pNodeOptions): ResolvedOptions {
  if (!(options.privateKey instanceof Uint8Array) || options.privateKey.byteLength !== privateKeyBytes) {
    throw new P2pInvalidOptionsError(`privateKey must be a ${privateKeyBytes}-byte Ed25519 seed`)
  }
  if (!Array.isArray(options.listen)) throw new P2pInvalidOptionsError('listen must be an array of multiaddr strings')
  for (const address of options.listen) parseMultiaddr(address, 'listen')
  const resolved: ResolvedOptions = {
    seed: Uint8Array.from(options.privateKey),
    listen: [...options.listen],
    log: options.log ?? (() => undefined),
    frameBytesMax: positiveInteger(options, 'frameBytesMax', constants.frameBytesMax),
    sendQueueMessagesMax: positiveInteger(options, 'sendQueueMessagesMax', constants.sendQueueMessagesMax),
    sendQueueBytesMax: positiveInteger(options, 'sendQueueBytesMax', constants.sendQueueBytesMax),
    reconnectDelayInitialMs: positiveInteger(options, 'reconnectDelayInitialMs', constants.reconnectDelayInitialMs),
    reconnectDelayMaxMs: positiveInteger(options, 'reconnectDelayMaxMs', constants.reconnectDelayMaxMs),
    requestTimeoutMs: positiveInteger(options, 'requestTimeoutMs', constants.requestTimeoutMs),
    requestsInboundMax: positiveInteger(options, 'requestsInboundMax', constants.requestsInboundMax),
    requestsOutboundPerPeerMax: positiveInteger(options, 'requestsOutboundPerPeerMax', constants.requestsOutboundPerPeerMax)
  }
  if (resolved.frameBytesMax > 0xffff_ffff) throw new P2pInvalidOptionsError('frameBytesMax must fit the 4-byte frame header')
  if (resolved.reconnectDelayMaxMs < resolved.reconnectDelayInitialMs) throw new P2pInvalidOptionsError('reconnectDelayMaxMs must be at least reconnectDelayInitialMs')
  return Object.freeze(resolved)
}

type IntegerOption = 'frameBytesMax' | 'sendQueueMessagesMax' | 'sendQueueBytesMax' | 'reconnectDelayInitialMs' | 'reconnectDelayMaxMs' | 'requestTimeoutMs' | 'requestsInboundMax' | 'requestsOutboundPerPeerMax'

function positiveInteger(options: P2pNodeOptions, name: IntegerOption, fallback: number): number {
  const value = options[name] ?? fallback
  if (!Number.isSafeInteger(value) || value <= 0) throw new P2pInvalidOptionsError(`${name} must be a positive integer, got ${String(value)}`)
  return value
}

function parseMultiaddr(address: string, what: string): Multiaddr {
  try {
    return multiaddr(address)
  } catch (err) {
    throw new P2pInvalidOptionsError(`${what}: ${JSON.stringify(address)} is not a multiaddr: ${messageOf(err)}`)
  }
}

function parsePeerId(peerId: string): PeerId {
  try {
    return peerIdFromString(peerId)
  } catch (err) {
    throw new P2pInvalidOptionsError(`${JSON.stringify(peerId)} is not a PeerId: ${messageOf(err)}`)
  }
}

/** libp2p's logs are off whatever DEBUG says: our events go through the `log` option instead. */
const silentLogger: ComponentLogger = {
  forComponent: () => silentLog
}
const silentLog: Logger = Object.assign(() => undefined, {
  error: () => undefined,
  trace: () => undefined,
  enabled: false,
  newScope: (): Logger => silentLog
})

class Libp2pNode implements P2pNode {
  readonly peerId: string
  readonly #options: ResolvedOptions
  readonly #log: Log
  #allowed = new Set<string>()
  readonly #addresses = new Map<string, Multiaddr[]>()
  readonly #links = new Map<string, PeerLink>()
  #libp2p: Libp2p | undefined
  #starting: Promise<void> | undefined
  #messageHandler: ((from: string, message: Uint8Array) => void) | undefined
  readonly #requestHandlers = new Map<RequestProtocol, RequestHandler>()
  readonly #inboundRequests = new Map<RequestProtocol, number>()
  readonly #outboundRequests = new Map<string, number>()
  /** One controller per pending outbound request, so that stop() rejects them all. */
  readonly #pendingRequests = new Set<AbortController>()

  constructor(options: ResolvedOptions, allowedPeers: Iterable<string>) {
    this.#options = options
    this.#log = options.log
    this.peerId = peerIdOf(keyPairFromSeed(options.seed).publicKey)
    this.setAllowedPeers(allowedPeers)
  }

  async start(options?: { signal?: AbortSignal }): Promise<void> {
    options?.signal?.throwIfAborted()
    if (this.#libp2p !== undefined) return
    this.#starting ??= this.#start().finally(() => {
      this.#starting = undefined
    })
    return this.#starting
  }

  async #start(): Promise<void> {
    // libp2p's raw Ed25519 key is seed ‖ public key. The public key comes from src/crypto (native):
    // libp2p's generateKeyPairFromSeed derives it in pure JS, whose first call costs ~250 ms of start-up.
    const seed = this.#options.seed
    const privateKey = privateKeyFromRaw(Uint8Array.from([...seed, ...keyPairFromSeed(seed).publicKey]))
    const libp2pPeerId = peerIdFromPrivateKey(privateKey).toString()
    if (libp2pPeerId !== this.peerId) throw new Error(`PeerId mismatch: libp2p derives ${libp2pPeerId}, src/crypto ${this.peerId}`) // a bug
    const frameBufferBytes = this.#options.frameBytesMax + constants.frameHeaderBytes
    const libp2p = await createLibp2p({
      privateKey,
      addresses: { listen: [...this.#options.listen] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [
        yamux({
          streamOptions: {
            // a stream buffers what arrives before its reader attaches: let one whole frame fit
            maxReadBufferLength: frameBufferBytes + 1024 * 1024
          }
        })
      ],
      connectionGater: this.#gater(),
      connectionManager: {
        maxConnections: constants.connectionsMax,
        inboundConnectionThreshold: constants.inboundConnectionsPerSecondPerHostMax,
        // libp2p's own redial of "keep-alive" peers is not used: each PeerLink redials with its backoff
        reconnectRetries: 0
      },
      connectionMonitor: { pingInterval: constants.pingIntervalMs },
      logger: silentLogger,
      start: false
    })
    await libp2p.handle(protocols.raft, (stream, connection) => this.#onRaftStream(stream, connection), {
      maxInboundStreams: constants.raftStreamsPerConnectionMax,
      maxOutboundStreams: constants.raftStreamsPerConnectionMax
    })
    for (const name of requestProtocols) {
      await libp2p.handle(protocols[name], (stream, connection) => this.#onRequestStream(name, stream, connection), {
        // our own per-protocol limit answers "busy"; libp2p's per-connection limit only has to be above it
        maxInboundStreams: this.#options.requestsInboundMax + 1,
        maxOutboundStreams: this.#options.requestsOutboundPerPeerMax + 1
      })
    }
    libp2p.addEventListener('peer:connect', (event) => this.#log('p2p.peer_connected', { peer: event.detail.toString() }))
    libp2p.addEventListener('peer:disconnect', (event) => this.#log('p2p.peer_disconnected', { peer: event.detail.toString() }))
    try {
      await libp2p.start()
    } catch (err) {
      await Promise.resolve(libp2p.stop()).catch(() => undefined)
      throw new P2pListenError(`cannot listen on ${this.#options.listen.join(', ')}: ${messageOf(err)}`)
    }
    this.#libp2p = libp2p
    this.#log('p2p.started', { peerId: this.peerId, addresses: this.listenAddresses() })
  }

  async stop(options?: { signal?: AbortSignal }): Promise<void> {
    options?.signal?.throwIfAborted()
    if (this.#starting !== undefined) await this.#starting.catch(() => undefined)
    const libp2p = this.#libp2p
    if (libp2p === undefined) return
    this.#libp2p = undefined
    for (const controller of this.#pendingRequests) controller.abort(new P2pStoppedError('the p2p node stopped before the response came: the request may or may not have been handled'))
    for (const link of this.#links.values()) link.close()
    this.#links.clear()
    await libp2p.stop()
    this.#log('p2p.stopped', { peerId: this.peerId })
  }

  listenAddresses(): string[] {
    return this.#libp2p?.getMultiaddrs().map((address) => address.toString()) ?? []
  }

  setAllowedPeers(peerIds: Iterable<string>): void {
    const allowed = new Set<string>()
    for (const peerId of peerIds) allowed.add(parsePeerId(peerId).toString())
    this.#allowed = allowed
    for (const [peerId, link] of this.#links) {
      if (!allowed.has(peerId)) {
        link.close()
        this.#links.delete(peerId)
      }
    }
    const libp2p = this.#libp2p
    if (libp2p === undefined) return
    for (const connection of libp2p.getConnections()) {
      const peerId = connection.remotePeer.toString()
      if (allowed.has(peerId)) continue
      this.#log('p2p.peer_removed', { peer: peerId })
      connection.abort(new P2pNotAllowedError(`${peerId} was removed from the allow-list`))
    }
  }

  setPeerAddresses(peerId: string, addrs: readonly string[]): void {
    const id = parsePeerId(peerId).toString()
    const parsed = addrs.map((address) => {
      const ma = parseMultiaddr(address, `address of ${id}`)
      const named = ma.getComponents().findLast((component) => component.name === 'p2p')?.value
      if (named === undefined) return ma.encapsulate(`/p2p/${id}`)
      if (named !== id) throw new P2pInvalidOptionsError(`the address ${address} names ${named}, not ${id}`)
      return ma
    })
    this.#addresses.set(id, parsed)
  }

  send(peerId: string, message: Uint8Array): boolean {
    if (message.byteLength > this.#options.frameBytesMax) {
      throw new P2pFrameTooLargeError(`a message of ${message.byteLength} bytes is over the frame limit of ${this.#options.frameBytesMax}`)
    }
    if (this.#libp2p === undefined || !this.#allowed.has(peerId) || peerId === this.peerId) return false
    let link = this.#links.get(peerId)
    if (link === undefined) {
      link = this.#newLink(peerId)
      this.#links.set(peerId, link)
    }
    return link.enqueue(message)
  }

  onMessage(handler: (from: string, message: Uint8Array) => void): void {
    this.#messageHandler = handler
  }

  async request(peerId: string, protocol: RequestProtocol, body: Uint8Array, options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<Uint8Array> {
    if (!requestProtocols.includes(protocol)) throw new P2pInvalidOptionsError(`unknown request protocol ${JSON.stringify(protocol)}`)
    if (!(body instanceof Uint8Array)) throw new P2pInvalidOptionsError('a request body is a Uint8Array')
    const timeoutMs = options?.timeoutMs ?? this.#options.requestTimeoutMs
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > 2 ** 31 - 1) throw new P2pInvalidOptionsError(`timeoutMs must be a positive integer below 2^31, got ${timeoutMs}`)
    if (body.byteLength > this.#options.frameBytesMax) {
      throw new P2pFrameTooLargeError(`a request body of ${body.byteLength} bytes is over the frame limit of ${this.#options.frameBytesMax}`)
    }
    if (options?.signal?.aborted === true) throw new P2pAbortedError('the request was aborted before it was sent')
    const libp2p = this.#libp2p
    if (libp2p === undefined) throw new P2pStoppedError('the p2p node is not running')
    if (!this.#allowed.has(peerId)) throw new P2pNotAllowedError(`${peerId} is not on the allow-list`)
    const inFlight = this.#outboundRequests.get(peerId) ?? 0
    if (inFlight >= this.#options.requestsOutboundPerPeerMax) throw new P2pBusyError(`${inFlight} requests to ${peerId} are in flight already`)
    return this.#request(libp2p, peerId, protocol, body, timeoutMs, options?.signal)
  }

  async #request(libp2p: Libp2p, peerId: string, protocol: RequestProtocol, body: Uint8Array, timeoutMs: number, signal: AbortSignal | undefined): Promise<Uint8Array> {
    this.#outboundRequests.set(peerId, (this.#outboundRequests.get(peerId) ?? 0) + 1)
    const controller = new AbortController()
    this.#pendingRequests.add(controller)
    const timer = setTimeout(() => controller.abort(new P2pTimeoutError(`no response from ${peerId} on ${protocols[protocol]} within ${timeoutMs} ms: it may or may not have been handled`)), timeoutMs)
    const onAbort = (): void => controller.abort(new P2pAbortedError('the request was aborted: it may or may not have been handled'))
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      let stream: Stream
      try {
        stream = await libp2p.dialProtocol(this.#dialTarget(peerId), protocols[protocol], { signal: controller.signal })
      } catch (err) {
        if (controller.signal.aborted) throw controller.signal.reason
        throw new P2pUnreachableError(`cannot open ${protocols[protocol]} to ${peerId}: ${messageOf(err)}`)
      }
      return await exchange(stream, body, peerId, this.#options.frameBytesMax, controller.signal)
    } finally {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      this.#pendingRequests.delete(controller)
      const left = (this.#outboundRequests.get(peerId) ?? 1) - 1
      if (left === 0) this.#outboundRequests.delete(peerId)
      else this.#outboundRequests.set(peerId, left)
    }
  }

  handleRequests(protocol: RequestProtocol, handler: (from: string, body: Uint8Array) => Promise<Uint8Array>): void {
    if (!requestProtocols.includes(protocol)) throw new P2pInvalidOptionsError(`unknown request protocol ${JSON.stringify(protocol)}`)
    this.#requestHandlers.set(protocol, handler)
  }

  connectedPeers(): string[] {
    const libp2p = this.#libp2p
    if (libp2p === undefined) return []
    const peers = new Set<string>()
    for (const connection of libp2p.getConnections()) {
      if (connection.status === 'open') peers.add(connection.remotePeer.toString())
    }
    return [...peers]
  }

  /** Refuses every peer not on the allow-list, at the first point where its PeerId is known. */
  #gater(): ConnectionGater {
    const denied = (peerId: PeerId): boolean => !this.#allowed.has(peerId.toString())
    const deniedAndLogged = (direction: string) => (peerId: PeerId): boolean => {
      const deny = denied(peerId)
      if (deny) this.#log('p2p.peer_refused', { peer: peerId.toString(), direction })
      return deny
    }
    return {
      denyDialPeer: denied,
      denyDialMultiaddr: (ma: Multiaddr): boolean => {
        const named = ma.getComponents().findLast((component) => component.name === 'p2p')?.value
        return named !== undefined && !this.#allowed.has(named)
      },
      denyOutboundConnection: denied,
      // inbound: the earliest point that knows the remote PeerId is right after the Noise handshake
      denyInboundEncryptedConnection: deniedAndLogged('inbound'),
      denyOutboundEncryptedConnection: deniedAndLogged('outbound'),
      denyInboundUpgradedConnection: denied,
      denyOutboundUpgradedConnection: denied
    }
  }

  #dialTarget(peerId: string): Multiaddr[] | PeerId {
    const addresses = this.#addresses.get(peerId)
    // with no address, libp2p can still reuse a connection that the peer opened to us
    return addresses !== undefined && addresses.length > 0 ? addresses : peerIdFromString(peerId)
  }

  #newLink(peerId: string): PeerLink {
    return new PeerLink({
      peerId,
      openStream: async (signal) => {
        const libp2p = this.#libp2p
        if (libp2p === undefined) throw new P2pStoppedError('the p2p node is not running')
        const dialSignal = AbortSignal.any([signal, AbortSignal.timeout(constants.dialTimeoutMs)])
        return libp2p.dialProtocol(this.#dialTarget(peerId), protocols.raft, { signal: dialSignal })
      },
      log: this.#log,
      sendQueueMessagesMax: this.#options.sendQueueMessagesMax,
      sendQueueBytesMax: this.#options.sendQueueBytesMax,
      reconnectDelayInitialMs: this.#options.reconnectDelayInitialMs,
      reconnectDelayMaxMs: this.#options.reconnectDelayMaxMs,
      reconnectJitterRatio: constants.reconnectJitterRatio
    })
  }

  /** The receiving half of `/tom/raft/1.0.0`: frames from one stream go to the handler in order. */
  #onRaftStream(stream: Stream, connection: Connection): void {
    const from = connection.remotePeer.toString()
    if (!this.#allowed.has(from)) {
      stream.abort(new P2pNotAllowedError(`${from} is not on the allow-list`))
      return
    }
    const decoder = new FrameDecoder(this.#options.frameBytesMax)
    stream.addEventListener('message', (event) => {
      let frames: Uint8Array[]
      try {
        frames = decoder.push(event.data instanceof Uint8Array ? event.data : event.data.subarray())
      } catch (err) {
        this.#log('p2p.frame_refused', { peer: from, protocol: protocols.raft, error: messageOf(err) })
        stream.abort(err as Error)
        return
      }
      for (const frame of frames) {
        const handler = this.#messageHandler
        if (handler === undefined) {
          this.#log('p2p.message_dropped', { peer: from, reason: 'no handler' })
          continue
        }
        try {
          handler(from, frame)
        } catch (err) {
          this.#log('p2p.message_handler_failed', { peer: from, error: messageOf(err) })
        }
      }
    })
    // the sender closed its end (it stops or replaces the stream): close ours so the stream is freed
    stream.addEventListener('end', () => {
      void stream.close().catch(() => undefined)
    })
  }

  /** The responder's side of a request protocol: one frame in, one frame out. */
  async #onRequestStream(protocol: RequestProtocol, stream: Stream, connection: Connection): Promise<void> {
    const from = connection.remotePeer.toString()
    if (!this.#allowed.has(from)) {
      stream.abort(new P2pNotAllowedError(`${from} is not on the allow-list`))
      return
    }
    const inFlight = this.#inboundRequests.get(protocol) ?? 0
    if (inFlight >= this.#options.requestsInboundMax) {
      this.#log('p2p.request_busy', { peer: from, protocol: protocols[protocol], inFlight })
      await this.#respond(stream, responsePayload(responseStatus.busy))
      return
    }
    this.#inboundRequests.set(protocol, inFlight + 1)
    try {
      let body: Uint8Array
      const timeout = AbortSignal.timeout(this.#options.requestTimeoutMs)
      try {
        body = await readFrame(stream, this.#options.frameBytesMax, timeout)
      } catch (err) {
        this.#log('p2p.request_unreadable', { peer: from, protocol: protocols[protocol], error: messageOf(err) })
        stream.abort(err instanceof Error ? err : new Error(messageOf(err)))
        return
      }
      const handler = this.#requestHandlers.get(protocol)
      let response: Uint8Array
      if (handler === undefined) {
        response = responsePayload(responseStatus.failed, `${this.peerId} does not handle ${protocols[protocol]} requests`)
      } else {
        try {
          const result = await handler(from, body)
          response = result.byteLength + 1 > this.#options.frameBytesMax
            ? responsePayload(responseStatus.tooLarge, `a response of ${result.byteLength} bytes is over the frame limit of ${this.#options.frameBytesMax}`)
            : responsePayload(responseStatus.ok, result)
        } catch (err) {
          response = responsePayload(responseStatus.failed, messageOf(err))
        }
      }
      await this.#respond(stream, response)
    } finally {
      this.#inboundRequests.set(protocol, (this.#inboundRequests.get(protocol) ?? 1) - 1)
    }
  }

  async #respond(stream: Stream, payload: Uint8Array): Promise<void> {
    // the caller may have given up (timeout, abort) while the handler ran
    if (stream.status !== 'open' || stream.writeStatus !== 'writable') return
    try {
      writeFrame(stream, payload)
      await stream.close({ signal: AbortSignal.timeout(this.#options.requestTimeoutMs) })
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(messageOf(err)))
    }
  }
}
