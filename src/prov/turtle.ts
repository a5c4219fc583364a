/**
 * PROV-O (https://www.w3.org/TR/prov-o/) in Turtle. Elements are typed resources; each
 * identified relation is written in its qualified form (a `prov:Generation`, `prov:Usage`, ...
 * node, blank unless the relation is named, linked by `prov:qualifiedGeneration`, ...) together
 * with its unqualified triple (`prov:wasGeneratedBy`); specialization, alternate and membership
 * have only the unqualified form. Attributes: prov:type values that are qualified names become
 * `rdf:type`, prov:label is `rdfs:label`, prov:location `prov:atLocation`, prov:role
 * `prov:hadRole`; any other attribute is a triple with the attribute name as predicate.
 *
 * A document with bundles is written as TriG (Turtle plus named graphs, as PROV-O recommends for
 * bundles): each bundle is a graph `tom:b { ... }` and is typed `prov:Bundle` in the default graph.
 *
 * The reader takes what the writer emits (a round trip), reading the qualified forms and ignoring
 * the unqualified triples that duplicate them; not arbitrary RDF.
 */
import { escapeString, readQuotedString } from './quoted-string.js'
import { ProvFormatError } from './errors.js'
import { isElement, literalTypes, normaliseDocument, predefinedPrefixes, relationArgument, relationKinds, splitQualifiedName, toLiteral } from './model.js'
import type { Attribute, Bundle, ElementKind, Literal, LiteralType, ProvDocument, ProvRecord, RelationKind } from './model.js'

interface QualifiedForm {
  /** The field of the record that is the subject of the qualified (and unqualified) triple. */
  readonly subject: string
  readonly qualifiedProperty?: string
  readonly className?: string
  readonly unqualifiedProperty: string
  /** The field that is the object of the unqualified triple. */
  readonly object: string
  /** Field → predicate on the qualification node. */
  readonly fields: Readonly<Record<string, string>>
}

const forms: Readonly<Record<RelationKind, QualifiedForm>> = {
  wasGeneratedBy: { subject: 'entity', qualifiedProperty: 'prov:qualifiedGeneration', className: 'prov:Generation', unqualifiedProperty: 'prov:wasGeneratedBy', object: 'activity', fields: { activity: 'prov:activity', time: 'prov:atTime' } },
  used: { subject: 'activity', qualifiedProperty: 'prov:qualifiedUsage', className: 'prov:Usage', unqualifiedProperty: 'prov:used', object: 'entity', fields: { entity: 'prov:entity', time: 'prov:atTime' } },
  wasInformedBy: { subject: 'informed', qualifiedProperty: 'prov:qualifiedCommunication', className: 'prov:Communication', unqualifiedProperty: 'prov:wasInformedBy', object: 'informant', fields: { informant: 'prov:activity' } },
  wasStartedBy: { subject: 'activity', qualifiedProperty: 'prov:qualifiedStart', className: 'prov:Start', unqualifiedProperty: 'prov:wasStartedBy', object: 'trigger', fields: { trigger: 'prov:entity', starter: 'prov:hadActivity', time: 'prov:atTime' } },
  wasEndedBy: { subject: 'activity', qualifiedProperty: 'prov:qualifiedEnd', className: 'prov:End', unqualifiedProperty: 'prov:wasEndedBy', object: 'trigger', fields: { trigger: 'prov:entity', ender: 'prov:hadActivity', time: 'prov:atTime' } },
  wasInvalidatedBy: { subject: 'entity', qualifiedProperty: 'prov:qualifiedInvalidation', className: 'prov:Invalidation', unqualifiedProperty: 'prov:wasInvalidatedBy', object: 'activity', fields: { activity: 'prov:activity', time: 'prov:atTime' } },
  wasDerivedFrom: { subject: 'generatedEntity', qualifiedProperty: 'prov:qualifiedDerivation', className: 'prov:Derivation', unqualifiedProperty: 'prov:wasDerivedFrom', object: 'usedEntity', fields: { usedEntity: 'prov:entity', activity: 'prov:hadActivity', generation: 'prov:hadGeneration', usage: 'prov:hadUsage' } },
  wasAttributedTo: { subject: 'entity', qualifiedProperty: 'prov:qualifiedAttribution', className: 'prov:Attribution', unqualifiedProperty: 'prov:wasAttributedTo', object: 'agent', fields: { agent: 'prov:agent' } },
  wasAssociatedWith: { subject: 'activity', qualifiedProperty: 'prov:qualifiedAssociation', className: 'prov:Association', unqualifiedProperty: 'prov:wasAssociatedWith', object: 'agent', fields: { agent: 'prov:agent', plan: 'prov:hadPlan' } },
  actedOnBehalfOf: { subject: 'delegate', qualifiedProperty: 'prov:qualifiedDelegation', className: 'prov:Delegation', unqualifiedProperty: 'prov:actedOnBehalfOf', object: 'responsible', fields: { responsible: 'prov:agent', activity: 'prov:hadActivity' } },
  wasInfluencedBy: { subject: 'influencee', qualifiedProperty: 'prov:qualifiedInfluence', className: 'prov:Influence', unqualifiedProperty: 'prov:wasInfluencedBy', object: 'influencer', fields: { influencer: 'prov:influencer' } },
  specializationOf: { subject: 'specificEntity', unqualifiedProperty: 'prov:specializationOf', object: 'generalEntity', fields: {} },
  alternateOf: { subject: 'alternate1', unqualifiedProperty: 'prov:alternateOf', object: 'alternate2', fields: {} },
  hadMember: { subject: 'collection', unqualifiedProperty: 'prov:hadMember', object: 'entity', fields: {} }
}

const elementClasses: Readonly<Record<ElementKind, string>> = { entity: 'prov:Entity', activity: 'prov:Activity', agent: 'prov:Agent' }
const attributePredicates: Readonly<Record<string, string>> = { 'prov:label': 'rdfs:label', 'prov:location': 'prov:atLocation', 'prov:role': 'prov:hadRole' }
const turtlePrefixes: Readonly<Record<string, string>> = {
  ...predefinedPrefixes,
  rdf: 'http://www.w3.org/1999/02/22-rdf-syntax-ns#',
  rdfs: 'http://www.w3.org/2000/01/rdf-schema#'
}

// ---------------------------------------------------------------------------------------------
// Writing

/** A prefixed name in Turtle: `/` must be escaped in the local part. */
function name(q: string): string {
  const { prefix, local } = splitQualifiedName(q)
  return `${prefix}:${local.replace(/\//g, '\\/')}`
}

function literalToTurtle(l: Literal): string {
  if (l.type === 'xsd:QName') return name(l.value)
  const quoted = `"${escapeString(l.value)}"`
  if (l.type === 'xsd:string') return l.lang === undefined ? quoted : `${quoted}@${l.lang}`
  return `${quoted}^^${l.type}`
}

function attributeLines(attributes: readonly Attribute[]): string[] {
  return attributes.map((a) => {
    if (a.name === 'prov:type' && a.value.type === 'xsd:QName') return `a ${name(a.value.value)}`
    return `${attributePredicates[a.name] !== undefined ? attributePredicates[a.name] : name(a.name)} ${literalToTurtle(a.value)}`
  })
}

function statement(subject: string, predicates: readonly string[], indent: string): string {
  return `${indent}${subject} ${predicates.join(` ;\n${indent}    `)} .`
}

function recordsToTurtle(records: readonly ProvRecord[], indent: string, blank: { n: number }): string[] {
  const out: string[] = []
  for (const r of records) {
    if (isElement(r)) {
      const lines = [`a ${elementClasses[r.kind]}`]
      if (r.kind === 'activity') {
        if (r.startTime !== undefined) lines.push(`prov:startedAtTime "${r.startTime}"^^xsd:dateTime`)
        if (r.endTime !== undefined) lines.push(`prov:endedAtTime "${r.endTime}"^^xsd:dateTime`)
      }
      out.push(statement(name(r.id), [...lines, ...attributeLines(r.attributes)], indent))
      continue
    }
    const form = forms[r.kind]
    const subject = name(relationArgument(r, form.subject)!)
    const object = relationArgument(r, form.object)
    if (form.className === undefined) {
      out.push(statement(subject, [`${form.unqualifiedProperty} ${name(object!)}`], indent))
      continue
    }
    const node = 'id' in r && r.id !== undefined ? name(r.id) : `_:q${++blank.n}`
    const links = object === undefined ? [] : [`${form.unqualifiedProperty} ${name(object)}`]
    out.push(statement(subject, [...links, `${form.qualifiedProperty} ${node}`], indent))
    const lines = [`a ${form.className}`]
    for (const [field, predicate] of Object.entries(form.fields)) {
      const v = relationArgument(r, field)
      if (v !== undefined) lines.push(field === 'time' ? `${predicate} "${v}"^^xsd:dateTime` : `${predicate} ${name(v)}`)
    }
    out.push(statement(node, [...lines, ...attributeLines('attributes' in r ? r.attributes : [])], indent))
  }
  return out
}

/** PROV-O in Turtle (TriG when the document has bundles); the document is normalised first. */
export function toTurtle(doc: ProvDocument): string {
  const d = normaliseDocument(doc)
  const lines: string[] = []
  for (const [p, uri] of Object.entries({ ...turtlePrefixes, ...d.prefixes })) lines.push(`@prefix ${p}: <${uri}> .`)
  lines.push('')
  const blank = { n: 0 }
  lines.push(...recordsToTurtle(d.records, '', blank))
  for (const b of d.bundles) {
    lines.push(`${name(b.id)} a prov:Bundle .`)
    lines.push(`${name(b.id)} {`, ...recordsToTurtle(b.records, '  ', blank), '}')
  }
  lines.push('')
  return lines.join('\n')
}

// ---------------------------------------------------------------------------------------------
// Reading

type Term =
  | { readonly t: 'name'; readonly v: string }
  | { readonly t: 'blank'; readonly v: string }
  | { readonly t: 'literal'; readonly v: Literal }

interface Triple {
  /** True for the first triple of a statement: the writer puts each record in its own statement. */
  readonly first: boolean
  readonly s: Term
  readonly p: string
  readonly o: Term
}

type Token =
  | { readonly t: 'name' | 'blank' | 'iri' | 'string' | 'lang' | 'punct' | 'keyword'; readonly v: string }

function fail(why: string): never {
  throw new ProvFormatError('ERR_PROV_PARSE', `Turtle: ${why}`)
}

function tokenise(text: string): Token[] {
  const tokens: Token[] = []
  let i = 0
  while (i < text.length) {
    const c = text[i]!
    if (/\s/.test(c)) i++
    else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++
    } else if (text.startsWith('^^', i)) {
      tokens.push({ t: 'punct', v: '^^' })
      i += 2
    } else if ('.;,{}[]'.includes(c)) {
      tokens.push({ t: 'punct', v: c })
      i++
    } else if (c === '<') {
      const end = text.indexOf('>', i + 1)
      if (end < 0) fail('unterminated IRI')
      tokens.push({ t: 'iri', v: text.slice(i + 1, end) })
      i = end + 1
    } else if (c === '"') {
      const { value: v, end } = readQuotedString(text, i, fail)
      i = end
      tokens.push({ t: 'string', v })
    } else if (c === '@') {
      const m = /^@([A-Za-z]+(?:-[A-Za-z0-9]+)*)/.exec(text.slice(i, i + 64)) ?? fail('bad @ token')
      tokens.push(m[1] === 'prefix' ? { t: 'keyword', v: 'prefix' } : { t: 'lang', v: m[1]! })
      i += m[0].length
    } else if (text.startsWith('_:', i)) {
      const m = /^_:[A-Za-z0-9_]+/.exec(text.slice(i, i + 256)) ?? fail('bad blank node')
      tokens.push({ t: 'blank', v: m[0] })
      i += m[0].length
    } else {
      // A prefixed name (local part with `\` escapes, not ending in `.`), or `a`.
      const m = /^[A-Za-z][A-Za-z0-9_-]*:(?:\\.|[A-Za-z0-9_\-:]|\.(?=[A-Za-z0-9_\-:\\]))*/.exec(text.slice(i, i + 2048))
      if (m !== null) {
        tokens.push({ t: 'name', v: m[0].replace(/\\(.)/g, '$1') })
        i += m[0].length
      } else if (/^a(?=[\s<_"[])/.test(text.slice(i, i + 2))) {
        tokens.push({ t: 'keyword', v: 'a' })
        i++
      } else fail(`unexpected character ${JSON.stringify(c)}`)
    }
  }
  return tokens
}

/** Parses statements into triples per graph (the default graph is ''), in the order written. */
class TurtleReader {
  #pos = 0
  readonly prefixes: Record<string, string> = {}
  readonly graphs = new Map<string, Triple[]>([['', []]])

  constructor(readonly tokens: readonly Token[]) {}

  #peek(): Token | undefined {
    return this.tokens[this.#pos]
  }

  #next(): Token {
    return this.tokens[this.#pos++] ?? fail('unexpected end of text')
  }

  #isPunct(v: string): boolean {
    const t = this.#peek()
    return t?.t === 'punct' && t.v === v
  }

  #punct(v: string): void {
    const t = this.#next()
    if (t.t !== 'punct' || t.v !== v) fail(`expected ${v}, found ${JSON.stringify(t.v)}`)
  }

  /** A full IRI back to a prefixed name through the declared prefixes. */
  #compact(iri: string): string {
    let best: [string, string] | undefined
    for (const [p, ns] of Object.entries({ ...turtlePrefixes, ...this.prefixes })) if (iri.startsWith(ns) && (best === undefined || ns.length > best[1].length)) best = [p, ns]
    if (best === undefined) fail(`no prefix for <${iri}>`)
    return `${best[0]}:${iri.slice(best[1].length)}`
  }

  #name(t: Token): string {
    if (t.t === 'name') return t.v
    if (t.t === 'iri') return this.#compact(t.v)
    return fail(`expected a name, found ${JSON.stringify(t.v)}`)
  }

  read(): void {
    while (this.#peek() !== undefined) {
      const t = this.#next()
      if (t.t === 'keyword' && t.v === 'prefix') {
        const p = this.#next()
        if (p.t !== 'name' || !p.v.endsWith(':')) fail('bad @prefix')
        const iri = this.#next()
        if (iri.t !== 'iri') fail('@prefix needs an IRI')
        this.prefixes[p.v.slice(0, -1)] = iri.v
        this.#punct('.')
        continue
      }
      const subject = this.#subject(t)
      if (this.#isPunct('{')) {
        if (subject.t !== 'name') fail('a graph needs a name')
        this.#next()
        const triples: Triple[] = []
        if (this.graphs.has(subject.v)) fail(`graph ${subject.v} written twice`)
        this.graphs.set(subject.v, triples)
        while (!this.#isPunct('}')) this.#statement(this.#subject(this.#next()), triples)
        this.#next()
        continue
      }
      this.#statement(subject, this.graphs.get('')!)
    }
  }

  #subject(t: Token): Term {
    if (t.t === 'blank') return { t: 'blank', v: t.v }
    return { t: 'name', v: this.#name(t) }
  }

  #statement(subject: Term, out: Triple[]): void {
    let first = true
    for (;;) {
      const pt = this.#next()
      const p = pt.t === 'keyword' && pt.v === 'a' ? 'rdf:type' : this.#name(pt)
      for (;;) {
        out.push({ first, s: subject, p, o: this.#object() })
        first = false
        if (!this.#isPunct(',')) break
        this.#next()
      }
      if (this.#isPunct(';')) {
        this.#next()
        if (this.#isPunct('.')) break
        continue
      }
      break
    }
    this.#punct('.')
  }

  #object(): Term {
    const t = this.#next()
    if (t.t === 'blank') return { t: 'blank', v: t.v }
    if (t.t === 'name' || t.t === 'iri') return { t: 'name', v: this.#name(t) }
    if (t.t !== 'string') fail(`expected an object, found ${JSON.stringify(t.v)}`)
    const next = this.#peek()
    if (next?.t === 'lang') {
      this.#next()
      return { t: 'literal', v: toLiteral({ value: t.v, type: 'xsd:string', lang: next.v }) }
    }
    if (this.#isPunct('^^')) {
      this.#next()
      const type = this.#name(this.#next())
      if (!(literalTypes as readonly string[]).includes(type)) fail(`unsupported literal type ${type}`)
      return { t: 'literal', v: toLiteral({ value: t.v, type: type as LiteralType }) }
    }
    return { t: 'literal', v: toLiteral({ value: t.v, type: 'xsd:string' }) }
  }
}

const classToKind = new Map<string, ElementKind | RelationKind>([
  ...Object.entries(elementClasses).map(([k, c]) => [c, k as ElementKind] as const),
  ...relationKinds.filter((k) => forms[k].className !== undefined).map((k) => [forms[k].className!, k] as const)
])
const qualifiedToKind = new Map<string, RelationKind>(relationKinds.filter((k) => forms[k].qualifiedProperty !== undefined).map((k) => [forms[k].qualifiedProperty!, k]))
const unqualifiedOnly = new Map<string, RelationKind>((['specializationOf', 'alternateOf', 'hadMember'] as const).map((k) => [forms[k].unqualifiedProperty, k]))
const unqualifiedIgnored = new Set(relationKinds.filter((k) => forms[k].className !== undefined).map((k) => forms[k].unqualifiedProperty))
const predicateToAttribute = new Map(Object.entries(attributePredicates).map(([a, p]) => [p, a]))

function key(t: Term): string {
  return t.t === 'literal' ? fail('a literal as a subject') : `${t.t}:${t.v}`
}

function graphToRecords(triples: readonly Triple[]): ProvRecord[] {
  type Node = { record: Record<string, unknown>; attributes: Attribute[] }
  const qualifications = new Map<string, Node>()
  const order: Record<string, unknown>[] = []
  const subjects = new Map<string, { kind: RelationKind; subject: string }>()
  let current: Node | undefined
  for (const { first, s, p, o } of triples) {
    const sk = key(s)
    if (first) current = undefined
    if (first && p === 'rdf:type') {
      if (o.t !== 'name') fail('rdf:type of a literal')
      if (o.v === 'prov:Bundle') continue
      const kind = classToKind.get(o.v) ?? fail(`${s.v}: first type ${o.v} is not a PROV class`)
      const record: Record<string, unknown> = { kind }
      if (s.t === 'name') record.id = s.v
      else if (isElementKind(kind)) fail('an element without a name')
      const attributes: Attribute[] = []
      record.attributes = attributes
      current = { record, attributes }
      if (!isElementKind(kind)) {
        if (qualifications.has(sk)) fail(`qualification ${s.v} written twice`)
        qualifications.set(sk, current)
      }
      order.push(record)
      continue
    }
    const qualified = qualifiedToKind.get(p)
    if (qualified !== undefined) {
      if (s.t !== 'name') fail(`${p} of a blank node`)
      subjects.set(key(o), { kind: qualified, subject: s.v })
      continue
    }
    const only = unqualifiedOnly.get(p)
    if (only !== undefined) {
      if (s.t !== 'name' || o.t !== 'name') fail(`${p} needs two names`)
      const form = forms[only]
      order.push({ kind: only, [form.subject]: s.v, [form.object]: o.v })
      continue
    }
    if (unqualifiedIgnored.has(p)) continue
    const node = current ?? fail(`${s.v}: ${p} outside a typed statement`)
    const kind = node.record.kind as ElementKind | RelationKind
    if (kind === 'activity' && (p === 'prov:startedAtTime' || p === 'prov:endedAtTime')) {
      if (o.t !== 'literal' || o.v.type !== 'xsd:dateTime') fail(`${p} needs an xsd:dateTime`)
      node.record[p === 'prov:startedAtTime' ? 'startTime' : 'endTime'] = o.v.value
      continue
    }
    if (!isElementKind(kind)) {
      const field = Object.entries(forms[kind].fields).find(([, predicate]) => predicate === p)?.[0]
      if (field !== undefined) {
        if (field === 'time') {
          if (o.t !== 'literal' || o.v.type !== 'xsd:dateTime') fail(`${p} needs an xsd:dateTime`)
          node.record.time = o.v.value
        } else {
          if (o.t !== 'name') fail(`${p} needs a name`)
          node.record[field] = o.v
        }
        continue
      }
    }
    const attributeName = p === 'rdf:type' ? 'prov:type' : (predicateToAttribute.get(p) ?? p)
    if (o.t === 'blank') fail(`${p}: a blank node as an attribute value`)
    node.attributes.push({ name: attributeName, value: o.t === 'name' ? toLiteral({ value: o.v, type: 'xsd:QName' }) : o.v })
  }
  for (const [nodeKey, { kind, subject }] of subjects) {
    const node = qualifications.get(nodeKey) ?? fail(`qualification ${nodeKey} has no type`)
    if (node.record.kind !== kind) fail(`qualification ${nodeKey} is not a ${kind}`)
    node.record[forms[kind].subject] = subject
  }
  return order as unknown as ProvRecord[]
}

function isElementKind(kind: string): kind is ElementKind {
  return kind === 'entity' || kind === 'activity' || kind === 'agent'
}

/** Parses the writer's Turtle or TriG back into a normalised, checked document. */
export function fromTurtle(text: string): ProvDocument {
  const reader = new TurtleReader(tokenise(text))
  reader.read()
  const prefixes: Record<string, string> = {}
  for (const [p, uri] of Object.entries(reader.prefixes)) if (!(p in turtlePrefixes) || turtlePrefixes[p] !== uri) prefixes[p] = uri
  const bundles: Bundle[] = []
  let records: ProvRecord[] = []
  for (const [graph, triples] of reader.graphs) {
    if (graph === '') records = graphToRecords(triples)
    else bundles.push({ id: graph, records: graphToRecords(triples) })
  }
  return normaliseDocument({ prefixes, records, bundles })
}
