/**
 * The p2p error classes, one per condition, each with a stable `name` and `code`. None carries a
 * libp2p type: a libp2p failure is wrapped, with its message, into the class that says what it means
 * for the caller (was the request delivered? may it have been handled?).
 */

/** Every code this module throws, with what it means. */
export const p2pErrorCodes = {
  ERR_P2P_INVALID_OPTIONS: 'a P2pNodeOptions field or an argument is invalid; the message names it',
  ERR_P2P_LISTEN_FAILED: 'start() could not listen on an address (in use, not local, or not TCP); the message names it',
  ERR_P2P_STOPPED: 'the p2p node is not running (not started, or stopped while the request was pending: it may or may not have been handled)',
  ERR_P2P_NOT_ALLOWED: 'the peer is not on the allow-list; nothing was sent',
  ERR_P2P_UNREACHABLE: 'no stream could be opened to the peer (no address, dial refused or failed); the request was not delivered',
  ERR_P2P_NO_RESPONSE: 'the stream failed after the request was sent and before a response came: it may or may not have been handled',
  ERR_P2P_TIMEOUT: 'no response within the request timeout: the request may or may not have been handled',
  ERR_P2P_ABORTED: "the caller's AbortSignal fired: the request may or may not have been handled",
  ERR_P2P_REQUEST_FAILED: "the peer's handler threw; the message is the remote error message",
  ERR_P2P_BUSY: 'too many requests in flight (at the peer, or from this node to the peer); it was not handled: retry later',
  ERR_P2P_FRAME_TOO_LARGE: 'a message, request or response is larger than the frame limit; it was not sent or was refused',
  ERR_P2P_PROTOCOL_VIOLATION: 'the peer sent a frame that does not follow the protocol'
} as const
export type P2pErrorCode = keyof typeof p2pErrorCodes

/** An option or argument is out of range. */
export class P2pInvalidOptionsError extends Error {
  override readonly name = 'P2pInvalidOptionsError'
  readonly code = 'ERR_P2P_INVALID_OPTIONS'
}

/** start() could not listen. */
export class P2pListenError extends Error {
  override readonly name = 'P2pListenError'
  readonly code = 'ERR_P2P_LISTEN_FAILED'
}

/** The node is not running. */
export class P2pStoppedError extends Error {
  override readonly name = 'P2pStoppedError'
  readonly code = 'ERR_P2P_STOPPED'
}

/** The peer is not on the allow-list. */
export class P2pNotAllowedError extends Error {
  override readonly name = 'P2pNotAllowedError'
  readonly code = 'ERR_P2P_NOT_ALLOWED'
}

/** No stream could be opened: the request was not delivered. */
export class P2pUnreachableError extends Error {
  override readonly name = 'P2pUnreachableError'
  readonly code = 'ERR_P2P_UNREACHABLE'
}

/** The stream failed after the request was sent: outcome unknown. */
export class P2pNoResponseError extends Error {
  override readonly name = 'P2pNoResponseError'
  readonly code = 'ERR_P2P_NO_RESPONSE'
}

/** The request timed out: outcome unknown. */
export class P2pTimeoutError extends Error {
  override readonly name = 'P2pTimeoutError'
  readonly code = 'ERR_P2P_TIMEOUT'
}

/** The caller aborted the request: outcome unknown. */
export class P2pAbortedError extends Error {
  override readonly name = 'P2pAbortedError'
  readonly code = 'ERR_P2P_ABORTED'
}

/** The peer's handler threw; `message` is the remote error message. */
export class P2pRequestError extends Error {
  override readonly name = 'P2pRequestError'
  readonly code = 'ERR_P2P_REQUEST_FAILED'
  /** The peer that answered with the error. */
  readonly peerId: string
  constructor(message: string, peerId: string) {
    super(message)
    this.peerId = peerId
  }
}

/** Too many requests in flight, here or at the peer; not handled. */
export class P2pBusyError extends Error {
  override readonly name = 'P2pBusyError'
  readonly code = 'ERR_P2P_BUSY'
}

/** A frame over the limit. */
export class P2pFrameTooLargeError extends Error {
  override readonly name = 'P2pFrameTooLargeError'
  readonly code = 'ERR_P2P_FRAME_TOO_LARGE'
}

/** The peer broke the framing or the response format. */
export class P2pProtocolViolationError extends Error {
  override readonly name = 'P2pProtocolViolationError'
  readonly code = 'ERR_P2P_PROTOCOL_VIOLATION'
}
