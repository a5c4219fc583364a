/**
 * The PROV-DM data model as plain, immutable data: qualified names, typed literals, the three
 * element kinds, the fourteen relations, bundles and documents, with builders that check and
 * normalise what they build. Every serialiser and parser in this folder reads and writes these
 * types, and `normaliseDocument` fixes the one order all of them agree on, so that
 * parse(serialise(doc)) deep-equals doc for any document a builder made.
 *
 * Names are `prefix:local` strings resolved through the document's prefix map. TOM's own names
 * use the prefix `tom` bound to `tomNamespace`; `prov` and `xsd` are predefined and never listed.
 */
import { ProvFormatError } from './errors.js'
import { qualifiedNameCharsMax } from './constants.js'

/** TOM's namespace: `tom:tx/<id>`, `tom:block/<height>`, `tom:data/<id>`, ... */
export const tomNamespace = 'https://tom.example/ns#'
export const provNamespace = 'http://www.w3.org/ns/prov#'
export const xsdNamespace = 'http://www.w3.org/2001/XMLSchema#'

/** Prefixes every document knows without declaring them. */
export const predefinedPrefixes: Readonly<Record<string, string>> = Object.freeze({ prov: provNamespace, xsd: xsdNamespace })

/** `prefix:local`, e.g. `tom:data/42`. */
export type QualifiedName = string

const prefixPattern = /^[A-Za-z][A-Za-z0-9_-]*$/
const qualifiedNamePattern = /^([A-Za-z][A-Za-z0-9_-]*):([A-Za-z0-9_](?:[A-Za-z0-9_.\-/]*[A-Za-z0-9_\-/])?)$/

/** Splits a qualified name, or throws ERR_PROV_INVALID_NAME. */
export function splitQualifiedName(name: string): { readonly prefix: string; readonly local: string } {
  const m = name.length <= qualifiedNameCharsMax ? qualifiedNamePattern.exec(name) : null
  if (m === null) throw new ProvFormatError('ERR_PROV_INVALID_NAME', `not a qualified name: ${JSON.stringify(name.slice(0, 80))}`)
  return { prefix: m[1]!, local: m[2]! }
}

export function isQualifiedName(name: string): boolean {
  return name.length <= qualifiedNameCharsMax && qualifiedNamePattern.test(name)
}

export function isPrefix(prefix: string): boolean {
  return prefixPattern.test(prefix)
}

// ---------------------------------------------------------------------------------------------
// Literals

export const literalTypes = ['xsd:string', 'xsd:int', 'xsd:long', 'xsd:double', 'xsd:boolean', 'xsd:dateTime', 'xsd:QName'] as const
export type LiteralType = (typeof literalTypes)[number]

/** A typed literal in its lexical form, as RDF has it; `lang` only on xsd:string. */
export interface Literal {
  readonly value: string
  readonly type: LiteralType
  readonly lang?: string
}

const dateTimePattern = /^-?\d{4,}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)?$/
const langPattern = /^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$/
const int32Min = -(2 ** 31)
const int32Max = 2 ** 31 - 1

export function isDateTime(value: string): boolean {
  return dateTimePattern.test(value)
}

/** Throws ERR_PROV_INVALID_LITERAL unless `value` is a lexical form of `type`. */
export function checkLiteral(literal: Literal): void {
  const bad = (why: string): never => {
    throw new ProvFormatError('ERR_PROV_INVALID_LITERAL', `${why}: ${JSON.stringify(literal.value.slice(0, 80))} as ${literal.type}`)
  }
  if (!(literalTypes as readonly string[]).includes(literal.type)) bad('unsupported literal type')
  if (literal.lang !== undefined && (literal.type !== 'xsd:string' || !langPattern.test(literal.lang))) bad('bad language tag')
  const v = literal.value
  switch (literal.type) {
    case 'xsd:string':
      return
    case 'xsd:int':
      if (!/^-?(0|[1-9]\d*)$/.test(v) || Number(v) < int32Min || Number(v) > int32Max || v === '-0') bad('not a canonical xsd:int')
      return
    case 'xsd:long':
      if (!/^-?(0|[1-9]\d*)$/.test(v) || v === '-0' || BigInt(v) < -(2n ** 63n) || BigInt(v) > 2n ** 63n - 1n) bad('not a canonical xsd:long')
      return
    case 'xsd:double':
      if (v !== 'NaN' && v !== 'INF' && v !== '-INF' && (!/^-?\d/.test(v) || String(Number(v)) !== v)) bad('not a canonical xsd:double')
      return
    case 'xsd:boolean':
      if (v !== 'true' && v !== 'false') bad('not an xsd:boolean')
      return
    case 'xsd:dateTime':
      if (!isDateTime(v)) bad('not an xsd:dateTime')
      return
    case 'xsd:QName':
      if (!isQualifiedName(v)) bad('not a qualified name')
      return
  }
}

/** Builders of literals in their canonical lexical forms. */
export const literal = {
  string(value: string, lang?: string): Literal {
    return lang === undefined ? { value, type: 'xsd:string' } : { value, type: 'xsd:string', lang }
  },
  int(value: number): Literal {
    if (!Number.isInteger(value) || value < int32Min || value > int32Max) {
      throw new ProvFormatError('ERR_PROV_INVALID_LITERAL', `${value} is not an xsd:int`)
    }
    return { value: String(value === 0 ? 0 : value), type: 'xsd:int' }
  },
  long(value: number | bigint): Literal {
    if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new ProvFormatError('ERR_PROV_INVALID_LITERAL', `${value} is not a safe integer`)
    const l: Literal = { value: BigInt(value).toString(), type: 'xsd:long' }
    checkLiteral(l)
    return l
  },
  double(value: number): Literal {
    const lexical = Number.isNaN(value) ? 'NaN' : value === Infinity ? 'INF' : value === -Infinity ? '-INF' : String(Object.is(value, -0) ? 0 : value)
    return { value: lexical, type: 'xsd:double' }
  },
  boolean(value: boolean): Literal {
    return { value: String(value), type: 'xsd:boolean' }
  },
  /** A Date, milliseconds since the epoch, or an xsd:dateTime string (kept as written). */
  dateTime(value: Date | number | string): Literal {
    const lexical = typeof value === 'string' ? value : new Date(value).toISOString()
    const l: Literal = { value: lexical, type: 'xsd:dateTime' }
    checkLiteral(l)
    return l
  },
  qualifiedName(value: QualifiedName): Literal {
    splitQualifiedName(value)
    return { value, type: 'xsd:QName' }
  }
} as const

/** What builders accept as an attribute value: a Literal, or a JS value mapped to its natural type. */
export type AttributeInput = Literal | string | number | boolean | bigint
export type AttributesInput = Readonly<Record<QualifiedName, AttributeInput | readonly AttributeInput[]>>

export interface Attribute {
  readonly name: QualifiedName
  readonly value: Literal
}

/** The prov: attributes PROV-DM defines; any other name in the prov namespace is refused. */
export const provAttributeNames = ['prov:type', 'prov:label', 'prov:location', 'prov:role', 'prov:value'] as const

export function toLiteral(value: AttributeInput): Literal {
  if (typeof value === 'string') return literal.string(value)
  if (typeof value === 'boolean') return literal.boolean(value)
  if (typeof value === 'bigint') return literal.long(value)
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= int32Min && value <= int32Max) return literal.int(value)
    if (Number.isSafeInteger(value)) return literal.long(value)
    return literal.double(value)
  }
  checkLiteral(value)
  return value.lang === undefined ? { value: value.value, type: value.type } : { value: value.value, type: value.type, lang: value.lang }
}

export function toAttributes(input: AttributesInput | readonly Attribute[] | undefined): Attribute[] {
  if (input === undefined) return []
  if (Array.isArray(input)) return normaliseAttributes(input as readonly Attribute[])
  const out: Attribute[] = []
  for (const [name, values] of Object.entries(input as AttributesInput)) {
    for (const v of Array.isArray(values) ? (values as readonly AttributeInput[]) : [values as AttributeInput]) out.push({ name, value: toLiteral(v) })
  }
  return normaliseAttributes(out)
}

/** Attributes sorted by name (stable, so the values of one name keep their order): the one order all formats keep. */
export function normaliseAttributes(attributes: readonly Attribute[]): Attribute[] {
  return attributes
    .map((a, i) => ({ a, i }))
    .sort((x, y) => (x.a.name < y.a.name ? -1 : x.a.name > y.a.name ? 1 : x.i - y.i))
    .map(({ a }) => ({ name: a.name, value: toLiteral(a.value) }))
}

// ---------------------------------------------------------------------------------------------
// Records

export const elementKinds = ['entity', 'activity', 'agent'] as const
export type ElementKind = (typeof elementKinds)[number]

export const relationKinds = [
  'wasGeneratedBy', 'used', 'wasInformedBy', 'wasStartedBy', 'wasEndedBy', 'wasInvalidatedBy', 'wasDerivedFrom',
  'wasAttributedTo', 'wasAssociatedWith', 'actedOnBehalfOf', 'wasInfluencedBy', 'specializationOf', 'alternateOf', 'hadMember'
] as const
export type RelationKind = (typeof relationKinds)[number]
export type RecordKind = ElementKind | RelationKind

/** What an argument of a relation must name: an element kind, a relation kind, any element, or a time. */
export type ArgumentType = ElementKind | 'wasGeneratedBy' | 'used' | 'element' | 'time'

export interface ArgumentSpec {
  /** The field of the record. */
  readonly field: string
  /** The key in PROV-JSON. */
  readonly json: string
  readonly type: ArgumentType
  readonly required: boolean
}

/** A relation's arguments in PROV-N order; `identified` when PROV-DM gives it an id and attributes. */
export interface RelationSpec {
  readonly args: readonly ArgumentSpec[]
  readonly identified: boolean
}

const arg = (field: string, type: ArgumentType, required = false, json = `prov:${field}`): ArgumentSpec => ({ field, json, type, required })
const time = arg('time', 'time')

export const relationSpecs: Readonly<Record<RelationKind, RelationSpec>> = {
  wasGeneratedBy: { identified: true, args: [arg('entity', 'entity', true), arg('activity', 'activity'), time] },
  used: { identified: true, args: [arg('activity', 'activity', true), arg('entity', 'entity', true), time] },
  wasInformedBy: { identified: true, args: [arg('informed', 'activity', true), arg('informant', 'activity', true)] },
  wasStartedBy: { identified: true, args: [arg('activity', 'activity', true), arg('trigger', 'entity'), arg('starter', 'activity'), time] },
  wasEndedBy: { identified: true, args: [arg('activity', 'activity', true), arg('trigger', 'entity'), arg('ender', 'activity'), time] },
  wasInvalidatedBy: { identified: true, args: [arg('entity', 'entity', true), arg('activity', 'activity'), time] },
  wasDerivedFrom: {
    identified: true,
    args: [arg('generatedEntity', 'entity', true), arg('usedEntity', 'entity', true), arg('activity', 'activity'), arg('generation', 'wasGeneratedBy'), arg('usage', 'used')]
  },
  wasAttributedTo: { identified: true, args: [arg('entity', 'entity', true), arg('agent', 'agent', true)] },
  wasAssociatedWith: { identified: true, args: [arg('activity', 'activity', true), arg('agent', 'agent'), arg('plan', 'entity')] },
  actedOnBehalfOf: { identified: true, args: [arg('delegate', 'agent', true), arg('responsible', 'agent', true), arg('activity', 'activity')] },
  wasInfluencedBy: { identified: true, args: [arg('influencee', 'element', true), arg('influencer', 'element', true)] },
  specializationOf: { identified: false, args: [arg('specificEntity', 'entity', true), arg('generalEntity', 'entity', true)] },
  alternateOf: { identified: false, args: [arg('alternate1', 'entity', true), arg('alternate2', 'entity', true)] },
  hadMember: { identified: false, args: [arg('collection', 'entity', true), arg('entity', 'entity', true)] }
}

interface Attributed {
  readonly attributes: readonly Attribute[]
}
interface Identified extends Attributed {
  /** Absent for an unnamed relation (a blank node `_:` in PROV-JSON and Turtle). */
  readonly id?: QualifiedName
}

export interface Entity extends Attributed {
  readonly kind: 'entity'
  readonly id: QualifiedName
}
export interface Activity extends Attributed {
  readonly kind: 'activity'
  readonly id: QualifiedName
  readonly startTime?: string
  readonly endTime?: string
}
export interface Agent extends Attributed {
  readonly kind: 'agent'
  readonly id: QualifiedName
}
export interface Generation extends Identified {
  readonly kind: 'wasGeneratedBy'
  readonly entity: QualifiedName
  readonly activity?: QualifiedName
  readonly time?: string
}
export interface Usage extends Identified {
  readonly kind: 'used'
  readonly activity: QualifiedName
  readonly entity: QualifiedName
  readonly time?: string
}
export interface Communication extends Identified {
  readonly kind: 'wasInformedBy'
  readonly informed: QualifiedName
  readonly informant: QualifiedName
}
export interface Start extends Identified {
  readonly kind: 'wasStartedBy'
  readonly activity: QualifiedName
  readonly trigger?: QualifiedName
  readonly starter?: QualifiedName
  readonly time?: string
}
export interface End extends Identified {
  readonly kind: 'wasEndedBy'
  readonly activity: QualifiedName
  readonly trigger?: QualifiedName
  readonly ender?: QualifiedName
  readonly time?: string
}
export interface Invalidation extends Identified {
  readonly kind: 'wasInvalidatedBy'
  readonly entity: QualifiedName
  readonly activity?: QualifiedName
  readonly time?: string
}
/** prov:type prov:Revision, prov:Quotation or prov:PrimarySource (an xsd:QName attribute) makes it one of those. */
export interface Derivation extends Identified {
  readonly kind: 'wasDerivedFrom'
  readonly generatedEntity: QualifiedName
  readonly usedEntity: QualifiedName
  readonly activity?: QualifiedName
  readonly generation?: QualifiedName
  readonly usage?: QualifiedName
}
export interface Attribution extends Identified {
  readonly kind: 'wasAttributedTo'
  readonly entity: QualifiedName
  readonly agent: QualifiedName
}
export interface Association extends Identified {
  readonly kind: 'wasAssociatedWith'
  readonly activity: QualifiedName
  readonly agent?: QualifiedName
  readonly plan?: QualifiedName
}
export interface Delegation extends Identified {
  readonly kind: 'actedOnBehalfOf'
  readonly delegate: QualifiedName
  readonly responsible: QualifiedName
  readonly activity?: QualifiedName
}
export interface Influence extends Identified {
  readonly kind: 'wasInfluencedBy'
  readonly influencee: QualifiedName
  readonly influencer: QualifiedName
}
/** PROV-DM gives specialization, alternate and membership neither id nor attributes. */
export interface Specialization {
  readonly kind: 'specializationOf'
  readonly specificEntity: QualifiedName
  readonly generalEntity: QualifiedName
}
export interface Alternate {
  readonly kind: 'alternateOf'
  readonly alternate1: QualifiedName
  readonly alternate2: QualifiedName
}
export interface Membership {
  readonly kind: 'hadMember'
  readonly collection: QualifiedName
  readonly entity: QualifiedName
}

export type Element = Entity | Activity | Agent
export type Relation =
  | Generation | Usage | Communication | Start | End | Invalidation | Derivation
  | Attribution | Association | Delegation | Influence | Specialization | Alternate | Membership
export type ProvRecord = Element | Relation

export interface Bundle {
  readonly id: QualifiedName
  readonly records: readonly ProvRecord[]
}

/** A PROV document: its prefixes (besides prov and xsd), top-level records and bundles. */
export interface ProvDocument {
  readonly prefixes: Readonly<Record<string, string>>
  readonly records: readonly ProvRecord[]
  readonly bundles: readonly Bundle[]
}

export const derivationTypes = ['prov:Revision', 'prov:Quotation', 'prov:PrimarySource'] as const

export function isElement(record: ProvRecord): record is Element {
  return record.kind === 'entity' || record.kind === 'activity' || record.kind === 'agent'
}

/** The id a record declares, if any. */
export function recordId(record: ProvRecord): QualifiedName | undefined {
  return 'id' in record ? record.id : undefined
}

/** The value of field `field` of a relation (an id or a time), if present. */
export function relationArgument(relation: Relation, field: string): string | undefined {
  const v = (relation as unknown as Record<string, unknown>)[field]
  return typeof v === 'string' ? v : undefined
}

// ---------------------------------------------------------------------------------------------
// Normalisation and checks

const kindOrder = new Map<RecordKind, number>([...elementKinds, ...relationKinds].map((k, i) => [k, i]))

/** A copy with each key present only when defined, attributes normalised and times checked. */
export function normaliseRecord(record: ProvRecord): ProvRecord {
  const out: Record<string, unknown> = { kind: record.kind }
  if (isElement(record)) {
    out.id = record.id
    if (record.kind === 'activity') {
      if (record.startTime !== undefined) out.startTime = checkTime(record.startTime)
      if (record.endTime !== undefined) out.endTime = checkTime(record.endTime)
    }
    out.attributes = normaliseAttributes(record.attributes)
    return out as unknown as ProvRecord
  }
  const spec = relationSpecs[record.kind]
  if (spec.identified && 'id' in record && record.id !== undefined) out.id = record.id
  for (const a of spec.args) {
    const v = relationArgument(record, a.field)
    if (v !== undefined) out[a.field] = a.type === 'time' ? checkTime(v) : v
  }
  if (spec.identified) out.attributes = normaliseAttributes('attributes' in record ? record.attributes : [])
  return out as unknown as ProvRecord
}

function checkTime(value: string): string {
  checkLiteral({ value, type: 'xsd:dateTime' })
  return value
}

/** Records grouped by kind (elements first, then relations in PROV-DM order), keeping their order within a kind. */
export function normaliseRecords(records: readonly ProvRecord[]): ProvRecord[] {
  return records
    .map((r, i) => ({ r: normaliseRecord(r), i }))
    .sort((x, y) => kindOrder.get(x.r.kind)! - kindOrder.get(y.r.kind)! || x.i - y.i)
    .map(({ r }) => r)
}

export function normaliseDocument(doc: ProvDocument): ProvDocument {
  const normalised: ProvDocument = {
    prefixes: { ...doc.prefixes },
    records: normaliseRecords(doc.records),
    bundles: doc.bundles.map((b) => ({ id: b.id, records: normaliseRecords(b.records) }))
  }
  checkDocument(normalised)
  return normalised
}

/**
 * Throws a ProvFormatError unless every name is a qualified name with a declared prefix, every
 * literal fits its type, no reserved prov: attribute is used, required arguments are present,
 * and no id is declared twice in one document or bundle.
 */
export function checkDocument(doc: ProvDocument): void {
  for (const [prefix, uri] of Object.entries(doc.prefixes)) {
    if (!isPrefix(prefix) || prefix in predefinedPrefixes) throw new ProvFormatError('ERR_PROV_INVALID_NAME', `bad prefix ${JSON.stringify(prefix)}`)
    if (!/^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>"{}|\\^`]*$/.test(uri)) throw new ProvFormatError('ERR_PROV_INVALID_NAME', `prefix ${prefix}: bad namespace URI`)
  }
  const name = (n: string): void => {
    const { prefix } = splitQualifiedName(n)
    if (!(prefix in doc.prefixes) && !(prefix in predefinedPrefixes)) throw new ProvFormatError('ERR_PROV_INVALID_NAME', `undeclared prefix in ${n}`)
  }
  const checkRecords = (records: readonly ProvRecord[], seen: Map<string, RecordKind[]>): void => {
    for (const r of records) {
      const id = recordId(r)
      if (id !== undefined) {
        name(id)
        // An id may be both an entity and an agent (two records); otherwise one record per id.
        const kinds = seen.get(id)
        if (kinds !== undefined && !(kinds.length === 1 && ((kinds[0] === 'entity' && r.kind === 'agent') || (kinds[0] === 'agent' && r.kind === 'entity')))) {
          throw new ProvFormatError('ERR_PROV_DUPLICATE_ID', `${id} is declared twice`)
        }
        seen.set(id, [...(kinds ?? []), r.kind])
      }
      if (!isElement(r)) {
        for (const a of relationSpecs[r.kind].args) {
          const v = relationArgument(r, a.field)
          if (v === undefined) {
            if (a.required) throw new ProvFormatError('ERR_PROV_INVALID_NAME', `${r.kind} needs ${a.field}`)
          } else if (a.type === 'time') checkTime(v)
          else name(v)
        }
      }
      for (const attribute of 'attributes' in r ? r.attributes : []) {
        name(attribute.name)
        if (attribute.name.startsWith('prov:') && !(provAttributeNames as readonly string[]).includes(attribute.name)) {
          throw new ProvFormatError('ERR_PROV_INVALID_ATTRIBUTE', `${attribute.name} is not a PROV attribute`)
        }
        checkLiteral(attribute.value)
        if (attribute.value.type === 'xsd:QName') name(attribute.value.value)
      }
    }
  }
  checkRecords(doc.records, new Map())
  const bundleIds = new Set<string>()
  for (const b of doc.bundles) {
    name(b.id)
    if (bundleIds.has(b.id)) throw new ProvFormatError('ERR_PROV_DUPLICATE_ID', `bundle ${b.id} is declared twice`)
    bundleIds.add(b.id)
    checkRecords(b.records, new Map())
  }
}

// ---------------------------------------------------------------------------------------------
// Builders

export interface RelationOptions {
  readonly id?: QualifiedName
  readonly attributes?: AttributesInput | readonly Attribute[]
}
export interface TimedRelationOptions extends RelationOptions {
  /** An xsd:dateTime, a Date or milliseconds since the epoch. */
  readonly time?: string | Date | number
}

function timeOf(t: string | Date | number | undefined): string | undefined {
  return t === undefined ? undefined : literal.dateTime(t).value
}

function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T
}

/** Appends records to a list; shared by the document and bundle builders. Records are checked when built. */
export class RecordsBuilder {
  readonly #records: ProvRecord[] = []

  get records(): readonly ProvRecord[] {
    return this.#records
  }

  add(record: ProvRecord): this {
    this.#records.push(record)
    return this
  }

  #relation(kind: RelationKind, args: Record<string, string | undefined>, options: RelationOptions | undefined): this {
    const id = options?.id
    return this.add(compact({ kind, ...(id === undefined ? {} : { id }), ...args, attributes: toAttributes(options?.attributes) }) as unknown as ProvRecord)
  }

  entity(id: QualifiedName, attributes?: AttributesInput | readonly Attribute[]): this {
    return this.add({ kind: 'entity', id, attributes: toAttributes(attributes) })
  }

  activity(id: QualifiedName, options?: { startTime?: string | Date | number; endTime?: string | Date | number; attributes?: AttributesInput | readonly Attribute[] }): this {
    return this.add(compact({ kind: 'activity', id, startTime: timeOf(options?.startTime), endTime: timeOf(options?.endTime), attributes: toAttributes(options?.attributes) }) as Activity)
  }

  agent(id: QualifiedName, attributes?: AttributesInput | readonly Attribute[]): this {
    return this.add({ kind: 'agent', id, attributes: toAttributes(attributes) })
  }

  wasGeneratedBy(entity: QualifiedName, activity?: QualifiedName, options?: TimedRelationOptions): this {
    return this.#relation('wasGeneratedBy', { entity, activity, time: timeOf(options?.time) }, options)
  }

  used(activity: QualifiedName, entity: QualifiedName, options?: TimedRelationOptions): this {
    return this.#relation('used', { activity, entity, time: timeOf(options?.time) }, options)
  }

  wasInformedBy(informed: QualifiedName, informant: QualifiedName, options?: RelationOptions): this {
    return this.#relation('wasInformedBy', { informed, informant }, options)
  }

  wasStartedBy(activity: QualifiedName, trigger?: QualifiedName, starter?: QualifiedName, options?: TimedRelationOptions): this {
    return this.#relation('wasStartedBy', { activity, trigger, starter, time: timeOf(options?.time) }, options)
  }

  wasEndedBy(activity: QualifiedName, trigger?: QualifiedName, ender?: QualifiedName, options?: TimedRelationOptions): this {
    return this.#relation('wasEndedBy', { activity, trigger, ender, time: timeOf(options?.time) }, options)
  }

  wasInvalidatedBy(entity: QualifiedName, activity?: QualifiedName, options?: TimedRelationOptions): this {
    return this.#relation('wasInvalidatedBy', { entity, activity, time: timeOf(options?.time) }, options)
  }

  /** With `type`, a prov:Revision, prov:Quotation or prov:PrimarySource (added as a prov:type attribute). */
  wasDerivedFrom(
    generatedEntity: QualifiedName,
    usedEntity: QualifiedName,
    options?: RelationOptions & { activity?: QualifiedName; generation?: QualifiedName; usage?: QualifiedName; type?: (typeof derivationTypes)[number] }
  ): this {
    const attributes: Attribute[] = toAttributes(options?.attributes)
    if (options?.type !== undefined) attributes.push({ name: 'prov:type', value: literal.qualifiedName(options.type) })
    return this.#relation(
      'wasDerivedFrom',
      { generatedEntity, usedEntity, activity: options?.activity, generation: options?.generation, usage: options?.usage },
      { ...(options?.id === undefined ? {} : { id: options.id }), attributes }
    )
  }

  wasAttributedTo(entity: QualifiedName, agent: QualifiedName, options?: RelationOptions): this {
    return this.#relation('wasAttributedTo', { entity, agent }, options)
  }

  wasAssociatedWith(activity: QualifiedName, agent?: QualifiedName, options?: RelationOptions & { plan?: QualifiedName }): this {
    return this.#relation('wasAssociatedWith', { activity, agent, plan: options?.plan }, options)
  }

  actedOnBehalfOf(delegate: QualifiedName, responsible: QualifiedName, options?: RelationOptions & { activity?: QualifiedName }): this {
    return this.#relation('actedOnBehalfOf', { delegate, responsible, activity: options?.activity }, options)
  }

  wasInfluencedBy(influencee: QualifiedName, influencer: QualifiedName, options?: RelationOptions): this {
    return this.#relation('wasInfluencedBy', { influencee, influencer }, options)
  }

  specializationOf(specificEntity: QualifiedName, generalEntity: QualifiedName): this {
    return this.add({ kind: 'specializationOf', specificEntity, generalEntity })
  }

  alternateOf(alternate1: QualifiedName, alternate2: QualifiedName): this {
    return this.add({ kind: 'alternateOf', alternate1, alternate2 })
  }

  hadMember(collection: QualifiedName, entity: QualifiedName): this {
    return this.add({ kind: 'hadMember', collection, entity })
  }
}

/** Builds a ProvDocument; `build()` normalises and checks it (throws ProvFormatError). */
export class ProvDocumentBuilder extends RecordsBuilder {
  readonly #prefixes: Record<string, string>
  readonly #bundles: Bundle[] = []

  constructor(prefixes: Readonly<Record<string, string>> = { tom: tomNamespace }) {
    super()
    this.#prefixes = { ...prefixes }
  }

  prefix(prefix: string, namespace: string): this {
    this.#prefixes[prefix] = namespace
    return this
  }

  bundle(id: QualifiedName, fill: (bundle: RecordsBuilder) => void): this {
    const b = new RecordsBuilder()
    fill(b)
    this.#bundles.push({ id, records: b.records })
    return this
  }

  build(): ProvDocument {
    return normaliseDocument({ prefixes: this.#prefixes, records: this.records, bundles: this.#bundles })
  }
}

/** A new document builder; by default with the `tom` prefix declared. */
export function provDocument(prefixes?: Readonly<Record<string, string>>): ProvDocumentBuilder {
  return new ProvDocumentBuilder(prefixes)
}
