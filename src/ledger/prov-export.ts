/**
 * The ledger's provenance as PROV documents, for export in PROV-JSON, PROV-N or PROV-O (Turtle):
 * one block as a bundle `tom:block/<height>`, the whole ledger as one bundle per block (also as an
 * async iterable, for a ledger too big to hold), and the lineage subgraph of one entity.
 *
 * A block's bundle spells out what the index leaves implied: for each committed tx, its activity
 * `tom:tx/<id>` (prov:type `tom:<tx type>`, started and ended at the block time), its signer agent
 * `tom:key/<hex>` and their association; then the records the tx's contract asserted (the block's `t/<height>`).
 * Failed txs changed nothing and asserted nothing, so they are not in the bundle.
 */
import { isElement, lineageDocument, literal, normaliseDocument, RecordsBuilder, tomNamespace, toProvJson, toProvN, toTurtle } from '../prov/index.js'
import type { Attribute, Bundle, LineageDirection, ProvDocument, ProvRecord, QualifiedName } from '../prov/index.js'
import type { Ledger } from './ledger.js'
import { blockProvRecords, ProvQueryError } from './prov-queries.js'
import type { ProvQueries } from './prov-queries.js'
import { ledgerProvIds } from './provenance.js'

/** The prefixes of every export (prov and xsd are predefined). */
export const provExportPrefixes: Readonly<Record<string, string>> = Object.freeze({ tom: tomNamespace })
/** Most blocks one in-memory document holds; a longer range is exported with ledgerBundles. */
export const provExportBlocksMax = 10_000

export const provFormats = ['prov-json', 'prov-n', 'turtle'] as const
export type ProvFormat = (typeof provFormats)[number]

type Signal = { readonly signal?: AbortSignal }

/** The text of `doc` in `format`. */
export function serialiseProv(doc: ProvDocument, format: ProvFormat): string {
  switch (format) {
    case 'prov-json':
      return toProvJson(doc)
    case 'prov-n':
      return toProvN(doc)
    case 'turtle':
      return toTurtle(doc)
  }
}

function sameLiteral(a: Attribute, b: Attribute): boolean {
  return a.name === b.name && a.value.type === b.value.type && a.value.value === b.value.value && a.value.lang === b.value.lang
}

/**
 * One record per (id, kind) in a bundle, as PROV-JSON requires: the constraint checks let several
 * txs of a block declare the same element (each maybe with attributes), and the block declares
 * each signer once however many txs it signed. Attributes are merged, each value once.
 */
function mergeElements(records: readonly ProvRecord[]): ProvRecord[] {
  const out: ProvRecord[] = []
  const at = new Map<string, number>()
  for (const r of records) {
    if (!isElement(r)) {
      out.push(r)
      continue
    }
    const key = `${r.kind} ${r.id}`
    const i = at.get(key)
    if (i === undefined) {
      at.set(key, out.length)
      out.push(r)
      continue
    }
    const prev = out[i]!
    if (!isElement(prev)) throw new Error('assertion: an element slot holds a relation')
    const attributes = [...prev.attributes]
    for (const a of r.attributes) if (!attributes.some((b) => sameLiteral(a, b))) attributes.push(a)
    out[i] = { ...prev, attributes }
  }
  return out
}

async function blockBundleAt(ledger: Ledger, height: number): Promise<Bundle> {
  const [block, receipts] = await Promise.all([ledger.getBlock(height), ledger.getReceipts(height)])
  if (block === undefined || receipts === undefined) {
    throw new ProvQueryError('ERR_PROV_QUERY_BAD_HEIGHT', `no block ${height}; the head is ${ledger.head?.height ?? '(no chain yet)'}`)
  }
  const stored = await blockProvRecords(ledger, height)
  const time = literal.dateTime(block.header.time).value
  const b = new RecordsBuilder()
  for (const [index, tx] of block.txs.entries()) {
    if (!receipts[index]!.ok) continue
    const activity = ledgerProvIds.tx(tx.id)
    const agent = ledgerProvIds.key(tx.signer)
    b.activity(activity, { startTime: time, endTime: time, attributes: { 'prov:type': literal.qualifiedName(`tom:${tx.type}`) } })
    b.agent(agent)
    b.wasAssociatedWith(activity, agent)
    for (const r of stored[index] ?? []) b.add(r)
  }
  return { id: ledgerProvIds.block(height), records: mergeElements(b.records) }
}

function checkHeight(ledger: Ledger, height: number, what: string): number {
  const head = ledger.head?.height
  if (!Number.isSafeInteger(height) || height < 0 || head === undefined || height > head) {
    throw new ProvQueryError('ERR_PROV_QUERY_BAD_HEIGHT', `${what} must be an integer from 0 to the head ${head ?? '(no chain yet)'}, not ${height}`)
  }
  return height
}

/** Block `height` as a bundle `tom:block/<height>`. */
export async function blockBundle(ledger: Ledger, height: number, options: Signal = {}): Promise<Bundle> {
  checkHeight(ledger, height, 'height')
  options.signal?.throwIfAborted()
  return blockBundleAt(ledger, height)
}

/** A document holding block `height`'s bundle. */
export async function blockDocument(ledger: Ledger, height: number, options: Signal = {}): Promise<ProvDocument> {
  return normaliseDocument({ prefixes: provExportPrefixes, records: [], bundles: [await blockBundle(ledger, height, options)] })
}

function checkRange(ledger: Ledger, range: { from?: number; to?: number }): { from: number; to: number } {
  const from = checkHeight(ledger, range.from ?? 0, 'from')
  const to = checkHeight(ledger, range.to ?? ledger.head!.height, 'to')
  if (to < from) throw new ProvQueryError('ERR_PROV_QUERY_BAD_HEIGHT', `the range ends (${to}) before it starts (${from})`)
  return { from, to }
}

/** The bundles of blocks `from` (default 0) to `to` (default the head), one at a time: for a ledger of any size. */
export async function* ledgerBundles(ledger: Ledger, range: { from?: number; to?: number } = {}, options: Signal = {}): AsyncGenerator<Bundle> {
  const { from, to } = checkRange(ledger, range)
  for (let height = from; height <= to; height++) {
    options.signal?.throwIfAborted()
    yield blockBundleAt(ledger, height)
  }
}

/** Blocks `from` to `to` as one document, one bundle per block; at most provExportBlocksMax blocks. */
export async function ledgerDocument(ledger: Ledger, range: { from?: number; to?: number } = {}, options: Signal = {}): Promise<ProvDocument> {
  const { from, to } = checkRange(ledger, range)
  if (to - from + 1 > provExportBlocksMax) {
    throw new ProvQueryError('ERR_PROV_QUERY_LIMIT', `one document holds at most ${provExportBlocksMax} blocks; export longer ranges with ledgerBundles`)
  }
  const bundles: Bundle[] = []
  for await (const bundle of ledgerBundles(ledger, { from, to }, options)) bundles.push(bundle)
  return normaliseDocument({ prefixes: provExportPrefixes, records: [], bundles })
}

/** The lineage subgraph of `start` (see ProvQueries.lineage) as a document. */
export async function lineageExport(
  queries: ProvQueries,
  start: QualifiedName,
  direction: LineageDirection,
  options: { depth?: number; limit?: number } & Signal = {}
): Promise<ProvDocument> {
  return lineageDocument(await queries.lineage(start, direction, options), provExportPrefixes)
}
