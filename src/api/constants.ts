/**
 * Limits and defaults of the HTTP API server and the TomClient SDK, in one place (CONVENTIONS:
 * every queue, body and stream has a limit; the unit or qualifier comes last in the name).
 */

/** Loopback by default: exposing a node's API beyond the host is an operator's explicit choice. */
export const apiHostDefault = '127.0.0.1'
/** The port `tom-node` serves its API on unless configured otherwise. */
export const apiPortDefault = 7070
/** Largest request body read; a tx is at most txBytesMax, and its JSON hex form twice that plus a little. */
export const apiBodyBytesMax = 1024 * 1024
/** Tokens a client's bucket holds when full: the burst of requests it may make at once. */
export const rateLimitBurstDefault = 200
/** Tokens added to a client's bucket per second: its sustained request rate. */
export const rateLimitPerSecondDefault = 100
/** Most client buckets kept; beyond it the oldest bucket is forgotten (a new client starts full). */
export const rateLimitClientsMax = 10_000
/** How long a `wait=true` submit waits for the commit before answering 504 (the tx may still commit). */
export const submitWaitMsDefault = 30_000
/** Most concurrent Server-Sent Events streams. */
export const sseClientsMax = 100
/** A comment line is sent this often on an idle SSE stream so that proxies keep it open. */
export const sseHeartbeatMs = 15_000
/** A stream whose unsent output grows past this is closed: a slow reader must not hold the node's memory. */
export const sseBufferedBytesMax = 8 * 1024 * 1024
/** Live blocks an event stream keeps while it is behind (a replay, a slow reader); later ones are read back from the ledger. */
export const sseLiveBlocksMax = 64
/** Blocks whose event text (actions included) is kept for the other streams that send it. */
export const sseRenderedBlocksMax = 16
/** Times in a row the SDK tries to resume a dropped event stream before it gives up (with `reconnect`). */
export const eventsReconnectAttemptsMax = 10
/** The SDK's first wait before resuming a dropped event stream; it doubles on each failed attempt. */
export const eventsReconnectDelayMs = 100
/** The SDK's longest wait between attempts to resume an event stream. */
export const eventsReconnectDelayMaxMs = 5_000
/** Largest SSE event the client parses; a longer one is a broken or hostile server. */
export const sseEventBytesMax = 64 * 1024 * 1024
/** Blocks in one page of GET /v1/blocks unless the client asks for fewer. */
export const blockPageBlocksDefault = 100
/** Most blocks in one page of GET /v1/blocks. */
export const blockPageBlocksMax = 500
/** A page of GET /v1/blocks stops once its blocks' bytes pass this (a page holds at least one block). */
export const blockPageBytesMax = 8 * 1024 * 1024
/** State entries in one page of GET /v1/state unless the client asks for fewer. */
export const statePageEntriesDefault = 100
/** Most state entries in one page of GET /v1/state. */
export const statePageEntriesMax = 1000
/** How long a tx the SDK builds stays valid unless told otherwise. */
export const clientTxTtlMsDefault = 60_000
/** The Prometheus text exposition format, as /metrics serves it. */
export const metricsContentType = 'text/plain; version=0.0.4; charset=utf-8'
