/**
 * What one committed block did to orchestration actions, in chain order: each action a tx emitted
 * (status pending), each `action.report` (its status), and each `container.join` that fulfilled an
 * action (done). This is what a node's event stream sends as `action` events.
 *
 * Derived from the block's txs and receipts plus the action records as the block wrote them (every
 * change above writes its action's record), so that it answers the same for any block, whether it
 * was just applied or is read back from the ledger long after. Only the three places where actions.ts and tom/containers.ts write an action record are
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

/** The values the block in question gave `keys` (undefined where it did not write one), in one batch. */
export type WrittenByBlock = (keys: readonly string[]) => Promise<(Uint8Array | undefined)[]>

/**
 * The action changes of `block`. Reads in batches, not per tx: the records the reports and joins
 * name plus the first id each ok tx could have emitted, then the next ids of the txs that did emit.
 */
export async function actionChangesOf(block: Block, receipts: readonly Receipt[], written: WrittenByBlock): Promise<ActionChange[]> {
  const height = block.header.height
  const ok = block.txs.flatMap((tx, index) => (receipts[index]?.ok === true ? [{ tx, index, hex: toHex(tx.id) }] : [])) // a failed tx changed nothing
  const records = async (ids: readonly string[]): Promise<(ActionRecord | undefined)[]> =>
    (await written(ids.map((id) => actionStateKeys.action(id)))).map((raw) => (raw === undefined ? undefined : decode<ActionRecord>(raw)))
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

  // A report or a join closes an action that an earlier tx (or block) emitted.
  const closes = ok.map(({ tx }) => {
    const payload = tx.payload as Record<string, unknown> | null
    const id = tx.type === 'action.report' ? payload?.id : tx.type === 'container.join' ? payload?.action : undefined
    return typeof id === 'string' ? id : undefined
  })
  const closedIds = closes.filter((id): id is string => id !== undefined)
  const closedRecords = new Map(closedIds.map((id, i) => [id, i]))
  const closedFound = await records(closedIds)

  // Ids a tx emits are numbered from 0 without a hole (emitAction), so the first missing one ends them.
  const emitted = ok.map((): ActionRecord[] => [])
  let probing = ok.map((_, i) => i)
  for (let n = 0; n < txActionsMax && probing.length > 0; n++) {
    const found = await records(probing.map((i) => `${ok[i]!.hex}-${n}`))
    probing = probing.filter((i, j) => {
      const record = found[j]
      if (record !== undefined) emitted[i]!.push(record)
      return record !== undefined
    })
  }

  const changes: ActionChange[] = []
  for (const [i, { tx, index, hex }] of ok.entries()) {
    const closed = closes[i]
    if (closed !== undefined) {
      const record = closedFound[closedRecords.get(closed)!]
      // The tx committed ok, so its block wrote the record; a missing one is a corrupt ledger, not bad input.
      if (record === undefined) throw new Error(`assertion: tx ${hex} at height ${height} changed action ${closed}, which the block did not write`)
      const payload = tx.payload as Record<string, unknown>
      if (tx.type === 'action.report') changes.push(change(record, payload.status as ActionStatus, hex, index, payload.detail))
      else changes.push(change(record, 'done', hex, index))
    }
    for (const record of emitted[i]!) changes.push(change(record, 'pending', hex, index))
  }
  return changes
}
