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

export function optionalNameField(p: Payload, field: string, max = 128): string | undefined {
  return p[field] === undefined ? undefined : nameField(p, field, max)
}

/** Control characters would let a label or location forge extra lines in logs and exports. */
const controlCharPattern = /[\u0000-\u001f\u007f-\u009f]/

/** Free text: 1 to `max` characters, none of them a control character; undefined when absent. */
export function optionalTextField(p: Payload, field: string, max: number): string | undefined {
  const v = p[field]
  if (v === undefined) return undefined
  if (typeof v !== 'string' || v.length === 0 || v.length > max || controlCharPattern.test(v)) {
    throw invalid(`${field} must be text of 1 to ${max} characters without control characters`)
  }
  return v
}

/**
 * A map of names to text values: 1 to `maxEntries` entries (0 allowed when `optional`), names of 1 to
 * `nameMax` characters that start with a letter then letters, digits or '_' (so each fits a PROV
 * attribute name and an ACL condition field), values free text of at most `valueMax` characters.
 */
export function textMapField(
  p: Payload, field: string, limits: { readonly maxEntries: number, readonly nameMax: number, readonly valueMax: number }
): Record<string, string> {
  const v = p[field]
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) throw invalid(`${field} must be a map of names to text`)
  const entries = Object.entries(v)
  if (entries.length === 0 || entries.length > limits.maxEntries) throw invalid(`${field} must hold 1 to ${limits.maxEntries} entries`)
  const out: Record<string, string> = {}
  for (const [name, value] of entries) {
    if (name.length > limits.nameMax || !/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) {
      throw invalid(`${field}: attribute name ${JSON.stringify(name.slice(0, 80))} must be 1 to ${limits.nameMax} letters, digits or _, starting with a letter`)
    }
    out[name] = optionalTextField({ [`${field}.${name}`]: value ?? '' }, `${field}.${name}`, limits.valueMax) ?? ''
  }
  return out
}
