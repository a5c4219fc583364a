/**
 * Provenance of every committed tx, kept by the ledger at apply time.
 *
 * Each committed tx is a PROV activity `tom:tx/<id>` (typed by its tx type, at the block time),
 * associated with its signer, the agent `tom:key/<hex>`. Those three records are implied by the tx
 * itself and never stored: the ledger answers for them from the tx index, and exports spell them out.
 * A contract adds what the tx generated, used, derived, attributed, invalidated (StateWriter.prov).
 * Before the tx commits its records are checked against PROV-CONSTRAINTS (src/prov) over the index
 * below, so a violation fails the tx like any contract error, and nothing of it is kept.
 *
 * The index lives in its own keyspace (layout.prov): written in the block's batch, all or nothing
 * per tx, without per-height history and outside the state digest. It follows deterministically from
 * the chain (receipts, which are in the digest, say which txs committed), and `verify` re-derives and
 * compares every record of it.
 *
 * Index keys (strings; values CBOR unless said):
 *   n/<id>                          node          what the index knows of an id, in one record (one read for
 *                                                 the checks, one write per tx that adds to it):
 *                                                 [kinds, generation, invalidation, first use], the kinds it
 *                                                 was declared as (not the implied ones of tom:tx/ activities
 *                                                 and tom:key/ agents), each event of an entity null or
 *                                                 [height, index, activity | null, time | null]
 *   b/<from>\x01<relation>\x01<pos> <to>[\x01<id>]   for backward lineage (from = the relation's first argument)
 *   f/<to>\x01<relation>\x01<pos>   <from>[\x01<id>] for forward lineage (to = its second argument)
 *   a/<agent>\x01<pos>              tx id (raw)   every tx an agent (tom:key/<hex>) signed
 *   t/<height>                      records       the contract's records of each tx of the block (exports; a
 *                                                 block is a bundle): one array, a slot per tx in block order,
 *                                                 null where a tx asserted none or failed; each tx's records in
 *                                                 the positional form of encodeTxProvRecords
 * Edge values are the UTF-8 of the other end (and the relation's id, when it has one), not CBOR:
 * the key holds the rest, and a tx writes several edges.
 * <pos> is the height (12 digits), then the tx's index in its block (6), then for edges the record's
 * number in the tx (4): lexical order is chain order.
 *
 * An edge at the asserting tx's own activity (the `f/` edge of `wasGeneratedBy(e, tom:tx/<own>)`, the
 * `b/` edge of `used(tom:tx/<own>, e)`) is not stored: the tx's records, one read away through the tx
 * index, hold it, and prov-queries.ts answers for it as if it were stored. Most txs relate their own
 * activity, and each index record costs every node its write and its share of LevelDB's compactions.
 * The records of a block are one index record, not one per tx, for the same reason.
 */
import { decode, encode, toHex } from '../crypto/index.js'
import { checkDocument, checkProvRecords, isElement, provIndexReads, lineageEdges, normaliseRecord, ProvConstraintError, ProvFormatError, relationArgument, relationSpecs, tomNamespace } from '../prov/index.js'
import type { Attribute, LineageDirection, LineageEdge, LiteralType, ProvEvent, ProvIndex, ProvIndexReads, ProvPosition, ProvRecord, QualifiedName, RecordKind, RelationKind } from '../prov/index.js'
import { TxFailedError } from './errors.js'
import type { Tx } from './tx.js'

/** Most PROV records one tx may assert. */
export const txProvRecordsMax = 256

/** Where contracts put the PROV records of the tx they run. */
export interface ProvSink {
  add(...records: ProvRecord[]): void
}

const sep = '\u0001'
const utf8 = new TextEncoder()
const utf8Decoder = new TextDecoder()
const txPrefix = 'tom:tx/'
const keyPrefix = 'tom:key/'

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0')
}

/** `<height>.<index>`: a tx's place in the chain, as index keys spell it. */
export function txPosition(at: ProvPosition): string {
  return `${pad(at.height, 12)}.${pad(at.index, 6)}`
}

export function parseTxPosition(pos: string): ProvPosition {
  const [height, index] = pos.split('.')
  return { height: Number(height), index: Number(index) }
}

export const provKeys = {
  node: (id: QualifiedName): string => `n/${id}`,
  /** Prefix of the edges of one relation at one node; with relation undefined, of every relation there. */
  edgePrefix: (direction: LineageDirection, node: QualifiedName, relation?: RelationKind): string =>
    `${direction === 'backward' ? 'b' : 'f'}/${node}${sep}${relation === undefined ? '' : relation + sep}`,
  edge: (direction: LineageDirection, node: QualifiedName, relation: RelationKind, at: ProvPosition, n: number): string =>
    `${provKeys.edgePrefix(direction, node, relation)}${edgeTail(at, n)}`,
  agentPrefix: (agent: QualifiedName): string => `a/${agent}${sep}`,
  agentTx: (agent: QualifiedName, at: ProvPosition): string => `${provKeys.agentPrefix(agent)}${txPosition(at)}`,
  blockRecords: (height: number): string => `t/${pad(height, 12)}`
}

/** The `<pos>.<n>` that ends the key of a tx's n-th edge. */
export function edgeTail(at: ProvPosition, n: number): string {
  return `${txPosition(at)}.${pad(n, 4)}`
}

/** The lineage edges of one tx's records, each with its number in the tx (as index keys number them). */
export function numberedEdges(records: readonly ProvRecord[]): { edge: LineageEdge; n: number }[] {
  const out: { edge: LineageEdge; n: number }[] = []
  for (const record of records) for (const edge of lineageEdges(record)) out.push({ edge, n: out.length })
  return out
}

/** The position at the end of an index key that ends with `<pos>` (edges and agent keys). */
export function positionOfKey(key: string): ProvPosition {
  const tail = key.slice(key.lastIndexOf(sep) + 1)
  return parseTxPosition(tail)
}

/** The PROV ids the ledger itself gives. */
export const ledgerProvIds = {
  tx: (txId: Uint8Array): QualifiedName => `${txPrefix}${toHex(txId)}`,
  key: (publicKey: Uint8Array): QualifiedName => `${keyPrefix}${toHex(publicKey)}`,
  block: (height: number): QualifiedName => `tom:block/${height}`
}

/** The tx id a `tom:tx/<hex>` name stands for, or undefined. */
export function txIdOfActivity(id: QualifiedName): string | undefined {
  if (!id.startsWith(txPrefix)) return undefined
  const hex = id.slice(txPrefix.length)
  return /^[0-9a-f]{64}$/.test(hex) ? hex : undefined
}

/** True for `tom:key/<64 hex>`: every signing key is an agent, declared or not. */
export function isKeyAgent(id: QualifiedName): boolean {
  // A loop, not a regular expression: the constraint checks ask this of every argument of every relation.
  if (id.length !== keyPrefix.length + 64 || !id.startsWith(keyPrefix)) return false
  for (let i = keyPrefix.length; i < id.length; i++) {
    const c = id.charCodeAt(i)
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false
  }
  return true
}

/**
 * The kinds the index gives `id`: a tx activity is an activity when its tx committed, a signing key is
 * always an agent (besides what it was declared as), anything else what was stored for it.
 */
export function kindsOfId(id: QualifiedName, txCommitted: (idHex: string) => boolean, stored: () => readonly RecordKind[] | undefined): readonly RecordKind[] {
  const hex = txIdOfActivity(id)
  if (hex !== undefined) return txCommitted(hex) ? ['activity'] : []
  const kinds = stored() ?? []
  return isKeyAgent(id) && !kinds.includes('agent') ? [...kinds, 'agent'] : kinds
}

/** What the indexer reads: the index as the tx sees it, and whether a tx committed before it. */
export interface ProvIndexView {
  get(key: string): Uint8Array | undefined
  /** Whether the tx with this id (hex) committed (ok receipt) before the current one. */
  txCommitted(idHex: string): boolean
}

/**
 * The constraint index over the stored records, with the ledger's implied activities and agents: what
 * the check of one tx reads (provIndexReads), loaded before it so that the check runs synchronously.
 */
class LoadedProvIndex implements ProvIndex {
  readonly #kinds = new Map<QualifiedName, readonly RecordKind[]>()
  /** What `n/<id>` holds (undefined when nothing): what a tx's facts add to. */
  readonly #nodes = new Map<QualifiedName, ProvNode | undefined>()

  static load(reads: ProvIndexReads, ownActivity: QualifiedName, view: ProvIndexView): LoadedProvIndex {
    const index = new LoadedProvIndex()
    const node = (id: QualifiedName): ProvNode | undefined => {
      if (index.#nodes.has(id)) return index.#nodes.get(id)
      // The tx's own activity is new: nothing is stored for it.
      const raw = id === ownActivity ? undefined : view.get(provKeys.node(id))
      const found = raw === undefined ? undefined : decodeProvNode(raw)
      index.#nodes.set(id, found)
      return found
    }
    for (const id of reads.kinds) {
      const kinds = id === ownActivity ? ['activity' as const] : kindsOfId(id, (hex) => view.txCommitted(hex), () => node(id)?.kinds)
      index.#kinds.set(id, kinds)
      node(id)
    }
    for (const entity of reads.events) node(entity)
    return index
  }

  kindsOf(id: QualifiedName): readonly RecordKind[] {
    return loaded(this.#kinds, id, 'kinds')
  }

  /** What is stored for `id`, as loaded. */
  nodeOf(id: QualifiedName): ProvNode | undefined {
    return loaded(this.#nodes, id, 'index record')
  }

  generationOf(entity: QualifiedName): ProvEvent | undefined {
    return this.nodeOf(entity)?.generation
  }

  invalidationOf(entity: QualifiedName): ProvEvent | undefined {
    return this.nodeOf(entity)?.invalidation
  }

  firstUseOf(entity: QualifiedName): ProvEvent | undefined {
    return this.nodeOf(entity)?.firstUse
  }
}

function loaded<T>(map: Map<QualifiedName, T>, id: QualifiedName, what: string): T {
  if (!map.has(id)) throw new Error(`assertion: the ${what} of ${id} was not loaded before the PROV check`)
  return map.get(id) as T
}

function provFailure(err: unknown): never {
  if (err instanceof ProvConstraintError || err instanceof ProvFormatError) throw new TxFailedError(err.code, err.message)
  throw err
}

/**
 * Checks the contract's `records` for `tx` at `at` and writes the index records with `put` (the
 * caller keeps them with the tx's other writes). Returns the records normalised: the caller keeps
 * them in the block's `t/` record (encodeBlockProvRecords). Throws TxFailedError with a PROV code on
 * a malformed record or a constraint violation; nothing is written then.
 */
export function indexTxProvenance(tx: Tx, records: readonly ProvRecord[], at: ProvPosition, view: ProvIndexView, put: (key: string, value: Uint8Array) => void): ProvRecord[] {
  if (records.length > txProvRecordsMax) throw new TxFailedError('ERR_PROV_TOO_MANY_RECORDS', `a tx asserts at most ${txProvRecordsMax} PROV records`)
  const activity = ledgerProvIds.tx(tx.id)
  let normalised: ProvRecord[]
  let index: LoadedProvIndex
  let facts
  try {
    normalised = records.map(normaliseRecord)
    // Names with declared prefixes (tom, prov, xsd), literals that fit their types, no id twice.
    checkDocument({ prefixes: { tom: tomNamespace }, records: normalised, bundles: [] })
    for (const r of normalised) {
      // The ledger alone names tx activities: a contract may relate its own tx's, never declare one.
      if (isElement(r) && r.id.startsWith(txPrefix)) {
        throw new TxFailedError('ERR_PROV_RESERVED_ID', `${r.id}: tom:tx/ ids are the ledger's; a contract refers to its own as ${activity}`)
      }
    }
    index = LoadedProvIndex.load(provIndexReads(normalised), activity, view)
    facts = checkProvRecords(normalised, at, index)
  } catch (err) {
    provFailure(err)
  }
  const nodes = new Map<QualifiedName, { kinds: RecordKind[]; generation?: ProvEvent; invalidation?: ProvEvent; firstUse?: ProvEvent }>()
  const changed = (id: QualifiedName) => {
    let node = nodes.get(id)
    if (node === undefined) {
      const stored = index.nodeOf(id)
      node = { ...stored, kinds: [...(stored?.kinds ?? [])] }
      nodes.set(id, node)
    }
    return node
  }
  for (const fact of facts) {
    switch (fact.type) {
      case 'kind':
        // Implied kinds are never stored: the constraint index answers for them.
        if (!(fact.kind === 'agent' && isKeyAgent(fact.id))) changed(fact.id).kinds.push(fact.kind)
        break
      case 'generation':
        changed(fact.entity).generation = fact.event
        break
      case 'invalidation':
        changed(fact.entity).invalidation = fact.event
        break
      case 'firstUse':
        changed(fact.entity).firstUse = fact.event
        break
    }
  }
  for (const [id, node] of nodes) put(provKeys.node(id), encodeProvNode(node))
  for (const { edge, n } of numberedEdges(normalised)) {
    const id = edge.id === undefined ? '' : sep + edge.id
    if (edge.from !== activity) put(provKeys.edge('backward', edge.from, edge.relation, at, n), utf8.encode(edge.to + id))
    if (edge.to !== activity) put(provKeys.edge('forward', edge.to, edge.relation, at, n), utf8.encode(edge.from + id))
  }
  put(provKeys.agentTx(ledgerProvIds.key(tx.signer), at), tx.id)
  return normalised
}

/** What the index holds for one id (`n/<id>`): its declared kinds and, for an entity, its events. */
export interface ProvNode {
  readonly kinds: readonly RecordKind[]
  readonly generation?: ProvEvent
  readonly invalidation?: ProvEvent
  readonly firstUse?: ProvEvent
}

type EventRow = [number, number, string | null, string | null] | null

export function encodeProvNode(node: ProvNode): Uint8Array {
  return encode([node.kinds as RecordKind[], eventRow(node.generation), eventRow(node.invalidation), eventRow(node.firstUse)])
}

export function decodeProvNode(bytes: Uint8Array): ProvNode {
  const [kinds, generation, invalidation, firstUse] = decode<[RecordKind[], EventRow, EventRow, EventRow]>(bytes)
  const node: { kinds: RecordKind[]; generation?: ProvEvent; invalidation?: ProvEvent; firstUse?: ProvEvent } = { kinds }
  if (generation !== null) node.generation = eventOf(generation)
  if (invalidation !== null) node.invalidation = eventOf(invalidation)
  if (firstUse !== null) node.firstUse = eventOf(firstUse)
  return node
}

/** An event positionally: [height, index, activity | null, time | null]. */
function eventRow(event: ProvEvent | undefined): EventRow {
  return event === undefined ? null : [event.at.height, event.at.index, event.activity ?? null, event.time ?? null]
}

function eventOf([height, index, activity, time]: Exclude<EventRow, null>): ProvEvent {
  const at = { height, index }
  if (activity === null) return time === null ? { at } : { at, time }
  return time === null ? { at, activity } : { at, activity, time }
}

type Row = (string | null | Row)[]

function attributeRows(attributes: readonly Attribute[]): Row {
  return attributes.map((a) => (a.value.lang === undefined ? [a.name, a.value.value, a.value.type] : [a.name, a.value.value, a.value.type, a.value.lang]))
}

function attributesOf(rows: Row): Attribute[] {
  return (rows as string[][]).map(([name, value, type, lang]) => ({ name: name!, value: lang === undefined ? { value: value!, type: type as LiteralType } : { value: value!, type: type as LiteralType, lang } }))
}

/**
 * Normalised records in a positional form: each record an array (kind, then its fields in PROV-N
 * order, null where absent, then attributes as [name, value, type, lang?]). Five times cheaper to
 * encode than the records as CBOR maps, which each tx writes once.
 */
export function encodeTxProvRecords(records: readonly ProvRecord[]): Uint8Array {
  return encode(recordRows(records))
}

export function decodeTxProvRecords(bytes: Uint8Array): ProvRecord[] {
  return recordsOfRows(decode<Row[]>(bytes))
}

/**
 * The `t/<height>` record of a block: `records` holds the normalised records of the block's txs that
 * asserted any, by index; `txCount` is the block's number of txs.
 */
export function encodeBlockProvRecords(txCount: number, records: ReadonlyMap<number, readonly ProvRecord[]>): Uint8Array {
  const slots: (Row[] | null)[] = []
  for (let index = 0; index < txCount; index++) {
    const own = records.get(index)
    slots.push(own === undefined ? null : recordRows(own))
  }
  return encode(slots)
}

/** The records of each tx of a block (null: none) from its `t/<height>` record. */
export function decodeBlockProvRecords(bytes: Uint8Array): (ProvRecord[] | null)[] {
  return decode<(Row[] | null)[]>(bytes).map((rows) => (rows === null ? null : recordsOfRows(rows)))
}

function recordRows(records: readonly ProvRecord[]): Row[] {
  return records.map((r) => {
    if (isElement(r)) {
      const row: Row = [r.kind, r.id, attributeRows(r.attributes)]
      if (r.kind === 'activity') row.push(r.startTime ?? null, r.endTime ?? null)
      return row
    }
    const spec = relationSpecs[r.kind]
    const row: Row = [r.kind]
    for (const a of spec.args) row.push(relationArgument(r, a.field) ?? null)
    if (spec.identified) row.push(('id' in r ? r.id : undefined) ?? null, attributeRows('attributes' in r ? r.attributes : []))
    return row
  })
}

function recordsOfRows(rows: Row[]): ProvRecord[] {
  return rows.map((row) => {
    const kind = row[0] as RecordKind
    if (kind === 'entity' || kind === 'agent') return { kind, id: row[1] as string, attributes: attributesOf(row[2] as Row) }
    if (kind === 'activity') {
      const out: Record<string, unknown> = { kind, id: row[1], attributes: attributesOf(row[2] as Row) }
      if (row[3] !== null) out.startTime = row[3]
      if (row[4] !== null) out.endTime = row[4]
      return out as unknown as ProvRecord
    }
    const spec = relationSpecs[kind]
    const out: Record<string, unknown> = { kind }
    spec.args.forEach((a, i) => {
      if (row[i + 1] !== null) out[a.field] = row[i + 1]
    })
    if (spec.identified) {
      const id = row[spec.args.length + 1]
      if (id !== null) out.id = id
      out.attributes = attributesOf(row[spec.args.length + 2] as Row)
    }
    return out as unknown as ProvRecord
  })
}

/** The edge an index record stands for (a `b/` or `f/` key and its value). */
export function decodeEdge(key: string, value: Uint8Array): LineageEdge {
  const backward = key.startsWith('b/')
  if (!backward && !key.startsWith('f/')) throw new TypeError(`not an edge key: ${key}`)
  const [node, relation] = key.slice(2).split(sep) as [QualifiedName, RelationKind]
  const [other, id] = utf8Decoder.decode(value).split(sep) as [QualifiedName, QualifiedName | undefined]
  const [from, to] = backward ? [node, other] : [other, node]
  return id === undefined ? { relation, from, to } : { relation, from, to, id }
}
