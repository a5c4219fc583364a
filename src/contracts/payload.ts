/**
 * Reading a tx payload field by field with clear refusals. Every built-in contract checks its payload
 * through these, so a malformed payload always fails with ERR_TX_INVALID_PAYLOAD and says which field.
 */
import { TxFailedError } from '../ledger/index.js'
import type { CborValue } from '../crypto/index.js'

export type Payload = Readonly<Record<string, CborValue>>

function invalid(message: string): TxFailedError {
  return new TxFailedError('ERR_TX_INVALID_PAYLOAD', message)
}

export function asPayload(value: CborValue): Payload {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) {
    throw invalid('the payload must be a map')
  }
  return value as Payload
}

/** Refuses fields the contract does not know, so that a typo is not silently ignored. */
export function onlyFields(p: Payload, allowed: readonly string[]): void {
  for (const k of Object.keys(p)) if (!allowed.includes(k)) throw invalid(`unknown payload field ${k}`)
}

const namePattern = /^[A-Za-z0-9][A-Za-z0-9._:\/-]*$/

/** A name or id: 1 to `max` characters, starting with a letter or digit, then letters, digits, `._:/-`. */
export function nameField(p: Payload, field: string, max = 128): string {
  const v = p[field]
  if (typeof v !== 'string' || v.length === 0 || v.length > max || !namePattern.test(v)) {
    throw invalid(`${field} must be a name of 1 to ${max} characters (letters, digits, . _ : / -)`)
  }
  return v
}

export function bytesField(p: Payload, field: string, length: number): Uint8Array {
  const v = p[field]
  if (!(v instanceof Uint8Array) || v.length !== length) throw invalid(`${field} must be ${length} bytes`)
  return v
}

export function optionalCountField(p: Payload, field: string): number | undefined {
  const v = p[field]
  if (v === undefined) return undefined
  if (!Number.isSafeInteger(v) || (v as number) < 0) throw invalid(`${field} must be a non-negative integer`)
  return v as number
}

export function listField<T>(p: Payload, field: string, max: number, item: (v: CborValue, i: number) => T, optional = false): T[] {
  const v = p[field]
  if (v === undefined && optional) return []
  if (!Array.isArray(v) || v.length > max || (!optional && v.length === 0)) {
    throw invalid(`${field} must be a list of ${optional ? 0 : 1} to ${max} items`)
  }
  return v.map(item)
}
