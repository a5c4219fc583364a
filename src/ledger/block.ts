/**
 * Blocks: a header, the txs (each carried as its exact signed bytes), and the proposer's signature
 * over the block hash, which is SHA-256 of the header's deterministic encoding. `txRoot` is the
 * RFC 6962 Merkle root over the txs' bytes, so any changed byte of any tx changes the block hash.
 * `stateRoot` is the state digest after the previous block (see state-digest.ts).
 */
import { encode, decodeCanonical, CodecError, sha256, merkleRoot, verify, publicKeyBytes, signatureBytes, hashBytes } from '../crypto/index.js'
import type { Signer } from '../crypto/index.js'
import { blockBytesMax, blockTxMax } from './constants.js'
import { BlockRejectedError, TxRejectedError } from './errors.js'
import { decodeTx } from './tx.js'
import type { Tx } from './tx.js'

export interface BlockHeader {
  readonly height: number
  readonly prevHash: Uint8Array
  /** Proposer's clock, ms since the Unix epoch; never before the previous block's. */
  readonly time: number
  readonly txRoot: Uint8Array
  readonly stateRoot: Uint8Array
  readonly proposer: Uint8Array
  /** The Raft term and log index of the entry that carries the block (0 for a single node's blocks). */
  readonly raftTerm: number
  readonly raftIndex: number
}

export interface Block {
  readonly header: BlockHeader
  readonly txs: readonly Tx[]
  readonly sig: Uint8Array
  readonly hash: Uint8Array
  readonly bytes: Uint8Array
}

/** The prevHash of the genesis block. */
export const zeroHash: Uint8Array = new Uint8Array(hashBytes)

const headerKeys = ['height', 'prevHash', 'proposer', 'raftIndex', 'raftTerm', 'stateRoot', 'time', 'txRoot']

export function blockHash(header: BlockHeader): Uint8Array {
  return sha256(encodeHeader(header))
}

function encodeHeader(h: BlockHeader): Uint8Array {
  const { height, prevHash, time, txRoot, stateRoot, proposer, raftTerm, raftIndex } = h
  return encode({ height, prevHash, time, txRoot, stateRoot, proposer, raftTerm, raftIndex })
}

export interface BlockDraft {
  readonly height: number
  readonly prevHash: Uint8Array
  readonly time: number
  readonly stateRoot: Uint8Array
  readonly raftTerm: number
  readonly raftIndex: number
  readonly txs: readonly Tx[]
}

/** Computes txRoot, signs the header with the proposer's key and encodes the block. */
export function sealBlock(draft: BlockDraft, proposer: Signer): Block {
  if (draft.txs.length > blockTxMax) throw new RangeError(`a block holds at most ${blockTxMax} txs`)
  const txBytes = draft.txs.map((tx) => tx.bytes)
  const header: BlockHeader = {
    height: draft.height,
    prevHash: draft.prevHash,
    time: draft.time,
    txRoot: merkleRoot(txBytes),
    stateRoot: draft.stateRoot,
    proposer: proposer.publicKey,
    raftTerm: draft.raftTerm,
    raftIndex: draft.raftIndex
  }
  const hash = blockHash(header)
  const sig = proposer.sign(hash)
  const bytes = encode({ header: headerFields(header), txs: txBytes, sig })
  return Object.freeze({ header: Object.freeze(header), txs: Object.freeze([...draft.txs]), sig, hash, bytes })
}

function headerFields(h: BlockHeader): Record<string, unknown> {
  const { height, prevHash, time, txRoot, stateRoot, proposer, raftTerm, raftIndex } = h
  return { height, prevHash, time, txRoot, stateRoot, proposer, raftTerm, raftIndex }
}

function malformed(message: string): BlockRejectedError {
  return new BlockRejectedError('ERR_BLOCK_MALFORMED', message)
}

/**
 * Decodes a block and checks its shape, limits and each tx's encoding. Does not check signatures,
 * roots or links: that is validation against a ledger (see Ledger.applyBlock and verifyChain).
 */
export function decodeBlock(bytes: Uint8Array): Block {
  if (bytes.length > blockBytesMax) throw new BlockRejectedError('ERR_BLOCK_TOO_LARGE', `block is ${bytes.length} bytes; the limit is ${blockBytesMax}`)
  let raw: unknown
  try {
    raw = decodeCanonical(bytes)
  } catch (err) {
    if (err instanceof CodecError) throw malformed(err.message)
    throw err
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || raw instanceof Uint8Array) throw malformed('a block is a map')
  const { header: rawHeader, txs: rawTxs, sig, ...extra } = raw as Record<string, unknown>
  if (Object.keys(extra).length > 0) throw malformed(`unexpected block fields: ${Object.keys(extra).join(', ')}`)
  if (!(sig instanceof Uint8Array) || sig.length !== signatureBytes) throw malformed('sig must be 64 bytes')
  if (!Array.isArray(rawTxs)) throw malformed('txs must be an array')
  if (rawTxs.length > blockTxMax) throw new BlockRejectedError('ERR_BLOCK_TOO_LARGE', `block holds ${rawTxs.length} txs; the limit is ${blockTxMax}`)
  const header = checkHeader(rawHeader)
  const txs = rawTxs.map((t, i) => {
    if (!(t instanceof Uint8Array)) throw malformed(`tx ${i} is not a byte string`)
    try {
      return decodeTx(t)
    } catch (err) {
      if (err instanceof TxRejectedError) throw new BlockRejectedError('ERR_BLOCK_BAD_TX', `tx ${i}: ${err.code}: ${err.message}`)
      throw err
    }
  })
  return Object.freeze({ header, txs: Object.freeze(txs), sig, hash: blockHash(header), bytes })
}

function checkHeader(raw: unknown): BlockHeader {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || raw instanceof Uint8Array) throw malformed('header must be a map')
  const h = raw as Record<string, unknown>
  const keys = Object.keys(h)
  if (keys.length !== headerKeys.length || !headerKeys.every((k) => k in h)) throw malformed(`a header has exactly the fields ${headerKeys.join(', ')}`)
  for (const k of ['height', 'time', 'raftTerm', 'raftIndex']) {
    const v = h[k]
    if (!Number.isSafeInteger(v) || (v as number) < 0) throw malformed(`${k} must be a non-negative safe integer`)
  }
  for (const k of ['prevHash', 'txRoot', 'stateRoot']) {
    const v = h[k]
    if (!(v instanceof Uint8Array) || v.length !== hashBytes) throw malformed(`${k} must be 32 bytes`)
  }
  if (!(h.proposer instanceof Uint8Array) || h.proposer.length !== publicKeyBytes) throw malformed('proposer must be a 32-byte public key')
  return Object.freeze(h as unknown as BlockHeader)
}

/** Checks the proposer's signature over the block hash. Throws ERR_BLOCK_BAD_SIGNATURE. */
export function verifyBlockSignature(block: Block): void {
  if (!verify(block.sig, block.hash, block.header.proposer)) {
    throw new BlockRejectedError('ERR_BLOCK_BAD_SIGNATURE', `block ${block.header.height}: proposer signature does not verify`)
  }
}
