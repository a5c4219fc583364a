/** Random PROV documents for the round-trip property tests: every kind, literal type and option. */
import { literal, provDocument, relationKinds } from '../../src/prov/index.js'
import type { AttributesInput, Literal, ProvDocument, RecordsBuilder } from '../../src/prov/index.js'
import { SeededRandom } from '../crypto/seeded-random.js'

const textPieces = ['a', 'Z', ' ', '"', '\\', '\n', '\t', "'", 'é', '𝄞', '<', '>', '{', '}', '#', ';', ',', '.', '%%', '@', '0']

function text(random: SeededRandom): string {
  let s = ''
  for (let i = random.below(6); i > 0; i--) s += random.pick(textPieces)
  return s
}

function time(random: SeededRandom): string {
  const ms = 1_700_000_000_000 + random.below(2 ** 31) * 1000 + random.below(1000)
  const iso = new Date(ms).toISOString()
  return random.pick([iso, iso.replace(/\.\d{3}Z$/, 'Z'), iso.replace(/Z$/, '+02:00'), iso.replace(/\.\d{3}Z$/, '')])
}

function randomLiteral(random: SeededRandom, names: readonly string[]): Literal {
  switch (random.below(8)) {
    case 0:
      return literal.string(text(random))
    case 1:
      return literal.string(text(random), random.pick(['en', 'fr-CA', 'de']))
    case 2:
      return literal.int(random.intBetween(-(2 ** 31), 2 ** 31 - 1))
    case 3:
      return literal.long(random.bigBits(62) - 2n ** 61n)
    case 4:
      return literal.double(random.pick([0.5, -1e-300, 1e21, 3.141592653589793, Infinity, -Infinity, NaN, 12345.678]))
    case 5:
      return literal.boolean(random.bool())
    case 6:
      return literal.dateTime(time(random))
    default:
      return literal.qualifiedName(random.pick(names))
  }
}

function attributes(random: SeededRandom, names: readonly string[]): AttributesInput {
  const out: Record<string, Literal[]> = {}
  for (let i = random.below(4); i > 0; i--) {
    const name = random.pick(['prov:type', 'prov:label', 'prov:location', 'prov:role', 'prov:value', 'ex:a', 'ex:b-c', 'tom:x/y'])
    ;(out[name] ??= []).push(randomLiteral(random, names))
  }
  return out
}

function fill(b: RecordsBuilder, random: SeededRandom, tag: string): void {
  const entities = Array.from({ length: 1 + random.below(4) }, (_, i) => `tom:data/${tag}${i}`)
  const activities = Array.from({ length: 1 + random.below(3) }, (_, i) => `tom:tx/${tag}${i}`)
  const agents = Array.from({ length: 1 + random.below(3) }, (_, i) => `ex:agent.${tag}${i}`)
  const names = [...entities, ...activities, ...agents, 'prov:Plan', 'ex:Thing']
  const maybe = <T>(v: T): T | undefined => (random.bool() ? v : undefined)
  let relationN = 0
  const id = (): string | undefined => maybe(`tom:rel/${tag}${relationN++}`)
  for (const e of entities) b.entity(e, attributes(random, names))
  for (const a of activities) b.activity(a, { ...(random.bool() ? { startTime: time(random) } : {}), ...(random.bool() ? { endTime: time(random) } : {}), attributes: attributes(random, names) })
  for (const g of agents) b.agent(g, attributes(random, names))
  if (random.bool()) b.agent(entities[0]!) // an entity that is also an agent
  for (let i = random.below(12); i > 0; i--) {
    const e = random.pick(entities)
    const e2 = random.pick(entities)
    const a = random.pick(activities)
    const g = random.pick(agents)
    const rel = (): { id?: string; attributes: AttributesInput } => {
      const i = id()
      return { ...(i === undefined ? {} : { id: i }), attributes: attributes(random, names) }
    }
    const timed = (): { id?: string; attributes: AttributesInput; time?: string } => {
      const t = maybe(time(random))
      return { ...rel(), ...(t === undefined ? {} : { time: t }) }
    }
    switch (random.pick(relationKinds)) {
      case 'wasGeneratedBy': b.wasGeneratedBy(e, maybe(a), timed()); break
      case 'used': b.used(a, e, timed()); break
      case 'wasInformedBy': b.wasInformedBy(a, random.pick(activities), rel()); break
      case 'wasStartedBy': b.wasStartedBy(a, maybe(e), maybe(random.pick(activities)), timed()); break
      case 'wasEndedBy': b.wasEndedBy(a, maybe(e), maybe(random.pick(activities)), timed()); break
      case 'wasInvalidatedBy': b.wasInvalidatedBy(e, maybe(a), timed()); break
      case 'wasDerivedFrom': {
        const type = maybe(random.pick(['prov:Revision', 'prov:Quotation', 'prov:PrimarySource'] as const))
        b.wasDerivedFrom(e, e2, { ...rel(), ...(random.bool() ? { activity: a } : {}), ...(type === undefined ? {} : { type }) })
        break
      }
      case 'wasAttributedTo': b.wasAttributedTo(e, g, rel()); break
      case 'wasAssociatedWith': b.wasAssociatedWith(a, maybe(g), { ...rel(), ...(random.bool() ? { plan: e } : {}) }); break
      case 'actedOnBehalfOf': b.actedOnBehalfOf(g, random.pick(agents), { ...rel(), ...(random.bool() ? { activity: a } : {}) }); break
      case 'wasInfluencedBy': b.wasInfluencedBy(random.pick(names.slice(0, -2)), random.pick(names.slice(0, -2)), rel()); break
      case 'specializationOf': b.specializationOf(e, e2); break
      case 'alternateOf': b.alternateOf(e, e2); break
      case 'hadMember': b.hadMember(e, e2); break
    }
  }
}

export function randomDocument(random: SeededRandom): ProvDocument {
  const doc = provDocument({ tom: 'https://tom.example/ns#', ex: 'http://example.org/ns/' })
  fill(doc, random, 'd')
  for (let i = random.below(3); i > 0; i--) doc.bundle(`tom:block/${i}`, (b) => fill(b, random, `b${i}x`))
  return doc.build()
}
