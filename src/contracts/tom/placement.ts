/**
 * The placement rule: which node a container goes to when no node was named (service continuity,
 * orchestration templates). Deterministic, from the world state alone:
 *
 *   candidates = the nodes listed in `nodes`, minus the excluded ones (the failed node) and minus any
 *                node declared unreachable (node-health/<hex>);
 *   keep those whose labels include every required label (same name, same value) and whose load
 *                (joined containers + open actions that will start one there, node-load.ts) is below
 *                their capacity (node.add's `capacity`, nodeCapacityDefault when it gave none);
 *   pick the one with the least load; ties go to the lowest public key hex.
 *
 * Undefined when no node fits: the caller records the container as unplaced.
 */
import type { StateReader } from '../../ledger/index.js'
import { loadCount, readNodeLoad } from '../node-load.js'
import { nodeCapacityDefault } from './constants.js'
import { readCbor, stateKeys } from './state.js'

/** The fields of a node record (core.ts's NodeRecord) that placement reads. */
interface PlacementFields {
  readonly labels?: Readonly<Record<string, string>>
  readonly capacity?: number
}

export const nodeHealthKey = (nodeHex: string): string => `node-health/${nodeHex}`

export async function isUnreachable(state: StateReader, nodeHex: string): Promise<boolean> {
  return (await state.get(nodeHealthKey(nodeHex))) !== undefined
}

export async function placeContainer(
  state: StateReader, required: Readonly<Record<string, string>>, exclude: readonly string[] = []
): Promise<string | undefined> {
  const nodes = (await readCbor<string[]>(state, stateKeys.nodes)) ?? []
  let best: { hex: string, load: number } | undefined
  for (const hex of nodes) {
    if (exclude.includes(hex) || (await isUnreachable(state, hex))) continue
    const record = await readCbor<PlacementFields>(state, `node/${hex}`)
    if (record === undefined) continue
    const labels = record.labels ?? {}
    if (!Object.entries(required).every(([name, value]) => labels[name] === value)) continue
    const load = loadCount(await readNodeLoad(state, hex))
    if (load >= (record.capacity ?? nodeCapacityDefault)) continue
    if (best === undefined || load < best.load || (load === best.load && hex < best.hex)) best = { hex, load }
  }
  return best?.hex
}
