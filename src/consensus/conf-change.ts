/**
 * The encoding of a ConfChange inside a 'confChange' entry. Entry data is opaque bytes to the
 * log, so the change travels as a small fixed text form that every node decodes identically.
 */
import { assert } from './errors.js'
import type { ConfChange } from './types.js'

const types: ReadonlyArray<ConfChange['type']> = ['addVoter', 'removeVoter', 'addLearner']

export function encodeConfChange(cc: ConfChange): Uint8Array {
  assert(types.includes(cc.type), `unknown conf change type ${String(cc.type)}`)
  assert(Number.isSafeInteger(cc.nodeId) && cc.nodeId > 0, `bad conf change node id ${cc.nodeId}`)
  return new TextEncoder().encode(`${cc.type} ${cc.nodeId}`)
}

/** Decodes what encodeConfChange wrote. A committed entry that does not decode is corruption. */
export function decodeConfChange(data: Uint8Array): ConfChange {
  const text = new TextDecoder().decode(data)
  const [type, id, ...rest] = text.split(' ')
  const nodeId = Number(id)
  assert(rest.length === 0 && types.includes(type as ConfChange['type']), `bad conf change entry: ${JSON.stringify(text)}`)
  assert(Number.isSafeInteger(nodeId) && nodeId > 0, `bad conf change entry: ${JSON.stringify(text)}`)
  return { type: type as ConfChange['type'], nodeId }
}
