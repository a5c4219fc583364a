/**
 * Whole-chain verification for auditors and operators (`tom-node verify`). Replays every stored block
 * from genesis into a fresh in-memory ledger, which re-checks heights, hash links, Merkle roots, every
 * signature and every state root exactly as a node does when it applies a block; then compares what
 * is stored (receipts, tx and hash indexes, head record, world state and its history) with what the
 * replay computed. The first discrepancy is reported with its height and a stable code.
 */
import { bytesEqual, compareBytes, decode, toHex } from '../crypto/index.js'
import type { BatchVerifier } from '../crypto/index.js'
import { decodeBlock } from './block.js'
import { BlockRejectedError } from './errors.js'
import type { BlockRejectionCode, ChainVerifyCode } from './errors.js'
import type { TxExecutor } from './executor.js'
import type { KvStore } from './kv.js'
import { layout, prefix, readHeight } from './layout.js'
import { Ledger } from './ledger.js'
import { MemoryKvStore } from './memory-kv.js'

export type ChainReport =
  | { readonly ok: true; readonly height: number; readonly hash: string; readonly txs: number; readonly ms: number }
  | {
      readonly ok: false
      readonly height: number
      readonly code: ChainVerifyCode | BlockRejectionCode
      readonly reason: string
      readonly ms: number
    }

export interface VerifyOptions {
  /** Checks tx signatures; default on this thread. */
  verifier?: BatchVerifier
  /** Called after each verified block. */
  onProgress?: (height: number, headHeight: number) => void
  signal?: AbortSignal
}

class Discrepancy extends Error {
  constructor(
    readonly height: number,
    readonly code: ChainVerifyCode | BlockRejectionCode,
    reason: string
  ) {
    super(reason)
  }
}

/** Verifies the chain in `store` (opened by the caller, only read). */
export async function verifyChain(store: KvStore, executor: TxExecutor, options: VerifyOptions = {}): Promise<ChainReport> {
  const started = performance.now()
  const ms = (): number => Math.round(performance.now() - started)
  const replica = await Ledger.open(new MemoryKvStore(), executor, options.verifier === undefined ? {} : { verifier: options.verifier })
  let height = 0
  try {
    const headRaw = await store.get(layout.head)
    if (headRaw === undefined) throw new Discrepancy(0, 'ERR_CHAIN_MISSING_BLOCK', 'no chain: the store has no head record')
    const head = decode<{ height: number; hash: Uint8Array }>(headRaw)
    let txs = 0
    for (height = 0; height <= head.height; height++) {
      options.signal?.throwIfAborted()
      txs += await verifyBlock(store, replica, height)
      options.onProgress?.(height, head.height)
    }
    height = head.height
    if (!bytesEqual(head.hash, replica.head!.hash)) {
      throw new Discrepancy(height, 'ERR_CHAIN_HEAD_MISMATCH', `head record names ${toHex(head.hash)}, block ${height} is ${toHex(replica.head!.hash)}`)
    }
    if ((await store.get(layout.block(head.height + 1))) !== undefined) {
      throw new Discrepancy(head.height + 1, 'ERR_CHAIN_HEAD_MISMATCH', `block ${head.height + 1} is stored beyond the head record`)
    }
    // Everything stored must be exactly what the replay stored: no extra, missing or changed record.
    await compareAllRecords(store, replica, head.height)
    return { ok: true, height: head.height, hash: toHex(head.hash), txs, ms: ms() }
  } catch (err) {
    if (err instanceof Discrepancy) return { ok: false, height: err.height, code: err.code, reason: err.message, ms: ms() }
    if (err instanceof BlockRejectedError) return { ok: false, height, code: err.code, reason: err.message, ms: ms() }
    throw err
  } finally {
    await replica.close()
  }
}

async function verifyBlock(store: KvStore, replica: Ledger, height: number): Promise<number> {
  const bytes = await store.get(layout.block(height))
  if (bytes === undefined) throw new Discrepancy(height, 'ERR_CHAIN_MISSING_BLOCK', `block ${height} is missing`)
  let block
  try {
    block = decodeBlock(bytes)
  } catch (err) {
    if (err instanceof BlockRejectedError) throw new Discrepancy(height, 'ERR_CHAIN_CORRUPT_BLOCK', `block ${height} cannot be decoded: ${err.message}`)
    throw err
  }
  const { receipts } = await replica.applyBlock(block, { sync: false })

  const storedReceipts = await store.get(layout.receipts(height))
  const expectedReceipts = await replica.getRecord(layout.receipts(height))
  if (storedReceipts === undefined || expectedReceipts === undefined || !bytesEqual(storedReceipts, expectedReceipts)) {
    throw new Discrepancy(height, 'ERR_CHAIN_RECEIPT_MISMATCH', `block ${height}: stored receipts differ from the replayed ones`)
  }
  const hashIndex = await store.get(layout.blockHash(block.hash))
  if (hashIndex === undefined || readHeight(hashIndex) !== height) {
    throw new Discrepancy(height, 'ERR_CHAIN_INDEX_MISMATCH', `block ${height}: the block-hash index does not point at it`)
  }
  for (const [index, tx] of block.txs.entries()) {
    const stored = await store.get(layout.tx(tx.id))
    const expected = await replica.getRecord(layout.tx(tx.id))
    if (stored === undefined || expected === undefined || !bytesEqual(stored, expected)) {
      throw new Discrepancy(height, 'ERR_CHAIN_INDEX_MISMATCH', `block ${height}: the tx index entry of tx ${index} is wrong or missing`)
    }
  }
  return receipts.length
}

const codeOfPrefix: Record<number, ChainVerifyCode> = {
  [prefix.block]: 'ERR_CHAIN_HEAD_MISMATCH',
  [prefix.blockHash]: 'ERR_CHAIN_INDEX_MISMATCH',
  [prefix.tx]: 'ERR_CHAIN_INDEX_MISMATCH',
  [prefix.receipts]: 'ERR_CHAIN_RECEIPT_MISMATCH',
  [prefix.state]: 'ERR_CHAIN_STATE_MISMATCH',
  [prefix.version]: 'ERR_CHAIN_STATE_MISMATCH',
  [prefix.prov]: 'ERR_CHAIN_INDEX_MISMATCH',
  [prefix.meta]: 'ERR_CHAIN_HEAD_MISMATCH'
}

/** Compares every record of the store with the replica's, in key order; reports the first difference. */
async function compareAllRecords(store: KvStore, replica: Ledger, height: number): Promise<void> {
  const mine = store.entries()[Symbol.asyncIterator]()
  const theirs = replica.records({})[Symbol.asyncIterator]()
  for (;;) {
    const [a, b] = await Promise.all([mine.next(), theirs.next()])
    if (a.done === true && b.done === true) return
    if (a.done !== true && b.done !== true && bytesEqual(a.value[0], b.value[0]) && bytesEqual(a.value[1], b.value[1])) continue
    // Walking both in key order, the smaller key is the one the other side lacks.
    const order = a.done === true ? 1 : b.done === true ? -1 : compareBytes(a.value[0], b.value[0])
    const key = order <= 0 ? a.value![0] : b.value![0]
    const what =
      order === 0
        ? `stored record ${toHex(key)} differs from the replayed chain's`
        : order < 0
          ? `stored record ${toHex(key)} is not in the replayed chain`
          : `record ${toHex(key)} of the replayed chain is missing from the store`
    const code = codeOfPrefix[key[0]!] ?? 'ERR_CHAIN_STATE_MISMATCH'
    throw new Discrepancy(height, code, what)
  }
}
