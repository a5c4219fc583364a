/**
 * Data added: `data.add { id, hash, size?, derivedFrom?, location?, producedBy?, dataType? }`.
 *
 * - `dataType` is a name that says what the item is; the `data.add` templates whose match it satisfies
 *   ({ dataType: 'T' }) start a processing container for the item (templates.ts).
 *
 * - `derivedFrom` names data items already on the ledger that this one was derived from.
 * - `location` is free text (a site, a rack, coordinates) recorded as the item's prov:location.
 * - `producedBy` names the device or container that produced the item. Who may sign:
 *     a joined device or an identified container, for itself (producedBy absent means itself; naming
 *     another producer is refused, and the default ACL already denies it);
 *     an admin of the producer's organisation, for any of its producers (a backend uploading for them);
 *     the node a container runs on, for that container (relaying its output).
 *   Admins and nodes may also add data of their own, without producedBy.
 *   The producer must be active: a device that has not joined (ERR_DEVICE_NOT_JOINED) or has left
 *   (ERR_DEVICE_LEFT), a container not identified (ERR_CONTAINER_NOT_IDENTIFIED) or gone
 *   (ERR_CONTAINER_LEFT) neither signs data nor is named as its producer.
 *
 * State: data/<id> { hash, size?, owner: publicKey, height, derivedFrom, location?, producedBy?,
 *        dataType?, untraced? } (untraced: recorded at the minimal level, so its PROV entity was never declared).
 * PROV (standard; full adds prov:location): entity tom:data/<id> (tom:Data, tom:hash, tom:size),
 *   wasGeneratedBy(data, tx), wasAttributedTo(data, signer key); with a producer
 *   wasAttributedTo(data, tom:device/<id> | tom:container/<id>); per parent used(tx, parent) and
 *   wasDerivedFrom(data, parent, tx).
 */
import { encode, hashBytes, toHex } from '../../crypto/index.js'
import { TxFailedError } from '../../ledger/index.js'
import type { Tx, TxContext } from '../../ledger/index.js'
import { literal } from '../../prov/index.js'
import type { Attribute } from '../../prov/index.js'
import { bytesField, listField, nameField, onlyFields, optionalCountField, optionalNameField, optionalTextField } from '../payload.js'
import type { Payload } from '../payload.js'
import { provIds } from '../prov-ids.js'
import { dataLocationLengthMax } from './constants.js'
import { readContainer, requireIdentifiedContainer } from './containers.js'
import { fireTemplates } from './templates.js'
import type { ContainerRecord } from './containers.js'
import { producerIdField, readDevice, requireJoinedDevice } from './devices.js'
import type { DeviceRecord } from './devices.js'
import { provSafe, readCbor, requireIdentity, stateKeys } from './state.js'
import type { ContractState, Identity } from './state.js'

/** Most parents a data item names. */
export const derivedFromMax = 64

interface DataRecord {
  readonly untraced?: boolean
}

type Producer =
  | { readonly kind: 'device', readonly record: DeviceRecord }
  | { readonly kind: 'container', readonly record: ContainerRecord }

async function findProducer(state: ContractState, id: string): Promise<Producer> {
  if ((await state.get(stateKeys.device(id))) !== undefined) return { kind: 'device', record: await readDevice(state, id) }
  if ((await state.get(stateKeys.container(id))) !== undefined) return { kind: 'container', record: await readContainer(state, id) }
  throw new TxFailedError('ERR_PRODUCER_UNKNOWN', `producedBy names ${id}, which is neither a device nor a container`)
}

function requireActive(producer: Producer): void {
  if (producer.kind === 'device') requireJoinedDevice(producer.record)
  else requireIdentifiedContainer(producer.record)
}

/** The producer of the item, checked against the signer's rights; undefined when there is none. */
async function producerOf(tx: Tx, signer: Identity, producedBy: string | undefined, state: ContractState): Promise<Producer | undefined> {
  if (signer.kind === 'device' || signer.kind === 'container') {
    if (signer.id === undefined) throw new Error(`identity ${toHex(tx.signer)} of a ${signer.kind} has no id`)
    if (producedBy !== undefined && producedBy !== signer.id) {
      throw new TxFailedError('ERR_TX_UNAUTHORIZED', `a ${signer.kind} adds its own data only: producedBy must be ${signer.id}`)
    }
    const own = await findProducer(state, signer.id)
    requireActive(own)
    return own
  }
  if (producedBy === undefined) return undefined
  const producer = await findProducer(state, producedBy)
  requireActive(producer)
  const byAdmin = signer.kind === 'admin' && signer.org === producer.record.org
  const byItsNode = producer.kind === 'container' && signer.kind === 'node' && toHex(producer.record.node) === toHex(tx.signer)
  if (!byAdmin && !byItsNode) {
    throw new TxFailedError('ERR_TX_UNAUTHORIZED', `data of ${producedBy} is added by itself, an admin of ${producer.record.org}${producer.kind === 'container' ? ', or the node it runs on' : ''}`)
  }
  return producer
}

export async function dataAdd(tx: Tx, p: Payload, state: ContractState, context: TxContext): Promise<void> {
  onlyFields(p, ['id', 'hash', 'size', 'derivedFrom', 'location', 'producedBy', 'dataType'])
  const signer = await requireIdentity(state, tx.signer)
  const id = provSafe('id', nameField(p, 'id', 256))
  const hash = bytesField(p, 'hash', hashBytes)
  const size = optionalCountField(p, 'size')
  const derivedFrom = listField(p, 'derivedFrom', derivedFromMax, (v, i) => nameField({ [`derivedFrom[${i}]`]: v }, `derivedFrom[${i}]`, 256), true)
  const location = optionalTextField(p, 'location', dataLocationLengthMax)
  const producedBy = p.producedBy === undefined ? undefined : producerIdField(p, 'producedBy')
  const dataType = optionalNameField(p, 'dataType', 64)
  const producer = await producerOf(tx, signer, producedBy, state)
  if ((await state.get(stateKeys.data(id))) !== undefined) throw new TxFailedError('ERR_DATA_EXISTS', `data ${id} was already added`)
  const parents: { id: string, untraced: boolean }[] = []
  for (const parent of derivedFrom) {
    const record = await readCbor<DataRecord>(state, stateKeys.data(parent))
    if (record === undefined) throw new TxFailedError('ERR_DATA_UNKNOWN', `derivedFrom names unknown data ${parent}`)
    parents.push({ id: parent, untraced: record.untraced === true })
  }
  const record: Record<string, unknown> = { hash, owner: tx.signer, height: context.height, derivedFrom }
  if (size !== undefined) record.size = size
  if (location !== undefined) record.location = location
  if (producer !== undefined) record.producedBy = producer.record.id
  if (dataType !== undefined) record.dataType = dataType
  if (state.traceLevel === 'minimal') record.untraced = true
  state.put(stateKeys.data(id), encode(record))

  const entity = provIds.data(id)
  const activity = provIds.tx(tx)
  const attributes: Attribute[] = [{ name: 'prov:type', value: literal.qualifiedName('tom:Data') }, { name: 'tom:hash', value: literal.string(toHex(hash)) }]
  if (size !== undefined) attributes.push({ name: 'tom:size', value: literal.long(size) })
  if (location !== undefined) attributes.push({ name: 'prov:location', value: literal.string(location) })
  if (dataType !== undefined) attributes.push({ name: 'tom:dataType', value: literal.string(dataType) })
  state.prov.add(
    { kind: 'entity', id: entity, attributes },
    { kind: 'wasGeneratedBy', entity, activity, attributes: [] },
    { kind: 'wasAttributedTo', entity, agent: provIds.key(tx.signer), attributes: [] }
  )
  if (producer !== undefined) {
    const agent = producer.kind === 'device' ? provIds.device(producer.record.id) : provIds.container(producer.record.id)
    state.prov.add({ kind: 'agent', id: agent, attributes: [] }, { kind: 'wasAttributedTo', entity, agent, attributes: [] })
  }
  for (const parent of parents) {
    const parentId = provIds.data(parent.id)
    if (parent.untraced) state.prov.add({ kind: 'entity', id: parentId, attributes: [] })
    state.prov.add(
      { kind: 'used', activity, entity: parentId, attributes: [] },
      { kind: 'wasDerivedFrom', generatedEntity: entity, usedEntity: parentId, activity, attributes: [] }
    )
  }
  if (dataType !== undefined) {
    // Data ids may hold '/', which container names may not.
    await fireTemplates(tx, state, context, 'data.add', { attributes: { dataType }, suffix: id.replaceAll('/', '.'), env: { TOM_DATA_ID: id } })
  }
}
