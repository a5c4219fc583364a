/**
 * Devices: authorised by an admin of their organisation, then joining by themselves, then leaving.
 *
 * - `device.authorise { id, org?, publicKey, attributes: { firmwareHash, ... } }` by an admin of `org`
 *   (default: the signer's). Records the device's key and the identity attributes it must present;
 *   the key becomes an identity { kind: 'device', org, id }.
 * - `device.join { id, attributes, node? }` signed by the device's own key: the signature proves possession
 *   of the authorised key, and the attributes it presents (firmwareHash, ...) must be exactly those it
 *   was authorised with (ERR_DEVICE_ATTRIBUTES_MISMATCH names the first that differs). `node` (public
 *   key hex) is the node the device is attached to (ERR_NODE_UNKNOWN unless it is one); the
 *   `device.join` templates that match its attributes start their containers there (templates.ts).
 * - `device.leave { id }` by the device itself or an admin of its organisation (also for a device that
 *   was authorised and never joined: a withdrawn authorisation).
 *
 * A device's life is one pass through authorised -> joined -> left: its PROV entity is invalidated when
 * it leaves, and PROV allows nothing of an entity after that, so a device that left does not rejoin
 * (ERR_DEVICE_LEFT); an admin authorises it again under a new id and key. Its key stays an identity
 * after it leaves, so that what it signs later is refused as a departed device's, and the key is never
 * reused. Devices and containers share one id space, since data.add's producedBy names either.
 *
 * State: device/<id> { id, org, publicKey, attributes, status, authorisedAt, joinedAt?, leftAt?, node? }
 * PROV (standard; full adds the attributes):
 *   authorise: entity tom:device/<id> (tom:Device, tom:key; full: tom:<attribute> each),
 *              wasGeneratedBy(device, tx), wasAttributedTo(device, tom:org/<org>)
 *   join:      agent tom:device/<id>, used(tx, device, role tom:joining; full: the presented attributes),
 *              actedOnBehalfOf(device, org, tx), actedOnBehalfOf(tom:key/<hex>, device, tx)
 *   leave:     wasInvalidatedBy(device, tx)
 */
import { bytesEqual, encode, publicKeyBytes, toHex } from '../../crypto/index.js'
import { TxFailedError } from '../../ledger/index.js'
import type { Tx, TxContext } from '../../ledger/index.js'
import { literal } from '../../prov/index.js'
import type { Attribute } from '../../prov/index.js'
import { bytesField, nameField, onlyFields, optionalNameField, textMapField } from '../payload.js'
import type { Payload } from '../payload.js'
import { provIds } from '../prov-ids.js'
import { deviceAttributeNameLengthMax, deviceAttributesMax, deviceAttributeValueLengthMax, producerIdLengthMax } from './constants.js'
import { fireTemplates } from './templates.js'
import { provSafe, readCbor, requireIdentity, requireNewIdentity, requireOrgAdmin, stateKeys } from './state.js'
import type { ContractState, OrgRecord } from './state.js'

export type DeviceStatus = 'authorised' | 'joined' | 'left'

export interface DeviceRecord {
  readonly id: string
  readonly org: string
  readonly publicKey: Uint8Array
  readonly attributes: Readonly<Record<string, string>>
  readonly status: DeviceStatus
  readonly authorisedAt: number
  readonly joinedAt?: number
  readonly leftAt?: number
  /** The node it is attached to (public key hex), when it joined naming one. */
  readonly node?: string
}

/** The attribute every device presents. */
export const requiredDeviceAttributes = ['firmwareHash'] as const
/** Names that would collide with the attributes standard tracing keeps (tom:hash, tom:size, tom:key). */
const reservedAttributeNames: ReadonlySet<string> = new Set(['hash', 'size', 'key'])

const attributeLimits = { maxEntries: deviceAttributesMax, nameMax: deviceAttributeNameLengthMax, valueMax: deviceAttributeValueLengthMax }

function identityAttributes(p: Payload): Record<string, string> {
  const attributes = textMapField(p, 'attributes', attributeLimits)
  for (const name of requiredDeviceAttributes) {
    if (attributes[name] === undefined) throw new TxFailedError('ERR_TX_INVALID_PAYLOAD', `attributes must include ${name}`)
  }
  for (const name of Object.keys(attributes)) {
    if (reservedAttributeNames.has(name)) throw new TxFailedError('ERR_TX_INVALID_PAYLOAD', `attributes: ${name} is reserved`)
  }
  return attributes
}

/** The attributes as PROV attributes, in name order so that the records do not depend on map order. */
function provAttributes(attributes: Readonly<Record<string, string>>): Attribute[] {
  return Object.keys(attributes).sort().map((name) => ({ name: `tom:${name}`, value: literal.string(attributes[name]!) }))
}

export function producerIdField(p: Payload, field: string): string {
  return provSafe(field, nameField(p, field, producerIdLengthMax))
}

/** Devices and containers share one id space: data.add's producedBy names either. */
export async function requireFreeProducerId(state: ContractState, id: string, code: 'ERR_DEVICE_EXISTS' | 'ERR_CONTAINER_EXISTS'): Promise<void> {
  if ((await state.get(stateKeys.device(id))) !== undefined) throw new TxFailedError(code, `${id} is already a device's id`)
  if ((await state.get(stateKeys.container(id))) !== undefined) throw new TxFailedError(code, `${id} is already a container's id`)
}

export async function readDevice(state: ContractState, id: string): Promise<DeviceRecord> {
  const device = await readCbor<DeviceRecord>(state, stateKeys.device(id))
  if (device === undefined) throw new TxFailedError('ERR_DEVICE_UNKNOWN', `no device ${id}`)
  return device
}

/** A device that may act (sign or be named as a producer): joined and not left. */
export function requireJoinedDevice(device: DeviceRecord): void {
  if (device.status === 'left') throw new TxFailedError('ERR_DEVICE_LEFT', `device ${device.id} left at height ${device.leftAt}`)
  if (device.status !== 'joined') throw new TxFailedError('ERR_DEVICE_NOT_JOINED', `device ${device.id} was authorised but has not joined`)
}

function deviceResource(device: { readonly id: string, readonly org: string }): { name: string, kind: string, id: string, org: string } {
  return { name: stateKeys.device(device.id), kind: 'device', id: device.id, org: device.org }
}

export async function deviceAuthorise(tx: Tx, p: Payload, state: ContractState, context: TxContext): Promise<void> {
  onlyFields(p, ['id', 'org', 'publicKey', 'attributes'])
  const id = producerIdField(p, 'id')
  const key = bytesField(p, 'publicKey', publicKeyBytes)
  const attributes = identityAttributes(p)
  const signer = await requireIdentity(state, tx.signer)
  const org = provSafe('org', optionalNameField(p, 'org', 64) ?? signer.org)
  if ((await readCbor<OrgRecord>(state, stateKeys.org(org))) === undefined) throw new TxFailedError('ERR_ORG_UNKNOWN', `no organisation ${org}`)
  await requireOrgAdmin(state, tx.signer, org, 'authorises its devices')
  await requireFreeProducerId(state, id, 'ERR_DEVICE_EXISTS')
  await requireNewIdentity(state, key)
  state.requireAllowed(tx.signer, signer, 'CREATE', deviceResource({ id, org }))
  const record: DeviceRecord = { id, org, publicKey: key, attributes, status: 'authorised', authorisedAt: context.height }
  state.put(stateKeys.device(id), encode(record))
  state.put(stateKeys.identity(key), encode({ kind: 'device', org, id }))
  const device = provIds.device(id)
  state.prov.add(
    { kind: 'agent', id: provIds.org(org), attributes: [] },
    {
      kind: 'entity',
      id: device,
      attributes: [
        { name: 'prov:type', value: literal.qualifiedName('tom:Device') },
        { name: 'tom:key', value: literal.string(toHex(key)) },
        ...provAttributes(attributes)
      ]
    },
    { kind: 'wasGeneratedBy', entity: device, activity: provIds.tx(tx), attributes: [] },
    { kind: 'wasAttributedTo', entity: device, agent: provIds.org(org), attributes: [] }
  )
}

export async function deviceJoin(tx: Tx, p: Payload, state: ContractState, context: TxContext): Promise<void> {
  onlyFields(p, ['id', 'attributes', 'node'])
  const id = producerIdField(p, 'id')
  const presented = identityAttributes(p)
  const node = p.node
  if (node !== undefined && (typeof node !== 'string' || !/^[0-9a-f]{64}$/.test(node))) throw new TxFailedError('ERR_TX_INVALID_PAYLOAD', 'node must be a node public key in 64 lowercase hex')
  if (node !== undefined && (await state.get(`node/${node}`)) === undefined) throw new TxFailedError('ERR_NODE_UNKNOWN', `${node} is not a node`)
  const device = await readDevice(state, id)
  if (!bytesEqual(device.publicKey, tx.signer)) throw new TxFailedError('ERR_TX_UNAUTHORIZED', `device.join is signed by the key device ${id} was authorised with`)
  if (device.status === 'joined') throw new TxFailedError('ERR_DEVICE_JOINED', `device ${id} already joined at height ${device.joinedAt}`)
  if (device.status === 'left') throw new TxFailedError('ERR_DEVICE_LEFT', `device ${id} left at height ${device.leftAt}; a device that left does not rejoin`)
  const names = new Set([...Object.keys(device.attributes), ...Object.keys(presented)])
  for (const name of [...names].sort()) {
    const same = Object.hasOwn(device.attributes, name) && Object.hasOwn(presented, name) && device.attributes[name] === presented[name]
    if (!same) {
      throw new TxFailedError('ERR_DEVICE_ATTRIBUTES_MISMATCH', `device ${id}: attribute ${name} is not what it was authorised with`)
    }
  }
  state.put(stateKeys.device(id), encode({ ...device, status: 'joined', joinedAt: context.height, ...(node === undefined ? {} : { node }) }))
  const entity = provIds.device(id)
  const activity = provIds.tx(tx)
  const org = provIds.org(device.org)
  state.prov.add(
    { kind: 'entity', id: entity, attributes: [] },
    { kind: 'agent', id: entity, attributes: [{ name: 'prov:type', value: literal.qualifiedName('tom:Device') }] },
    { kind: 'agent', id: org, attributes: [] },
    { kind: 'used', activity, entity, attributes: [{ name: 'prov:role', value: literal.qualifiedName('tom:joining') }, ...provAttributes(presented)] },
    { kind: 'actedOnBehalfOf', delegate: entity, responsible: org, activity, attributes: [] },
    { kind: 'actedOnBehalfOf', delegate: provIds.key(tx.signer), responsible: entity, activity, attributes: [] }
  )
  await fireTemplates(tx, state, context, 'device.join', { attributes: device.attributes, suffix: id, env: { TOM_DEVICE_ID: id }, ...(node === undefined ? {} : { node }) })
}

export async function deviceLeave(tx: Tx, p: Payload, state: ContractState, context: TxContext): Promise<void> {
  onlyFields(p, ['id'])
  const id = producerIdField(p, 'id')
  const device = await readDevice(state, id)
  const signer = await requireIdentity(state, tx.signer)
  const itself = bytesEqual(device.publicKey, tx.signer)
  if (!itself && (signer.kind !== 'admin' || signer.org !== device.org)) {
    throw new TxFailedError('ERR_TX_UNAUTHORIZED', `device ${id} leaves by itself or by an admin of ${device.org}`)
  }
  if (device.status === 'left') throw new TxFailedError('ERR_DEVICE_LEFT', `device ${id} already left at height ${device.leftAt}`)
  state.requireAllowed(tx.signer, signer, 'DELETE', deviceResource(device))
  state.put(stateKeys.device(id), encode({ ...device, status: 'left', leftAt: context.height }))
  const entity = provIds.device(id)
  state.prov.add(
    { kind: 'entity', id: entity, attributes: [] },
    { kind: 'wasInvalidatedBy', entity, activity: provIds.tx(tx), attributes: [] }
  )
}
