/**
 * The errors of the contract sandbox: one class per condition, each with a stable name and code.
 * The executor turns one into a failed tx with the same code (`new TxFailedError(err.code, err.message)`);
 * `sandboxErrorCodes` is the registry that src/errors.ts lists in docs/errors.md.
 */

export const sandboxErrorCodes = {
  ERR_CONTRACT_COMPILE: 'the contract source does not compile, is too large, or its top level throws or registers no handler',
  ERR_CONTRACT_NO_HANDLER: 'the contract registers no handler for this tx type',
  ERR_CONTRACT_INSTRUCTION_LIMIT: 'the contract ran past its instruction budget (counted in interrupts, not time)',
  ERR_CONTRACT_MEMORY_LIMIT: 'the contract ran out of its memory limit',
  ERR_CONTRACT_STACK_OVERFLOW: 'the contract recursed past its stack limit',
  ERR_CONTRACT_THROWN: 'the contract threw an error (the message says what)',
  ERR_CONTRACT_BAD_OUTPUT: 'the contract passed or returned something that is not JSON-compatible, or a key or value of the wrong type',
  ERR_CONTRACT_OUTPUT_LIMIT: 'the contract wrote, emitted or returned more than its limits allow',
  ERR_CONTRACT_READ_LIMIT: 'the contract read more distinct state keys than its limit allows'
} as const

export type SandboxErrorCode = keyof typeof sandboxErrorCodes

/** Base of the sandbox errors: `code` is what the tx's receipt records. */
export abstract class ContractSandboxError extends Error {
  abstract readonly code: SandboxErrorCode
}

export class ContractCompileError extends ContractSandboxError {
  override readonly name = 'ContractCompileError'
  readonly code = 'ERR_CONTRACT_COMPILE'
}

export class ContractNoHandlerError extends ContractSandboxError {
  override readonly name = 'ContractNoHandlerError'
  readonly code = 'ERR_CONTRACT_NO_HANDLER'
}

export class ContractInstructionLimitError extends ContractSandboxError {
  override readonly name = 'ContractInstructionLimitError'
  readonly code = 'ERR_CONTRACT_INSTRUCTION_LIMIT'
}

export class ContractMemoryLimitError extends ContractSandboxError {
  override readonly name = 'ContractMemoryLimitError'
  readonly code = 'ERR_CONTRACT_MEMORY_LIMIT'
}

export class ContractStackOverflowError extends ContractSandboxError {
  override readonly name = 'ContractStackOverflowError'
  readonly code = 'ERR_CONTRACT_STACK_OVERFLOW'
}

export class ContractThrownError extends ContractSandboxError {
  override readonly name = 'ContractThrownError'
  readonly code = 'ERR_CONTRACT_THROWN'
}

export class ContractBadOutputError extends ContractSandboxError {
  override readonly name = 'ContractBadOutputError'
  readonly code = 'ERR_CONTRACT_BAD_OUTPUT'
}

export class ContractOutputLimitError extends ContractSandboxError {
  override readonly name = 'ContractOutputLimitError'
  readonly code = 'ERR_CONTRACT_OUTPUT_LIMIT'
}

export class ContractReadLimitError extends ContractSandboxError {
  override readonly name = 'ContractReadLimitError'
  readonly code = 'ERR_CONTRACT_READ_LIMIT'
}
