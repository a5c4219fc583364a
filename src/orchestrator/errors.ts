/**
 * The container runtime's error classes, one per condition, each with a stable `name` and `code`.
 * No class carries a client-library type: an engine failure is wrapped, with the engine's message,
 * into the class that says what it means for the caller (did the operation happen?). Every class
 * extends ContainerRuntimeError, so a caller can catch "anything the engine said" in one place.
 */

/** Every code this module throws, with what it means. */
export const runtimeErrorCodes = {
  ERR_RUNTIME_INVALID_ARGUMENT: 'a runtime option, a container spec field or an argument is invalid; the message names it; nothing was sent to the engine',
  ERR_RUNTIME_UNAVAILABLE: 'no container engine answers at the socket (missing, refused, or not an engine); the message names the socket; nothing was done',
  ERR_RUNTIME_TIMEOUT: 'the engine did not answer in time: the operation may or may not have happened',
  ERR_RUNTIME_NO_RESPONSE: 'the connection to the engine broke before it answered: the operation may or may not have happened',
  ERR_RUNTIME_ABORTED: "the caller's AbortSignal fired: the operation may or may not have happened",
  ERR_RUNTIME_IMAGE_NOT_FOUND: 'the image is not present on this host (the runtime never pulls); nothing was created',
  ERR_RUNTIME_CONTAINER_NOT_FOUND: 'no container with that id or name on this host',
  ERR_RUNTIME_NAME_CONFLICT: 'a container with that name already exists on this host; nothing was created',
  ERR_RUNTIME_FAILED: "the engine refused or failed the operation; the message is the engine's reason"
} as const
export type RuntimeErrorCode = keyof typeof runtimeErrorCodes

/** Any error from a ContainerRuntime. */
export abstract class ContainerRuntimeError extends Error {
  abstract readonly code: RuntimeErrorCode
}

/** An option, spec field or argument is out of range; nothing was sent. */
export class RuntimeInvalidArgumentError extends ContainerRuntimeError {
  override readonly name = 'RuntimeInvalidArgumentError'
  readonly code = 'ERR_RUNTIME_INVALID_ARGUMENT'
}

/** No engine answers at the socket; nothing was done. */
export class RuntimeUnavailableError extends ContainerRuntimeError {
  override readonly name = 'RuntimeUnavailableError'
  readonly code = 'ERR_RUNTIME_UNAVAILABLE'
  /** The socket that was tried. */
  readonly socketPath: string
  constructor(message: string, socketPath: string) {
    super(message)
    this.socketPath = socketPath
  }
}

/** The engine did not answer in time: outcome unknown. */
export class RuntimeTimeoutError extends ContainerRuntimeError {
  override readonly name = 'RuntimeTimeoutError'
  readonly code = 'ERR_RUNTIME_TIMEOUT'
}

/** The connection broke mid-call: outcome unknown. */
export class RuntimeNoResponseError extends ContainerRuntimeError {
  override readonly name = 'RuntimeNoResponseError'
  readonly code = 'ERR_RUNTIME_NO_RESPONSE'
}

/** The caller aborted: outcome unknown. */
export class RuntimeAbortedError extends ContainerRuntimeError {
  override readonly name = 'RuntimeAbortedError'
  readonly code = 'ERR_RUNTIME_ABORTED'
}

/** The image is not on this host. */
export class RuntimeImageNotFoundError extends ContainerRuntimeError {
  override readonly name = 'RuntimeImageNotFoundError'
  readonly code = 'ERR_RUNTIME_IMAGE_NOT_FOUND'
}

/** No such container. */
export class RuntimeContainerNotFoundError extends ContainerRuntimeError {
  override readonly name = 'RuntimeContainerNotFoundError'
  readonly code = 'ERR_RUNTIME_CONTAINER_NOT_FOUND'
}

/** The container name is taken; nothing was created. */
export class RuntimeNameConflictError extends ContainerRuntimeError {
  override readonly name = 'RuntimeNameConflictError'
  readonly code = 'ERR_RUNTIME_NAME_CONFLICT'
}

/** The engine refused or failed the operation; `message` is its reason. */
export class RuntimeFailedError extends ContainerRuntimeError {
  override readonly name = 'RuntimeFailedError'
  readonly code = 'ERR_RUNTIME_FAILED'
}

/** Codes of the orchestrator itself (the runtime's are above). */
export const orchestratorErrorCodes = {
  ERR_ORCHESTRATOR_INVALID_OPTION: 'an Orchestrator option is missing or invalid; the message names it'
} as const
export type OrchestratorErrorCode = keyof typeof orchestratorErrorCodes

/** An option of the Orchestrator is missing or out of range. */
export class OrchestratorOptionError extends Error {
  override readonly name = 'OrchestratorOptionError'
  readonly code = 'ERR_ORCHESTRATOR_INVALID_OPTION'
}
