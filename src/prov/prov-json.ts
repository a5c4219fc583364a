/**
 * PROV-JSON, as the W3C member submission defines it (https://www.w3.org/submissions/prov-json/):
 * a prefix block, then one object per record kind keyed by id, with unnamed relations under
 * blank-node ids `_:idN`; literals other than plain strings as `{"$": lexical, "type": xsd:...}`,
 * qualified-name values typed `xsd:QName`; several values of one attribute as an array.
 * Bundles are written under `bundle`; all prefixes are declared at the top.
 *
 * The relation key is `wasEndedBy`, as the submission's text has it (its schema misspells it
 * `wasEndedby`; the parser accepts both).
 */
import { ProvFormatError } from './errors.js'
import {
  elementKinds, isElement, literalTypes, normaliseDocument, recordId, relationArgument, relationKinds, relationSpecs, toLiteral
} from './model.js'
import type { Attribute, Bundle, Literal, LiteralType, ProvDocument, ProvRecord, RecordKind } from './model.js'

export type ProvJsonValue = string | number | boolean | { $: string; type?: string; lang?: string } | ProvJsonValue[]
export type ProvJsonRecord = Record<string, ProvJsonValue>
export type ProvJsonContainer = { [kind: string]: Record<string, ProvJsonRecord> }
export interface ProvJsonDocument {
  prefix?: Record<string, string>
  bundle?: Record<string, ProvJsonContainer>
  [kind: string]: unknown
}

function literalToJson(l: Literal): ProvJsonValue {
  if (l.type === 'xsd:string') return l.lang === undefined ? l.value : { $: l.value, lang: l.lang }
  return { $: l.value, type: l.type }
}

function attributesToJson(out: ProvJsonRecord, attributes: readonly Attribute[]): void {
  for (const a of attributes) {
    const v = literalToJson(a.value)
    const prev = out[a.name]
    if (prev === undefined) out[a.name] = v
    else if (Array.isArray(prev)) prev.push(v)
    else out[a.name] = [prev, v]
  }
}

function containerToJson(records: readonly ProvRecord[], blank: { n: number }): ProvJsonContainer {
  const out: ProvJsonContainer = {}
  for (const r of records) {
    const group = (out[r.kind] ??= {})
    const body: ProvJsonRecord = {}
    if (r.kind === 'activity') {
      if (r.startTime !== undefined) body['prov:startTime'] = r.startTime
      if (r.endTime !== undefined) body['prov:endTime'] = r.endTime
    }
    if (!isElement(r)) {
      for (const a of relationSpecs[r.kind].args) {
        const v = relationArgument(r, a.field)
        if (v !== undefined) body[a.json] = v
      }
    }
    if ('attributes' in r) attributesToJson(body, r.attributes)
    group[recordId(r) ?? `_:id${++blank.n}`] = body
  }
  return out
}

/** The PROV-JSON object of a document (normalised first, so it is checked). */
export function toProvJsonObject(doc: ProvDocument): ProvJsonDocument {
  const d = normaliseDocument(doc)
  const blank = { n: 0 }
  const out: ProvJsonDocument = {}
  if (Object.keys(d.prefixes).length > 0) out.prefix = { ...d.prefixes }
  Object.assign(out, containerToJson(d.records, blank))
  if (d.bundles.length > 0) {
    out.bundle = {}
    for (const b of d.bundles) out.bundle[b.id] = containerToJson(b.records, blank)
  }
  return out
}

export function toProvJson(doc: ProvDocument, options?: { indent?: number }): string {
  return JSON.stringify(toProvJsonObject(doc), null, options?.indent)
}

// ---------------------------------------------------------------------------------------------
// Parsing

function fail(why: string): never {
  throw new ProvFormatError('ERR_PROV_PARSE', `PROV-JSON: ${why}`)
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function literalFromJson(v: unknown, where: string): Literal {
  if (typeof v === 'string' || typeof v === 'boolean') return toLiteral(v)
  if (typeof v === 'number') return toLiteral(v)
  if (isObject(v) && typeof v.$ === 'string') {
    for (const k of Object.keys(v)) if (k !== '$' && k !== 'type' && k !== 'lang') fail(`${where}: unexpected key ${k} in a literal`)
    if (v.lang !== undefined) {
      if (typeof v.lang !== 'string' || (v.type !== undefined && v.type !== 'xsd:string' && v.type !== 'prov:InternationalizedString')) fail(`${where}: bad language literal`)
      return toLiteral({ value: v.$, type: 'xsd:string', lang: v.lang })
    }
    const type = v.type ?? 'xsd:string'
    if (typeof type !== 'string' || !(literalTypes as readonly string[]).includes(type)) fail(`${where}: unsupported literal type ${String(type)}`)
    return toLiteral({ value: v.$, type: type as LiteralType })
  }
  return fail(`${where}: not a literal`)
}

const jsonKinds = new Map<string, RecordKind>([...elementKinds, ...relationKinds].map((k) => [k, k]))
jsonKinds.set('wasEndedby', 'wasEndedBy')

function containerFromJson(container: Record<string, unknown>, prefixes: Record<string, string>, bundles: Bundle[] | undefined): ProvRecord[] {
  const records: ProvRecord[] = []
  for (const [key, group] of Object.entries(container)) {
    if (key === 'prefix') {
      if (!isObject(group)) fail('prefix is not an object')
      for (const [p, uri] of Object.entries(group)) {
        if (typeof uri !== 'string') fail(`prefix ${p} is not a string`)
        if (prefixes[p] !== undefined && prefixes[p] !== uri) fail(`prefix ${p} is bound to two namespaces`)
        prefixes[p] = uri
      }
      continue
    }
    if (key === 'bundle') {
      if (bundles === undefined) fail('a bundle inside a bundle')
      if (!isObject(group)) fail('bundle is not an object')
      for (const [id, body] of Object.entries(group)) {
        if (!isObject(body)) fail(`bundle ${id} is not an object`)
        bundles.push({ id, records: containerFromJson(body, prefixes, undefined) })
      }
      continue
    }
    const kind = jsonKinds.get(key) ?? fail(`unknown key ${key}`)
    if (!isObject(group)) fail(`${key} is not an object`)
    for (const [id, body] of Object.entries(group)) {
      if (!isObject(body)) fail(`${key} ${id} is not an object (several records under one id are not supported)`)
      records.push(recordFromJson(kind, id, body))
    }
  }
  return records
}

function recordFromJson(kind: RecordKind, id: string, body: Record<string, unknown>): ProvRecord {
  const where = `${kind} ${id}`
  const out: Record<string, unknown> = { kind }
  const reserved = new Map<string, string>()
  if (kind === 'activity') {
    reserved.set('prov:startTime', 'startTime')
    reserved.set('prov:endTime', 'endTime')
  } else if (kind !== 'entity' && kind !== 'agent') {
    for (const a of relationSpecs[kind].args) reserved.set(a.json, a.field)
  }
  const identified = kind === 'entity' || kind === 'activity' || kind === 'agent' || relationSpecs[kind].identified
  if (identified && !id.startsWith('_:')) out.id = id
  const attributes: Attribute[] = []
  for (const [k, v] of Object.entries(body)) {
    const field = reserved.get(k)
    if (field !== undefined) {
      if (typeof v !== 'string') fail(`${where}: ${k} is not a string`)
      out[field] = v
    } else {
      if (!identified) fail(`${where}: ${kind} has no attributes`)
      for (const item of Array.isArray(v) ? v : [v]) attributes.push({ name: k, value: literalFromJson(item, `${where} ${k}`) })
    }
  }
  if (identified) out.attributes = attributes
  return out as unknown as ProvRecord
}

/** Parses a PROV-JSON text or object into a normalised, checked document (ProvFormatError on failure). */
export function fromProvJson(input: string | unknown): ProvDocument {
  let value: unknown = input
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input)
    } catch {
      fail('not JSON')
    }
  }
  if (!isObject(value)) fail('not an object')
  const prefixes: Record<string, string> = {}
  const bundles: Bundle[] = []
  const records = containerFromJson(value, prefixes, bundles)
  return normaliseDocument({ prefixes, records, bundles })
}
