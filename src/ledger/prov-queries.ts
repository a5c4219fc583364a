/**
 * Provenance queries over a Ledger, answered from its indexes (provenance.ts) and never by scanning
 * the chain: lineage backward and forward, who touched X, everything an agent did, the history of X,
 * the state of X at a height, and the historian (every tx with its type, signer, time, height and
 * receipt, in Hyperledger Composer's sense) by height range or by signer.
 *
 * The index stores what contracts asserted; the three records every committed tx implies (its
 * activity `tom:tx/<id>`, its signer agent `tom:key/<hex>` and their association) are not stored.
 * LedgerLineageIndex answers for them as if they were, so that src/prov's queries see one graph:
 * the association of a tx activity is read from the tx index (ledger.txSummary), the txs of a signer
 * from the agent index `a/<agent>\x01<pos>`. In chain order a tx's implied association comes before
 * the records the tx stored (`<pos>` sorts before `<pos>.<n>`), as if the ledger had asserted it first.
 *
 * The edges at a tx's own activity are not stored either (provenance.ts): they are read from that
 * tx's records and merged in at their position.
 *
 * Every query checks its inputs (ProvQueryError) and has a limit; paged queries return a cursor.
 */
import { concatBytes, decode, fromHex, toHex } from '../crypto/index.js'
import { activitiesOf as activitiesOfIndex, isQualifiedName, lineage as lineageOfIndex, lineageDepthDefault, lineageDepthMax, lineageResultsDefault, lineageResultsMax, qualifiedNameCharsMax, relationKinds, whoTouched as whoTouchedOfIndex } from '../prov/index.js'
import type { LineageDirection, LineageEdge, LineageIndex, LineageResult, ProvEvent, ProvPosition, ProvRecord, QualifiedName, RecordKind, RelationKind, WhoTouchedResult } from '../prov/index.js'
import type { Block } from './block.js'
import { layout } from './layout.js'
import type { Ledger, Receipt } from './ledger.js'
import { decodeBlockProvRecords, decodeEdge, decodeProvNode, edgeTail, isKeyAgent, kindsOfId, ledgerProvIds, numberedEdges, parseTxPosition, provKeys, txIdOfActivity, txPosition } from './provenance.js'
import type { ProvNode } from './provenance.js'

/** Default number of txs one historian page returns. */
export const historianEntriesDefault = 1000
/** Most txs one historian page returns. */
export const historianEntriesMax = 10_000
/** Most blocks one historian page reads (bounds the work over a long run of empty blocks). */
export const historianBlocksScannedMax = 10_000
/** Most blocks one query keeps decoded while it runs (a historian or activities page reads each block once). */
export const queryBlockCacheEntriesMax = 64

export const provQueryErrorCodes = {
  ERR_PROV_QUERY_BAD_ID: 'a provenance query names an id that is not a qualified name, or a signer that is not a tom:key/<64 hex> agent or a 32-byte key',
  ERR_PROV_QUERY_BAD_HEIGHT: 'a provenance query names a height that is not an integer from 0 to the chain head, or a range whose end is before its start',
  ERR_PROV_QUERY_BAD_CURSOR: 'a paged provenance query was given a cursor that is not one a page of that query returns'
} as const
export type ProvQueryCode = keyof typeof provQueryErrorCodes

/** Bad input to a provenance query. A limit out of range has src/prov's code, ERR_PROV_QUERY_LIMIT. */
export class ProvQueryError extends Error {
  override readonly name = 'ProvQueryError'
  constructor(
    readonly code: ProvQueryCode | 'ERR_PROV_QUERY_LIMIT',
    message: string
  ) {
    super(message)
  }
}

/** One committed (or failed) tx as the historian lists it. */
export interface HistorianEntry {
  /** The tx id, hex. */
  readonly id: string
  readonly activity: QualifiedName
  readonly type: string
  /** The signer's public key, hex. */
  readonly signer: string
  readonly agent: QualifiedName
  readonly height: number
  readonly index: number
  /** The block time, ms since the epoch: the tx activity's start and end. */
  readonly time: number
  readonly receipt: Receipt
}

export interface HistorianPage {
  readonly entries: readonly HistorianEntry[]
  /** Pass as `cursor` for the next page; absent when the query is complete. */
  readonly next?: string
}

/** One association of an agent with an activity, with the position of the tx that recorded it. */
export interface AgentActivity {
  readonly activity: QualifiedName
  readonly at: ProvPosition
  /** True for a tx's association with its signer (implied by the tx, never stored). */
  readonly implied: boolean
  /** The tx, when the activity is a committed tx `tom:tx/<id>`. */
  readonly tx?: HistorianEntry
}

export interface AgentActivities {
  readonly agent: QualifiedName
  readonly activities: readonly AgentActivity[]
  readonly truncated: boolean
  readonly next?: string
}

/** One index edge touching X, where it was recorded. */
export interface HistoryEvent {
  readonly at: ProvPosition
  /** `backward`: X is the relation's first argument; `forward`: its second. */
  readonly direction: LineageDirection
  readonly edge: LineageEdge
  readonly implied: boolean
}

export interface ProvHistory {
  readonly id: QualifiedName
  /** What X was declared as (tom:tx/ activities and tom:key/ agents are implied). */
  readonly kinds: readonly RecordKind[]
  readonly generation?: ProvEvent
  readonly invalidation?: ProvEvent
  readonly firstUse?: ProvEvent
  /** In chain order. */
  readonly events: readonly HistoryEvent[]
  readonly truncated: boolean
  readonly next?: string
}

export interface ProvStateAt {
  readonly id: QualifiedName
  readonly height: number
  /** X's generation, if it happened at or before `height`. */
  readonly generation?: ProvEvent
  /** X's invalidation, if it happened at or before `height`. */
  readonly invalidation?: ProvEvent
  /** Generated by `height` and not invalidated by then. */
  readonly live: boolean
  /** The world-state key that holds X (see ProvQueriesOptions.stateKeyOf), and its value after block `height`. */
  readonly stateKey?: string
  readonly value?: Uint8Array
}

export interface ProvQueriesOptions {
  /**
   * Where the world state keeps the thing an id names (e.g. `tom:data/<id>` → `data/<id>`), for
   * stateAt. The contracts decide that mapping; the ledger does not know it.
   */
  readonly stateKeyOf?: (id: QualifiedName) => string | undefined
}

type Signal = { readonly signal?: AbortSignal }

const sep = '\u0001'
const utf8 = new TextDecoder()
const cursorPattern = /^\d{12}\.\d{6}(\.\d{4})?( [bf])?$/

function checkId(id: QualifiedName, what: string): void {
  if (typeof id !== 'string' || !isQualifiedName(id)) {
    throw new ProvQueryError('ERR_PROV_QUERY_BAD_ID', `${what} must be a qualified name (prefix:local, at most ${qualifiedNameCharsMax} characters), not ${JSON.stringify(String(id).slice(0, 80))}`)
  }
}

function checkCount(value: number | undefined, fallback: number, max: number, what: string): number {
  const v = value ?? fallback
  if (!Number.isSafeInteger(v) || v < 0 || v > max) throw new ProvQueryError('ERR_PROV_QUERY_LIMIT', `${what} must be an integer in [0, ${max}], not ${v}`)
  return v
}

function checkCursor(cursor: string | undefined, withDirection: boolean): string | undefined {
  if (cursor === undefined) return undefined
  if (typeof cursor !== 'string' || !cursorPattern.test(cursor) || cursor.includes(' ') !== withDirection) {
    throw new ProvQueryError('ERR_PROV_QUERY_BAD_CURSOR', `not a cursor of this query: ${JSON.stringify(String(cursor).slice(0, 40))}`)
  }
  return cursor
}

/** The `<pos>` or `<pos>.<n>` that ends an index key. */
function tailOf(key: string): string {
  return key.slice(key.lastIndexOf(sep) + 1)
}

/** Where a paged scan resumes: after the key ending in `tail`, or (inclusive) at it. */
interface ScanStart {
  readonly tail: string
  readonly inclusive: boolean
}

/** Index records under `prefix` from `start` (all without it), at most `limit`, in key order. */
async function scanFrom(ledger: Ledger, prefix: string, start: ScanStart | undefined, limit: number): Promise<[string, Uint8Array][]> {
  if (limit <= 0) return []
  if (start === undefined) return ledger.scanProv(prefix, limit)
  const out: [string, Uint8Array][] = []
  const from = layout.prov(prefix + start.tail)
  // UTF-8 never holds 0xff, so this bounds every key that extends the prefix.
  const lt = concatBytes(layout.prov(prefix), Uint8Array.of(0xff))
  const range = start.inclusive ? { gte: from, lt, limit } : { gt: from, lt, limit }
  for await (const [key, value] of ledger.records(range)) out.push([utf8.decode(key.subarray(1)), value])
  return out
}

/** What the index holds for `id` (its declared kinds and events), or undefined when nothing. */
export async function provNodeOf(ledger: Ledger, id: QualifiedName): Promise<ProvNode | undefined> {
  const raw = await ledger.getProvRecord(provKeys.node(id))
  return raw === undefined ? undefined : decodeProvNode(raw)
}

/** The contract records of each tx of block `height` (null: none, or the tx failed); empty past the head. */
export async function blockProvRecords(ledger: Ledger, height: number): Promise<(ProvRecord[] | null)[]> {
  const raw = await ledger.getProvRecord(provKeys.blockRecords(height), { cache: false })
  return raw === undefined ? [] : decodeBlockProvRecords(raw)
}

/** The contract records the tx at `at` asserted (none when it asserted none or failed). */
export async function txProvRecords(ledger: Ledger, at: ProvPosition): Promise<ProvRecord[]> {
  return (await blockProvRecords(ledger, at.height))[at.index] ?? []
}

/**
 * Blocks and receipts read during one query, each decoded once. Bounded: a query over many blocks
 * keeps only the most recent ones.
 */
class BlockReader {
  readonly #cache = new Map<number, Promise<{ block: Block; receipts: Receipt[] }>>()
  constructor(readonly ledger: Ledger) {}

  read(height: number): Promise<{ block: Block; receipts: Receipt[] }> {
    let entry = this.#cache.get(height)
    if (entry === undefined) {
      entry = this.#load(height)
      if (this.#cache.size >= queryBlockCacheEntriesMax) this.#cache.delete(this.#cache.keys().next().value!)
      this.#cache.set(height, entry)
    }
    return entry
  }

  async #load(height: number): Promise<{ block: Block; receipts: Receipt[] }> {
    const [block, receipts] = await Promise.all([this.ledger.getBlock(height), this.ledger.getReceipts(height)])
    // The index names positions in the chain: a block or receipt missing there is corruption.
    if (block === undefined || receipts === undefined || receipts.length !== block.txs.length) {
      throw new Error(`assertion: block ${height} or its receipts are missing or disagree`)
    }
    return { block, receipts }
  }

  async entry(at: ProvPosition): Promise<HistorianEntry> {
    const { block, receipts } = await this.read(at.height)
    const tx = block.txs[at.index]
    if (tx === undefined) throw new Error(`assertion: block ${at.height} has no tx ${at.index}`)
    return {
      id: toHex(tx.id),
      activity: ledgerProvIds.tx(tx.id),
      type: tx.type,
      signer: toHex(tx.signer),
      agent: ledgerProvIds.key(tx.signer),
      height: at.height,
      index: at.index,
      time: block.header.time,
      receipt: receipts[at.index]!
    }
  }
}

interface PositionedEdge {
  readonly edge: LineageEdge
  /** The `<pos>` or `<pos>.<n>` of the index key: lexical order is chain order. */
  readonly tail: string
  readonly implied: boolean
}

/**
 * src/prov's LineageIndex over the ledger's stored index, with the implied associations of every
 * committed tx. One prefix scan per call (two for a signer's associations, merged by position).
 */
export class LedgerLineageIndex implements LineageIndex {
  /**
   * The numbered edges of each tx activity's own records, read once per query: a query asks for them
   * once per relation and direction, and each read decodes the records of the tx's whole block.
   */
  readonly #own = new Map<QualifiedName, Promise<{ at: ProvPosition; edges: { edge: LineageEdge; n: number }[] } | undefined>>()

  constructor(
    readonly ledger: Ledger,
    readonly signal?: AbortSignal
  ) {}

  async edges(node: QualifiedName, direction: LineageDirection, relation: RelationKind, limit: number): Promise<readonly LineageEdge[]> {
    return (await this.positionedEdges(node, direction, relation, limit)).map((e) => e.edge)
  }

  /** The edges with where they were recorded, in chain order; from `start`, to page. */
  async positionedEdges(node: QualifiedName, direction: LineageDirection, relation: RelationKind, limit: number, start?: ScanStart): Promise<PositionedEdge[]> {
    this.signal?.throwIfAborted()
    if (limit <= 0) return []
    const stored = (await scanFrom(this.ledger, provKeys.edgePrefix(direction, node, relation), start, limit)).map(
      ([key, value]): PositionedEdge => ({ edge: decodeEdge(key, value), tail: tailOf(key), implied: false })
    )
    const own = await this.#ownEdges(node, direction, relation, start)
    const implied = relation !== 'wasAssociatedWith' ? [] : direction === 'backward' ? await this.#signerOf(node, start) : await this.#signedBy(node, start, limit)
    if (own.length === 0 && implied.length === 0) return stored
    return [...implied, ...own, ...stored].sort((a, b) => (a.tail < b.tail ? -1 : a.tail > b.tail ? 1 : 0)).slice(0, limit)
  }

  /** The edges at a committed tx's activity that the tx's own records assert (provenance.ts does not store them). */
  async #ownEdges(activity: QualifiedName, direction: LineageDirection, relation: RelationKind, start: ScanStart | undefined): Promise<PositionedEdge[]> {
    if (txIdOfActivity(activity) === undefined) return []
    let own = this.#own.get(activity)
    if (own === undefined) {
      own = this.#readOwn(activity)
      if (this.#own.size >= queryBlockCacheEntriesMax) this.#own.delete(this.#own.keys().next().value!)
      this.#own.set(activity, own)
    }
    const found = await own
    if (found === undefined) return []
    const out: PositionedEdge[] = []
    for (const { edge, n } of found.edges) {
      if (edge.relation !== relation || (direction === 'backward' ? edge.from : edge.to) !== activity) continue
      const tail = edgeTail(found.at, n)
      if (start !== undefined && (start.inclusive ? tail < start.tail : tail <= start.tail)) continue
      out.push({ edge, tail, implied: false })
    }
    return out
  }

  async #readOwn(activity: QualifiedName): Promise<{ at: ProvPosition; edges: { edge: LineageEdge; n: number }[] } | undefined> {
    const record = await this.ledger.txSummary(fromHex(txIdOfActivity(activity)!))
    if (record === undefined || !record.ok) return undefined
    return { at: record, edges: numberedEdges(await txProvRecords(this.ledger, record)) }
  }

  /** The implied association of a committed tx activity with its signer. */
  async #signerOf(activity: QualifiedName, start: ScanStart | undefined): Promise<PositionedEdge[]> {
    const hex = txIdOfActivity(activity)
    if (hex === undefined) return []
    const record = await this.ledger.txSummary(fromHex(hex))
    if (record === undefined || !record.ok) return []
    const tail = txPosition(record)
    if (start !== undefined && (start.inclusive ? tail < start.tail : tail <= start.tail)) return []
    return [{ edge: { relation: 'wasAssociatedWith', from: activity, to: ledgerProvIds.key(record.signer) }, tail, implied: true }]
  }

  /** The implied associations of the txs a key signed, from the agent index. */
  async #signedBy(agent: QualifiedName, start: ScanStart | undefined, limit: number): Promise<PositionedEdge[]> {
    if (!isKeyAgent(agent)) return []
    return (await scanFrom(this.ledger, provKeys.agentPrefix(agent), start, limit)).map(([key, txId]) => ({
      edge: { relation: 'wasAssociatedWith', from: ledgerProvIds.tx(txId), to: agent },
      tail: tailOf(key),
      implied: true
    }))
  }
}

/** Provenance and historian queries over one ledger. Reads only; safe to use while blocks are applied. */
export class ProvQueries {
  readonly #ledger: Ledger
  readonly #stateKeyOf: ((id: QualifiedName) => string | undefined) | undefined

  constructor(ledger: Ledger, options: ProvQueriesOptions = {}) {
    this.#ledger = ledger
    this.#stateKeyOf = options.stateKeyOf
  }

  /** The lineage index these queries read, for src/prov functions not wrapped here. */
  index(options: Signal = {}): LedgerLineageIndex {
    return new LedgerLineageIndex(this.#ledger, options.signal)
  }

  /** Backward (what `start` came from) or forward (what came from it) lineage; see src/prov lineage(). */
  async lineage(start: QualifiedName, direction: LineageDirection, options: { depth?: number; limit?: number } & Signal = {}): Promise<LineageResult> {
    checkId(start, 'start')
    if (direction !== 'backward' && direction !== 'forward') throw new ProvQueryError('ERR_PROV_QUERY_BAD_ID', `direction is backward or forward, not ${String(direction)}`)
    const depth = checkCount(options.depth, lineageDepthDefault, lineageDepthMax, 'depth')
    const limit = checkCount(options.limit, lineageResultsDefault, lineageResultsMax, 'limit')
    return lineageOfIndex(this.index(options), start, direction, { depth, limit })
  }

  /** The activities that generated, used or invalidated `entity`, and the agents behind them (signers included). */
  async whoTouched(entity: QualifiedName, options: { limit?: number } & Signal = {}): Promise<WhoTouchedResult> {
    checkId(entity, 'entity')
    const limit = checkCount(options.limit, lineageResultsDefault, lineageResultsMax, 'limit')
    return whoTouchedOfIndex(this.index(options), entity, { limit })
  }

  /**
   * Everything an agent did, in chain order: the txs it signed (implied associations) and the
   * activities records associate it with, each tx with its type, height, time and receipt.
   */
  async activitiesOf(agent: QualifiedName, options: { limit?: number; cursor?: string } & Signal = {}): Promise<AgentActivities> {
    checkId(agent, 'agent')
    const limit = checkCount(options.limit, lineageResultsDefault, lineageResultsMax, 'limit')
    const after = checkCursor(options.cursor, false)
    const start = after === undefined ? undefined : { tail: after, inclusive: false }
    const found = await this.index(options).positionedEdges(agent, 'forward', 'wasAssociatedWith', limit + 1, start)
    const page = found.slice(0, limit)
    const blocks = new BlockReader(this.#ledger)
    const activities: AgentActivity[] = []
    for (const e of page) {
      options.signal?.throwIfAborted()
      const at = parseTxPosition(e.tail.slice(0, 19))
      const tx = e.implied ? await blocks.entry(at) : await this.#txEntry(e.edge.from, blocks)
      activities.push({ activity: e.edge.from, at, implied: e.implied, ...(tx === undefined ? {} : { tx }) })
    }
    const truncated = found.length > limit
    return { agent, activities, truncated, ...(truncated && page.length > 0 ? { next: page.at(-1)!.tail } : {}) }
  }

  /** Same answer as src/prov's activitiesOf over this index: the activity ids only. */
  async activityIdsOf(agent: QualifiedName, options: { limit?: number } & Signal = {}): Promise<{ activities: QualifiedName[]; truncated: boolean }> {
    checkId(agent, 'agent')
    const limit = checkCount(options.limit, lineageResultsDefault, lineageResultsMax, 'limit')
    return activitiesOfIndex(this.index(options), agent, { limit })
  }

  async #txEntry(activity: QualifiedName, blocks: BlockReader): Promise<HistorianEntry | undefined> {
    const hex = txIdOfActivity(activity)
    if (hex === undefined) return undefined
    const record = await this.#ledger.getTx(fromHex(hex))
    return record === undefined ? undefined : blocks.entry(record)
  }

  /**
   * Every index edge touching `id`, in chain order (both directions, every relation, with the
   * implied associations of a tx or a signer), and what the index knows of it: kinds, generation,
   * invalidation, first use. Paged: at most `limit` events, then `next`.
   */
  async history(id: QualifiedName, options: { limit?: number; cursor?: string } & Signal = {}): Promise<ProvHistory> {
    checkId(id, 'id')
    const limit = checkCount(options.limit, lineageResultsDefault, lineageResultsMax, 'limit')
    const cursor = checkCursor(options.cursor, true)
    const index = this.index(options)
    // Each (direction, relation) is one sorted key range; the first `limit + 1` of each suffice for
    // the first `limit + 1` of their merge. A page resumes AT the cursor's position: a record with X
    // as both arguments is two events there, and the page may have ended between them. The filter
    // below drops what was returned (at most one more per range, hence `limit + 2`).
    const start = cursor === undefined ? undefined : { tail: cursor.slice(0, cursor.indexOf(' ')), inclusive: true }
    const lists = await Promise.all(
      (['backward', 'forward'] as const).flatMap((direction) =>
        relationKinds.map(async (relation) =>
          (await index.positionedEdges(id, direction, relation, limit + 2, start)).map((e) => ({
            at: parseTxPosition(e.tail.slice(0, 19)),
            direction,
            edge: e.edge,
            implied: e.implied,
            order: `${e.tail} ${direction === 'backward' ? 'b' : 'f'}`
          }))
        )
      )
    )
    const merged = lists
      .flat()
      .filter((e) => cursor === undefined || e.order > cursor)
      .sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0))
    const page = merged.slice(0, limit)
    const truncated = merged.length > limit
    const node = await this.#node(id)
    const kinds = await this.#kindsOf(id, node)
    const { generation, invalidation, firstUse } = node ?? {}
    return {
      id,
      kinds,
      ...(generation === undefined ? {} : { generation }),
      ...(invalidation === undefined ? {} : { invalidation }),
      ...(firstUse === undefined ? {} : { firstUse }),
      events: page.map(({ order: _order, ...e }) => e),
      truncated,
      ...(truncated && page.length > 0 ? { next: page.at(-1)!.order } : {})
    }
  }

  /** As the constraint checks see it: stored kinds, plus the implied kinds of tx activities and signers. */
  async #kindsOf(id: QualifiedName, node: ProvNode | undefined): Promise<readonly RecordKind[]> {
    const hex = txIdOfActivity(id)
    const committed = hex !== undefined && (await this.#ledger.txSummary(fromHex(hex)))?.ok === true
    return kindsOfId(id, () => committed, () => node?.kinds)
  }

  #node(id: QualifiedName): Promise<ProvNode | undefined> {
    return provNodeOf(this.#ledger, id)
  }

  /**
   * X as of block `height`: generated (and not invalidated) by then, and the value of its state key
   * after that block (when a stateKeyOf mapping names one).
   */
  async stateAt(id: QualifiedName, height: number, options: Signal = {}): Promise<ProvStateAt> {
    checkId(id, 'id')
    this.#checkHeight(height, 'height')
    options.signal?.throwIfAborted()
    const { generation: generated, invalidation: invalidated } = (await this.#node(id)) ?? {}
    const generation = generated !== undefined && generated.at.height <= height ? generated : undefined
    const invalidation = invalidated !== undefined && invalidated.at.height <= height ? invalidated : undefined
    const stateKey = this.#stateKeyOf?.(id)
    const value = stateKey === undefined ? undefined : await this.#ledger.getStateAt(stateKey, height)
    return {
      id,
      height,
      ...(generation === undefined ? {} : { generation }),
      ...(invalidation === undefined ? {} : { invalidation }),
      live: generation !== undefined && invalidation === undefined,
      ...(stateKey === undefined ? {} : { stateKey }),
      ...(value === undefined ? {} : { value })
    }
  }

  #checkHeight(height: number, what: string): number {
    const head = this.#ledger.head?.height
    if (!Number.isSafeInteger(height) || height < 0 || head === undefined || height > head) {
      throw new ProvQueryError('ERR_PROV_QUERY_BAD_HEIGHT', `${what} must be an integer from 0 to the head ${head ?? '(no chain yet)'}, not ${height}`)
    }
    return height
  }

  /**
   * The historian over blocks `from` to `to` (inclusive): every tx, committed or failed, in chain
   * order. Paged by `limit` txs (and historianBlocksScannedMax blocks), then `next`.
   */
  async historian(range: { from: number; to: number }, options: { limit?: number; cursor?: string } & Signal = {}): Promise<HistorianPage> {
    const from = this.#checkHeight(range.from, 'from')
    const to = this.#checkHeight(range.to, 'to')
    if (to < from) throw new ProvQueryError('ERR_PROV_QUERY_BAD_HEIGHT', `the range ends (${to}) before it starts (${from})`)
    const limit = checkCount(options.limit, historianEntriesDefault, historianEntriesMax, 'limit')
    const cursor = checkCursor(options.cursor, false)
    // A historian cursor is the position where the next page starts.
    const start = cursor === undefined ? { height: from, index: 0 } : parseTxPosition(cursor)
    if (start.height < from || start.height > to) throw new ProvQueryError('ERR_PROV_QUERY_BAD_CURSOR', `cursor ${cursor} is outside blocks ${from} to ${to}`)
    const blocks = new BlockReader(this.#ledger)
    const entries: HistorianEntry[] = []
    let scanned = 0
    for (let height = start.height; height <= to; height++) {
      options.signal?.throwIfAborted()
      if (scanned++ >= historianBlocksScannedMax) return { entries, next: txPosition({ height, index: 0 }) }
      const { block } = await blocks.read(height)
      for (let index = height === start.height ? start.index : 0; index < block.txs.length; index++) {
        if (entries.length >= limit) return { entries, next: txPosition({ height, index }) }
        entries.push(await blocks.entry({ height, index }))
      }
    }
    return { entries }
  }

  /** The historian of one signer (a `tom:key/<hex>` agent or its 32-byte key): the txs it signed that committed, in chain order. */
  async historianOfSigner(signer: QualifiedName | Uint8Array, options: { limit?: number; cursor?: string } & Signal = {}): Promise<HistorianPage> {
    const agent = signer instanceof Uint8Array && signer.length === 32 ? ledgerProvIds.key(signer) : signer
    if (typeof agent !== 'string' || !isKeyAgent(agent)) throw new ProvQueryError('ERR_PROV_QUERY_BAD_ID', 'signer must be a tom:key/<64 hex> agent or a 32-byte public key')
    const limit = checkCount(options.limit, historianEntriesDefault, historianEntriesMax, 'limit')
    const after = checkCursor(options.cursor, false)
    const found = await scanFrom(this.#ledger, provKeys.agentPrefix(agent), after === undefined ? undefined : { tail: after, inclusive: false }, limit + 1)
    const blocks = new BlockReader(this.#ledger)
    const entries: HistorianEntry[] = []
    for (const [key] of found.slice(0, limit)) {
      options.signal?.throwIfAborted()
      entries.push(await blocks.entry(parseTxPosition(tailOf(key))))
    }
    return found.length > limit && entries.length > 0 ? { entries, next: tailOf(found[limit - 1]![0]) } : { entries }
  }
}
