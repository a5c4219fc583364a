/**
 * The ledger's error classes, one per condition, each with a stable `code`. Every code is listed in
 * docs/errors.md; test/errors.test.ts keeps that table and these registries in sync.
 */

/** Why a tx was refused (at admission) or failed (in its receipt) before any contract ran. */
export const txRejectionCodes = {
  ERR_TX_TOO_LARGE: 'the encoded tx is larger than txBytesMax',
  ERR_TX_MALFORMED: 'not a tx: bad CBOR, not the deterministic encoding, or a missing or mistyped field',
  ERR_TX_BAD_SIGNATURE: 'the signature does not verify against the signer key',
  ERR_TX_WRONG_NETWORK: 'the tx names another network (genesis hash)',
  ERR_TX_EXPIRED: 'expiresAt is before the block time (or the current time at admission)',
  ERR_TX_EXPIRY_TOO_FAR: 'expiresAt is further ahead than txTtlMaxMs',
  ERR_TX_REPLAY: 'a tx with this id was already committed'
} as const
export type TxRejectionCode = keyof typeof txRejectionCodes

export class TxRejectedError extends Error {
  override readonly name = 'TxRejectedError'
  constructor(
    readonly code: TxRejectionCode,
    message: string
  ) {
    super(message)
  }
}

/**
 * A tx failed while a contract executed it. Contracts choose the code (documented with the contract);
 * the tx stays in its block with this code in its receipt, and its writes are discarded.
 */
export class TxFailedError extends Error {
  override readonly name = 'TxFailedError'
  constructor(
    readonly code: string,
    message: string
  ) {
    super(message)
    if (!/^ERR_[A-Z0-9_]+$/.test(code)) throw new TypeError(`bad error code ${code}`)
  }
}

/** The code in the receipt of a tx whose contract threw something other than a TxFailedError. */
export const txExecutionErrorCode = 'ERR_TX_EXECUTION'

/** Other codes of the ledger: execution failures it raises itself, and misuse or corruption. */
export const ledgerErrorCodes = {
  ERR_TX_EXECUTION: 'a contract threw an unexpected error (a bug in the contract); the tx failed and changed nothing',
  ERR_STATE_BAD_KEY: 'a contract wrote a state key that is empty, too long or holds NUL',
  ERR_STATE_BAD_VALUE: 'a contract wrote a state value that is not bytes or is larger than stateValueBytesMax',
  ERR_LEDGER_CORRUPT: 'a stored record breaks an invariant (disk corruption or a bug); the node stops',
  ERR_LEDGER_STATE: 'the ledger was used out of order (closed, no genesis yet, or two blocks applied at once)',
  ERR_LEDGER_FORMAT: 'the store holds a ledger in a layout this version does not read (written by another TOM version)',
  ERR_PROV_TOO_MANY_RECORDS: 'a contract asserted more PROV records for one tx than txProvRecordsMax',
  ERR_PROV_RESERVED_ID: 'a contract declared a tom:tx/ id: tx activities are named by the ledger alone'
} as const

/** Why a block was refused. A correct proposer never produces one of these. */
export const blockRejectionCodes = {
  ERR_BLOCK_MALFORMED: 'not a block: bad CBOR, not the deterministic encoding, or a missing or mistyped field',
  ERR_BLOCK_TOO_LARGE: 'the encoded block is larger than blockBytesMax, or holds more than blockTxMax txs',
  ERR_BLOCK_BAD_HEIGHT: 'the height does not follow the head',
  ERR_BLOCK_BAD_PREV_HASH: 'prevHash is not the hash of the head block',
  ERR_BLOCK_BAD_TIME: 'the block time is before the previous block time',
  ERR_BLOCK_BAD_TX_ROOT: 'txRoot is not the Merkle root of the txs',
  ERR_BLOCK_BAD_STATE_ROOT: 'stateRoot differs from the state digest this node computed',
  ERR_BLOCK_BAD_SIGNATURE: 'the proposer signature does not verify',
  ERR_BLOCK_UNKNOWN_PROPOSER: 'the proposer is not a node of the network',
  ERR_BLOCK_BAD_TX: 'a tx in the block is malformed, wrongly signed or for another network',
  ERR_BLOCK_DUPLICATE_TX: 'the block holds the same tx twice'
} as const
export type BlockRejectionCode = keyof typeof blockRejectionCodes

export class BlockRejectedError extends Error {
  override readonly name = 'BlockRejectedError'
  constructor(
    readonly code: BlockRejectionCode,
    message: string
  ) {
    super(message)
  }
}

/** Why `verifyChain` found a stored chain unsound, beyond the block rejections above. */
export const chainVerifyCodes = {
  ERR_CHAIN_MISSING_BLOCK: 'a block between genesis and the head is not stored',
  ERR_CHAIN_CORRUPT_BLOCK: 'a stored block cannot be decoded or is stored under the wrong height',
  ERR_CHAIN_RECEIPT_MISMATCH: 'stored receipts differ from the ones recomputed by replaying the chain',
  ERR_CHAIN_INDEX_MISMATCH: 'a stored index (tx id, block hash) disagrees with the blocks',
  ERR_CHAIN_STATE_MISMATCH: 'the stored world state differs from the state recomputed by replaying the chain',
  ERR_CHAIN_HEAD_MISMATCH: 'the stored head record disagrees with the last block'
} as const
export type ChainVerifyCode = keyof typeof chainVerifyCodes

/** Storage invariant broken: a bug or disk corruption. Never caught and carried on from. */
export class LedgerCorruptionError extends Error {
  override readonly name = 'LedgerCorruptionError'
  readonly code = 'ERR_LEDGER_CORRUPT'
}

/** A store written in another layout (ledgerFormat): reading it would give wrong answers. */
export class LedgerFormatError extends Error {
  override readonly name = 'LedgerFormatError'
  readonly code = 'ERR_LEDGER_FORMAT'
}

/** Misuse of the ledger API (e.g. reading before open). */
export class LedgerStateError extends Error {
  override readonly name = 'LedgerStateError'
  readonly code = 'ERR_LEDGER_STATE'
}
