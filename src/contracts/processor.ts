import type { StateWriter, Tx, TxContext } from '../ledger/index.js'
import type { Payload } from './payload.js'

/**
 * A tx type's contract (a Composer transaction processor): checks the payload and the signer's
 * rights, writes world state, and adds the PROV records of what the tx did (state.prov). Throwing
 * fails the tx and discards all of it.
 */
export type Processor = (tx: Tx, payload: Payload, state: StateWriter, context: TxContext) => Promise<void>
