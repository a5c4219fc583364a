/**
 * Organisations' admins after genesis: `org.admin.add { org, publicKey }` and
 * `org.admin.remove { org, publicKey }`, each signed by an existing admin of that organisation.
 * An organisation keeps 1 to orgAdminsMax admins: the last one cannot be removed, or no one could act
 * for it again. A removed admin's key stops being an identity (and may later be added again).
 *
 * State: org/<name> { name, admins }, identity/<keyHex> { kind: 'admin', org }.
 * PROV (standard): add: agent tom:key/<hex>, actedOnBehalfOf(key, tom:org/<name>, tx).
 * remove: wasInfluencedBy(tom:org/<name>, tx) typed tom:AdminRemoval with tom:key <hex> (an agent
 * cannot be invalidated in PROV; the influence says which admin the tx removed).
 */
import { encode, publicKeyBytes, toHex, bytesEqual } from '../../crypto/index.js'
import { TxFailedError } from '../../ledger/index.js'
import type { Tx } from '../../ledger/index.js'
import { literal } from '../../prov/index.js'
import { bytesField, nameField, onlyFields } from '../payload.js'
import type { Payload } from '../payload.js'
import { provIds } from '../prov-ids.js'
import { identityOf, readCbor, requireNewIdentity, requireOrgAdmin, stateKeys } from './state.js'
import type { ContractState, OrgRecord } from './state.js'

/** Most admins an organisation lists. */
export const orgAdminsMax = 16

async function readOrg(state: ContractState, name: string): Promise<OrgRecord> {
  const org = await readCbor<OrgRecord>(state, stateKeys.org(name))
  if (org === undefined) throw new TxFailedError('ERR_ORG_UNKNOWN', `no organisation ${name}`)
  return org
}

export async function orgAdminAdd(tx: Tx, p: Payload, state: ContractState): Promise<void> {
  onlyFields(p, ['org', 'publicKey'])
  const name = nameField(p, 'org', 64)
  const key = bytesField(p, 'publicKey', publicKeyBytes)
  const org = await readOrg(state, name)
  await requireOrgAdmin(state, tx.signer, name, 'adds its admins')
  await requireNewIdentity(state, key)
  if (org.admins.length >= orgAdminsMax) throw new TxFailedError('ERR_ORG_ADMINS_MAX', `${name} has ${orgAdminsMax} admins, the most an organisation lists`)
  state.put(stateKeys.org(name), encode({ name, admins: [...org.admins, key] }))
  state.put(stateKeys.identity(key), encode({ kind: 'admin', org: name }))
  const orgId = provIds.org(name)
  state.prov.add(
    { kind: 'agent', id: orgId, attributes: [] },
    { kind: 'agent', id: provIds.key(key), attributes: [] },
    { kind: 'actedOnBehalfOf', delegate: provIds.key(key), responsible: orgId, activity: provIds.tx(tx), attributes: [] }
  )
}

export async function orgAdminRemove(tx: Tx, p: Payload, state: ContractState): Promise<void> {
  onlyFields(p, ['org', 'publicKey'])
  const name = nameField(p, 'org', 64)
  const key = bytesField(p, 'publicKey', publicKeyBytes)
  const org = await readOrg(state, name)
  await requireOrgAdmin(state, tx.signer, name, 'removes its admins')
  const target = await identityOf(state, key)
  if (target?.kind !== 'admin' || target.org !== name) throw new TxFailedError('ERR_ORG_ADMIN_UNKNOWN', `${toHex(key)} is not an admin of ${name}`)
  const admins = org.admins.filter((a) => !bytesEqual(a, key))
  if (admins.length === 0) throw new TxFailedError('ERR_ORG_LAST_ADMIN', `${toHex(key)} is the last admin of ${name}`)
  state.put(stateKeys.org(name), encode({ name, admins }))
  state.delete(stateKeys.identity(key))
  const orgId = provIds.org(name)
  state.prov.add(
    { kind: 'agent', id: orgId, attributes: [] },
    {
      kind: 'wasInfluencedBy',
      influencee: orgId,
      influencer: provIds.tx(tx),
      attributes: [{ name: 'prov:type', value: literal.qualifiedName('tom:AdminRemoval') }, { name: 'tom:key', value: literal.string(toHex(key)) }]
    }
  )
}
