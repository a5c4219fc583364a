/**
 * What one committed block did to orchestration actions, in chain order: each action a tx emitted
 * (status pending), each `action.report` (its status), and each `container.join` that fulfilled an
 * action (done). This is what a node's event stream sends as `action` events.
 *
 * Derived from the block's txs and receipts plus the action records at the block's height, so that it
 * answers the same for any block, whether it was just applied or is read back from the ledger long
 * after. Only the three places where actions.ts and tom/containers.ts write an action record are
 * followed here: a new writer of action records must be added here too.
 */
import { decode, toHex } from '../crypto/index.js'
import type { Block, Receipt } from '../ledger/index.js'
import { actionStateKeys } from './actions.js'
import type { ActionRecord, ActionStatus, ActionType } from './actions.js'
import { txActionsMax } from './deployed-constants.js'

/** One change of one action in a committed block. */
export interface ActionChange {
  /** `<emitting tx id hex>-<n>`. */
  readonly id: string
  readonly type: ActionType
  /** The addressed node's public key, hex. */
  readonly node: string
  /** The container the action is about (params.container). */
  readonly container: string
  /** The status this change set: pending when emitted, then what a report or a join said. */
  readonly status: ActionStatus
  readonly height: number
  /** The tx that made the change (hex) and its index in the block. */
  readonly tx: string
  readonly index: number
  /** A report's detail (why it waits, why it failed). */
  readonly detail?: string
  /** A migrate's target node, hex. */
  readonly target?: string
}

/** Reads a state key as it was after the block in question. */
export type StateAtBlock = (key: string) => Promise<Uint8Array | undefined>

export async function actionChangesOf(block: Block, receipts: readonly Receipt[], stateAt: StateAtBlock): Promise<ActionChange[]> {
  const height = block.header.height
  const changes: ActionChange[] = []
  const recordOf = async (id: string): Promise<ActionRecord | undefined> => {
    const raw = await stateAt(actionStateKeys.action(id))
    return raw === undefined ? undefined : decode<ActionRecord>(raw)
  }
  const change = (record: ActionRecord, status: ActionStatus, txHex: string, index: number, detail?: unknown): ActionChange => {
    const params = record.params as { container: string; target?: string }
    return {
      id: record.id,
      type: record.type,
      node: record.node,
      container: params.container,
      status,
      height,
      tx: txHex,
      index,
      ...(typeof detail === 'string' ? { detail } : {}),
      ...(params.target === undefined ? {} : { target: params.target })
    }
  }
  for (const [index, tx] of block.txs.entries()) {
    if (!receipts[index]?.ok) continue // a failed tx changed nothing
    const txHex = toHex(tx.id)
    const payload = tx.payload as Record<string, unknown> | null
    // A report or a join closes an action that an earlier tx emitted.
    const closed = tx.type === 'action.report' ? payload?.id : tx.type === 'container.join' ? payload?.action : undefined
    if (typeof closed === 'string') {
      const record = await recordOf(closed)
      // The tx committed ok, so the action exists; a missing record is a corrupt ledger, not bad input.
      if (record === undefined) throw new Error(`assertion: tx ${txHex} at height ${height} changed action ${closed}, which is not in the state`)
      const status = tx.type === 'action.report' ? (payload!.status as ActionStatus) : 'done'
      changes.push(change(record, status, txHex, index, tx.type === 'action.report' ? payload!.detail : undefined))
    }
    // Ids a tx emits are numbered from 0 without a hole (emitAction), so the first missing one ends them.
    for (let n = 0; n < txActionsMax; n++) {
      const record = await recordOf(`${txHex}-${n}`)
      if (record === undefined) break
      changes.push(change(record, 'pending', txHex, index))
    }
  }
  return changes
}
