/**
 * Containers: started by a node from an approved image, then identifying themselves, then leaving.
 *
 * - `container.join { id, imageDigest, publicKey }` signed by the node the container runs on (its
 *   orchestrator reports the container it started). The image must be approved (image.approve). The
 *   container's key becomes an identity { kind: 'container', org: the node's org, id }.
 * - `container.identify { id }` signed by the container's own key: the signature proves the container
 *   holds the key its node announced. Only an identified container signs or is named as the producer
 *   of data (data.add), so data is never attributed to a key nobody has shown it holds.
 * - `container.leave { id }` by the container, its node, or an admin of its organisation.
 *
 * As for devices, a container's life is one pass (joined -> identified -> left); after it leaves its id
 * and key are retired (its PROV entity is invalidated). Devices and containers share one id space.
 *
 * State: container/<id> { id, org, node: publicKey, imageDigest, publicKey, status: 'joined' | 'left',
 *        identified, joinedAt, identifiedAt?, leftAt? }
 * PROV (standard; full adds the container's tom:image digest):
 *   join:     entity tom:container/<id> (tom:Container, tom:key), wasGeneratedBy(container, tx),
 *             used(tx, tom:image/<hex>, role tom:image), wasDerivedFrom(container, image, tx),
 *             wasAttributedTo(container, tom:node/<hex>)
 *   identify: agent tom:container/<id>, used(tx, container, role tom:identification),
 *             actedOnBehalfOf(container, node, tx), actedOnBehalfOf(tom:key/<hex>, container, tx)
 *   leave:    wasInvalidatedBy(container, tx)
 */
import { bytesEqual, encode, publicKeyBytes, toHex } from '../../crypto/index.js'
import { TxFailedError } from '../../ledger/index.js'
import type { Tx, TxContext } from '../../ledger/index.js'
import { literal } from '../../prov/index.js'
import { bytesField, onlyFields } from '../payload.js'
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
  readonly status: 'joined' | 'left'
  readonly identified: boolean
  readonly joinedAt: number
  readonly identifiedAt?: number
  readonly leftAt?: number
}

export async function readContainer(state: ContractState, id: string): Promise<ContainerRecord> {
  const container = await readCbor<ContainerRecord>(state, stateKeys.container(id))
  if (container === undefined) throw new TxFailedError('ERR_CONTAINER_UNKNOWN', `no container ${id}`)
  return container
}

/** A container that may act (sign or be named as a producer): identified and not left. */
export function requireIdentifiedContainer(container: ContainerRecord): void {
  if (container.status === 'left') throw new TxFailedError('ERR_CONTAINER_LEFT', `container ${container.id} left at height ${container.leftAt}`)
  if (!container.identified) throw new TxFailedError('ERR_CONTAINER_NOT_IDENTIFIED', `container ${container.id} joined but has not identified itself (container.identify)`)
}

function containerResource(c: { readonly id: string, readonly org: string, readonly node: Uint8Array, readonly imageDigest: string }): Record<string, string> & { name: string } {
  return { name: stateKeys.container(c.id), kind: 'container', id: c.id, org: c.org, node: toHex(c.node), imageDigest: c.imageDigest }
}

export async function containerJoin(tx: Tx, p: Payload, state: ContractState, context: TxContext): Promise<void> {
  onlyFields(p, ['id', 'imageDigest', 'publicKey'])
  const id = producerIdField(p, 'id')
  const imageDigest = digestField(p, 'imageDigest')
  const key = bytesField(p, 'publicKey', publicKeyBytes)
  const signer = await requireIdentity(state, tx.signer)
  if (signer.kind !== 'node') throw new TxFailedError('ERR_TX_UNAUTHORIZED', 'container.join is signed by the node the container runs on')
  const image = await readImage(state, imageDigest)
  if (image?.status !== 'approved') throw new TxFailedError('ERR_IMAGE_NOT_APPROVED', `image ${imageDigest} is not approved to run`)
  await requireFreeProducerId(state, id, 'ERR_CONTAINER_EXISTS')
  await requireNewIdentity(state, key)
  const record: ContainerRecord = { id, org: signer.org, node: tx.signer, imageDigest, publicKey: key, status: 'joined', identified: false, joinedAt: context.height }
  state.requireAllowed(tx.signer, signer, 'CREATE', containerResource(record))
  state.put(stateKeys.container(id), encode(record))
  state.put(stateKeys.identity(key), encode({ kind: 'container', org: signer.org, id }))
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
}

export async function containerIdentify(tx: Tx, p: Payload, state: ContractState, context: TxContext): Promise<void> {
  onlyFields(p, ['id'])
  const id = producerIdField(p, 'id')
  const container = await readContainer(state, id)
  if (!bytesEqual(container.publicKey, tx.signer)) throw new TxFailedError('ERR_TX_UNAUTHORIZED', `container.identify is signed by the key container ${id} joined with`)
  if (container.status === 'left') throw new TxFailedError('ERR_CONTAINER_LEFT', `container ${id} left at height ${container.leftAt}`)
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
  if (container.status === 'left') throw new TxFailedError('ERR_CONTAINER_LEFT', `container ${id} already left at height ${container.leftAt}`)
  state.requireAllowed(tx.signer, signer, 'DELETE', containerResource(container))
  state.put(stateKeys.container(id), encode({ ...container, status: 'left', leftAt: context.height }))
  const entity = provIds.container(id)
  state.prov.add(
    { kind: 'entity', id: entity, attributes: [] },
    { kind: 'wasInvalidatedBy', entity, activity: provIds.tx(tx), attributes: [] }
  )
}
