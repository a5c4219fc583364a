/**
 * TomNode wires a node from its data folder: config, keys, the LevelDB ledger with the built-in
 * contracts, and the block proposer. For now a single node that cuts its own blocks; the Raft issue
 * puts consensus and libp2p behind the same submit path.
 */
import { EventEmitter } from 'node:events'
import { bytesEqual, loadKeyFile, Signer, toHex, peerIdOf, WorkerVerifier } from '../crypto/index.js'
import type { BatchVerifier } from '../crypto/index.js'
import { decodeTx, Ledger } from '../ledger/index.js'
import type { AppliedBlock, Block, ChainHead, Tx, TxRecord } from '../ledger/index.js'
import { CoreContracts } from '../contracts/index.js'
import { readConfigFile, validateConfig } from './config.js'
import type { NodeConfig } from './config.js'
import { dataPath, readGenesis } from './data-dir.js'
import { NodeError } from './errors.js'
import { createLogger } from './logger.js'
import type { Logger } from './logger.js'
import type { CommittedTx } from './mempool.js'
import { SingleProposer } from './single-proposer.js'
import { openLedgerStore } from './open-store.js'

export interface TomNodeOptions {
  /** The data folder made by `tom-node init`. */
  readonly dir: string
  /** Overrides of config.json. */
  readonly config?: Partial<NodeConfig>
  /** Default: JSON lines on stderr at config.logLevel. */
  readonly logger?: Logger
  /** Milliseconds since epoch; injectable for tests. Default Date.now. */
  readonly clock?: () => number
}

export interface TomNodeEvents {
  block: [AppliedBlock]
  fatal: [Error]
}

export class TomNode extends EventEmitter<TomNodeEvents> {
  readonly config: NodeConfig
  readonly publicKey: Uint8Array
  readonly #ledger: Ledger
  readonly #verifier: BatchVerifier
  readonly #proposer: SingleProposer
  readonly #logger: Logger
  #state: 'stopped' | 'running' | 'closed' = 'stopped'

  private constructor(config: NodeConfig, signer: Signer, ledger: Ledger, verifier: BatchVerifier, logger: Logger, clock: (() => number) | undefined) {
    super()
    this.config = config
    this.publicKey = signer.publicKey
    this.#ledger = ledger
    this.#verifier = verifier
    this.#logger = logger
    this.#proposer = new SingleProposer({
      ledger,
      signer,
      blockTxMax: config.blockTxMax,
      mempoolTxMax: config.mempoolTxMax,
      logger: logger.child({ module: 'proposer' }),
      events: this,
      ...(clock === undefined ? {} : { clock })
    })
  }

  /** Opens the data folder: validates config, loads the node key, opens the ledger (applying genesis if new). */
  static async open(options: TomNodeOptions): Promise<TomNode> {
    const { dir } = options
    const fileConfig = await readConfigFile(dataPath(dir, 'config'))
    const config = validateConfig(options.config ?? {}, fileConfig)
    const logger = options.logger ?? createLogger(config.logLevel)
    const genesis = await readGenesis(dir)
    const keys = await loadKeyFile(dataPath(dir, 'nodeKey'))
    const store = await openLedgerStore(dir)
    const verifier = new WorkerVerifier()
    const ledger = await Ledger.open(store, new CoreContracts(), { verifier })
    try {
      if (ledger.head === undefined) await ledger.applyBlock(genesis)
      if (!bytesEqual(ledger.network!, genesis.hash)) {
        throw new NodeError('ERR_CONFIG_INVALID', `${dir}/ledger belongs to another network than ${dir}/genesis.block`)
      }
    } catch (err) {
      await ledger.close()
      await verifier.close()
      throw err
    }
    const node = new TomNode(config, new Signer(keys), ledger, verifier, logger.child({ module: 'node' }), options.clock)
    logger.child({ module: 'node' }).info(
      { network: toHex(genesis.hash), peerId: peerIdOf(keys.publicKey), height: ledger.head!.height },
      'ledger opened'
    )
    return node
  }

  get network(): Uint8Array {
    return this.#ledger.network!
  }

  get head(): ChainHead {
    return this.#ledger.head!
  }

  /** Txs waiting for a block. */
  get pendingTxs(): number {
    return this.#proposer.pending
  }

  start(): void {
    if (this.#state !== 'stopped') throw new NodeError('ERR_NODE_STOPPED', `cannot start a ${this.#state} node`)
    this.#proposer.start()
    this.#state = 'running'
    this.#logger.info({ name: this.config.name }, 'node started')
  }

  /**
   * Submits a signed tx (object or encoded bytes) and resolves once it is committed, with its
   * receipt. Rejects with TxRejectedError when the tx is refused at admission, NodeError otherwise.
   * If the node stops first the tx may or may not have committed: look it up by id.
   */
  async submitTx(tx: Tx | Uint8Array, options: { signal?: AbortSignal } = {}): Promise<CommittedTx> {
    options.signal?.throwIfAborted()
    const decoded = tx instanceof Uint8Array ? decodeTx(tx) : tx
    const committed = this.#proposer.submit(decoded)
    if (options.signal === undefined) return committed
    const signal = options.signal
    return new Promise<CommittedTx>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason)
      signal.addEventListener('abort', onAbort, { once: true })
      committed.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
    })
  }

  getBlock(height: number): Promise<Block | undefined> {
    return this.#ledger.getBlock(height)
  }

  getTx(id: Uint8Array): Promise<TxRecord | undefined> {
    return this.#ledger.getTx(id)
  }

  getState(key: string): Promise<Uint8Array | undefined> {
    return this.#ledger.getState(key)
  }

  getStateAt(key: string, height: number): Promise<Uint8Array | undefined> {
    return this.#ledger.getStateAt(key, height)
  }

  /** Stops proposing (the block in flight completes), refuses what is pending, closes the ledger. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return
    this.#state = 'closed'
    await this.#proposer.stop()
    await this.#ledger.close()
    await this.#verifier.close()
    this.#logger.info('node closed')
  }
}
