/**
 * `trace.set { type, level }`: an admin sets the traceability level of a built-in tx type (levels in
 * trace-levels.ts). Stored as `trace/<type>` (CBOR string); setting `standard` removes the key, since
 * that is the default. The level applies to every tx of that type applied after this one, the rest
 * of its block included. Records no PROV beyond the tx's own activity: the payload says it all.
 */
import { encode } from '../../crypto/index.js'
import { TxFailedError } from '../../ledger/index.js'
import type { StateReader, Tx } from '../../ledger/index.js'
import { nameField, onlyFields } from '../payload.js'
import type { Payload } from '../payload.js'
import { readCbor, requireIdentity } from './state.js'
import type { ContractState } from './state.js'
import { defaultTraceLevel, isTraceLevel, traceLevels } from './trace-levels.js'
import type { TraceLevel } from './trace-levels.js'

export const traceKey = (type: string): string => `trace/${type}`

export async function traceLevelOf(state: StateReader, type: string): Promise<TraceLevel> {
  const stored = await readCbor<unknown>(state, traceKey(type))
  if (stored === undefined) return defaultTraceLevel
  // trace.set stores only known levels: anything else is a corrupt state, not bad input.
  if (!isTraceLevel(stored)) throw new Error(`trace/${type} holds ${String(stored)}, not a traceability level`)
  return stored
}

/** `knownTypes`: the tx types whose processors apply levels; others are refused, not silently ignored. */
export function traceSetProcessor(knownTypes: () => Iterable<string>) {
  return async (tx: Tx, p: Payload, state: ContractState): Promise<void> => {
    onlyFields(p, ['type', 'level'])
    const signer = await requireIdentity(state, tx.signer)
    if (signer.kind !== 'admin') throw new TxFailedError('ERR_TX_UNAUTHORIZED', 'only an admin sets traceability levels')
    const type = nameField(p, 'type', 64)
    const level = p.level
    if (!isTraceLevel(level)) throw new TxFailedError('ERR_TX_INVALID_PAYLOAD', `level must be one of ${traceLevels.join(', ')}`)
    if (![...knownTypes()].includes(type)) throw new TxFailedError('ERR_TRACE_UNKNOWN_TYPE', `no built-in contract handles ${type}`)
    if (level === defaultTraceLevel) state.delete(traceKey(type))
    else state.put(traceKey(type), encode(level))
  }
}
