/**
 * Node health and service continuity (the MEC cluster scenario): when a node stops answering, or
 * leaves, its containers are started again on healthy nodes.
 *
 * - `node.unreachable { publicKey }` signed by another node (the Raft leader's, which saw it stop
 *   answering): records node-health/<hex> { status: 'unreachable', since: height } and moves its
 *   containers. A node already unreachable is refused (ERR_NODE_HEALTH), as is a node declaring itself.
 * - `node.reachable { publicKey }` signed by a node (the leader, or the node itself) when it answers
 *   again: deletes node-health/<hex> (ERR_NODE_HEALTH when it was not unreachable). It gets nothing
 *   back: its old containers were lost and replaced; its reconciler stops them.
 * - node.remove (core.ts, a graceful leave) moves the containers of the removed node the same way.
 *
 * Moving (moveContainersOff): for each container joined on the failed node (node-load.ts), in id
 * order, the placement rule (placement.ts) picks a node with the labels the container's original
 * start action asked for (params.placement.labels), and a container.start is emitted on it with
 * { image, container: `<old id>-r<height>`, env?, cmd?, placement?, limits?, labels? (copied from the original start
 * action when the container joined for one), replaces: <old id> }. The old container becomes 'lost'
 * (lostAt; it may no longer act) and leaves the node's index. When no node fits, or the new id would
 * not be a valid container name, or the tx already emitted txActionsMax actions, nothing is emitted
 * for it: continuity/unplaced/<old id> { container, node, image, labels, height, reason } says why,
 * and the container is lost all the same. Nothing places it later by itself: an admin or a deployed
 * contract may start it again.
 *
 * PROV: the unreachable (or remove) tx is the continuity decision. For each container moved it used
 * the old container (role tom:movedContainer), generated the new start action derived from it
 * (actions.ts), and invalidated the old container; for an unplaced one, it used and invalidated it.
 * The replacement's container.join closes the story: tom:container/<new> wasDerivedFrom the action.
 */
import { encode, publicKeyBytes, toHex } from '../../crypto/index.js'
import { TxFailedError } from '../../ledger/index.js'
import type { Tx, TxContext } from '../../ledger/index.js'
import { literal } from '../../prov/index.js'
import { emitAction, isContainerName, readAction } from '../actions.js'
import type { StartParams } from '../actions.js'
import { txActionsMax } from '../deployed-constants.js'
import { readNodeLoad, removeNodeContainer } from '../node-load.js'
import { bytesField, onlyFields } from '../payload.js'
import type { Payload } from '../payload.js'
import { provIds } from '../prov-ids.js'
import type { ContainerRecord } from './containers.js'
import { producerIdLengthMax } from './constants.js'
import { isUnreachable, nodeHealthKey, placeContainer } from './placement.js'
import { readCbor, requireIdentity, stateKeys } from './state.js'
import type { ContractState } from './state.js'

export const unplacedKey = (containerId: string): string => `continuity/unplaced/${containerId}`

/** What an unplaced container record says. */
export interface UnplacedRecord {
  readonly container: string
  /** The node it ran on (continuity) or should have run on; absent for a template's container. */
  readonly node?: string
  readonly image: string
  readonly labels: Readonly<Record<string, string>>
  readonly height: number
  readonly reason: string
  /** The template whose container found no node, when one did. */
  readonly template?: string
}

export function recordUnplaced(state: ContractState, record: UnplacedRecord): void {
  state.put(unplacedKey(record.container), encode(record as unknown as Record<string, unknown>))
}

/** The id the replacement of `id` decided at `height` joins under. */
export function replacementContainerId(id: string, height: number): string {
  return `${id}-r${height}`
}

/**
 * Moves every container joined on `failedHex` to healthy nodes (see the module comment), as part of
 * `tx`. Returns the ids of the start actions it emitted.
 */
export async function moveContainersOff(tx: Tx, state: ContractState, context: TxContext, failedHex: string): Promise<string[]> {
  const emitted: string[] = []
  const activity = provIds.tx(tx)
  for (const id of (await readNodeLoad(state, failedHex)).containers) {
    const container = await readCbor<ContainerRecord>(state, stateKeys.container(id))
    // The index and the record are written together; a disagreement is a bug, not bad input.
    if (container?.status !== 'joined') throw new Error(`node-load/${failedHex} lists ${id}, which is not a joined container`)
    const original = container.action === undefined ? undefined : await readAction(state, container.action)
    const from: Partial<StartParams> = original?.type === 'container.start' ? original.params as StartParams : {}
    const labels = from.placement?.labels ?? {}
    const image = container.imageDigest.slice('sha256:'.length)
    const newId = replacementContainerId(id, context.height)
    let target: string | undefined
    let reason: string | undefined
    if (!isContainerName(newId) || newId.length > producerIdLengthMax) reason = `the replacement's id ${newId.slice(0, 64)} is not a valid container name`
    else if (emitted.length >= txActionsMax) reason = `one tx emits at most ${txActionsMax} actions`
    else if ((target = await placeContainer(state, labels, [failedHex])) === undefined) reason = 'no healthy node has the labels and the capacity it needs'
    if (target !== undefined && reason === undefined) {
      const params: StartParams = {
        image,
        container: newId,
        ...(from.env === undefined ? {} : { env: from.env }),
        ...(from.cmd === undefined ? {} : { cmd: from.cmd }),
        ...(from.placement === undefined ? {} : { placement: from.placement }),
        ...(from.limits === undefined ? {} : { limits: from.limits }),
        ...(from.labels === undefined ? {} : { labels: from.labels }),
        replaces: id
      }
      // emitAction records the use of the old container and the action's derivation from it.
      emitted.push(await emitAction(tx, state, context, { type: 'container.start', node: target, params }, 'continuity'))
    } else {
      recordUnplaced(state, { container: id, node: failedHex, image: container.imageDigest, labels, height: context.height, reason: reason! })
      state.prov.add(
        { kind: 'entity', id: provIds.container(id), attributes: [] },
        { kind: 'used', activity, entity: provIds.container(id), attributes: [{ name: 'prov:role', value: literal.qualifiedName('tom:movedContainer') }] }
      )
    }
    state.put(stateKeys.container(id), encode({ ...container, status: 'lost', lostAt: context.height }))
    await removeNodeContainer(state, failedHex, id)
    state.prov.add({ kind: 'wasInvalidatedBy', entity: provIds.container(id), activity, attributes: [] })
  }
  return emitted
}

async function healthTarget(tx: Tx, p: Payload, state: ContractState): Promise<string> {
  onlyFields(p, ['publicKey'])
  const key = bytesField(p, 'publicKey', publicKeyBytes)
  const signer = await requireIdentity(state, tx.signer)
  if (signer.kind !== 'node') throw new TxFailedError('ERR_TX_UNAUTHORIZED', `${tx.type} is signed by a node (the Raft leader's)`)
  if ((await state.get(stateKeys.node(key))) === undefined) throw new TxFailedError('ERR_NODE_UNKNOWN', `${toHex(key)} is not a node`)
  return toHex(key)
}

export async function nodeUnreachable(tx: Tx, p: Payload, state: ContractState, context: TxContext): Promise<void> {
  const hex = await healthTarget(tx, p, state)
  if (hex === toHex(tx.signer)) throw new TxFailedError('ERR_TX_UNAUTHORIZED', 'a node does not declare itself unreachable')
  if (await isUnreachable(state, hex)) throw new TxFailedError('ERR_NODE_HEALTH', `node ${hex} is already unreachable`)
  state.put(nodeHealthKey(hex), encode({ status: 'unreachable', since: context.height }))
  await moveContainersOff(tx, state, context, hex)
}

export async function nodeReachable(tx: Tx, p: Payload, state: ContractState): Promise<void> {
  const hex = await healthTarget(tx, p, state)
  if (!(await isUnreachable(state, hex))) throw new TxFailedError('ERR_NODE_HEALTH', `node ${hex} is not unreachable`)
  state.delete(nodeHealthKey(hex))
}
