/**
 * What every built-in contract shares: reading CBOR state, the identities of the network, and the
 * ContractState a processor runs against, which applies the traceability level in force to the PROV
 * records it adds and carries the ACL rules for resource-level checks.
 *
 * An identity (`identity/<keyHex>`) is what a signing key is to the network: an organisation's admin,
 * a node, an authorised device or a joined container. Its kind and organisation are the ACL
 * participant's type and org; devices and containers also give their id (participant.id).
 */
import { decode, toHex } from '../../crypto/index.js'
import { TxFailedError } from '../../ledger/index.js'
import type { ProvSink, StateReader, StateWriter, Tx, TxContext } from '../../ledger/index.js'
import { isQualifiedName } from '../../prov/index.js'
import type { ProvRecord } from '../../prov/index.js'
import { AclError, aclParticipant, requireAclAllowed } from '../acl.js'
import type { AclOperation, AclRule } from '../acl.js'
import type { Payload } from '../payload.js'
import { traceRecord } from './trace-levels.js'
import type { TraceLevel } from './trace-levels.js'

export type IdentityKind = 'admin' | 'node' | 'device' | 'container'

export interface Identity {
  readonly kind: IdentityKind
  readonly org: string
  /** A node's name. */
  readonly name?: string
  /** A device's or container's id (devices and containers share one id space). */
  readonly id?: string
}

/**
 * Keys of the world state the built-in contracts write (values CBOR). The raft membership code reads
 * `nodes` and `node/<hex>` (through listNodes): their formats are fixed.
 */
export const stateKeys = {
  network: 'network',
  org: (name: string): string => `org/${name}`,
  identity: (key: Uint8Array): string => `identity/${toHex(key)}`,
  node: (key: Uint8Array): string => `node/${toHex(key)}`,
  /** How many times the key was a node and was removed (its PROV entity cannot be generated twice). */
  nodeMemberships: (key: Uint8Array): string => `node-memberships/${toHex(key)}`,
  data: (id: string): string => `data/${id}`,
  nodes: 'nodes',
  nextRaftId: 'raft/nextId',
  device: (id: string): string => `device/${id}`,
  container: (id: string): string => `container/${id}`,
  image: (digest: string): string => `image/${digest}`
}

export const identityKey = stateKeys.identity

/** An organisation as org/<name> holds it. */
export interface OrgRecord {
  readonly name: string
  readonly admins: Uint8Array[]
}

export async function readCbor<T>(state: StateReader, key: string): Promise<T | undefined> {
  const raw = await state.get(key)
  return raw === undefined ? undefined : decode<T>(raw)
}

export async function identityOf(state: StateReader, key: Uint8Array): Promise<Identity | undefined> {
  return readCbor<Identity>(state, identityKey(key))
}

export async function requireIdentity(state: StateReader, key: Uint8Array): Promise<Identity> {
  const identity = await identityOf(state, key)
  if (identity === undefined) throw new TxFailedError('ERR_TX_UNKNOWN_SIGNER', `signer ${toHex(key)} is not an identity of this network`)
  return identity
}

/** An admin of `org`, or ERR_TX_UNAUTHORIZED saying `what` only such an admin may do. */
export async function requireOrgAdmin(state: StateReader, key: Uint8Array, org: string, what: string): Promise<Identity> {
  const signer = await requireIdentity(state, key)
  if (signer.kind !== 'admin' || signer.org !== org) throw new TxFailedError('ERR_TX_UNAUTHORIZED', `only an admin of ${org} ${what}`)
  return signer
}

/** Refuses a key that is already an identity: one key, one role in the network. */
export async function requireNewIdentity(state: StateReader, key: Uint8Array): Promise<void> {
  if ((await state.get(identityKey(key))) !== undefined) throw new TxFailedError('ERR_IDENTITY_EXISTS', `${toHex(key)} is already an identity`)
}

/** Names that become part of a PROV id (tom:data/<id>, tom:org/<name>) must fit a qualified name. */
export function provSafe(field: string, value: string): string {
  if (!isQualifiedName(`tom:x/${value}`)) throw new TxFailedError('ERR_TX_INVALID_PAYLOAD', `${field} may use letters, digits and . _ - / only (it names a PROV id)`)
  return value
}

/** An ACL error as the receipt code of a failed tx (the ledger records TxFailedError codes). */
export function aclFailure(err: unknown): never {
  if (err instanceof AclError) throw new TxFailedError(err.code, err.message)
  throw err
}

/**
 * The world state as a built-in processor sees it: the tx's StateWriter, with `prov` filtered by the
 * traceability level of the tx's type (see trace-levels.ts), and the ACL rules in force.
 */
export class ContractState implements StateWriter {
  readonly #inner: StateWriter
  readonly prov: ProvSink

  constructor(inner: StateWriter, readonly traceLevel: TraceLevel, readonly aclRules: readonly AclRule[]) {
    this.#inner = inner
    this.prov = {
      add: (...records: ProvRecord[]): void => {
        for (const record of records) {
          const kept = traceRecord(record, traceLevel)
          if (kept !== undefined) inner.prov.add(kept)
        }
      }
    }
  }

  get(key: string): Promise<Uint8Array | undefined> {
    return this.#inner.get(key)
  }

  put(key: string, value: Uint8Array): void {
    this.#inner.put(key, value)
  }

  delete(key: string): void {
    this.#inner.delete(key)
  }

  /**
   * A resource-level ACL check: `operation` on `resource` by the signer. Throws TxFailedError
   * ERR_ACL_DENIED when the rules refuse it. Processors check their own invariants first (an admin acts
   * within its organisation); the ACL can only narrow what they allow.
   */
  requireAllowed(signer: Uint8Array, identity: Identity, operation: AclOperation, resource: { readonly name: string, readonly [field: string]: unknown }): void {
    try {
      requireAclAllowed(this.aclRules, { participant: aclParticipant(signer, identity), operation, resource })
    } catch (err) {
      aclFailure(err)
    }
  }
}

/** A built-in processor: as processor.ts's Processor, over the ContractState. */
export type ContractProcessor = (tx: Tx, payload: Payload, state: ContractState, context: TxContext) => Promise<void>
