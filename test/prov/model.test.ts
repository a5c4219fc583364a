/** The PROV-DM model: names, literals, builders and the document checks. */
import t from 'tap'
import { checkDocument, literal, normaliseDocument, provDocument, splitQualifiedName, isQualifiedName, tomNamespace } from '../../src/prov/index.js'
import type { ProvDocument, ProvRecord } from '../../src/prov/index.js'

const invalid = (code: string): { name: string; code: string } => ({ name: 'ProvFormatError', code })

t.test('qualified names', async (t) => {
  t.strictSame(splitQualifiedName('tom:tx/ab12'), { prefix: 'tom', local: 'tx/ab12' })
  t.strictSame(splitQualifiedName('ex-1:a.b_c-d'), { prefix: 'ex-1', local: 'a.b_c-d' })
  t.strictSame(splitQualifiedName('tom:1'), { prefix: 'tom', local: '1' })
  for (const bad of ['tom', 'tom:', ':x', '1x:y', 'tom:x.', 'tom:-x', 'tom:a b', 'tom:a:b', 'tom:a#b', '_:b1', `tom:${'x'.repeat(600)}`]) {
    t.notOk(isQualifiedName(bad), bad.slice(0, 20))
    t.throws(() => splitQualifiedName(bad), invalid('ERR_PROV_INVALID_NAME'))
  }
  t.equal(tomNamespace, 'https://tom.example/ns#')
})

t.test('literals are built in their canonical lexical forms', async (t) => {
  t.strictSame(literal.int(-0), { value: '0', type: 'xsd:int' })
  t.strictSame(literal.int(2 ** 31 - 1), { value: '2147483647', type: 'xsd:int' })
  t.throws(() => literal.int(2 ** 31), invalid('ERR_PROV_INVALID_LITERAL'))
  t.throws(() => literal.int(1.5), invalid('ERR_PROV_INVALID_LITERAL'))
  t.strictSame(literal.long(-(2n ** 63n)), { value: '-9223372036854775808', type: 'xsd:long' })
  t.throws(() => literal.long(2n ** 63n), invalid('ERR_PROV_INVALID_LITERAL'))
  t.throws(() => literal.long(2 ** 60), invalid('ERR_PROV_INVALID_LITERAL'), 'an unsafe number is refused: pass a bigint')
  t.same([NaN, Infinity, -Infinity, -0, 1e21, 0.1].map((n) => literal.double(n).value), ['NaN', 'INF', '-INF', '0', '1e+21', '0.1'])
  t.strictSame(literal.boolean(false), { value: 'false', type: 'xsd:boolean' })
  t.strictSame(literal.dateTime(0), { value: '1970-01-01T00:00:00.000Z', type: 'xsd:dateTime' })
  t.strictSame(literal.dateTime(new Date(1000)), { value: '1970-01-01T00:00:01.000Z', type: 'xsd:dateTime' })
  t.strictSame(literal.dateTime('2026-11-26T10:00:00+01:00').value, '2026-11-26T10:00:00+01:00')
  for (const bad of ['2026-13-01T00:00:00Z', '2026-01-01', '2026-01-01T24:00:00Z', 'now']) {
    t.throws(() => literal.dateTime(bad), invalid('ERR_PROV_INVALID_LITERAL'), bad)
  }
  t.strictSame(literal.string('x', 'en-GB'), { value: 'x', type: 'xsd:string', lang: 'en-GB' })
  t.strictSame(literal.qualifiedName('prov:Plan'), { value: 'prov:Plan', type: 'xsd:QName' })
  t.throws(() => literal.qualifiedName('not a name'), invalid('ERR_PROV_INVALID_NAME'))
})

t.test('builders: attributes from JS values, sorted by name; records grouped by kind', async (t) => {
  const doc = provDocument()
    .wasGeneratedBy('tom:e', 'tom:a', { time: 0 })
    .entity('tom:e', { 'tom:z': 1, 'prov:type': [literal.qualifiedName('tom:Data'), 'second'], 'tom:a': [true, 2 ** 40, 0.5, 'text', 5n] })
    .activity('tom:a', { startTime: 0 })
    .agent('tom:g')
    .wasDerivedFrom('tom:e', 'tom:e', { type: 'prov:Revision', attributes: { 'tom:why': 'fix' } })
    .build()
  t.strictSame(doc.records.map((r) => r.kind), ['entity', 'activity', 'agent', 'wasGeneratedBy', 'wasDerivedFrom'])
  t.strictSame(doc.records[0], {
    kind: 'entity',
    id: 'tom:e',
    attributes: [
      { name: 'prov:type', value: literal.qualifiedName('tom:Data') },
      { name: 'prov:type', value: literal.string('second') },
      { name: 'tom:a', value: literal.boolean(true) },
      { name: 'tom:a', value: literal.long(2 ** 40) },
      { name: 'tom:a', value: literal.double(0.5) },
      { name: 'tom:a', value: literal.string('text') },
      { name: 'tom:a', value: literal.long(5n) },
      { name: 'tom:z', value: literal.int(1) }
    ]
  })
  t.strictSame(doc.records[1], { kind: 'activity', id: 'tom:a', startTime: '1970-01-01T00:00:00.000Z', attributes: [] }, 'no undefined keys')
  t.strictSame(doc.records[3], { kind: 'wasGeneratedBy', entity: 'tom:e', activity: 'tom:a', time: '1970-01-01T00:00:00.000Z', attributes: [] })
  t.strictSame(doc.records[4], {
    kind: 'wasDerivedFrom',
    generatedEntity: 'tom:e',
    usedEntity: 'tom:e',
    attributes: [
      { name: 'prov:type', value: literal.qualifiedName('prov:Revision') },
      { name: 'tom:why', value: literal.string('fix') }
    ]
  })
  t.strictSame(normaliseDocument(doc), doc, 'normalising twice changes nothing')
  t.strictSame(doc.prefixes, { tom: tomNamespace }, 'the default builder declares tom')
})

t.test('every relation has a builder, with its optional arguments', async (t) => {
  const doc = provDocument()
    .entity('tom:e').entity('tom:f').activity('tom:a').activity('tom:b').agent('tom:g').agent('tom:h')
    .used('tom:a', 'tom:e', { id: 'tom:u' })
    .wasInformedBy('tom:b', 'tom:a')
    .wasStartedBy('tom:b', 'tom:e', 'tom:a', { time: 5 })
    .wasEndedBy('tom:b')
    .wasInvalidatedBy('tom:e', 'tom:b')
    .wasAttributedTo('tom:e', 'tom:g')
    .wasAssociatedWith('tom:a', 'tom:g', { plan: 'tom:f', attributes: { 'prov:role': 'operator' } })
    .actedOnBehalfOf('tom:g', 'tom:h', { activity: 'tom:a' })
    .wasInfluencedBy('tom:f', 'tom:h')
    .specializationOf('tom:f', 'tom:e')
    .alternateOf('tom:e', 'tom:f')
    .hadMember('tom:f', 'tom:e')
    .build()
  const byKind = new Map(doc.records.map((r) => [r.kind, r]))
  t.strictSame(byKind.get('used'), { kind: 'used', id: 'tom:u', activity: 'tom:a', entity: 'tom:e', attributes: [] })
  t.strictSame(byKind.get('wasStartedBy'), { kind: 'wasStartedBy', activity: 'tom:b', trigger: 'tom:e', starter: 'tom:a', time: '1970-01-01T00:00:00.005Z', attributes: [] })
  t.strictSame(byKind.get('wasEndedBy'), { kind: 'wasEndedBy', activity: 'tom:b', attributes: [] })
  t.strictSame(byKind.get('wasAssociatedWith'), { kind: 'wasAssociatedWith', activity: 'tom:a', agent: 'tom:g', plan: 'tom:f', attributes: [{ name: 'prov:role', value: literal.string('operator') }] })
  t.strictSame(byKind.get('actedOnBehalfOf'), { kind: 'actedOnBehalfOf', delegate: 'tom:g', responsible: 'tom:h', activity: 'tom:a', attributes: [] })
  t.strictSame(byKind.get('specializationOf'), { kind: 'specializationOf', specificEntity: 'tom:f', generalEntity: 'tom:e' }, 'no id, no attributes')
  t.strictSame(byKind.get('alternateOf'), { kind: 'alternateOf', alternate1: 'tom:e', alternate2: 'tom:f' })
  t.strictSame(byKind.get('hadMember'), { kind: 'hadMember', collection: 'tom:f', entity: 'tom:e' })
  t.equal(doc.records.length, 18)
})

t.test('bundles', async (t) => {
  const doc = provDocument()
    .entity('tom:e')
    .bundle('tom:block/1', (b) => b.entity('tom:e').agent('tom:e').wasAttributedTo('tom:e', 'tom:e'))
    .build()
  t.equal(doc.bundles.length, 1)
  t.strictSame(doc.bundles[0]!.records.map((r) => r.kind), ['entity', 'agent', 'wasAttributedTo'])
  t.throws(() => provDocument().bundle('tom:b', () => {}).bundle('tom:b', () => {}).build(), invalid('ERR_PROV_DUPLICATE_ID'))
})

t.test('document checks refuse what no format could carry', async (t) => {
  const base = (records: ProvRecord[], prefixes: Record<string, string> = { tom: tomNamespace }): ProvDocument => ({ prefixes, records, bundles: [] })
  const cases: [string, () => void, string][] = [
    ['undeclared prefix', () => provDocument().entity('ex:e').build(), 'ERR_PROV_INVALID_NAME'],
    ['undeclared prefix in a QName value', () => provDocument().entity('tom:e', { 'tom:v': literal.qualifiedName('ex:x') }).build(), 'ERR_PROV_INVALID_NAME'],
    ['redeclared prov prefix', () => provDocument({ prov: 'http://elsewhere/' }).build(), 'ERR_PROV_INVALID_NAME'],
    ['bad namespace', () => provDocument({ ex: 'not a uri' }).build(), 'ERR_PROV_INVALID_NAME'],
    ['reserved attribute', () => provDocument().entity('tom:e', { 'prov:startTime': 'x' }).build(), 'ERR_PROV_INVALID_ATTRIBUTE'],
    ['same entity twice', () => provDocument().entity('tom:e').entity('tom:e').build(), 'ERR_PROV_DUPLICATE_ID'],
    ['entity and activity', () => provDocument().entity('tom:e').activity('tom:e').build(), 'ERR_PROV_DUPLICATE_ID'],
    ['relation id twice', () => provDocument().used('tom:a', 'tom:e', { id: 'tom:r' }).wasGeneratedBy('tom:e', undefined, { id: 'tom:r' }).build(), 'ERR_PROV_DUPLICATE_ID'],
    ['bad time', () => provDocument().used('tom:a', 'tom:e', { time: 'noon' }).build(), 'ERR_PROV_INVALID_LITERAL'],
    ['missing argument', () => checkDocument(base([{ kind: 'used', activity: 'tom:a', attributes: [] } as unknown as ProvRecord])), 'ERR_PROV_INVALID_NAME'],
    ['bad literal', () => checkDocument(base([{ kind: 'entity', id: 'tom:e', attributes: [{ name: 'tom:v', value: { value: '1.0', type: 'xsd:int' } }] }])), 'ERR_PROV_INVALID_LITERAL'],
    ['lang on a non-string', () => checkDocument(base([{ kind: 'entity', id: 'tom:e', attributes: [{ name: 'tom:v', value: { value: '1', type: 'xsd:int', lang: 'en' } }] }])), 'ERR_PROV_INVALID_LITERAL']
  ]
  for (const [what, f, code] of cases) t.throws(f, invalid(code), what)
  t.doesNotThrow(() => provDocument().entity('tom:device/1').agent('tom:device/1').build(), 'an entity may also be an agent')
})
