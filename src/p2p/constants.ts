/**
 * Limits and timings of the p2p layer, named with the unit or qualifier last. Each has a bound so that
 * a slow, dead or hostile peer costs bounded memory; P2pNodeOptions may override the tunable ones.
 */

/** Largest frame on any protocol: a Raft message, a request body, or a response (status byte + body). A frame may carry a block of up to 16 MiB. */
export const frameBytesMax = 32 * 1024 * 1024
/** Bytes of the big-endian length prefix in front of every frame. */
export const frameHeaderBytes = 4

/** Most one-way messages queued for one peer and not yet handed to its stream; `send` returns false past it. */
export const sendQueueMessagesMax = 1024
/** Most bytes of one-way messages queued for one peer; `send` returns false past it. At least one frame of frameBytesMax must fit. */
export const sendQueueBytesMax = 64 * 1024 * 1024
/** Small queued messages are copied into one write of up to this many bytes (one yamux frame, one Noise message) rather than written one by one. */
export const writeBatchBytesMax = 64 * 1024

/** First delay before redialling a peer after a failed dial or a dropped stream. */
export const reconnectDelayInitialMs = 100
/** The delay doubles after each consecutive failure, up to this. */
export const reconnectDelayMaxMs = 5_000
/** Each delay is scaled by a random factor in [1 - j, 1 + j] so that peers do not redial in lockstep. */
export const reconnectJitterRatio = 0.2

/** Time a request waits for its response (dial, send, remote handling, reply) before it rejects. */
export const requestTimeoutMs = 10_000
/** Most requests of one protocol that a node handles at once (all peers together); more are answered "busy". */
export const requestsInboundMax = 64
/** Most requests a node has in flight to one peer; more reject at once with P2pBusyError. */
export const requestsOutboundPerPeerMax = 64
/** Longest error message carried back to a requester; longer ones are cut. */
export const errorMessageBytesMax = 4096

/** Most raft streams per connection and direction: one is in use, the rest cover a stream being replaced. */
export const raftStreamsPerConnectionMax = 4
/** Time to dial and negotiate a protocol on an outbound stream before the attempt counts as failed. */
export const dialTimeoutMs = 5_000
/** Most new inbound connections per second from one host (libp2p's rate limit, default 5, too tight for a restarting cluster on one host). */
export const inboundConnectionsPerSecondPerHostMax = 64
/** Most open connections; the allow-list is far smaller, so this only bounds a connection storm. */
export const connectionsMax = 256
/** Interval of libp2p's connection monitor pings, which close a connection whose peer stopped answering. */
export const pingIntervalMs = 5_000
