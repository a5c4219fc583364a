/**
 * `tom verify`: an auditor's check of the chain a node serves, from the outside. Each block's exact
 * bytes, as served, are decoded and applied to a fresh in-memory ledger running the built-in
 * contracts, so every check a node makes when it applies a block is made again here, by the ledger's
 * own code: height, hash link, time order, txRoot (Merkle), stateRoot (the replayed state digest),
 * the proposer's signature and that it is a node, every tx's signature and network, duplicate txs.
 * On top: the hash the node names for each block must be the hash of the bytes it served, and the
 * head it reports must be the last block. Unlike `tom-node verify` there is no store to compare with:
 * what is checked is what a client is told.
 */
import { WorkerVerifier, toHex } from '../crypto/index.js'
import { BlockRejectedError, decodeBlock, Ledger, MemoryKvStore } from '../ledger/index.js'
import type { ChainReport } from '../ledger/index.js'
import { CoreContracts } from '../contracts/index.js'

/** A block as a node serves it: its height and the hash the node names, and the exact bytes. */
export interface ServedBlock {
  readonly height: number
  readonly hash: string
  readonly bytes: Uint8Array
}

export interface ServedChainSource {
  /** The head the node reports. */
  readonly head: { readonly height: number; readonly hash: string }
  /** Consecutive blocks from `from` on, as many as the node sends at once; none when it has none there. */
  blocks(from: number, options: { signal?: AbortSignal }): Promise<readonly ServedBlock[]>
}

export interface VerifyServedOptions {
  readonly onProgress?: (height: number, headHeight: number) => void
  readonly signal?: AbortSignal
}

class Unsound extends Error {
  constructor(
    readonly height: number,
    readonly code: Extract<ChainReport, { ok: false }>['code'],
    reason: string
  ) {
    super(reason)
  }
}

export async function verifyServedChain(source: ServedChainSource, options: VerifyServedOptions = {}): Promise<ChainReport> {
  const started = performance.now()
  const ms = (): number => Math.round(performance.now() - started)
  const { head } = source
  const verifier = new WorkerVerifier()
  const replica = await Ledger.open(new MemoryKvStore(), new CoreContracts(), { verifier })
  const stop = new AbortController()
  const signal = options.signal === undefined ? stop.signal : AbortSignal.any([stop.signal, options.signal])
  // The next page is asked for while this one is replayed, so the round trips overlap with the work.
  const request = (from: number): Promise<readonly ServedBlock[]> => {
    const page = source.blocks(from, { signal })
    page.catch(() => {}) // observed when awaited; never awaited if an earlier block is unsound
    return page
  }
  let height = 0
  let txs = 0
  const replay = async (served: ServedBlock): Promise<void> => {
    if (served.height !== height) throw new Unsound(height, 'ERR_CHAIN_CORRUPT_BLOCK', `asked for block ${height}, the node sent block ${served.height}`)
    let block
    try {
      block = decodeBlock(served.bytes)
    } catch (err) {
      if (err instanceof BlockRejectedError) throw new Unsound(height, 'ERR_CHAIN_CORRUPT_BLOCK', `block ${height} cannot be decoded: ${err.message}`)
      throw err
    }
    if (toHex(block.hash) !== served.hash) {
      throw new Unsound(height, 'ERR_CHAIN_CORRUPT_BLOCK', `block ${height}: the node names hash ${served.hash}, its header hashes to ${toHex(block.hash)}`)
    }
    const { receipts } = await replica.applyBlock(block, { sync: false })
    txs += receipts.length
    options.onProgress?.(height, head.height)
  }
  try {
    let next: Promise<readonly ServedBlock[]> | undefined = request(0)
    while (height <= head.height) {
      signal.throwIfAborted()
      // Blocks past the reported head (the node moved on since) are not this check's.
      const page: readonly ServedBlock[] = (await next!).filter((b) => b.height <= head.height)
      if (page.length === 0) throw new Unsound(height, 'ERR_CHAIN_MISSING_BLOCK', `the node serves no block ${height} below its head ${head.height}`)
      next = height + page.length <= head.height ? request(height + page.length) : undefined
      for (const served of page) {
        await replay(served)
        height++
      }
    }
    height = head.height
    if (toHex(replica.head!.hash) !== head.hash) {
      throw new Unsound(height, 'ERR_CHAIN_HEAD_MISMATCH', `the node reports head ${head.hash} at height ${height}, block ${height} is ${toHex(replica.head!.hash)}`)
    }
    return { ok: true, height, hash: head.hash, txs, ms: ms() }
  } catch (err) {
    if (err instanceof Unsound) return { ok: false, height: err.height, code: err.code, reason: err.message, ms: ms() }
    if (err instanceof BlockRejectedError) return { ok: false, height, code: err.code, reason: err.message, ms: ms() }
    throw err
  } finally {
    stop.abort()
    await replica.close()
    await verifier.close()
  }
}
