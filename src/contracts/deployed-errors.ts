/**
 * Receipt codes of deployed contracts (contract.deploy and the txs they handle) and of orchestration
 * actions (action.report, container.join fulfilling one, and actions emitted by any contract). The sandbox's own verdicts
 * (ERR_CONTRACT_INSTRUCTION_LIMIT, ...) are in sandbox/errors.ts. Listed in docs/errors.md.
 */
export const deployedErrorCodes = {
  ERR_CONTRACT_NAME_RESERVED: 'the contract name is a namespace of the built-in contracts',
  ERR_CONTRACT_VERSION: 'contract.deploy named a version other than the next one (another deploy came first)',
  ERR_CONTRACT_HANDLER_TYPES: 'the contract registers a handler outside its own `<name>.` tx types, or too many',
  ERR_CONTRACT_BAD_PROV: 'a PROV statement of the contract is malformed, or names an id outside what the contract may name',
  ERR_ACTION_INVALID: 'an orchestration action has an unknown type or malformed params',
  ERR_ACTION_NODE_UNKNOWN: 'an orchestration action is addressed to (or migrates to) a key that is not a node',
  ERR_ACTION_TOO_MANY: 'a tx emitted more orchestration actions than txActionsMax',
  ERR_ACTION_UNKNOWN: 'action.report names no recorded action',
  ERR_ACTION_CLOSED: 'action.report or container.join on an action already done or failed',
  ERR_ACTION_BAD_TRANSITION: 'action.report asks for a status change that is not allowed (running twice, back to pending)',
  ERR_ACTION_MISMATCH: 'container.join names an action it does not fulfil (another node, type, image or container id)'
} as const

export type DeployedErrorCode = keyof typeof deployedErrorCodes
