/**
 * The ledger: validates a block against the chain it extends, executes its txs through a TxExecutor,
 * and writes the block, its receipts, the tx index, the world-state changes and their history and the
 * new head in ONE atomic, synced batch. A crash at any moment leaves either the whole block or none
 * of it. Reads: blocks by height or hash, txs and receipts by id, state now and as of a height.
 *
 * The state digest after block n is SHA-256 of the CBOR of [digest after n-1, n, the block's writes
 * sorted by key, the receipt codes]; block n+1 carries it as `stateRoot`, so every node checks that
 * it computed the same state. It commits to the state's history rather than being a Merkle tree of the
 * current state (no per-key proofs yet), which keeps it O(writes) per block.
 */
import { encode, decode, bytesEqual, compareBytes, concatBytes, fromHex, merkleRoot, sha256, toHex, hashBytes } from '../crypto/index.js'
import { inlineVerifier } from '../crypto/index.js'
import type { BatchVerifier, CborValue } from '../crypto/index.js'
import { decodeBlock, verifyBlockSignature, zeroHash } from './block.js'
import type { Block } from './block.js'
import { applySliceMs, ledgerFormat, provCacheEntriesMax, stateCacheEntriesMax, stateKeyBytesMax, stateValueBytesMax } from './constants.js'
import {
  BlockRejectedError,
  LedgerCorruptionError,
  LedgerFormatError,
  LedgerStateError,
  TxFailedError,
  TxRejectedError,
  txExecutionErrorCode
} from './errors.js'
import type { StateReader, StateWriter, TxExecutor } from './executor.js'
import { encodeBlockProvRecords, indexTxProvenance, provKeys } from './provenance.js'
import type { ProvSink } from './provenance.js'
import type { ProvRecord } from '../prov/index.js'
import type { KvOperation, KvRange, KvStore } from './kv.js'
import { StateCache } from './state-cache.js'
import { layout, readHeight, heightBytes } from './layout.js'
import { badSignature, checkTxExpiry, checkTxNetwork, decodeTx, verifyTxSignatures } from './tx.js'
import type { Tx } from './tx.js'

/** The outcome of one tx: ok, or a stable error code (and a human message, not part of any digest). */
export type Receipt = { readonly ok: true } | { readonly ok: false; readonly code: string; readonly message: string }

export interface ChainHead {
  readonly height: number
  readonly hash: Uint8Array
  readonly time: number
  /** The state digest after this block: the next block's stateRoot. */
  readonly stateDigest: Uint8Array
}

export interface AppliedBlock {
  readonly block: Block
  readonly receipts: readonly Receipt[]
}

/** A tx's entry in the tx index. */
export interface TxSummary {
  readonly height: number
  readonly index: number
  readonly signer: Uint8Array
  /** Whether its receipt is ok (it committed), or it failed. */
  readonly ok: boolean
}

export interface TxRecord {
  readonly tx: Tx
  readonly height: number
  readonly index: number
  readonly receipt: Receipt
}

/** The state digest before genesis. */
export const emptyStateDigest: Uint8Array = new Uint8Array(hashBytes)

const utf8 = new TextEncoder()
const utf8Decoder = new TextDecoder()

/** Lets timers and I/O run (setImmediate): a resolved promise would only let other microtasks in. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

export function checkStateKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0 || key.includes('\u0000') || utf8.encode(key).length > stateKeyBytesMax) {
    throw new TxFailedError('ERR_STATE_BAD_KEY', `state keys are 1 to ${stateKeyBytesMax} bytes of UTF-8 without NUL`)
  }
}

/** Writes of one block, then of one tx on top of them. */
class BlockState implements StateReader {
  readonly writes = new Map<string, Uint8Array | null>()
  readonly provWrites = new Map<string, Uint8Array>()
  /** Ids (hex) of the block's txs that committed so far. */
  readonly committedTxs = new Set<string>()
  /** The normalised PROV records of each committed tx that asserted any, by index: the block's `t/` record. */
  readonly txRecords = new Map<number, ProvRecord[]>()
  constructor(readonly ledger: Ledger) {}

  getProv(key: string): Uint8Array | undefined {
    return this.provWrites.get(key) ?? this.ledger.provRecordSync(key)
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const w = this.writes.get(key)
    if (w !== undefined) return w ?? undefined
    return this.ledger.getState(key)
  }
}

class TxState implements StateWriter {
  readonly writes = new Map<string, Uint8Array | null>()
  readonly provRecords: ProvRecord[] = []
  readonly prov: ProvSink = { add: (...records) => void this.provRecords.push(...records) }
  constructor(readonly parent: BlockState) {}

  async get(key: string): Promise<Uint8Array | undefined> {
    const w = this.writes.get(key)
    if (w !== undefined) return w ?? undefined
    return this.parent.get(key)
  }

  put(key: string, value: Uint8Array): void {
    checkStateKey(key)
    if (!(value instanceof Uint8Array) || value.length > stateValueBytesMax) {
      throw new TxFailedError('ERR_STATE_BAD_VALUE', `state values are byte strings of at most ${stateValueBytesMax} bytes`)
    }
    this.writes.set(key, Uint8Array.from(value))
  }

  delete(key: string): void {
    checkStateKey(key)
    this.writes.set(key, null)
  }
}

export class Ledger {
  readonly #store: KvStore
  readonly #executor: TxExecutor
  #head: ChainHead | undefined
  #network: Uint8Array | undefined
  #applying = false
  #closed = false
  // Recently read or written world state (null: known absent). Updated only after a block is durable,
  // so it never shows what a failed write did not store. Contracts re-read the same keys (signers,
  // orgs) block after block; this saves a LevelDB read each time.
  readonly #stateCache: StateCache
  // Provenance index records read, on the same terms: every data.add relates the same signing key.
  readonly #provCache = new StateCache(provCacheEntriesMax)

  readonly #verifier: BatchVerifier

  private constructor(store: KvStore, executor: TxExecutor, verifier: BatchVerifier, stateCacheEntries: number) {
    this.#store = store
    this.#executor = executor
    this.#verifier = verifier
    this.#stateCache = new StateCache(stateCacheEntries)
  }

  /**
   * Opens `store` and reads the head. `verifier` checks tx signatures (default: on this thread; a
   * WorkerVerifier spreads them over cores); `stateCacheEntries` bounds the state read cache
   * (default stateCacheEntriesMax).
   */
  static async open(store: KvStore, executor: TxExecutor, options: { verifier?: BatchVerifier; stateCacheEntries?: number } = {}): Promise<Ledger> {
    await store.open()
    const ledger = new Ledger(store, executor, options.verifier ?? inlineVerifier, options.stateCacheEntries ?? stateCacheEntriesMax)
    try {
      await ledger.#loadHead()
    } catch (err) {
      // Not left open (a LevelDB store would keep its lock) when the store cannot be used.
      await store.close()
      throw err
    }
    return ledger
  }

  async #loadHead(): Promise<void> {
    const raw = await this.#store.get(layout.head)
    if (raw === undefined) return
    const h = decode<{ height: number; hash: Uint8Array; time: number; stateDigest: Uint8Array }>(raw)
    // The head record and the block it names were written in one batch: they must agree.
    const blockBytes = await this.#store.get(layout.block(h.height))
    if (blockBytes === undefined || !bytesEqual(decodeBlock(blockBytes).hash, h.hash)) {
      throw new LedgerCorruptionError(`head record names block ${h.height} ${toHex(h.hash)}, which is not stored`)
    }
    const format = await this.#store.get(layout.format)
    const found = format === undefined ? undefined : decode<number>(format)
    if (found !== ledgerFormat) {
      throw new LedgerFormatError(
        `this ledger is in layout ${found ?? '1 (no format record: written before December 2026)'}; this TOM version reads layout ${ledgerFormat} only and does not convert a ledger in place: run the version that wrote it`
      )
    }
    this.#head = Object.freeze({ height: h.height, hash: h.hash, time: h.time, stateDigest: h.stateDigest })
    this.#network = await this.#store.get(layout.network)
    if (this.#network === undefined) throw new LedgerCorruptionError('a chain without a network id')
  }

  get head(): ChainHead | undefined {
    return this.#head
  }

  /** The network id: the genesis block hash. Undefined before genesis is applied. */
  get network(): Uint8Array | undefined {
    return this.#network
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#store.close()
  }

  /**
   * Admission check for a tx that a proposer is about to include: signature, network, expiry at `now`,
   * and replay against committed txs. Throws TxRejectedError.
   */
  async checkTx(tx: Tx, now: number): Promise<void> {
    const network = this.#requireNetwork()
    checkTxNetwork(tx, network, this.#nextHeight())
    checkTxExpiry(tx, now)
    if ((await verifyTxSignatures([tx], this.#verifier)).length > 0) throw badSignature()
    if ((await this.#store.get(layout.tx(tx.id))) !== undefined) {
      throw new TxRejectedError('ERR_TX_REPLAY', `tx ${toHex(tx.id)} is already committed`)
    }
  }

  #requireNetwork(): Uint8Array {
    if (this.#network === undefined) throw new LedgerStateError('the ledger has no genesis block yet')
    return this.#network
  }

  #nextHeight(): number {
    return this.#head === undefined ? 0 : this.#head.height + 1
  }

  /**
   * Validates `block` as the next block, executes it and stores it atomically. Throws
   * BlockRejectedError (nothing written) when the block is not a valid successor of the head.
   * Blocks are applied one at a time. It yields to the event loop every applySliceMs; reads meanwhile
   * see the state before the block.
   */
  async applyBlock(block: Block, options: { sync?: boolean } = {}): Promise<AppliedBlock> {
    if (this.#closed) throw new LedgerStateError('ledger is closed')
    if (this.#applying) throw new LedgerStateError('applyBlock called while another block is being applied')
    this.#applying = true
    try {
      return await this.#apply(block, options.sync ?? true)
    } finally {
      this.#applying = false
    }
  }

  async #apply(block: Block, sync: boolean): Promise<AppliedBlock> {
    const { header } = block
    const height = this.#nextHeight()
    this.#checkLinks(block, height)
    const network = height === 0 ? block.hash : this.#requireNetwork()
    verifyBlockSignature(block)
    const seen = new Set<string>()
    for (const [i, tx] of block.txs.entries()) {
      const id = toHex(tx.id)
      if (seen.has(id)) throw new BlockRejectedError('ERR_BLOCK_DUPLICATE_TX', `block ${height}: tx ${i} appears twice`)
      seen.add(id)
      try {
        checkTxNetwork(tx, network, height)
      } catch (err) {
        if (err instanceof TxRejectedError) throw new BlockRejectedError('ERR_BLOCK_BAD_TX', `block ${height}: tx ${i}: ${err.code}: ${err.message}`)
        throw err
      }
    }
    const [bad] = await verifyTxSignatures(block.txs, this.#verifier)
    if (bad !== undefined) throw new BlockRejectedError('ERR_BLOCK_BAD_TX', `block ${height}: tx ${bad}: ERR_TX_BAD_SIGNATURE: signature does not verify`)

    const state = new BlockState(this)
    if (height > 0 && !(await this.#executor.isProposer(header.proposer, state))) {
      throw new BlockRejectedError('ERR_BLOCK_UNKNOWN_PROPOSER', `block ${height}: proposer ${toHex(header.proposer)} is not a node`)
    }
    const receipts: Receipt[] = []
    const indexed: number[] = []
    let sliceEnd = performance.now() + applySliceMs
    for (const [index, tx] of block.txs.entries()) {
      if (performance.now() >= sliceEnd) {
        await yieldToEventLoop()
        sliceEnd = performance.now() + applySliceMs
      }
      const context = { network, height, time: header.time, proposer: header.proposer, index }
      // Synchronous, like every read of the apply: the loop yields on its own schedule (applySliceMs).
      const replay = this.#store.getSync(layout.tx(tx.id)) !== undefined
      const receipt = await this.#execute(tx, replay, state, context)
      receipts.push(receipt)
      if (!(receipt.ok === false && receipt.code === 'ERR_TX_REPLAY')) indexed.push(index)
    }
    if (height === 0 && !(await this.#executor.isProposer(header.proposer, state))) {
      throw new BlockRejectedError('ERR_BLOCK_UNKNOWN_PROPOSER', 'genesis: the proposer is not a node created by the genesis txs')
    }

    const writes = [...state.writes.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    const stateDigest = sha256(
      encode([
        header.stateRoot,
        height,
        writes.map(([k, v]) => [k, v]),
        receipts.map((r) => (r.ok ? null : r.code))
      ] as CborValue)
    )
    const head: ChainHead = Object.freeze({ height, hash: block.hash, time: header.time, stateDigest })
    if (state.txRecords.size > 0) state.provWrites.set(provKeys.blockRecords(height), encodeBlockProvRecords(block.txs.length, state.txRecords))
    const ops = this.#blockOperations(block, receipts, indexed, writes, head)
    for (const [key, value] of state.provWrites) ops.push({ type: 'put', key: layout.prov(key), value })
    await this.#store.batch(ops, { sync })
    for (const [key, value] of writes) this.#stateCache.set(key, value)
    for (const [key, value] of state.provWrites) this.#provCache.update(key, value)
    this.#head = head
    if (height === 0) this.#network = block.hash
    return { block, receipts }
  }

  #checkLinks(block: Block, height: number): void {
    const { header } = block
    const head = this.#head
    if (header.height !== height) throw new BlockRejectedError('ERR_BLOCK_BAD_HEIGHT', `expected block ${height}, got ${header.height}`)
    if (!bytesEqual(header.prevHash, head?.hash ?? zeroHash)) {
      throw new BlockRejectedError('ERR_BLOCK_BAD_PREV_HASH', `block ${height}: prevHash is not the hash of block ${height - 1}`)
    }
    if (head !== undefined && header.time < head.time) {
      throw new BlockRejectedError('ERR_BLOCK_BAD_TIME', `block ${height}: time ${header.time} is before block ${head.height}'s ${head.time}`)
    }
    if (!bytesEqual(header.stateRoot, head?.stateDigest ?? emptyStateDigest)) {
      throw new BlockRejectedError('ERR_BLOCK_BAD_STATE_ROOT', `block ${height}: stateRoot differs from the state digest computed here`)
    }
    if (!bytesEqual(header.txRoot, merkleRoot(block.txs.map((tx) => tx.bytes)))) {
      throw new BlockRejectedError('ERR_BLOCK_BAD_TX_ROOT', `block ${height}: txRoot is not the Merkle root of its txs`)
    }
  }

  async #execute(tx: Tx, replay: boolean, blockState: BlockState, context: Parameters<TxExecutor['execute']>[2]): Promise<Receipt> {
    try {
      checkTxExpiry(tx, context.time)
    } catch (err) {
      // Too far in the future is only refused at admission: the block time may lag the signer's clock.
      if (err instanceof TxRejectedError && err.code === 'ERR_TX_EXPIRED') return { ok: false, code: err.code, message: err.message }
      if (!(err instanceof TxRejectedError)) throw err
    }
    if (replay) return { ok: false, code: 'ERR_TX_REPLAY', message: `tx ${toHex(tx.id)} is already committed` }
    const txState = new TxState(blockState)
    const provWrites = new Map<string, Uint8Array>()
    let records: ProvRecord[]
    try {
      await this.#executor.execute(tx, txState, context)
      const view = {
        get: (key: string) => blockState.getProv(key),
        txCommitted: (idHex: string) => this.#txCommitted(idHex, blockState)
      }
      records = indexTxProvenance(tx, txState.provRecords, { height: context.height, index: context.index }, view, (key, value) => provWrites.set(key, value))
    } catch (err) {
      if (err instanceof TxFailedError) return { ok: false, code: err.code, message: err.message }
      return { ok: false, code: txExecutionErrorCode, message: err instanceof Error ? err.message : String(err) }
    }
    for (const [k, v] of txState.writes) blockState.writes.set(k, v)
    for (const [k, v] of provWrites) blockState.provWrites.set(k, v)
    if (records.length > 0) blockState.txRecords.set(context.index, records)
    blockState.committedTxs.add(toHex(tx.id))
    return { ok: true }
  }

  #blockOperations(
    block: Block,
    receipts: Receipt[],
    indexed: number[],
    writes: [string, Uint8Array | null][],
    head: ChainHead
  ): KvOperation[] {
    const { height } = head
    const ops: KvOperation[] = [
      { type: 'put', key: layout.block(height), value: block.bytes },
      { type: 'put', key: layout.blockHash(block.hash), value: heightBytes(height) },
      { type: 'put', key: layout.receipts(height), value: encode(receipts) }
    ]
    for (const index of indexed) {
      const tx = block.txs[index]!
      ops.push({ type: 'put', key: layout.tx(tx.id), value: encode([height, index, tx.signer, receipts[index]!.ok]) })
    }
    for (const [key, value] of writes) {
      if (value === null) ops.push({ type: 'del', key: layout.state(key) })
      else ops.push({ type: 'put', key: layout.state(key), value })
      const version = new Uint8Array(value === null ? 1 : value.length + 1)
      if (value !== null) {
        version[0] = 1
        version.set(value, 1)
      }
      ops.push({ type: 'put', key: layout.version(key, height), value: version })
    }
    ops.push({ type: 'put', key: layout.head, value: encode({ height, hash: head.hash, time: head.time, stateDigest: head.stateDigest }) })
    if (height === 0) {
      ops.push({ type: 'put', key: layout.network, value: block.hash })
      ops.push({ type: 'put', key: layout.format, value: encode(ledgerFormat) })
    }
    return ops
  }

  async getBlock(height: number): Promise<Block | undefined> {
    if (!Number.isSafeInteger(height) || height < 0) return undefined
    const bytes = await this.#store.get(layout.block(height))
    if (bytes === undefined) return undefined
    const block = decodeBlock(bytes)
    if (block.header.height !== height) throw new LedgerCorruptionError(`block stored at ${height} says height ${block.header.height}`)
    return block
  }

  async getBlockByHash(hash: Uint8Array): Promise<Block | undefined> {
    const h = await this.#store.get(layout.blockHash(hash))
    return h === undefined ? undefined : this.getBlock(readHeight(h))
  }

  async getReceipts(height: number): Promise<Receipt[] | undefined> {
    const bytes = await this.#store.get(layout.receipts(height))
    return bytes === undefined ? undefined : decode<Receipt[]>(bytes)
  }

  /** Where a tx is, who signed it and whether it committed: one small read, no block decoded. */
  async txSummary(id: Uint8Array): Promise<TxSummary | undefined> {
    return this.#txSummarySync(id)
  }

  #txSummarySync(id: Uint8Array): TxSummary | undefined {
    const raw = this.#store.getSync(layout.tx(id))
    if (raw === undefined) return undefined
    const [height, index, signer, ok] = decode<[number, number, Uint8Array, boolean]>(raw)
    return { height, index, signer, ok }
  }

  /** A committed tx with its position and receipt. Decodes only that tx of its block. */
  async getTx(id: Uint8Array): Promise<TxRecord | undefined> {
    const pos = await this.#store.get(layout.tx(id))
    if (pos === undefined) return undefined
    const [height, index] = decode<[number, number]>(pos)
    const [blockBytes, receipts] = await Promise.all([this.#store.get(layout.block(height)), this.getReceipts(height)])
    const txBytes = blockBytes === undefined ? undefined : decode<{ txs: Uint8Array[] }>(blockBytes).txs[index]
    const tx = txBytes === undefined ? undefined : decodeTx(txBytes)
    const receipt = receipts?.[index]
    if (tx === undefined || receipt === undefined || !bytesEqual(tx.id, id)) {
      throw new LedgerCorruptionError(`tx index points at block ${height} tx ${index}, which does not hold it`)
    }
    return { tx, height, index, receipt }
  }

  async getState(key: string): Promise<Uint8Array | undefined> {
    const cached = this.#stateCache.get(key)
    if (cached !== undefined) return cached ?? undefined
    const value = await this.#store.get(layout.state(key))
    this.#stateCache.set(key, value ?? null)
    return value
  }

  /** Whether tx `idHex` committed (ok receipt) before the tx now executing. */
  #txCommitted(idHex: string, blockState: BlockState): boolean {
    if (blockState.committedTxs.has(idHex)) return true
    return this.#txSummarySync(fromHex(idHex))?.ok === true
  }

  /**
   * World-state entries whose key starts with `prefix`, in key order, at most `limit`: committed state
   * as of the head (not a block being applied). With `after`, only keys after that one: the next page.
   */
  async scanState(prefix: string, limit: number, after?: string): Promise<[string, Uint8Array][]> {
    return this.#scanKeys(layout.state(prefix), limit, after === undefined ? undefined : layout.state(after))
  }

  /**
   * A provenance index record (see provenance.ts). Cached (the constraint checks read the same few
   * ids block after block) unless `cache` is false: for large records read once, a block's `t/`.
   */
  async getProvRecord(key: string, options: { cache?: boolean } = {}): Promise<Uint8Array | undefined> {
    if (options.cache === false) return this.#store.get(layout.prov(key))
    return this.provRecordSync(key)
  }

  /** getProvRecord (cached), synchronously: for the PROV check of a tx being applied. */
  provRecordSync(key: string): Uint8Array | undefined {
    const cached = this.#provCache.get(key)
    if (cached !== undefined) return cached ?? undefined
    const value = this.#store.getSync(layout.prov(key))
    this.#provCache.set(key, value ?? null)
    return value
  }

  /** Provenance index records whose key starts with `prefix`, in key order, at most `limit`. */
  async scanProv(prefix: string, limit: number): Promise<[string, Uint8Array][]> {
    return this.#scanKeys(layout.prov(prefix), limit)
  }

  /** Records whose stored key starts with `start` (one prefix byte, then UTF-8), keys without that byte. */
  async #scanKeys(start: Uint8Array, limit: number, after?: Uint8Array): Promise<[string, Uint8Array][]> {
    // UTF-8 never holds 0xff, so this bounds every key that extends the prefix.
    const lt = concatBytes(start, Uint8Array.of(0xff))
    const from = after !== undefined && compareBytes(after, start) >= 0 ? { gt: after } : { gte: start }
    const out: [string, Uint8Array][] = []
    for await (const [key, value] of this.#store.entries({ ...from, lt, limit })) out.push([utf8Decoder.decode(key.subarray(1)), value])
    return out
  }

  /** A raw stored record (see layout.ts), for verification. */
  async getRecord(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.#store.get(key)
  }

  /** Raw stored records in a key range (see layout.ts), for verification. */
  records(range: KvRange): AsyncIterable<[Uint8Array, Uint8Array]> {
    return this.#store.entries(range)
  }

  /**
   * The values block `height` gave `keys`: undefined where that block did not write the key (or
   * deleted it). Point reads in one batch, where getStateAt seeks once per key: for callers that know
   * which keys the block may have written.
   */
  async getStateWrittenAt(keys: readonly string[], height: number): Promise<(Uint8Array | undefined)[]> {
    if (!Number.isSafeInteger(height) || height < 0) throw new RangeError('height must be a non-negative integer')
    const versions = await this.#store.getMany(keys.map((key) => layout.version(key, height)))
    return versions.map((version) => (version !== undefined && version[0] === 1 ? version.subarray(1) : undefined))
  }

  /** The value `key` had after block `height` was applied. */
  async getStateAt(key: string, height: number): Promise<Uint8Array | undefined> {
    if (!Number.isSafeInteger(height) || height < 0) throw new RangeError('height must be a non-negative integer')
    for await (const [, version] of this.#store.entries({ gte: layout.version(key, 0), lte: layout.version(key, height), reverse: true, limit: 1 })) {
      return version[0] === 1 ? version.subarray(1) : undefined
    }
    return undefined
  }
}
