/**
 * TomNode wires a node from its data folder: config and keys, the LevelDB ledger with the built-in
 * contracts and a signature worker pool, the durable Raft log (DIR/raft), the libp2p host, and the
 * Raft proposer that turns submitted txs into committed blocks. A network of one node is a Raft group
 * of one voter: the same path, without peers.
 */
import { EventEmitter } from 'node:events'
import { join } from 'node:path'
import { bytesEqual, loadKeyFile, Signer, toHex, peerIdOf, WorkerVerifier } from '../crypto/index.js'
import { blockDocument, decodeTx, Ledger, signTx, ledgerDocument, LevelKvStore, lineageExport, ProvQueries, serialiseProv } from '../ledger/index.js'
import type { AppliedBlock, Block, ChainHead, ProvFormat, StateReader, Tx, TxRecord } from '../ledger/index.js'
import { actionChangesOf, CoreContracts, listNodes, listOpenActions, stateKeyOfProvId } from '../contracts/index.js'
import type { ActionChange } from '../contracts/index.js'
import { DockerContainerRuntime, Orchestrator } from '../orchestrator/index.js'
import type { LineageDirection, QualifiedName } from '../prov/index.js'
import type { NodeRecord } from '../contracts/index.js'
import { createP2pNode } from '../p2p/index.js'
import type { P2pNode } from '../p2p/index.js'
import type { ConfState, SoftState } from '../consensus/index.js'
import { readConfigFile, validateConfig } from './config.js'
import type { NodeConfig } from './config.js'
import { dataPath, readGenesis } from './data-dir.js'
import { NodeError } from './errors.js'
import { createLogger } from './logger.js'
import type { Logger } from './logger.js'
import type { CommittedTx } from './mempool.js'
import { openLedgerStore } from './open-store.js'
import { LevelRaftStorage } from './raft-storage.js'
import { RaftProposer } from './raft-proposer.js'
import { Cluster } from './cluster.js'
import { HealthMonitor } from './health-monitor.js'
import { NodeMetrics } from './metrics.js'

/** How long a tx the node signs itself stays valid. */
const nodeTxTtlMs = 60_000
/** Most containers the orchestrator is told run on this node (the ledger's node-containers index). */
const myContainersListMax = 10_000
/** How soon a node that could not yet confirm it caught up asks again before orchestrating. */
const orchestratorCatchUpRetryMs = 200

export interface TomNodeOptions {
  /** The data folder made by `tom-node init`. */
  readonly dir: string
  /** Overrides of config.json. */
  readonly config?: Partial<NodeConfig>
  /** Default: JSON lines on stderr at config.logLevel. */
  readonly logger?: Logger
  /** Milliseconds since epoch; injectable for tests. Default Date.now. */
  readonly clock?: () => number
  /** A node not yet listed in the ledger waits this long for an admin to add it. Default 10 minutes. */
  readonly joinTimeoutMs?: number
}

const joinTimeoutMs = 10 * 60 * 1000

export interface TomNodeEvents {
  block: [AppliedBlock]
  /** The Raft role or the known leader changed. */
  role: [SoftState]
  /** A node joined or left (a node tx committed). */
  nodes: []
  /** The Raft membership changed (a conf change was applied). */
  membership: [ConfState]
  fatal: [Error]
}

/** What `status()` tells of a node: who it is, its Raft view, its peers, its mempool and its chain. */
export interface NodeStatus {
  readonly name: string
  readonly publicKey: Uint8Array
  readonly peerId: string
  readonly raftId: number
  readonly network: Uint8Array
  readonly head: ChainHead
  readonly role: SoftState['role']
  /** The Raft id of the leader this node knows of; 0: none. */
  readonly leader: number
  readonly raft: {
    readonly term: number
    readonly commitIndex: number
    readonly appliedIndex: number
    readonly lastIndex: number
    /** The membership as this node's log has it, each member with its PeerId where the ledger lists it. */
    readonly voters: readonly RaftMember[]
    readonly learners: readonly RaftMember[]
  }
  /** PeerIds with an open p2p connection now. */
  readonly connectedPeers: readonly string[]
  /** Txs waiting for a block or in a proposed block not yet committed, and the mempool's limit. */
  readonly mempool: { readonly txs: number; readonly max: number }
}

export interface RaftMember {
  readonly raftId: number
  readonly peerId: string | null
}

/** Closes what was opened, last first, when opening fails half-way. */
type Closer = () => Promise<void>

export class TomNode extends EventEmitter<TomNodeEvents> {
  readonly config: NodeConfig
  readonly publicKey: Uint8Array
  readonly peerId: string
  readonly raftId: number
  readonly #ledger: Ledger
  #provQueries: ProvQueries | undefined
  readonly #p2p: P2pNode
  readonly #cluster: Cluster
  readonly #proposer: RaftProposer
  readonly #closers: Closer[]
  readonly #logger: Logger
  readonly #signer: Signer
  readonly #health: HealthMonitor
  readonly #orchestrator: Orchestrator | undefined
  readonly #metrics: NodeMetrics
  /** Set once this node has caught up with the network after starting (see #startOrchestrator). */
  #orchestrating = false
  /** Nonces of the txs this node signs itself: unique per node, increasing. */
  #nonce = Date.now() * 1000
  #state: 'stopped' | 'running' | 'closed' = 'stopped'

  private constructor(parts: {
    config: NodeConfig
    signer: Signer
    raftId: number
    ledger: Ledger
    p2p: P2pNode
    storage: LevelRaftStorage
    cluster: Cluster
    closers: Closer[]
    logger: Logger
    clock: (() => number) | undefined
    dir: string
    orchestrate: boolean
  }) {
    super()
    const { config, signer, ledger, p2p, storage, cluster, logger } = parts
    this.config = config
    this.publicKey = signer.publicKey
    this.peerId = p2p.peerId
    this.raftId = parts.raftId
    this.#ledger = ledger
    this.#p2p = p2p
    this.#cluster = cluster
    this.#closers = parts.closers
    this.#logger = logger.child({ module: 'node' })
    this.#signer = signer
    this.#proposer = new RaftProposer({
      raftId: parts.raftId,
      ledger,
      signer,
      storage,
      transport: cluster,
      cluster,
      blockTxMax: config.blockTxMax,
      mempoolTxMax: config.mempoolTxMax,
      snapshotEveryEntries: config.snapshotEveryEntries,
      logEntriesKept: config.logEntriesKept,
      tickMs: config.tickMs,
      electionTimeoutTicks: config.electionTimeoutTicks,
      logger: logger.child({ module: 'proposer' }),
      events: this,
      ...(parts.clock === undefined ? {} : { clock: parts.clock })
    })
    this.#proposer.driver.on('softState', (s) => {
      // An election is an availability event (writes wait or are refused meanwhile): operators see each one.
      this.#logger.info({ role: s.role, leader: s.leader, term: this.#proposer.driver.status().hardState.term }, 'raft role changed')
      this.emit('role', s)
    })
    this.#metrics = this.#createMetrics(ledger, p2p)
    this.#proposer.driver.on('confChange', (_cc, cs) => this.emit('membership', cs))
    cluster.serve({ submit: (tx) => this.#proposer.submit(tx), admit: (tx) => this.#proposer.admit(tx) })
    this.#orchestrator = parts.orchestrate ? this.#tryCreateOrchestrator(parts.dir, ledger, logger) : undefined
    if (this.#orchestrator !== undefined) {
      const orchestrator = this.#orchestrator
      this.on('block', () => {
        if (this.#orchestrating) void orchestrator.sync()
      })
    }
    this.#health = new HealthMonitor({
      self: signer.publicKey,
      state: { get: (key) => ledger.getState(key) },
      lastHeard: (id) => cluster.lastHeard(id),
      isLeader: () => this.#proposer.driver.role === 'leader',
      submit: (type, payload) => this.submitAsNode(type, payload),
      unreachableMs: config.nodeUnreachableMs,
      logger: logger.child({ module: 'health' }),
      ...(parts.clock === undefined ? {} : { clock: parts.clock })
    })
    this.on('nodes', () => {
      this.#onNodesChanged(cluster).catch((err: Error) => this.#logger.error({ err }, 'refreshing the node list failed'))
    })
  }

  /**
   * Starts the orchestrator once this node has applied everything the network committed before it
   * started (a Raft read barrier): a host that restarts must not act on what its ledger said before
   * it went down, e.g. restart a container that was moved away meanwhile.
   */
  async #startOrchestrator(orchestrator: Orchestrator): Promise<void> {
    while (this.#state === 'running') {
      try {
        await this.#proposer.readBarrier()
        break
      } catch (err) {
        this.#logger.debug({ err: (err as Error).message }, 'orchestrator waits for the node to catch up')
        await new Promise((resolve) => setTimeout(resolve, orchestratorCatchUpRetryMs))
      }
    }
    if (this.#state !== 'running') return
    this.#orchestrating = true
    orchestrator.start()
  }

  /** This node's metrics: live values read at scrape time, counters fed by its events. */
  #createMetrics(ledger: Ledger, p2p: P2pNode): NodeMetrics {
    const driver = this.#proposer.driver
    const metrics = new NodeMetrics({
      raft: () => {
        const { hardState } = driver.status()
        return { term: hardState.term, commit: hardState.commit, applied: driver.applied, role: driver.role, leader: driver.leader }
      },
      height: () => ledger.head!.height,
      pendingTxs: () => this.#proposer.pending,
      connectedPeers: () => p2p.connectedPeers().length,
      knownPeers: async () => (await listNodes({ get: (key) => ledger.getState(key) })).filter((n) => !bytesEqual(n.publicKey, this.publicKey)).length
    })
    this.on('block', (applied) => metrics.blockApplied(applied))
    this.on('role', () => metrics.roleChanged())
    return metrics
  }

  /** The orchestrator, or none when the engine is misconfigured: the node runs anyway and says why. */
  #tryCreateOrchestrator(dir: string, ledger: Ledger, logger: Logger): Orchestrator | undefined {
    try {
      return this.#createOrchestrator(dir, ledger, logger)
    } catch (err) {
      this.#logger.error({ err: (err as Error).message }, 'no orchestrator on this node: container actions addressed to it stay pending')
      return undefined
    }
  }

  /** The orchestrator of this host: carries out the container actions addressed to this node. */
  #createOrchestrator(dir: string, ledger: Ledger, logger: Logger): Orchestrator {
    const hex = toHex(this.publicKey)
    const socketPath = this.config.containerSocket ?? undefined
    const runtime = new DockerContainerRuntime(socketPath === undefined ? {} : { socketPath })
    return new Orchestrator({
      runtime,
      reader: {
        get: (key) => ledger.getState(key),
        listOpen: () => listOpenActions(ledger, hex),
        listMyContainers: async () => (await ledger.scanState(`node-containers/${hex}/`, myContainersListMax)).map(([key]) => key.slice(key.lastIndexOf('/') + 1))
      },
      submit: async (type, payload) => {
        const status = typeof payload.status === 'string' ? payload.status : undefined
        try {
          const { receipt } = await this.submitAsNode(type, payload as Tx['payload'])
          this.#metrics.orchestratorOutcome(type, status, receipt.ok ? 'committed' : 'refused')
          return receipt.ok ? { ok: true } : { ok: false, code: receipt.code, message: receipt.message }
        } catch (err) {
          this.#metrics.orchestratorOutcome(type, status, 'failed')
          // Refused at admission, or no leader: the orchestrator retries or gives up by the code.
          const { code, message } = err as { code?: string; message?: string }
          return { ok: false, ...(code === undefined ? {} : { code }), ...(message === undefined ? {} : { message }) }
        }
      },
      networkId: toHex(this.network),
      nodeKey: hex,
      keysDir: join(dir, 'containers'),
      logger: logger.child({ module: 'orchestrator' }),
      reconcileIntervalMs: this.config.reconcileIntervalMs,
      networkMode: 'none'
    })
  }

  /** A node tx committed: refresh peers; a node that was removed stops (it may no longer take part). */
  async #onNodesChanged(cluster: Cluster): Promise<void> {
    await cluster.refresh()
    const ledger = this.#ledger
    const listed = (await listNodes({ get: (key) => ledger.getState(key) })).some((n) => bytesEqual(n.publicKey, this.publicKey))
    if (!listed && this.#state === 'running') {
      this.#logger.warn('this node was removed from the network (node.remove); stopping')
      this.emit('fatal', new NodeError('ERR_NODE_NOT_MEMBER', 'this node was removed from the network (node.remove)'))
    }
  }

  /**
   * Opens the data folder: validates config, loads the node key, opens the ledger (applying genesis
   * if new) and the Raft log, and starts listening for peers. Call start() to take part in consensus.
   */
  static async open(options: TomNodeOptions): Promise<TomNode> {
    const { dir } = options
    const fileConfig = await readConfigFile(dataPath(dir, 'config'))
    const config = validateConfig(options.config ?? {}, fileConfig)
    const logger = options.logger ?? createLogger(config.logLevel)
    const genesis = await readGenesis(dir)
    const keys = await loadKeyFile(dataPath(dir, 'nodeKey'))
    const closers: Closer[] = []
    const closeAll = async (): Promise<void> => {
      for (const close of closers.reverse()) await close().catch(() => {})
    }
    try {
      const store = await openLedgerStore(dir)
      const verifier = new WorkerVerifier()
      closers.push(() => verifier.close())
      const ledger = await Ledger.open(store, new CoreContracts(), { verifier })
      closers.push(() => ledger.close())
      if (ledger.head === undefined) await ledger.applyBlock(genesis)
      if (!bytesEqual(ledger.network!, genesis.hash)) {
        throw new NodeError('ERR_CONFIG_INVALID', `${dir}/ledger belongs to another network than ${dir}/genesis.block`)
      }
      const p2pLogger = logger.child({ module: 'p2p' })
      const p2p = createP2pNode({ privateKey: keys.privateKey, listen: config.listen, log: (event, fields) => p2pLogger.debug(fields, event) })
      await p2p.start()
      closers.push(() => p2p.stop())
      const cluster = new Cluster(p2p, ledger, logger.child({ module: 'cluster' }))
      await cluster.refresh()
      const now: StateReader = { get: (key) => ledger.getState(key) }
      const findSelf = async (): Promise<NodeRecord | undefined> => (await listNodes(now)).find((n) => bytesEqual(n.publicKey, keys.publicKey))
      let self = await findSelf()
      if (self === undefined) {
        logger.info({ publicKey: toHex(keys.publicKey), peerId: p2p.peerId }, 'not a member yet: fetching blocks until an admin adds this node (node.add)')
        self = await cluster.catchUpUntil(findSelf, { timeoutMs: options.joinTimeoutMs ?? joinTimeoutMs })
        if (self === undefined) throw new NodeError('ERR_NODE_NOT_MEMBER', `node ${toHex(keys.publicKey)} was not added to the network within ${options.joinTimeoutMs ?? joinTimeoutMs} ms`)
      }
      // Every node starts its Raft log from the same membership: the nodes the genesis block founded.
      const atGenesis: StateReader = { get: (key) => ledger.getStateAt(key, 0) }
      const founders = (await listNodes(atGenesis)).map((n) => n.raftId)
      const storage = await LevelRaftStorage.open(new LevelKvStore(join(dir, 'raft')), { voters: founders, learners: [] })
      closers.push(() => storage.close())
      const node = new TomNode({ config, signer: new Signer(keys), raftId: self.raftId, ledger, p2p, storage, cluster, closers, logger, clock: options.clock, dir, orchestrate: config.orchestrator })
      node.#logger.info(
        { network: toHex(genesis.hash), peerId: peerIdOf(keys.publicKey), raftId: self.raftId, height: ledger.head!.height, listen: p2p.listenAddresses() },
        'node opened'
      )
      return node
    } catch (err) {
      await closeAll()
      throw err
    }
  }

  get network(): Uint8Array {
    return this.#ledger.network!
  }

  get head(): ChainHead {
    return this.#ledger.head!
  }

  /** Txs waiting for a block or in a block not yet committed. */
  get pendingTxs(): number {
    return this.#proposer.pending
  }

  /** This node's Raft role and the leader it knows of (0: none). */
  get role(): SoftState {
    return { role: this.#proposer.driver.role, leader: this.#proposer.driver.leader }
  }

  /** The p2p addresses this node listens on. */
  listenAddresses(): string[] {
    return this.#p2p.listenAddresses()
  }

  start(): void {
    if (this.#state !== 'stopped') throw new NodeError('ERR_NODE_STOPPED', `cannot start a ${this.#state} node`)
    this.#proposer.start()
    this.#health.start()
    this.#state = 'running'
    if (this.#orchestrator !== undefined) void this.#startOrchestrator(this.#orchestrator)
    this.#logger.info({ name: this.config.name }, 'node started')
  }

  /**
   * Signs a tx of `type` with this node's own key and submits it: how the node reports what it
   * observed or did (node health, container outcomes). Resolves once committed.
   */
  async submitAsNode(type: string, payload: Tx['payload'], options: { signal?: AbortSignal } = {}): Promise<CommittedTx> {
    const tx = signTx({ network: this.network, type, signer: this.publicKey, nonce: this.#nonce++, expiresAt: Date.now() + nodeTxTtlMs, payload }, this.#signer)
    return this.submitTx(tx, options)
  }

  /**
   * Submits a signed tx (object or encoded bytes) and resolves once it is committed, with its
   * receipt. A follower forwards it to the leader. Rejects with TxRejectedError when the tx is refused
   * at admission, NodeError otherwise (ERR_NO_LEADER, ERR_NOT_LEADER: resubmit). If the node stops
   * first the tx may or may not have committed: look it up by id.
   */
  async submitTx(tx: Tx | Uint8Array, options: { signal?: AbortSignal } = {}): Promise<CommittedTx> {
    options.signal?.throwIfAborted()
    return untilAborted(this.#submitCounted(tx), options.signal)
  }

  /**
   * Submits a signed tx and resolves as soon as it is admitted: in the leader's mempool (or a block
   * it proposed), here or, from a follower, at the leader. Rejects exactly as submitTx does when the
   * tx is refused. An admitted tx commits unless leadership moves first: follow it by id.
   */
  async admitTx(tx: Tx | Uint8Array, options: { signal?: AbortSignal } = {}): Promise<{ id: string }> {
    options.signal?.throwIfAborted()
    const decoded = tx instanceof Uint8Array ? decodeTx(tx) : tx
    const admitted = this.#proposer.admit(decoded).catch((err: unknown) => {
      this.#metrics.submitRejected()
      throw err
    })
    await untilAborted(admitted, options.signal)
    return { id: toHex(decoded.id) }
  }

  /** Submits to the proposer, counting the result and timing the commit for the metrics. */
  async #submitCounted(tx: Tx | Uint8Array): Promise<CommittedTx> {
    const startedAt = performance.now()
    try {
      const committed = await this.#proposer.submit(tx instanceof Uint8Array ? decodeTx(tx) : tx)
      this.#metrics.submitCommitted((performance.now() - startedAt) / 1000)
      return committed
    } catch (err) {
      this.#metrics.submitRejected()
      throw err
    }
  }

  /** Who this node is and what it sees now: Raft role, term and indexes, membership, peers, mempool, head. */
  status(): NodeStatus {
    const driver = this.#proposer.driver
    const raft = driver.status()
    const member = (raftId: number): RaftMember => ({ raftId, peerId: this.#cluster.peerIdOfRaftId(raftId) ?? null })
    return {
      name: this.config.name,
      publicKey: this.publicKey,
      peerId: this.peerId,
      raftId: this.raftId,
      network: this.network,
      head: this.head,
      role: driver.role,
      leader: driver.leader,
      raft: {
        term: raft.hardState.term,
        commitIndex: raft.hardState.commit,
        appliedIndex: driver.applied,
        lastIndex: raft.lastIndex,
        voters: raft.confState.voters.map(member),
        learners: raft.confState.learners.map(member)
      },
      connectedPeers: this.#p2p.connectedPeers(),
      mempool: { txs: this.#proposer.pending, max: this.config.mempoolTxMax }
    }
  }

  /** This node's metrics in the Prometheus text format; serve them with the Content-Type `metricsContentType`. */
  metrics(): Promise<string> {
    return this.#metrics.text()
  }

  getBlock(height: number): Promise<Block | undefined> {
    return this.#ledger.getBlock(height)
  }

  /** A committed block with the receipts of its txs, as the 'block' event hands it over. */
  async getAppliedBlock(height: number): Promise<AppliedBlock | undefined> {
    const [block, receipts] = await Promise.all([this.#ledger.getBlock(height), this.#ledger.getReceipts(height)])
    if (block === undefined) return undefined
    if (receipts === undefined || receipts.length !== block.txs.length) throw new Error(`assertion: block ${height} is stored without its ${block.txs.length} receipts`)
    return { block, receipts }
  }

  /** What `applied` did to orchestration actions (emitted, reported, fulfilled), read as of its height. */
  actionsOf({ block, receipts }: AppliedBlock): Promise<ActionChange[]> {
    const height = block.header.height
    // Every action record the block changed was written by it: a point read of that write is enough.
    return actionChangesOf(block, receipts, (keys) => this.#ledger.getStateWrittenAt(keys, height))
  }

  getTx(id: Uint8Array): Promise<TxRecord | undefined> {
    return this.#ledger.getTx(id)
  }

  getState(key: string): Promise<Uint8Array | undefined> {
    return this.#ledger.getState(key)
  }

  /**
   * A linearizable read of `key`: reflects every tx committed anywhere in the network before the call
   * (the node confirms with the leader and waits until it has applied that far). `getState` is faster
   * and may lag on a follower.
   */
  async getStateLinearizable(key: string, options: { signal?: AbortSignal } = {}): Promise<Uint8Array | undefined> {
    await this.#proposer.readBarrier(options)
    return this.#ledger.getState(key)
  }

  getStateAt(key: string, height: number): Promise<Uint8Array | undefined> {
    return this.#ledger.getStateAt(key, height)
  }

  /** World-state entries under `prefix` in key order, at most `limit`, after the key `after` when given. */
  scanState(prefix: string, limit: number, after?: string): Promise<[string, Uint8Array][]> {
    return this.#ledger.scanState(prefix, limit, after)
  }

  /** Provenance queries (lineage, who touched X, history, state at a height, an agent's txs, historian), from this node's indexes. */
  get prov(): ProvQueries {
    this.#provQueries ??= new ProvQueries(this.#ledger, { stateKeyOf: stateKeyOfProvId })
    return this.#provQueries
  }

  /**
   * Provenance as PROV-JSON, PROV-N or Turtle: one block (a bundle), a range of blocks (the whole ledger
   * by default, one bundle per block), or the lineage subgraph of one id.
   */
  async exportProv(
    what: { block: number } | { from?: number; to?: number } | { lineage: QualifiedName; direction?: LineageDirection; depth?: number; limit?: number },
    format: ProvFormat,
    options: { signal?: AbortSignal } = {}
  ): Promise<string> {
    if ('block' in what) return serialiseProv(await blockDocument(this.#ledger, what.block, options), format)
    if ('lineage' in what) {
      const { lineage, direction, ...limits } = what
      return serialiseProv(await lineageExport(this.prov, lineage, direction ?? 'backward', { ...limits, ...options }), format)
    }
    return serialiseProv(await ledgerDocument(this.#ledger, what, options), format)
  }

  /**
   * Hands leadership over if this node leads, stops consensus (the Ready in flight completes), refuses
   * what is pending, closes everything.
   */
  async close(): Promise<void> {
    if (this.#state === 'closed') return
    this.#state = 'closed'
    this.#health.stop()
    await this.#orchestrator?.stop()
    await this.#proposer.handOver()
    await this.#proposer.stop()
    for (const close of [...this.#closers].reverse()) await close()
    this.#logger.info('node closed')
  }
}

/** `promise`, or the abort reason of `signal` if it aborts first (the work itself goes on). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}
