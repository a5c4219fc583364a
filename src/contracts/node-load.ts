/**
 * What each node runs and is about to run, as the placement rule and service continuity need it
 * inside a tx. The ledger's StateReader has no prefix scan, so besides the per-container keys that
 * readers outside a tx scan (`node-containers/<nodeHex>/<containerId>`, see listNodeContainers), each
 * node has one record listing the same containers and the open actions that will start one on it:
 *
 *   node-load/<nodeHex>                       { containers: [id] (sorted), starting: [action id] (sorted) }
 *   node-containers/<nodeHex>/<containerId>   { imageDigest, action? } while the container is joined there
 *
 * container.join adds a container, container.leave and continuity remove it; emitAction adds a
 * container.start (on its node) or container.migrate (on its target) to `starting`, and closing the
 * action (a final action.report, or the container.join that fulfils it) removes it. The keys are
 * spelt here rather than in tom/state.ts because actions.ts, which tom/ imports, writes them too.
 */
import { decode, encode } from '../crypto/index.js'
import { layout, TxFailedError } from '../ledger/index.js'
import type { Ledger, StateReader, StateWriter } from '../ledger/index.js'
import { nodeContainersMax, nodeStartingMax } from './deployed-constants.js'

export interface NodeLoad {
  readonly containers: readonly string[]
  readonly starting: readonly string[]
}

export const nodeLoadKeys = {
  load: (nodeHex: string): string => `node-load/${nodeHex}`,
  containerPrefix: (nodeHex: string): string => `node-containers/${nodeHex}/`,
  container: (nodeHex: string, id: string): string => `node-containers/${nodeHex}/${id}`
}

const empty: NodeLoad = { containers: [], starting: [] }

export async function readNodeLoad(state: StateReader, nodeHex: string): Promise<NodeLoad> {
  const raw = await state.get(nodeLoadKeys.load(nodeHex))
  return raw === undefined ? empty : decode<NodeLoad>(raw)
}

/** Joined containers plus containers about to start: what the placement rule weighs against capacity. */
export function loadCount(load: NodeLoad): number {
  return load.containers.length + load.starting.length
}

function withItem(list: readonly string[], item: string): string[] {
  return list.includes(item) ? [...list] : [...list, item].sort()
}

function writeLoad(state: StateWriter, nodeHex: string, load: NodeLoad): void {
  if (load.containers.length === 0 && load.starting.length === 0) state.delete(nodeLoadKeys.load(nodeHex))
  else state.put(nodeLoadKeys.load(nodeHex), encode({ containers: [...load.containers], starting: [...load.starting] }))
}

export async function addNodeContainer(state: StateWriter, nodeHex: string, id: string, entry: { imageDigest: string, action?: string }): Promise<void> {
  const load = await readNodeLoad(state, nodeHex)
  if (load.containers.length >= nodeContainersMax) {
    throw new TxFailedError('ERR_NODE_CONTAINERS_MAX', `node ${nodeHex} already runs ${nodeContainersMax} containers, the most the ledger tracks per node`)
  }
  writeLoad(state, nodeHex, { ...load, containers: withItem(load.containers, id) })
  state.put(nodeLoadKeys.container(nodeHex, id), encode(entry))
}

export async function removeNodeContainer(state: StateWriter, nodeHex: string, id: string): Promise<void> {
  const load = await readNodeLoad(state, nodeHex)
  writeLoad(state, nodeHex, { ...load, containers: load.containers.filter((c) => c !== id) })
  state.delete(nodeLoadKeys.container(nodeHex, id))
}

export async function addStarting(state: StateWriter, nodeHex: string, actionId: string): Promise<void> {
  const load = await readNodeLoad(state, nodeHex)
  if (load.starting.length >= nodeStartingMax) {
    throw new TxFailedError('ERR_NODE_CONTAINERS_MAX', `node ${nodeHex} already has ${nodeStartingMax} open start actions, the most the ledger tracks per node`)
  }
  writeLoad(state, nodeHex, { ...load, starting: withItem(load.starting, actionId) })
}

export async function removeStarting(state: StateWriter, nodeHex: string, actionId: string): Promise<void> {
  const load = await readNodeLoad(state, nodeHex)
  if (!load.starting.includes(actionId)) return
  writeLoad(state, nodeHex, { ...load, starting: load.starting.filter((a) => a !== actionId) })
}

/** A container the committed state says runs on a node (listNodeContainers). */
export interface NodeContainer {
  readonly id: string
  readonly imageDigest: string
  /** The action it fulfilled, when it joined for one. */
  readonly action?: string
}

/**
 * The containers the committed state says are joined on `nodeHex`, in id order, at most `limit`:
 * what a node's reconciler compares with what its engine runs. Reads the store directly, like
 * listOpenActions.
 */
export async function listNodeContainers(ledger: Pick<Ledger, 'records'>, nodeHex: string, limit = nodeContainersMax): Promise<NodeContainer[]> {
  if (!/^[0-9a-f]{64}$/.test(nodeHex)) throw new TypeError('node must be a public key in 64 lowercase hex')
  const gte = layout.state(nodeLoadKeys.containerPrefix(nodeHex))
  // UTF-8 never holds 0xff, so this bounds every key that extends the prefix.
  const lt = new Uint8Array(gte.length + 1)
  lt.set(gte)
  lt[gte.length] = 0xff
  const out: NodeContainer[] = []
  const text = new TextDecoder()
  for await (const [key, value] of ledger.records({ gte, lt, limit: Math.min(limit, nodeContainersMax) })) {
    const entry = decode<{ imageDigest: string, action?: string }>(value)
    out.push({ id: text.decode(key.subarray(gte.length)), ...entry })
  }
  return out
}
