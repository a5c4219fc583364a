/**
 * Transactions: the envelope `{ network, type, signer, nonce, expiresAt, payload }` and `sig`, the
 * signer's Ed25519 signature over the tx id. The id is SHA-256 of the deterministic CBOR of the body
 * (the envelope without `sig`), so it names what was signed; the stored and hashed form of a tx is the
 * deterministic CBOR of the envelope with `sig`.
 *
 * `network` is the genesis block hash (no replay across networks); genesis txs themselves, which
 * create the network, carry 32 zero bytes. `nonce` is any safe integer the signer picks to make two
 * otherwise equal txs distinct; replay protection is by id (an id commits at most once) plus expiry.
 */
import { encode, decodeCanonical, CodecError, sha256, verify, bytesEqual, publicKeyBytes, signatureBytes, hashBytes } from '../crypto/index.js'
import type { BatchVerifier, CborValue, Signer } from '../crypto/index.js'
import { isTxVerified, markTxVerified } from './verified-txs.js'
import { txBytesMax, txTypeBytesMax, txTtlMaxMs } from './constants.js'
import { TxRejectedError } from './errors.js'

export interface TxBody {
  readonly network: Uint8Array
  readonly type: string
  readonly signer: Uint8Array
  readonly nonce: number
  /** Milliseconds since the Unix epoch. */
  readonly expiresAt: number
  readonly payload: CborValue
}

export interface Tx extends TxBody {
  readonly sig: Uint8Array
  /** SHA-256 of the body's encoding. */
  readonly id: Uint8Array
  /** The encoding of body and sig: what blocks carry and txRoot covers. */
  readonly bytes: Uint8Array
}

/** The network id that genesis txs carry, before the network (its genesis hash) exists. */
export const genesisNetwork: Uint8Array = new Uint8Array(hashBytes)

const txTypePattern = /^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*$/
const bodyKeys = ['expiresAt', 'network', 'nonce', 'payload', 'signer', 'type']


export function txId(body: TxBody): Uint8Array {
  return sha256(encodeBody(body))
}

function encodeBody(body: TxBody): Uint8Array {
  const { network, type, signer, nonce, expiresAt, payload } = body
  return encode({ network, type, signer, nonce, expiresAt, payload })
}

/** Builds and signs a tx. Checks the fields as `decodeTx` would, so a bad tx fails here, not at a node. */
export function signTx(body: TxBody, signer: Signer): Tx {
  if (!bytesEqual(body.signer, signer.publicKey)) throw new TypeError('body.signer is not the signing key')
  const id = txId(body)
  const sig = signer.sign(id)
  const { network, type, signer: signerKey, nonce, expiresAt, payload } = body
  const bytes = encode({ network, type, signer: signerKey, nonce, expiresAt, payload, sig })
  const tx = decodeTx(bytes)
  markTxVerified(tx)
  return tx
}

/**
 * Decodes a tx and checks its shape, size and encoding (not its signature: see `verifyTxSignature`).
 * Throws TxRejectedError ERR_TX_TOO_LARGE or ERR_TX_MALFORMED.
 */
export function decodeTx(bytes: Uint8Array): Tx {
  if (bytes.length > txBytesMax) throw new TxRejectedError('ERR_TX_TOO_LARGE', `tx is ${bytes.length} bytes; the limit is ${txBytesMax}`)
  let raw: unknown
  try {
    raw = decodeCanonical(bytes)
  } catch (err) {
    if (err instanceof CodecError) throw new TxRejectedError('ERR_TX_MALFORMED', err.message)
    throw err
  }
  const fields = checkShape(raw)
  const body: TxBody = {
    network: fields.network as Uint8Array,
    type: fields.type as string,
    signer: fields.signer as Uint8Array,
    nonce: fields.nonce as number,
    expiresAt: fields.expiresAt as number,
    payload: fields.payload as CborValue
  }
  return Object.freeze({ ...body, sig: fields.sig as Uint8Array, id: sha256(bodyBytesOf(bytes)), bytes })
}

function malformed(message: string): TxRejectedError {
  return new TxRejectedError('ERR_TX_MALFORMED', message)
}

function checkShape(raw: unknown): Record<string, unknown> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || raw instanceof Uint8Array) throw malformed('a tx is a map')
  const fields = raw as Record<string, unknown>
  const keys = Object.keys(fields)
  if (keys.length !== bodyKeys.length + 1 || !('sig' in fields) || !bodyKeys.every((k) => k in fields)) {
    throw malformed(`a tx has exactly the fields ${[...bodyKeys, 'sig'].join(', ')}`)
  }
  const { network, type, signer, nonce, expiresAt, sig } = fields
  if (!(network instanceof Uint8Array) || network.length !== hashBytes) throw malformed('network must be 32 bytes')
  if (typeof type !== 'string' || type.length > txTypeBytesMax || !txTypePattern.test(type)) {
    throw malformed('type must be dotted lower-case words (e.g. data.add), at most 64 characters')
  }
  if (!(signer instanceof Uint8Array) || signer.length !== publicKeyBytes) throw malformed('signer must be a 32-byte Ed25519 public key')
  if (!Number.isSafeInteger(nonce) || (nonce as number) < 0) throw malformed('nonce must be a non-negative safe integer')
  if (!Number.isSafeInteger(expiresAt) || (expiresAt as number) <= 0) throw malformed('expiresAt must be a positive safe integer (ms since epoch)')
  if (!(sig instanceof Uint8Array) || sig.length !== signatureBytes) throw malformed('sig must be 64 bytes')
  return fields
}

// In the deterministic encoding the 7-entry map starts with `sig` (the shortest key sorts first), so
// the body's encoding is a 6-entry map header followed by the bytes after the sig entry. This avoids
// encoding the body a second time on the hot path; test/ledger/tx.test.ts checks it against encodeBody.
const sigEntryBytes = encode({ sig: new Uint8Array(signatureBytes) }).length - 1
function bodyBytesOf(bytes: Uint8Array): Uint8Array {
  if (bytes[0] !== 0xa7) throw new Error('assertion: a canonical tx is a 7-entry map')
  const rest = bytes.subarray(1 + sigEntryBytes)
  const out = new Uint8Array(1 + rest.length)
  out[0] = 0xa6
  out.set(rest, 1)
  return out
}

/** Checks the signature once per Tx object. Throws ERR_TX_BAD_SIGNATURE. */
export function verifyTxSignature(tx: Tx): void {
  if (isTxVerified(tx)) return
  if (!verify(tx.sig, tx.id, tx.signer)) throw badSignature()
  markTxVerified(tx)
}

export function badSignature(): TxRejectedError {
  return new TxRejectedError('ERR_TX_BAD_SIGNATURE', 'signature does not verify against the signer key')
}

/**
 * Checks the signatures of `txs` (those not verified yet) with `verifier`, in parallel where it can.
 * Returns the indexes of the txs whose signature is bad.
 */
export async function verifyTxSignatures(txs: readonly Tx[], verifier: BatchVerifier): Promise<number[]> {
  const pending = txs.map((tx, i) => [tx, i] as const).filter(([tx]) => !isTxVerified(tx))
  if (pending.length === 0) return []
  const checks = pending.map(([tx]) => ({ signature: tx.sig, message: tx.id, publicKey: tx.signer }))
  const results = checks.length === 1 ? [await verifier.verify(checks[0]!)] : await verifier.verifyMany(checks)
  const bad: number[] = []
  for (const [k, [tx, i]] of pending.entries()) {
    if (results[k] === true) markTxVerified(tx)
    else bad.push(i)
  }
  return bad
}

/** The network a tx must name at `height`. */
export function checkTxNetwork(tx: Tx, network: Uint8Array, height: number): void {
  const expected = height === 0 ? genesisNetwork : network
  if (!bytesEqual(tx.network, expected)) throw new TxRejectedError('ERR_TX_WRONG_NETWORK', 'tx is for another network')
}

/** Expiry against `now` (the block time when applying, the clock when admitting). */
export function checkTxExpiry(tx: Tx, now: number): void {
  if (tx.expiresAt < now) throw new TxRejectedError('ERR_TX_EXPIRED', `tx expired at ${new Date(tx.expiresAt).toISOString()}`)
  if (tx.expiresAt > now + txTtlMaxMs) throw new TxRejectedError('ERR_TX_EXPIRY_TOO_FAR', `expiresAt is more than ${txTtlMaxMs} ms ahead`)
}
