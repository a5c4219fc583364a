/**
 * A node's data folder (mode 0700):
 *   config.json     options (see config.ts)
 *   node.key        the node's Ed25519 key (0600): its ledger identity and its libp2p PeerId
 *   admin.key       the founding organisation's admin key, when this folder created the network (0600).
 *                   Move it off the host for a real deployment: whoever holds it governs the org.
 *   genesis.block   the genesis block (CBOR), to hand to nodes that join
 *   ledger/         the LevelDB ledger
 */
import { mkdir, readFile, writeFile, stat, chmod } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, saveKeyFile, Signer, toHex, peerIdOf } from '../crypto/index.js'
import type { KeyPair } from '../crypto/index.js'
import { Ledger, LevelKvStore, decodeBlock, genesisNetwork, sealBlock, signTx, zeroHash, emptyStateDigest } from '../ledger/index.js'
import type { Block, Tx } from '../ledger/index.js'
import { CoreContracts } from '../contracts/index.js'
import { defaultTxTtlMs } from './constants.js'
import { NodeError } from './errors.js'

export const dataDirFiles = {
  config: 'config.json',
  nodeKey: 'node.key',
  adminKey: 'admin.key',
  genesis: 'genesis.block',
  ledger: 'ledger'
} as const

export function dataPath(dir: string, file: keyof typeof dataDirFiles): string {
  return join(dir, dataDirFiles[file])
}

export interface FoundingNode {
  readonly keys: KeyPair
  readonly name: string
  /** Multiaddrs where the other nodes reach it (without /p2p/). */
  readonly addrs?: readonly string[]
}

export interface GenesisOptions {
  readonly networkName: string
  readonly orgName: string
  readonly admin: KeyPair
  /** The founding nodes: the first Raft voters (ids 1, 2, ...). The first seals the block. */
  readonly nodes: readonly FoundingNode[]
  /** Genesis time, ms since epoch. Default: now. */
  readonly time?: number
}

/** The genesis block: network.create, org.create and a node.add per founding node, signed by the admin. */
export function createGenesisBlock(options: GenesisOptions): Block {
  const time = options.time ?? Date.now()
  const admin = new Signer(options.admin)
  const first = options.nodes[0]
  if (first === undefined) throw new TypeError('a network needs at least one founding node')
  const tx = (type: string, payload: Tx['payload'], nonce: number): Tx =>
    signTx({ network: genesisNetwork, type, signer: admin.publicKey, nonce, expiresAt: time + defaultTxTtlMs, payload }, admin)
  const txs = [
    tx('network.create', { name: options.networkName }, 0),
    tx('org.create', { name: options.orgName, admins: [admin.publicKey] }, 1),
    ...options.nodes.map((n, i) =>
      tx('node.add', { org: options.orgName, publicKey: n.keys.publicKey, name: n.name, addrs: [...(n.addrs ?? [])] }, 2 + i)
    )
  ]
  return sealBlock({ height: 0, prevHash: zeroHash, time, stateRoot: emptyStateDigest, raftTerm: 0, raftIndex: 0, txs }, new Signer(first.keys))
}

export interface InitResult {
  readonly dir: string
  /** The network id: the genesis block hash, hex. */
  readonly network: string
  readonly networkName: string
  readonly org: string
  readonly nodeName: string
  readonly nodeKey: string
  readonly peerId: string
  readonly adminKey: string
  readonly adminKeyPath: string
}

export interface InitOptions {
  readonly dir: string
  readonly networkName?: string
  readonly orgName?: string
  readonly nodeName?: string
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false
  )
}

/** Creates a new network in `dir`: keys, config, the genesis block, and the ledger holding it. */
export async function initNetwork(options: InitOptions): Promise<InitResult> {
  const { dir } = options
  const networkName = options.networkName ?? 'tom'
  const orgName = options.orgName ?? 'org1'
  const nodeName = options.nodeName ?? 'node1'
  if (await exists(dataPath(dir, 'genesis'))) throw new NodeError('ERR_NODE_ALREADY_INITIALISED', `${dir} already holds a network (genesis.block exists)`)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await chmod(dir, 0o700)
  const admin = generateKeyPair()
  const node = generateKeyPair()
  const genesis = createGenesisBlock({ networkName, orgName, admin, nodes: [{ keys: node, name: nodeName }] })

  // Apply first: a genesis the contracts refuse (say, a bad name) must leave no half-made folder.
  const ledger = await Ledger.open(new LevelKvStore(dataPath(dir, 'ledger')), new CoreContracts())
  try {
    if (ledger.head !== undefined) throw new NodeError('ERR_NODE_ALREADY_INITIALISED', `${dir}/ledger already holds a chain`)
    const { receipts } = await ledger.applyBlock(genesis)
    const failed = receipts.find((r) => !r.ok)
    if (failed !== undefined && !failed.ok) throw new NodeError('ERR_CONFIG_INVALID', `genesis refused: ${failed.code}: ${failed.message}`)
  } finally {
    await ledger.close()
  }
  await saveKeyFile(dataPath(dir, 'nodeKey'), node)
  await saveKeyFile(dataPath(dir, 'adminKey'), admin)
  await writeFile(dataPath(dir, 'config'), JSON.stringify({ name: nodeName }, null, 2) + '\n', { mode: 0o600 })
  await writeFile(dataPath(dir, 'genesis'), genesis.bytes, { mode: 0o644 })
  return {
    dir,
    network: toHex(genesis.hash),
    networkName,
    org: orgName,
    nodeName,
    nodeKey: toHex(node.publicKey),
    peerId: peerIdOf(node.publicKey),
    adminKey: toHex(admin.publicKey),
    adminKeyPath: dataPath(dir, 'adminKey')
  }
}

/** Reads the genesis block of a data folder. */
export async function readGenesis(dir: string): Promise<Block> {
  let bytes: Uint8Array
  try {
    bytes = new Uint8Array(await readFile(dataPath(dir, 'genesis')))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NodeError('ERR_NODE_NOT_INITIALISED', `${dir} holds no network: run tom-node init --dir ${dir}`)
    throw err
  }
  return decodeBlock(bytes)
}

export interface JoinOptions {
  readonly dir: string
  /** The network's genesis.block, from any node's data folder. */
  readonly genesis: Uint8Array
  readonly nodeName: string
  /** Multiaddrs this node listens on and announces, e.g. /ip4/10.0.0.5/tcp/7401. */
  readonly listen: readonly string[]
}

export interface JoinInfo {
  readonly dir: string
  readonly network: string
  readonly nodeName: string
  readonly publicKey: string
  readonly peerId: string
  readonly addrs: readonly string[]
}

/**
 * Prepares a data folder for a node that joins an existing network: its key, its config and the
 * network's genesis block. An admin then adds it with a node.add tx naming its public key and
 * addresses; `tom-node start` waits for that, syncs, and takes its place (learner, then voter).
 */
export async function initJoiningNode(options: JoinOptions): Promise<JoinInfo> {
  const { dir } = options
  const genesis = decodeBlock(options.genesis)
  if (genesis.header.height !== 0) throw new NodeError('ERR_CONFIG_INVALID', 'the genesis file holds a block that is not at height 0')
  if (await exists(dataPath(dir, 'genesis'))) throw new NodeError('ERR_NODE_ALREADY_INITIALISED', `${dir} already holds a network (genesis.block exists)`)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await chmod(dir, 0o700)
  const node = generateKeyPair()
  await saveKeyFile(dataPath(dir, 'nodeKey'), node)
  await writeFile(dataPath(dir, 'config'), JSON.stringify({ name: options.nodeName, listen: options.listen }, null, 2) + '\n', { mode: 0o600 })
  await writeFile(dataPath(dir, 'genesis'), genesis.bytes, { mode: 0o644 })
  return { dir, network: toHex(genesis.hash), nodeName: options.nodeName, publicKey: toHex(node.publicKey), peerId: peerIdOf(node.publicKey), addrs: options.listen }
}
