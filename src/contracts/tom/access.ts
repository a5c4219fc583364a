/**
 * The ACL in the world state: the rule set in force (`acl/rules`, CBOR; the defaults of acl.ts while
 * none was set), the gate every tx passes before its processor runs (CREATE on `tx:<type>` for the
 * signer's identity), and `acl.set { rules }`, by which an admin replaces the rule set.
 *
 * acl.set refuses a malformed rule set with ERR_ACL_INVALID, and one under which its own signer could
 * no longer submit acl.set with ERR_ACL_LOCKOUT: with no one left to change the rules, a mistake would
 * be permanent. It records no PROV beyond the tx's own activity: the rules are in its payload.
 */
import { bytesEqual, decode, encode, toHex } from '../../crypto/index.js'
import { TxFailedError } from '../../ledger/index.js'
import type { StateReader, Tx } from '../../ledger/index.js'
import { aclTxRequest, defaultAclRules, evaluateAcl, requireAclAllowed, validateAclRules } from '../acl.js'
import type { AclRule } from '../acl.js'
import { onlyFields } from '../payload.js'
import type { Payload } from '../payload.js'
import { aclFailure, requireIdentity } from './state.js'
import type { ContractState, Identity } from './state.js'

export const aclRulesKey = 'acl/rules'

/**
 * Reads the rule set in force, validating it once per distinct stored value: the last one read is
 * kept, so that the many txs between two acl.set do not parse the same conditions again.
 */
export class AclRulesReader {
  #lastRaw: Uint8Array | undefined
  #lastRules: readonly AclRule[] | undefined

  async read(state: StateReader): Promise<readonly AclRule[]> {
    const raw = await state.get(aclRulesKey)
    if (raw === undefined) return defaultAclRules
    if (this.#lastRaw !== undefined && this.#lastRules !== undefined && bytesEqual(raw, this.#lastRaw)) return this.#lastRules
    let rules: readonly AclRule[]
    try {
      rules = validateAclRules(decode(raw))
    } catch (err) {
      // acl.set stores only rule sets that validated: this is a corrupt state or a bug, not bad input.
      throw new Error(`the stored ACL rules do not validate: ${err instanceof Error ? err.message : String(err)}`)
    }
    this.#lastRaw = raw
    this.#lastRules = rules
    return rules
  }
}

/** The gate before every processor: the signer's identity may CREATE `tx:<type>`, or the tx fails. */
export function requireTxAllowed(rules: readonly AclRule[], tx: Tx, identity: Identity): void {
  try {
    requireAclAllowed(rules, aclTxRequest(tx, identity))
  } catch (err) {
    aclFailure(err)
  }
}

export async function aclSet(tx: Tx, p: Payload, state: ContractState): Promise<void> {
  onlyFields(p, ['rules'])
  const signer = await requireIdentity(state, tx.signer)
  if (signer.kind !== 'admin') throw new TxFailedError('ERR_TX_UNAUTHORIZED', 'only an admin sets the ACL rules')
  if (p.rules === undefined) throw new TxFailedError('ERR_TX_INVALID_PAYLOAD', 'rules must be a list of ACL rules')
  let rules: readonly AclRule[]
  try {
    rules = validateAclRules(p.rules)
  } catch (err) {
    aclFailure(err)
  }
  if (!evaluateAcl(rules, aclTxRequest(tx, signer)).allowed) {
    throw new TxFailedError('ERR_ACL_LOCKOUT', `under these rules ${toHex(tx.signer)} could not submit acl.set again; keep a rule that lets an admin change the rules`)
  }
  // The validated copy: fixed field order, so the stored bytes do not depend on how the tx spelled them.
  state.put(aclRulesKey, encode(rules))
}
