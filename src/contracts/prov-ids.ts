/**
 * The PROV ids that TOM's contracts give to what they record, all in the tom namespace. Tx activities
 * (`tom:tx/<id>`) and signing keys (`tom:key/<hex>`) are named by the ledger (ledgerProvIds).
 */
import { toHex } from '../crypto/index.js'
import { ledgerProvIds } from '../ledger/index.js'
import type { Tx } from '../ledger/index.js'
import type { QualifiedName } from '../prov/index.js'

export const provIds = {
  /** The activity of `tx` itself. */
  tx: (tx: Tx): QualifiedName => ledgerProvIds.tx(tx.id),
  key: (publicKey: Uint8Array): QualifiedName => ledgerProvIds.key(publicKey),
  org: (name: string): QualifiedName => `tom:org/${name}`,
  node: (publicKey: Uint8Array): QualifiedName => `tom:node/${toHex(publicKey)}`,
  data: (id: string): QualifiedName => `tom:data/${id}`,
  device: (id: string): QualifiedName => `tom:device/${id}`,
  image: (digestHex: string): QualifiedName => `tom:image/${digestHex}`,
  container: (id: string): QualifiedName => `tom:container/${id}`,
  action: (id: string): QualifiedName => `tom:action/${id}`,
  contract: (name: string, version: number): QualifiedName => `tom:contract/${name}/${version}`
}

/**
 * The world-state key that holds what a PROV id names, for provenance queries of the state of X at a
 * height; undefined for ids that have no state of their own (tx activities, keys, relations).
 */
export function stateKeyOfProvId(id: QualifiedName): string | undefined {
  const match = /^tom:(data|node|org|device|image|container|action)\/(.+)$/.exec(id)
  return match === null ? undefined : `${match[1]}/${match[2]}`
}
