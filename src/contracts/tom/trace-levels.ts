/**
 * Traceability levels: how much of what a tx did the built-in contracts record in PROV. An admin sets
 * the level per tx type (`trace.set { type, level }`, state `trace/<type>`); the level in force when a
 * tx is applied decides what its processor's records become. With no level set, a type is `standard`.
 *
 * - `minimal`: nothing beyond what the ledger implies for every tx: its activity `tom:tx/<id>` (typed
 *   by its tx type, at the block time) and its association with the signer `tom:key/<hex>`. The world
 *   state still changes as usual; lineage through the tx is not recorded.
 * - `standard` (the default): the structure of what the tx did: the elements it generates, uses,
 *   invalidates or relates (entities, agents), generation, usage, invalidation, derivation, attribution,
 *   delegation and influence. Elements and relations keep only their identifying attributes:
 *   prov:type, prov:label, prov:role, tom:hash, tom:size and tom:key.
 * - `full`: standard with every attribute the processor gives: a data item's prov:location, a device's
 *   identity attributes (tom:firmwareHash, ...) and the ones it presented when joining, an image's
 *   digest, a container's image digest.
 *
 * Because an earlier tx may have run at `minimal`, a processor never relies on an element having been
 * declared before: it re-declares (without attributes) every element its relations name, which the
 * PROV index treats as a no-op when the element is known. (data.add is the exception: its data record
 * says whether the item was declared, so that the usual records of a derivation stay as they are.)
 */
import type { Attribute, ProvRecord } from '../../prov/index.js'

export const traceLevels = ['minimal', 'standard', 'full'] as const
export type TraceLevel = (typeof traceLevels)[number]
export const defaultTraceLevel: TraceLevel = 'standard'

/** The attributes `standard` keeps: those that say what a thing is, not everything known about it. */
export const standardAttributeNames: ReadonlySet<string> = new Set(['prov:type', 'prov:label', 'prov:role', 'tom:hash', 'tom:size', 'tom:key'])

export function isTraceLevel(value: unknown): value is TraceLevel {
  return (traceLevels as readonly unknown[]).includes(value)
}

/** What `record` becomes at `level`: undefined when the level drops it. */
export function traceRecord(record: ProvRecord, level: TraceLevel): ProvRecord | undefined {
  if (level === 'minimal') return undefined
  if (level === 'full' || !('attributes' in record)) return record
  const attributes: Attribute[] = record.attributes.filter((a) => standardAttributeNames.has(a.name))
  return attributes.length === record.attributes.length ? record : { ...record, attributes }
}
