/** PROV-JSON against the W3C schema, and parse(serialise(doc)) = doc for PROV-JSON, PROV-N and Turtle. */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import AjvModule from 'ajv-draft-04'
import { fromProvJson, fromProvN, fromTurtle, toProvJson, toProvJsonObject, toProvN, toTurtle, provDocument, literal } from '../../src/prov/index.js'
import type { ProvDocument } from '../../src/prov/index.js'
import { SeededRandom } from '../crypto/seeded-random.js'
import { sampleDocument } from './sample.js'
import { randomDocument } from './random-documents.js'

const Ajv = AjvModule.default

/** The published schema, as published, and a copy that also accepts the correct `wasEndedBy` (see the README). */
const published = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/prov/prov-json.schema.json', import.meta.url)), 'utf8')) as Record<string, any>
const patched = structuredClone(published)
patched.properties.wasEndedBy = patched.properties.wasEndedby
patched.definitions.bundle.properties.wasEndedBy = patched.definitions.bundle.properties.wasEndedby
patched.id = 'http://provenance.ecs.soton.ac.uk/prov-json/schema-patched#'

function validator(schema: object): (value: unknown) => string | undefined {
  // No ajv-formats: the two formats the schema uses, checked here (RFC 3986 scheme, RFC 3339 date-time).
  const ajv = new Ajv({ allErrors: true, strictSchema: false })
  ajv.addFormat('uri', /^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$/)
  ajv.addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?$/)
  const validate = ajv.compile(schema)
  return (value) => (validate(value) ? undefined : ajv.errorsText(validate.errors))
}
const validatePatched = validator(patched)
const validatePublished = validator(published)

t.test('PROV-JSON of the sample document is valid against the W3C schema', async (t) => {
  const json = toProvJsonObject(sampleDocument())
  t.equal(validatePatched(json), undefined)
  // The published schema refuses only because of its misspelt wasEndedby.
  t.match(validatePublished(json), /must NOT have additional properties/)
  const { wasEndedBy, ...rest } = json
  t.ok(wasEndedBy)
  t.equal(validatePublished(rest), undefined, 'without wasEndedBy, the published schema accepts it')
})

t.test('the validator really checks: broken PROV-JSON is refused', async (t) => {
  const good = JSON.parse(toProvJson(sampleDocument())) as Record<string, any>
  const cases: [string, (d: Record<string, any>) => void][] = [
    ['a literal without $', (d) => (d.entity['tom:data/1']['tom:size'] = { type: 'xsd:int' })],
    ['a generation without prov:entity', (d) => delete d.wasGeneratedBy['tom:gen/1']['prov:entity']],
    ['a bad time', (d) => (d.wasGeneratedBy['tom:gen/1']['prov:time'] = 'yesterday')],
    ['an unknown top-level key', (d) => (d.wasGeneratedByy = {})],
    ['a relation id that is not a qualified name value', (d) => (d.used['tom:use/1']['prov:entity'] = 'no scheme')]
  ]
  for (const [what, mutate] of cases) {
    const d = structuredClone(good)
    mutate(d)
    t.not(validatePatched(d), undefined, what)
  }
})

t.test('PROV-JSON shape: typed literals, xsd:QName values, blank-node ids, prefix block', async (t) => {
  const json = toProvJsonObject(sampleDocument()) as Record<string, any>
  t.strictSame(json.prefix, { tom: 'https://tom.example/ns#', ex: 'http://example.org/' })
  t.strictSame(json.entity['tom:data/1']['tom:size'], { $: '1024', type: 'xsd:int' })
  t.strictSame(json.entity['tom:data/1']['prov:type'], { $: 'tom:Data', type: 'xsd:QName' })
  t.strictSame(json.entity['tom:data/1']['prov:label'], { $: 'raw reading', lang: 'en' })
  t.equal(json.entity['tom:data/1']['tom:hash'], 'ab12', 'a plain string stays a JSON string')
  t.strictSame(json.entity['tom:plan/1']['prov:type'], [{ $: 'prov:Plan', type: 'xsd:QName' }, 'a plan'], 'several values: an array')
  t.strictSame(json.wasGeneratedBy['_:id1'], { 'prov:entity': 'tom:data/2', 'prov:activity': 'tom:tx/bb', 'prov:role': 'output' })
  t.strictSame(json.wasDerivedFrom['tom:der/1']['prov:type'], { $: 'prov:Revision', type: 'xsd:QName' })
  t.equal(json.activity['tom:tx/bb']['prov:startTime'], '2026-01-01T00:00:01.000Z')
  t.ok(json.bundle['tom:block/1'].wasAssociatedWith['tom:assoc/9'])
  t.notOk('prefix' in json.bundle['tom:block/1'], 'prefixes are declared once, at the top')
})

t.test('PROV-JSON reader: the submission’s shorter forms and its errors', async (t) => {
  const doc = fromProvJson({
    prefix: { ex: 'http://example.org/' },
    entity: { 'ex:e': { 'ex:n': 5, 'ex:big': 2 ** 40, 'ex:x': 0.5, 'ex:b': false, 'ex:s': { $: 'v' }, 'ex:l': { $: 'hi', lang: 'en', type: 'prov:InternationalizedString' } } },
    activity: { 'ex:a': {} },
    wasEndedby: { '_:e': { 'prov:activity': 'ex:a' } },
    bundle: { 'ex:b': { prefix: { other: 'http://other.example/' }, entity: { 'other:e': {} } } }
  })
  t.strictSame(doc.records[0], {
    kind: 'entity',
    id: 'ex:e',
    attributes: [
      { name: 'ex:b', value: literal.boolean(false) },
      { name: 'ex:big', value: literal.long(2 ** 40) },
      { name: 'ex:l', value: literal.string('hi', 'en') },
      { name: 'ex:n', value: literal.int(5) },
      { name: 'ex:s', value: literal.string('v') },
      { name: 'ex:x', value: literal.double(0.5) }
    ]
  })
  t.strictSame(doc.records[2], { kind: 'wasEndedBy', activity: 'ex:a', attributes: [] }, 'the schema’s misspelling is read too')
  t.strictSame(doc.prefixes, { ex: 'http://example.org/', other: 'http://other.example/' }, 'bundle prefixes join the document’s')
  const bad: unknown[] = [
    '{',
    [],
    { entity: { 'ex:e': {} } },
    { prefix: { ex: 'http://e/' }, entity: { 'ex:e': { 'ex:v': { $: 'x', type: 'xsd:int' } } } },
    { prefix: { ex: 'http://e/' }, entity: { 'ex:e': { 'ex:v': { $: 'x', type: 'ex:custom' } } } },
    { prefix: { ex: 'http://e/' }, entity: { 'ex:e': { 'prov:startTime': '2020-01-01T00:00:00Z' } } },
    { prefix: { ex: 'http://e/' }, wasGeneratedBy: { '_:g': { 'prov:activity': 'ex:a' } } },
    { prefix: { ex: 'http://e/' }, somethingElse: {} },
    { prefix: { ex: 'http://e/' }, entity: { 'ex:e': [{}, {}] } }
  ]
  for (const b of bad) t.throws(() => fromProvJson(b), { name: 'ProvFormatError' }, JSON.stringify(b))
})

const formats: [string, (d: ProvDocument) => string, (s: string) => ProvDocument][] = [
  ['PROV-JSON', (d) => toProvJson(d), fromProvJson],
  ['PROV-N', toProvN, fromProvN],
  ['Turtle', toTurtle, fromTurtle]
]

t.test('round trip of the sample document in all three formats', async (t) => {
  const doc = sampleDocument()
  for (const [name, write, read] of formats) {
    const text = write(doc)
    t.strictSame(read(text), doc, name)
    t.equal(write(read(text)), text, `${name}: writing again gives the same text`)
  }
})

t.test('round trip of random documents in all three formats (property)', async (t) => {
  const seed = 0x9e0f
  const random = new SeededRandom(seed)
  for (let i = 0; i < 150; i++) {
    const doc = randomDocument(random)
    for (const [name, write, read] of formats) {
      const text = write(doc)
      let back: ProvDocument | undefined
      try {
        back = read(text)
      } catch (err) {
        t.fail(`seed ${seed} case ${i} ${name}: ${String(err)}\n${text}`)
        continue
      }
      if (!t.strictSame(back, doc, `seed ${seed} case ${i}: ${name}`)) break
    }
    const err = validatePatched(toProvJsonObject(doc))
    if (err !== undefined) t.fail(`seed ${seed} case ${i}: schema: ${err}`)
  }
})

t.test('an empty document and a bundle-only document round-trip', async (t) => {
  const empty = provDocument({}).build()
  const onlyBundle = provDocument().bundle('tom:block/0', (b) => b.entity('tom:e')).build()
  for (const doc of [empty, onlyBundle]) {
    for (const [name, write, read] of formats) t.strictSame(read(write(doc)), doc, name)
  }
  t.equal(validatePatched(toProvJsonObject(empty)), undefined)
})

t.test('PROV-N and Turtle readers refuse what they do not read', async (t) => {
  const provN = [
    '',
    'document',
    'document prefix ex <http://e/> entity(ex:e, 1) endDocument',
    'document prefix ex <http://e/> specializationOf(ex:id; ex:a, ex:b) endDocument',
    'document prefix ex <http://e/> wasGeneratedBy(ex:e, ex:a, -, -) endDocument',
    'document prefix ex <http://e/> entity(ex:e, [ex:v="1" %% ex:t]) endDocument',
    'document prefix ex <http://e/> frob(ex:e) endDocument',
    'document endDocument extra'
  ]
  for (const text of provN) t.throws(() => fromProvN(text), { name: 'ProvFormatError', code: 'ERR_PROV_PARSE' }, JSON.stringify(text))
  t.throws(() => fromProvN('document prefix ex <http://e/> entity(ex:e, [ex:v="x" %% xsd:int]) endDocument'), { code: 'ERR_PROV_INVALID_LITERAL' })
  t.throws(() => fromProvN('document entity(ex:e) endDocument'), { code: 'ERR_PROV_INVALID_NAME' }, 'an undeclared prefix')
  t.strictSame(
    fromProvN('document prefix ex <http://e/> // comment\n entity(ex:e, [ex:n=5, ex:d=2.5]) /* c */ wasGeneratedBy(ex:e) endDocument'),
    provDocument({ ex: 'http://e/' }).entity('ex:e', { 'ex:n': 5, 'ex:d': 2.5 }).wasGeneratedBy('ex:e').build(),
    'bare numbers and omitted trailing arguments'
  )
  const turtle = [
    '@prefix ex: <http://e/> . ex:e ex:p "x" .',
    '@prefix ex: <http://e/> . ex:e a ex:NotProv .',
    '@prefix ex: <http://e/> . ex:e a prov:Entity',
    '@prefix ex: <http://e/> . ex:e a <http://nowhere/x> .',
    '@prefix ex: <http://e/> . ex:e prov:qualifiedGeneration _:g .',
    '@prefix ex: <http://e/> . _:b a prov:Entity .'
  ]
  for (const text of turtle) t.throws(() => fromTurtle(text), { name: 'ProvFormatError' }, text)
  t.strictSame(
    fromTurtle('@prefix ex: <http://e/> .\n<http://e/x> a <http://www.w3.org/ns/prov#Entity> . # full IRIs\n'),
    provDocument({ ex: 'http://e/' }).entity('ex:x').build(),
    'full IRIs are compacted through the prefixes'
  )
})
