/**
 * A real one-node network (LevelDB, Raft group of one, no orchestrator) with the API server on a
 * free loopback port, for the API tests. Everything is torn down with the test.
 */
import { join } from 'node:path'
import { loadKeyFile, Signer } from '../../src/crypto/index.js'
import { dataPath, initNetwork, silentLogger, TomNode } from '../../src/node/index.js'
import { createApiServer, TomClient } from '../../src/api/index.js'
import type { ApiNode, ApiServerOptions } from '../../src/api/index.js'

interface Tap {
  testdir(): string
  teardown(fn: () => unknown): void
}

export interface ApiFixture {
  readonly node: TomNode
  readonly admin: Signer
  readonly nodeSigner: Signer
  readonly url: string
  readonly client: TomClient
}

/** A started one-node network; `nodeSigner` is the node's own key (it signs what the node reports, e.g. action.report). */
export async function startNode(t: Tap, options: { start?: boolean } = {}): Promise<{ node: TomNode; admin: Signer; nodeSigner: Signer }> {
  const dir = join(t.testdir(), 'node')
  await initNetwork({ dir })
  const node = await TomNode.open({ dir, logger: silentLogger(), config: { orchestrator: false } })
  t.teardown(() => node.close())
  if (options.start !== false) node.start()
  return { node, admin: new Signer(await loadKeyFile(dataPath(dir, 'adminKey'))), nodeSigner: new Signer(await loadKeyFile(dataPath(dir, 'nodeKey'))) }
}

export async function startApi(t: Tap, node: ApiNode, options: ApiServerOptions = {}): Promise<{ url: string; client: TomClient }> {
  const server = createApiServer(node, { port: 0, rateLimit: false, ...options })
  const { url } = await server.start()
  t.teardown(() => server.stop())
  return { url, client: new TomClient({ url }) }
}

export async function apiFixture(t: Tap, options: ApiServerOptions = {}): Promise<ApiFixture> {
  const { node, admin, nodeSigner } = await startNode(t)
  // TomNode is an ApiNode as it is: this assignment is the compile-time check of that.
  const apiNode: ApiNode = node
  const { url, client } = await startApi(t, apiNode, options)
  return { node, admin, nodeSigner, url, client }
}

/** A distinct 32-byte data hash per call. */
let hashes = 0
export function dataHash(): Uint8Array {
  hashes++
  return new Uint8Array(32).map((_, i) => (hashes * 31 + i) & 0xff)
}
