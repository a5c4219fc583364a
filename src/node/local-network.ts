/**
 * A local network of several nodes on loopback, for `tom-node up` and the multi-process tests:
 * one admin key (DIR/admin.key), and for each node DIR/nodeK with its key, its config (listening on
 * 127.0.0.1, port basePort + K - 1) and the shared genesis block, which names every node as a founding
 * Raft voter with its address.
 */
import { mkdir, writeFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, saveKeyFile, toHex, peerIdOf } from '../crypto/index.js'
import { createGenesisBlock, dataPath } from './data-dir.js'
import { NodeError } from './errors.js'

export interface LocalNetworkOptions {
  readonly dir: string
  readonly nodes: number
  /** Node K listens on basePort + K - 1. Default 7401. */
  readonly basePort?: number
  /** Node K's IPv4 address, hosts[K - 1]. Default 127.0.0.1 for all (tests use network namespaces). */
  readonly hosts?: readonly string[]
  readonly networkName?: string
  readonly orgName?: string
}

export interface LocalNetwork {
  readonly dir: string
  readonly network: string
  readonly adminKeyPath: string
  readonly nodes: { name: string; dir: string; address: string; peerId: string; publicKey: string; api: string }[]
}

/** A local node's HTTP API port is its p2p port plus this. */
export const apiPortOffset = 100

export function localNodeDir(dir: string, k: number): string {
  return join(dir, `node${k}`)
}

export async function initLocalNetwork(options: LocalNetworkOptions): Promise<LocalNetwork> {
  const { dir, nodes: count } = options
  if (!Number.isSafeInteger(count) || count < 1 || count > 16) throw new NodeError('ERR_CONFIG_INVALID', 'a local network has 1 to 16 nodes')
  const basePort = options.basePort ?? 7401
  const exists = await stat(dataPath(localNodeDir(dir, 1), 'genesis')).then(
    () => true,
    () => false
  )
  if (exists) throw new NodeError('ERR_NODE_ALREADY_INITIALISED', `${dir} already holds a network`)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const admin = generateKeyPair()
  const founders = Array.from({ length: count }, (_, i) => ({
    keys: generateKeyPair(),
    name: `node${i + 1}`,
    addrs: [`/ip4/${options.hosts?.[i] ?? '127.0.0.1'}/tcp/${basePort + i}`]
  }))
  const genesis = createGenesisBlock({ networkName: options.networkName ?? 'tom', orgName: options.orgName ?? 'org1', admin, nodes: founders })
  const adminKeyPath = join(dir, 'admin.key')
  await saveKeyFile(adminKeyPath, admin)
  const nodes: LocalNetwork['nodes'] = []
  for (const [i, founder] of founders.entries()) {
    const nodeDir = localNodeDir(dir, i + 1)
    await mkdir(nodeDir, { recursive: true, mode: 0o700 })
    await saveKeyFile(dataPath(nodeDir, 'nodeKey'), founder.keys)
    // Each node's HTTP API on its own port, 100 above its p2p port (7501, 7502, ... by default).
    const apiPort = basePort + apiPortOffset + i
    await writeFile(dataPath(nodeDir, 'config'), JSON.stringify({ name: founder.name, listen: founder.addrs, apiPort }, null, 2) + '\n', { mode: 0o600 })
    await writeFile(dataPath(nodeDir, 'genesis'), genesis.bytes, { mode: 0o644 })
    nodes.push({ name: founder.name, dir: nodeDir, address: founder.addrs[0]!, peerId: peerIdOf(founder.keys.publicKey), publicKey: toHex(founder.keys.publicKey), api: `http://127.0.0.1:${apiPort}` })
  }
  return { dir, network: toHex(genesis.hash), adminKeyPath, nodes }
}
