/**
 * PROV-N (https://www.w3.org/TR/prov-n/): the writer emits every record in its full positional
 * form (`-` for an absent argument, `id;` only for a named relation), literals as `"lexical" %%
 * xsd:type`, `"text"@lang` or `'prefix:local'`, and times bare. The reader accepts that and the
 * common shorter forms (omitted trailing arguments, bare numbers), not the whole grammar:
 * no `default` namespace and no extensibility points.
 */
import { escapeString, readQuotedString } from './quoted-string.js'
import { ProvFormatError } from './errors.js'
import { isElement, literalTypes, normaliseDocument, relationArgument, relationKinds, relationSpecs, toLiteral } from './model.js'
import type { Attribute, Bundle, Literal, LiteralType, ProvDocument, ProvRecord, RelationKind } from './model.js'

function literalToProvN(l: Literal): string {
  switch (l.type) {
    case 'xsd:string':
      return `"${escapeString(l.value)}"${l.lang === undefined ? '' : `@${l.lang}`}`
    case 'xsd:QName':
      return `'${l.value}'`
    default:
      return `"${escapeString(l.value)}" %% ${l.type}`
  }
}

function attributesToProvN(attributes: readonly Attribute[]): string {
  return `[${attributes.map((a) => `${a.name}=${literalToProvN(a.value)}`).join(', ')}]`
}

function recordToProvN(r: ProvRecord): string {
  if (isElement(r)) {
    const times = r.kind === 'activity' ? `, ${r.startTime ?? '-'}, ${r.endTime ?? '-'}` : ''
    const attrs = r.attributes.length > 0 ? `, ${attributesToProvN(r.attributes)}` : ''
    return `${r.kind}(${r.id}${times}${attrs})`
  }
  const spec = relationSpecs[r.kind]
  const args = spec.args.map((a) => relationArgument(r, a.field) ?? '-').join(', ')
  const id = 'id' in r && r.id !== undefined ? `${r.id}; ` : ''
  const attrs = 'attributes' in r && r.attributes.length > 0 ? `, ${attributesToProvN(r.attributes)}` : ''
  return `${r.kind}(${id}${args}${attrs})`
}

/** The PROV-N text of a document (normalised first, so it is checked). */
export function toProvN(doc: ProvDocument): string {
  const d = normaliseDocument(doc)
  const lines = ['document']
  for (const [p, uri] of Object.entries(d.prefixes)) lines.push(`  prefix ${p} <${uri}>`)
  for (const r of d.records) lines.push(`  ${recordToProvN(r)}`)
  for (const b of d.bundles) {
    lines.push(`  bundle ${b.id}`)
    for (const r of b.records) lines.push(`    ${recordToProvN(r)}`)
    lines.push('  endBundle')
  }
  lines.push('endDocument', '')
  return lines.join('\n')
}

// ---------------------------------------------------------------------------------------------
// Reading

type Token =
  | { readonly t: 'word'; readonly v: string }
  | { readonly t: 'string'; readonly v: string }
  | { readonly t: 'qname'; readonly v: string }
  | { readonly t: 'iri'; readonly v: string }
  | { readonly t: 'lang'; readonly v: string }
  | { readonly t: 'punct'; readonly v: string }

function fail(why: string): never {
  throw new ProvFormatError('ERR_PROV_PARSE', `PROV-N: ${why}`)
}

function tokenise(text: string): Token[] {
  const tokens: Token[] = []
  let i = 0
  while (i < text.length) {
    const c = text[i]!
    if (/\s/.test(c)) {
      i++
    } else if (text.startsWith('//', i)) {
      while (i < text.length && text[i] !== '\n') i++
    } else if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2)
      if (end < 0) fail('unterminated comment')
      i = end + 2
    } else if (text.startsWith('%%', i)) {
      tokens.push({ t: 'punct', v: '%%' })
      i += 2
    } else if ('()[],;='.includes(c)) {
      tokens.push({ t: 'punct', v: c })
      i++
    } else if (c === '"') {
      const { value: v, end } = readQuotedString(text, i, fail)
      i = end
      tokens.push({ t: 'string', v })
      const lang = /^@([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*)/.exec(text.slice(i, i + 64))
      if (lang !== null) {
        tokens.push({ t: 'lang', v: lang[1]! })
        i += lang[0].length
      }
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1)
      if (end < 0) fail('unterminated qualified name literal')
      tokens.push({ t: 'qname', v: text.slice(i + 1, end) })
      i = end + 1
    } else if (c === '<') {
      const end = text.indexOf('>', i + 1)
      if (end < 0) fail('unterminated IRI')
      tokens.push({ t: 'iri', v: text.slice(i + 1, end) })
      i = end + 1
    } else {
      const m = /^[A-Za-z0-9_.\-/:+\\]+/.exec(text.slice(i, i + 2048))
      if (m === null) fail(`unexpected character ${JSON.stringify(c)}`)
      tokens.push({ t: 'word', v: m[0].replace(/\\(.)/g, '$1') })
      i += m[0].length
    }
  }
  return tokens
}

class Reader {
  #pos = 0
  constructor(readonly tokens: readonly Token[]) {}

  peek(): Token | undefined {
    return this.tokens[this.#pos]
  }

  next(): Token {
    return this.tokens[this.#pos++] ?? fail('unexpected end of text')
  }

  word(): string {
    const t = this.next()
    if (t.t !== 'word') fail(`expected a name, found ${JSON.stringify(t.v)}`)
    return t.v
  }

  punct(v: string): void {
    const t = this.next()
    if (t.t !== 'punct' || t.v !== v) fail(`expected ${v}, found ${JSON.stringify(t.v)}`)
  }

  isPunct(v: string): boolean {
    const t = this.peek()
    return t !== undefined && t.t === 'punct' && t.v === v
  }
}

function readLiteral(r: Reader): Literal {
  const t = r.next()
  if (t.t === 'qname') return toLiteral({ value: t.v, type: 'xsd:QName' })
  if (t.t === 'word') {
    if (/^-?\d+$/.test(t.v)) return toLiteral(Number(t.v))
    if (/^-?\d*\.\d+([eE][+-]?\d+)?$/.test(t.v)) return toLiteral({ value: String(Number(t.v)), type: 'xsd:double' })
    fail(`not a literal: ${t.v}`)
  }
  if (t.t !== 'string') fail(`not a literal: ${JSON.stringify(t.v)}`)
  const next = r.peek()
  if (next?.t === 'lang') {
    r.next()
    return toLiteral({ value: t.v, type: 'xsd:string', lang: next.v })
  }
  if (r.isPunct('%%')) {
    r.next()
    const type = r.word()
    if (!(literalTypes as readonly string[]).includes(type)) fail(`unsupported literal type ${type}`)
    return toLiteral({ value: t.v, type: type as LiteralType })
  }
  return toLiteral({ value: t.v, type: 'xsd:string' })
}

function readAttributes(r: Reader): Attribute[] {
  r.punct('[')
  const out: Attribute[] = []
  while (!r.isPunct(']')) {
    if (out.length > 0) r.punct(',')
    const name = r.word()
    r.punct('=')
    out.push({ name, value: readLiteral(r) })
  }
  r.punct(']')
  return out
}

/** Positional arguments (after `initial`) up to `)`, then an optional attribute list; `-` is absent. */
function readArguments(r: Reader, initial: (string | undefined)[]): { args: (string | undefined)[]; attributes: Attribute[] } {
  const args = [...initial]
  let attributes: Attribute[] = []
  while (!r.isPunct(')')) {
    if (args.length > 0) r.punct(',')
    if (r.isPunct('[')) {
      attributes = readAttributes(r)
      break
    }
    const w = r.word()
    args.push(w === '-' ? undefined : w)
  }
  r.punct(')')
  return { args, attributes }
}

const relationNames = new Set<string>(relationKinds)

function readRecord(r: Reader, keyword: string): ProvRecord {
  r.punct('(')
  if (keyword === 'entity' || keyword === 'agent' || keyword === 'activity') {
    const { args, attributes } = readArguments(r, [])
    const id = args[0] ?? fail(`${keyword} without an id`)
    if (keyword !== 'activity') {
      if (args.length !== 1) fail(`${keyword}(${id}) has extra arguments`)
      return { kind: keyword, id, attributes }
    }
    if (args.length > 3) fail(`activity(${id}) has extra arguments`)
    const out: Record<string, unknown> = { kind: 'activity', id, attributes }
    if (args[1] !== undefined) out.startTime = args[1]
    if (args[2] !== undefined) out.endTime = args[2]
    return out as unknown as ProvRecord
  }
  if (!relationNames.has(keyword)) fail(`unknown record ${keyword}`)
  const kind = keyword as RelationKind
  const spec = relationSpecs[kind]
  const out: Record<string, unknown> = { kind }
  let initial: (string | undefined)[] = []
  if (r.peek()?.t === 'word') {
    // `id;` or the first argument
    const w = r.word()
    if (r.isPunct(';')) {
      r.next()
      if (!spec.identified) fail(`${kind} has no id`)
      if (w !== '-') out.id = w
    } else initial = [w === '-' ? undefined : w]
  }
  const { args, attributes } = readArguments(r, initial)
  if (args.length > spec.args.length) fail(`${kind} has ${args.length} arguments, at most ${spec.args.length}`)
  spec.args.forEach((a, i) => {
    const v = args[i]
    if (v !== undefined) out[a.field] = v
  })
  if (spec.identified) out.attributes = attributes
  else if (attributes.length > 0) fail(`${kind} has no attributes`)
  return out as unknown as ProvRecord
}

function readPrefix(r: Reader, prefixes: Record<string, string>): void {
  const p = r.word()
  const iri = r.next()
  if (iri.t !== 'iri') fail(`prefix ${p} needs an IRI`)
  if (prefixes[p] !== undefined && prefixes[p] !== iri.v) fail(`prefix ${p} is bound to two namespaces`)
  prefixes[p] = iri.v
}

/** Parses a PROV-N document into a normalised, checked document (ProvFormatError on failure). */
export function fromProvN(text: string): ProvDocument {
  const r = new Reader(tokenise(text))
  if (r.word() !== 'document') fail('expected document')
  const prefixes: Record<string, string> = {}
  const records: ProvRecord[] = []
  const bundles: Bundle[] = []
  for (;;) {
    const w = r.word()
    if (w === 'endDocument') break
    if (w === 'prefix') readPrefix(r, prefixes)
    else if (w === 'bundle') {
      const id = r.word()
      const bundleRecords: ProvRecord[] = []
      for (;;) {
        const v = r.word()
        if (v === 'endBundle') break
        if (v === 'prefix') readPrefix(r, prefixes)
        else bundleRecords.push(readRecord(r, v))
      }
      bundles.push({ id, records: bundleRecords })
    } else records.push(readRecord(r, w))
  }
  if (r.peek() !== undefined) fail('text after endDocument')
  return normaliseDocument({ prefixes, records, bundles })
}
