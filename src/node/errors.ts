/** Errors of the node layer, with stable codes listed in docs/errors.md. */

export const nodeErrorCodes = {
  ERR_MEMPOOL_FULL: 'the mempool holds mempoolTxMax txs; retry later',
  ERR_NODE_STOPPED: 'the node is not running (stopped before the tx committed: it may or may not have)',
  ERR_NO_LEADER: 'no Raft leader is known yet (an election is running); retry shortly',
  ERR_NOT_LEADER: 'leadership moved before the tx was put in a committed block; it did not commit: resubmit',
  ERR_READ_UNCONFIRMED: 'a linearizable read was not confirmed by the leader in time (a leader change can drop it); retry',
  ERR_NODE_NOT_INITIALISED: 'the data folder has no genesis block: run tom-node init',
  ERR_NODE_ALREADY_INITIALISED: 'tom-node init found an existing network in the data folder',
  ERR_NODE_LOCKED: 'another process has the ledger open',
  ERR_NODE_NOT_MEMBER: 'this node key is not listed in the ledger: an admin must add the node (node.add) first',
  ERR_CONFIG_INVALID: 'the config file or an option is invalid; the message names it'
} as const
export type NodeErrorCode = keyof typeof nodeErrorCodes

export class NodeError extends Error {
  override readonly name = 'NodeError'
  constructor(
    readonly code: NodeErrorCode,
    message: string
  ) {
    super(message)
  }
}
