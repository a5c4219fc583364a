/**
 * The API's error codes and the error the SDK throws. On the wire every error is `{ code, message }`
 * with an HTTP status; the code is either one of these or the code of the layer that refused the
 * request (ERR_TX_*, ERR_NO_LEADER, ERR_PROV_QUERY_*, a contract's receipt code), passed through
 * unchanged so that a client can act on it.
 */

export const apiErrorCodes = {
  ERR_API_BAD_REQUEST: 'a request parameter, header or body is malformed (bad hex, bad JSON, a value out of range, a Last-Event-ID that is not a height); the message names it',
  ERR_API_NO_ROUTE: 'no such path in this API version',
  ERR_API_NOT_FOUND: 'the block, tx or state key asked for does not exist (yet)',
  ERR_API_METHOD_NOT_ALLOWED: 'the route exists but not with this HTTP method',
  ERR_API_UNSUPPORTED_MEDIA_TYPE: 'a tx is submitted as application/cbor or as JSON { tx: hex }, nothing else',
  ERR_API_BODY_TOO_LARGE: 'the request body is larger than apiBodyBytesMax',
  ERR_API_RATE_LIMITED: 'this client made more requests than its rate limit allows; retry after Retry-After seconds',
  ERR_API_WAIT_TIMEOUT: 'a submitted tx was not committed (wait=true) or admitted (wait=false) within the wait: it may still be, look it up by id',
  ERR_API_UNAVAILABLE: 'the server is stopping, or holds as many event streams as it may',
  ERR_API_INTERNAL: 'the server failed unexpectedly (a bug); the message says no more than that',
  ERR_API_UNREACHABLE: 'client side: the node could not be reached (connection refused, reset, DNS)',
  ERR_API_BAD_RESPONSE: 'client side: the node answered something that is not the API (not JSON, wrong shape)'
} as const
export type ApiErrorCode = keyof typeof apiErrorCodes

/** A request the server refuses; `status` is the HTTP status it answers with. */
export class ApiRequestError extends Error {
  override readonly name = 'ApiRequestError'
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {}
  ) {
    super(message)
  }
}

/**
 * What TomClient throws when the server answers with an error, or cannot be reached: `code` is the
 * server's code (stable, documented in docs/errors.md), `status` the HTTP status (0: no answer),
 * `details` any further fields of the answer (a failed tx's id, height and receipt).
 */
export class ApiError extends Error {
  override readonly name = 'ApiError'
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {}
  ) {
    super(message)
  }
}
