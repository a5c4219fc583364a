/**
 * The allow-list of container images: `image.approve { digest, name? }` and `image.revoke { digest }`
 * by an org admin. Digests are `sha256:<64 lowercase hex>` (what the container engine reports). Only
 * approved images may run (container.join). An approval belongs to the organisation whose admin made it:
 * only that organisation's admins revoke it; once revoked, any admin may approve it again.
 *
 * State: image/<digest> { digest, name?, org, status: 'approved' | 'revoked', approvedAt, revokedAt? }
 * PROV (standard; full adds the image's tom:digest and tom:name):
 *   approve: entity tom:image/<hex> (tom:Image), used(tx, image, role tom:approval)
 *   revoke:  used(tx, image, role tom:revocation)
 * The image is not generated or invalidated by the ledger (it is built elsewhere, and a revoked image
 * may be approved again): approvals and revocations are usages with a role, so the image's forward
 * lineage lists them, and the containers started from it, in chain order.
 */
import { encode } from '../../crypto/index.js'
import { TxFailedError } from '../../ledger/index.js'
import type { Tx, TxContext } from '../../ledger/index.js'
import { literal } from '../../prov/index.js'
import type { Entity } from '../../prov/index.js'
import { onlyFields, optionalTextField } from '../payload.js'
import type { Payload } from '../payload.js'
import { provIds } from '../prov-ids.js'
import { imageNameLengthMax } from './constants.js'
import { readCbor, requireIdentity, requireOrgAdmin, stateKeys } from './state.js'
import type { ContractState } from './state.js'

export interface ImageRecord {
  readonly digest: string
  readonly name?: string
  readonly org: string
  readonly status: 'approved' | 'revoked'
  readonly approvedAt: number
  readonly revokedAt?: number
}

const digestPattern = /^sha256:[0-9a-f]{64}$/

export function digestField(p: Payload, field: string): string {
  const v = p[field]
  if (typeof v !== 'string' || !digestPattern.test(v)) throw new TxFailedError('ERR_TX_INVALID_PAYLOAD', `${field} must be an image digest sha256:<64 lowercase hex digits>`)
  return v
}

/** tom:image/<hex>: a qualified name cannot hold the ':' of the digest. */
export function imageProvId(digest: string): string {
  return provIds.image(digest.slice('sha256:'.length))
}

export async function readImage(state: ContractState, digest: string): Promise<ImageRecord | undefined> {
  return readCbor<ImageRecord>(state, stateKeys.image(digest))
}

export function imageEntity(digest: string, name: string | undefined): Entity {
  return {
    kind: 'entity',
    id: imageProvId(digest),
    attributes: [
      { name: 'prov:type', value: literal.qualifiedName('tom:Image') },
      { name: 'tom:digest', value: literal.string(digest) },
      ...(name === undefined ? [] : [{ name: 'tom:name', value: literal.string(name) }])
    ]
  }
}

export async function imageApprove(tx: Tx, p: Payload, state: ContractState, context: TxContext): Promise<void> {
  onlyFields(p, ['digest', 'name'])
  const digest = digestField(p, 'digest')
  const name = optionalTextField(p, 'name', imageNameLengthMax)
  const signer = await requireIdentity(state, tx.signer)
  if (signer.kind !== 'admin') throw new TxFailedError('ERR_TX_UNAUTHORIZED', 'only an org admin approves images')
  const known = await readImage(state, digest)
  if (known?.status === 'approved') throw new TxFailedError('ERR_IMAGE_APPROVED', `${digest} was approved by ${known.org} at height ${known.approvedAt}`)
  state.requireAllowed(tx.signer, signer, 'CREATE', { name: stateKeys.image(digest), kind: 'image', digest, org: signer.org })
  const record: ImageRecord = { digest, ...(name === undefined ? {} : { name }), org: signer.org, status: 'approved', approvedAt: context.height }
  state.put(stateKeys.image(digest), encode(record))
  state.prov.add(
    imageEntity(digest, name),
    { kind: 'used', activity: provIds.tx(tx), entity: imageProvId(digest), attributes: [{ name: 'prov:role', value: literal.qualifiedName('tom:approval') }] }
  )
}

export async function imageRevoke(tx: Tx, p: Payload, state: ContractState, context: TxContext): Promise<void> {
  onlyFields(p, ['digest'])
  const digest = digestField(p, 'digest')
  const image = await readImage(state, digest)
  if (image?.status !== 'approved') throw new TxFailedError('ERR_IMAGE_NOT_APPROVED', `${digest} is not approved`)
  const signer = await requireOrgAdmin(state, tx.signer, image.org, 'revokes the images it approved')
  state.requireAllowed(tx.signer, signer, 'DELETE', { name: stateKeys.image(digest), kind: 'image', digest, org: image.org })
  state.put(stateKeys.image(digest), encode({ ...image, status: 'revoked', revokedAt: context.height }))
  state.prov.add(
    { kind: 'entity', id: imageProvId(digest), attributes: [] },
    { kind: 'used', activity: provIds.tx(tx), entity: imageProvId(digest), attributes: [{ name: 'prov:role', value: literal.qualifiedName('tom:revocation') }] }
  )
}
