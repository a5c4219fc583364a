/**
 * Containers: started by a node from an approved image, then identifying themselves, then leaving.
 *
 * - `container.join { id, imageDigest, publicKey, action? }` signed by the node the container runs on
 *   (its orchestrator reports the container it started). The image must be approved (image.approve).
 *   The container's key becomes an identity { kind: 'container', org: the node's org, id }.
 *   `action` names the open action the container fulfils (ERR_ACTION_MISMATCH unless it fits): a
 *   container.start addressed to the signer, for params.container and params.image; or a
 *   container.migrate whose target is the signer, for params.newContainer and params.image. The join
 *   closes that action as done. When the action moves a container (a migrate, or a start that
 *   `replaces` one), the old container is marked replacedBy the new one and, if still joined, leaves.
 * - `container.status { id, status: 'restarted' | 'missing' | 'stopped', detail? }` signed by the
 *   container's node: drift its orchestrator found and repaired, recorded as the container's lastStatus.
 * - `container.identify { id }` signed by the container's own key: the signature proves the container
 *   holds the key its node announced. Only an identified container signs or is named as the producer
 *   of data (data.add), so data is never attributed to a key nobody has shown it holds.
 * - `container.leave { id }` by the container, its node, or an admin of its organisation.
 *
 * As for devices, a container's life is one pass (joined -> identified -> left, or lost when service
 * continuity moved it off a failed node, see continuity.ts); after it leaves or is lost its id and key
 * are retired (its PROV entity is invalidated) and it may not act (ERR_CONTAINER_LEFT,
 * ERR_CONTAINER_LOST). Devices and containers share one id space.
 *
 * State: container/<id> { id, org, node: publicKey, imageDigest, publicKey, status: 'joined' | 'left' | 'lost',
 *        identified, joinedAt, identifiedAt?, leftAt?, lostAt?, action?, replaces?, replacedBy?,
 *        lastStatus?: { status, detail?, height } }
 *        and the node's index (node-load.ts): node-containers/<nodeHex>/<id>, node-load/<nodeHex>
 * PROV (standard; full adds the container's tom:image digest):
 *   join:     entity tom:container/<id> (tom:Container, tom:key), wasGeneratedBy(container, tx),
 *             used(tx, tom:image/<hex>, role tom:image), wasDerivedFrom(container, image, tx),
 *             wasAttributedTo(container, tom:node/<hex>)
 *             with `action`: used(tx, tom:action/<id>), wasInvalidatedBy(action, tx); when the action
 *             moves an old container still joined: wasDerivedFrom(container, old, tx) and
 *             wasInvalidatedBy(old, tx); when the old one was already invalidated (lost to continuity,
 *             or left): wasDerivedFrom(container, action, tx), the action being derived from the old
 *             container when it was decided (actions.ts), since PROV allows no use of an entity after
 *             its invalidation
 *   identify: agent tom:container/<id>, used(tx, container, role tom:identification),
 *             actedOnBehalfOf(container, node, tx), actedOnBehalfOf(tom:key/<hex>, container, tx)
 *   status:   entity tom:container/<id>/status/<height>.<index> (tom:ContainerStatus, tom:status),
 *             used(tx, container), wasGeneratedBy(status, tx), wasDerivedFrom(status, container, tx)
 *   leave:    wasInvalidatedBy(container, tx)
 */
import { bytesEqual, encode, publicKeyBytes, toHex } from '../../crypto/index.js'
import { TxFailedError } from '../../ledger/index.js'
import type { Tx, TxContext } from '../../ledger/index.js'
import { literal } from '../../prov/index.js'
import { closeAction, movedContainer, readAction } from '../actions.js'
import type { ActionRecord, MigrateParams, StartParams } from '../actions.js'
import { actionDetailCharsMax } from '../deployed-constants.js'
import { addNodeContainer, removeNodeContainer } from '../node-load.js'
import { bytesField, onlyFields, optionalTextField } from '../payload.js'
import type { Payload } from '../payload.js'
import { provIds } from '../prov-ids.js'
import { producerIdField, requireFreeProducerId } from './devices.js'
import { digestField, imageProvId, readImage } from './images.js'
import { readCbor, requireIdentity, requireNewIdentity, stateKeys } from './state.js'
import type { ContractState } from './state.js'

export interface ContainerRecord {
  readonly id: string
  readonly org: string
  /** The node it runs on. */
  readonly node: Uint8Array
  readonly imageDigest: string
  readonly publicKey: Uint8Array
  readonly status: 'joined' | 'left' | 'lost'
  readonly identified: boolean
  readonly joinedAt: number
  readonly identifiedAt?: number
  readonly leftAt?: number
  /** Height at which service continuity moved it off its failed node. */
  readonly lostAt?: number
  /** The action it fulfilled when it joined. */
  readonly action?: string
  /** The container it took over from; the one that took over from it. */
  readonly replaces?: string
  readonly replacedBy?: string
  /** The latest drift its node recorded (container.status). */
  readonly lastStatus?: { readonly status: ContainerDrift, readonly detail?: string, readonly height: number }
}

export const containerDrifts = ['restarted', 'missing', 'stopped'] as const
export type ContainerDrift = (typeof containerDrifts)[number]

export async function readContainer(state: ContractState, id: string): Promise<ContainerRecord> {
  const container = await readCbor<ContainerRecord>(state, stateKeys.container(id))
  if (container === undefined) throw new TxFailedError('ERR_CONTAINER_UNKNOWN', `no container ${id}`)
  return container
}

/** Refuses a container that left or was lost: its id and key are retired. */
export function requireLiveContainer(container: ContainerRecord): void {
  if (container.status === 'left') throw new TxFailedError('ERR_CONTAINER_LEFT', `container ${container.id} left at height ${container.leftAt}`)
  if (container.status === 'lost') {
    throw new TxFailedError('ERR_CONTAINER_LOST', `container ${container.id} was lost with its node at height ${container.lostAt}${container.replacedBy === undefined ? '' : `; ${container.replacedBy} replaced it`}`)
  }
}

/** A container that may act (sign or be named as a producer): identified and neither left nor lost. */
export function requireIdentifiedContainer(container: ContainerRecord): void {
  requireLiveContainer(container)
  if (!container.identified) throw new TxFailedError('ERR_CONTAINER_NOT_IDENTIFIED', `container ${container.id} joined but has not identified itself (container.identify)`)
}

function containerResource(c: { readonly id: string, readonly org: string, readonly node: Uint8Array, readonly imageDigest: string }): Record<string, string> & { name: string } {
  return { name: stateKeys.container(c.id), kind: 'container', id: c.id, org: c.org, node: toHex(c.node), imageDigest: c.imageDigest }
}

function mismatch(action: ActionRecord, message: string): TxFailedError {
  return new TxFailedError('ERR_ACTION_MISMATCH', `action ${action.id} (${action.type}): ${message}`)
}

/** The open action `actionId` if the join by `signerHex` of `id` from `imageDigest` fulfils it. */
async function fulfilledAction(state: ContractState, actionId: string, signerHex: string, id: string, imageDigest: string): Promise<ActionRecord> {
  const action = await readAction(state, actionId)
  if (action === undefined) throw new TxFailedError('ERR_ACTION_UNKNOWN', `no action ${actionId}`)
  if (action.status === 'done' || action.status === 'failed') throw new TxFailedError('ERR_ACTION_CLOSED', `action ${actionId} is already ${action.status}`)
  let expected: string
  if (action.type === 'container.start') {
    if (action.node !== signerHex) throw mismatch(action, `it is addressed to node ${action.node}, not the signer`)
    expected = (action.params as StartParams).container
  } else if (action.type === 'container.migrate') {
    const params = action.params as MigrateParams
    if (params.target !== signerHex) throw mismatch(action, `its target is node ${params.target}, not the signer`)
    expected = params.newContainer
  } else {
    throw mismatch(action, 'only a container.start or container.migrate is fulfilled by a container joining')
  }
  const image = (action.params as { image: string }).image
  if (`sha256:${image}` !== imageDigest) throw mismatch(action, `it runs image sha256:${image}, not ${imageDigest}`)
  if (expected !== id) throw mismatch(action, `its container joins as ${expected}, not ${id}`)
  return action
}

const actionPayloadPattern = /^[0-9a-f]{64}-(0|[1-9][0-9]{0,3})$/

export async function containerJoin(tx: Tx, p: Payload, state: ContractState, context: TxContext): Promise<void> {
  onlyFields(p, ['id', 'imageDigest', 'publicKey', 'action'])
  const id = producerIdField(p, 'id')
  const imageDigest = digestField(p, 'imageDigest')
  const key = bytesField(p, 'publicKey', publicKeyBytes)
  const actionId = p.action
  if (actionId !== undefined && (typeof actionId !== 'string' || !actionPayloadPattern.test(actionId))) {
    throw new TxFailedError('ERR_TX_INVALID_PAYLOAD', 'action must be an action id (<tx id hex>-<n>)')
  }
  const signer = await requireIdentity(state, tx.signer)
  if (signer.kind !== 'node') throw new TxFailedError('ERR_TX_UNAUTHORIZED', 'container.join is signed by the node the container runs on')
  const image = await readImage(state, imageDigest)
  if (image?.status !== 'approved') throw new TxFailedError('ERR_IMAGE_NOT_APPROVED', `image ${imageDigest} is not approved to run`)
  const signerHex = toHex(tx.signer)
  const action = actionId === undefined ? undefined : await fulfilledAction(state, actionId, signerHex, id, imageDigest)
  await requireFreeProducerId(state, id, 'ERR_CONTAINER_EXISTS')
  await requireNewIdentity(state, key)
  const movedId = action === undefined ? undefined : movedContainer(action)
  const moved = movedId === undefined ? undefined : await readCbor<ContainerRecord>(state, stateKeys.container(movedId))
  const record: ContainerRecord = {
    id, org: signer.org, node: tx.signer, imageDigest, publicKey: key, status: 'joined', identified: false, joinedAt: context.height,
    ...(action === undefined ? {} : { action: action.id }),
    ...(moved === undefined ? {} : { replaces: moved.id })
  }
  state.requireAllowed(tx.signer, signer, 'CREATE', containerResource(record))
  state.put(stateKeys.container(id), encode(record))
  state.put(stateKeys.identity(key), encode({ kind: 'container', org: signer.org, id }))
  await addNodeContainer(state, signerHex, id, { imageDigest, ...(action === undefined ? {} : { action: action.id }) })
  const container = provIds.container(id)
  const imageId = imageProvId(imageDigest)
  const node = provIds.node(tx.signer)
  const activity = provIds.tx(tx)
  state.prov.add(
    { kind: 'entity', id: imageId, attributes: [] },
    { kind: 'agent', id: node, attributes: [] },
    {
      kind: 'entity',
      id: container,
      attributes: [
        { name: 'prov:type', value: literal.qualifiedName('tom:Container') },
        { name: 'tom:key', value: literal.string(toHex(key)) },
        { name: 'tom:image', value: literal.string(imageDigest) }
      ]
    },
    { kind: 'wasGeneratedBy', entity: container, activity, attributes: [] },
    { kind: 'used', activity, entity: imageId, attributes: [{ name: 'prov:role', value: literal.qualifiedName('tom:image') }] },
    { kind: 'wasDerivedFrom', generatedEntity: container, usedEntity: imageId, activity, attributes: [] },
    { kind: 'wasAttributedTo', entity: container, agent: node, attributes: [] }
  )
  if (action === undefined) return
  await closeAction(state, action, 'done', context.height)
  const actionEntity = provIds.action(action.id)
  state.prov.add(
    // Declared again because the emitting tx may have run at the minimal traceability level.
    { kind: 'entity', id: actionEntity, attributes: [] },
    { kind: 'used', activity, entity: actionEntity, attributes: [{ name: 'prov:role', value: literal.qualifiedName('tom:fulfilled') }] },
    { kind: 'wasInvalidatedBy', entity: actionEntity, activity, attributes: [] }
  )
  if (moved === undefined) return
  const old = provIds.container(moved.id)
  if (moved.status === 'joined') {
    // The old container hands over to this one now: it leaves in this tx, derived-from then invalidated.
    state.put(stateKeys.container(moved.id), encode({ ...moved, status: 'left', leftAt: context.height, replacedBy: id }))
    await removeNodeContainer(state, toHex(moved.node), moved.id)
    state.prov.add(
      { kind: 'entity', id: old, attributes: [] },
      { kind: 'wasDerivedFrom', generatedEntity: container, usedEntity: old, activity, attributes: [] },
      { kind: 'wasInvalidatedBy', entity: old, activity, attributes: [] }
    )
  } else {
    state.put(stateKeys.container(moved.id), encode({ ...moved, replacedBy: id }))
    state.prov.add({ kind: 'wasDerivedFrom', generatedEntity: container, usedEntity: actionEntity, activity, attributes: [] })
  }
}

export async function containerIdentify(tx: Tx, p: Payload, state: ContractState, context: TxContext): Promise<void> {
  onlyFields(p, ['id'])
  const id = producerIdField(p, 'id')
  const container = await readContainer(state, id)
  if (!bytesEqual(container.publicKey, tx.signer)) throw new TxFailedError('ERR_TX_UNAUTHORIZED', `container.identify is signed by the key container ${id} joined with`)
  requireLiveContainer(container)
  if (container.identified) throw new TxFailedError('ERR_CONTAINER_IDENTIFIED', `container ${id} identified itself at height ${container.identifiedAt}`)
  state.put(stateKeys.container(id), encode({ ...container, identified: true, identifiedAt: context.height }))
  const entity = provIds.container(id)
  const node = provIds.node(container.node)
  const activity = provIds.tx(tx)
  state.prov.add(
    { kind: 'entity', id: entity, attributes: [] },
    { kind: 'agent', id: entity, attributes: [{ name: 'prov:type', value: literal.qualifiedName('tom:Container') }] },
    { kind: 'agent', id: node, attributes: [] },
    { kind: 'used', activity, entity, attributes: [{ name: 'prov:role', value: literal.qualifiedName('tom:identification') }] },
    { kind: 'actedOnBehalfOf', delegate: entity, responsible: node, activity, attributes: [] },
    { kind: 'actedOnBehalfOf', delegate: provIds.key(tx.signer), responsible: entity, activity, attributes: [] }
  )
}

export async function containerLeave(tx: Tx, p: Payload, state: ContractState, context: TxContext): Promise<void> {
  onlyFields(p, ['id'])
  const id = producerIdField(p, 'id')
  const container = await readContainer(state, id)
  const signer = await requireIdentity(state, tx.signer)
  const allowed = bytesEqual(container.publicKey, tx.signer) || bytesEqual(container.node, tx.signer) || (signer.kind === 'admin' && signer.org === container.org)
  if (!allowed) throw new TxFailedError('ERR_TX_UNAUTHORIZED', `container ${id} leaves by itself, its node, or an admin of ${container.org}`)
  requireLiveContainer(container)
  state.requireAllowed(tx.signer, signer, 'DELETE', containerResource(container))
  state.put(stateKeys.container(id), encode({ ...container, status: 'left', leftAt: context.height }))
  await removeNodeContainer(state, toHex(container.node), id)
  const entity = provIds.container(id)
  state.prov.add(
    { kind: 'entity', id: entity, attributes: [] },
    { kind: 'wasInvalidatedBy', entity, activity: provIds.tx(tx), attributes: [] }
  )
}

export async function containerStatus(tx: Tx, p: Payload, state: ContractState, context: TxContext): Promise<void> {
  onlyFields(p, ['id', 'status', 'detail'])
  const id = producerIdField(p, 'id')
  const status = p.status
  if (typeof status !== 'string' || !(containerDrifts as readonly string[]).includes(status)) {
    throw new TxFailedError('ERR_TX_INVALID_PAYLOAD', `status must be one of ${containerDrifts.join(', ')}`)
  }
  const detail = optionalTextField(p, 'detail', actionDetailCharsMax)
  const container = await readContainer(state, id)
  if (!bytesEqual(container.node, tx.signer)) throw new TxFailedError('ERR_TX_UNAUTHORIZED', `container.status of ${id} is signed by the node it runs on`)
  // A container that left or was lost is invalidated: PROV allows nothing of it afterwards.
  requireLiveContainer(container)
  const signer = await requireIdentity(state, tx.signer)
  state.requireAllowed(tx.signer, signer, 'UPDATE', containerResource(container))
  const lastStatus = { status: status as ContainerDrift, ...(detail === undefined ? {} : { detail }), height: context.height }
  state.put(stateKeys.container(id), encode({ ...container, lastStatus }))
  const entity = provIds.container(id)
  // A container may drift twice in one block: the tx's place in the chain keeps the id unique.
  const outcome = `${entity}/status/${context.height}.${context.index}`
  const activity = provIds.tx(tx)
  state.prov.add(
    { kind: 'entity', id: entity, attributes: [] },
    {
      kind: 'entity',
      id: outcome,
      attributes: [
        { name: 'prov:type', value: literal.qualifiedName('tom:ContainerStatus') },
        { name: 'tom:status', value: literal.string(status) },
        ...(detail === undefined ? [] : [{ name: 'tom:detail', value: literal.string(detail) }])
      ]
    },
    { kind: 'used', activity, entity, attributes: [] },
    { kind: 'wasGeneratedBy', entity: outcome, activity, attributes: [] },
    { kind: 'wasDerivedFrom', generatedEntity: outcome, usedEntity: entity, activity, attributes: [] }
  )
}
