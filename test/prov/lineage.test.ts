/** Lineage (backward, forward) with depth and limit, who touched X, and the lineage export. */
import t from 'tap'
import {
  MemoryLineageIndex, RecordsBuilder, activitiesOf, fromProvJson, lineage, lineageDepthMax, lineageDocument, lineageEdges,
  lineageResultsMax, toProvJson, whoTouched
} from '../../src/prov/index.js'
import type { LineageDirection, ProvRecord } from '../../src/prov/index.js'
import { SeededRandom } from '../crypto/seeded-random.js'

function indexOf(fill: (b: RecordsBuilder) => void): { index: MemoryLineageIndex; records: ProvRecord[] } {
  const b = new RecordsBuilder()
  fill(b)
  const index = new MemoryLineageIndex()
  index.add(b.records)
  return { index, records: [...b.records] }
}

/** d0 <- d1 <- ... <- d20 by derivation; x and y used by tom:mix, which generated z; z <- d0. */
const { index } = indexOf((b) => {
  for (let i = 1; i <= 20; i++) b.wasDerivedFrom(`tom:d${i}`, `tom:d${i - 1}`)
  b.used('tom:mix', 'tom:x').used('tom:mix', 'tom:y').wasGeneratedBy('tom:z', 'tom:mix')
  b.wasDerivedFrom('tom:d0', 'tom:z')
})

t.test('backward lineage follows derivations and generation-usage chains', async (t) => {
  const r = await lineage(index, 'tom:z', 'backward')
  t.strictSame(r.nodes, [
    { id: 'tom:mix', kind: 'activity', depth: 1 },
    { id: 'tom:x', kind: 'entity', depth: 1 },
    { id: 'tom:y', kind: 'entity', depth: 1 }
  ])
  t.strictSame(r.edges, [
    { relation: 'wasGeneratedBy', from: 'tom:z', to: 'tom:mix' },
    { relation: 'used', from: 'tom:mix', to: 'tom:x' },
    { relation: 'used', from: 'tom:mix', to: 'tom:y' }
  ])
  t.equal(r.truncated, false)
  const chain = await lineage(index, 'tom:d5', 'backward')
  t.strictSame(chain.nodes.map((n) => `${n.id}@${n.depth}`), ['tom:d4@1', 'tom:d3@2', 'tom:d2@3', 'tom:d1@4', 'tom:d0@5', 'tom:z@6', 'tom:mix@7', 'tom:x@7', 'tom:y@7'])
})

t.test('forward lineage: what came from X', async (t) => {
  const r = await lineage(index, 'tom:x', 'forward', { depth: 3 })
  t.strictSame(r.nodes.map((n) => `${n.id}@${n.depth}`), ['tom:mix@1', 'tom:z@1', 'tom:d0@2', 'tom:d1@3'])
  const fromActivity = await lineage(index, 'tom:mix', 'forward', { depth: 1 })
  t.strictSame(fromActivity.nodes, [{ id: 'tom:z', kind: 'entity', depth: 1 }], 'an activity as the start: its outputs')
  const intoActivity = await lineage(index, 'tom:mix', 'backward', { depth: 1 })
  t.strictSame(intoActivity.nodes.map((n) => n.id), ['tom:x', 'tom:y'], 'an activity as the start: its inputs')
})

t.test('depth and result limits', async (t) => {
  const deep = await lineage(index, 'tom:d20', 'backward', { depth: 10 })
  t.equal(deep.nodes.length, 10)
  t.equal(deep.nodes.at(-1)!.id, 'tom:d10')
  t.equal(deep.truncated, false, 'depth is not truncation: the caller chose it')
  const limited = await lineage(index, 'tom:d20', 'backward', { depth: 64, limit: 7 })
  t.strictSame(limited.nodes.map((n) => n.id), ['tom:d19', 'tom:d18', 'tom:d17', 'tom:d16', 'tom:d15', 'tom:d14', 'tom:d13'])
  t.equal(limited.truncated, true)
  t.ok(limited.edges.every((e) => e.from === 'tom:d20' || limited.nodes.some((n) => n.id === e.from)), 'edges stay within the result')
  const exact = await lineage(index, 'tom:z', 'backward', { limit: 3 })
  t.equal(exact.truncated, false, 'exactly the limit is not truncated')
  t.strictSame((await lineage(index, 'tom:z', 'backward', { depth: 0 })).nodes, [])
  t.strictSame((await lineage(index, 'tom:unknown', 'backward')).nodes, [])
  for (const options of [{ depth: lineageDepthMax + 1 }, { depth: -1 }, { depth: 1.5 }, { limit: lineageResultsMax + 1 }, { limit: Number.NaN }]) {
    await t.rejects(lineage(index, 'tom:z', 'backward', options), { name: 'ProvFormatError', code: 'ERR_PROV_QUERY_LIMIT' }, JSON.stringify(options))
  }
  await t.rejects(whoTouched(index, 'tom:z', { limit: -1 }), { code: 'ERR_PROV_QUERY_LIMIT' })
})

t.test('who touched X: activities and the agents behind them', async (t) => {
  const { index } = indexOf((b) =>
    b
      .wasGeneratedBy('tom:data', 'tom:tx/join')
      .wasAssociatedWith('tom:tx/join', 'tom:device')
      .actedOnBehalfOf('tom:device', 'tom:org')
      .used('tom:tx/derive', 'tom:data')
      .wasAssociatedWith('tom:tx/derive', 'tom:container')
      .used('tom:tx/derive2', 'tom:data')
      .wasAssociatedWith('tom:tx/derive2', 'tom:container')
      .wasStartedBy('tom:tx/job', 'tom:data')
      .wasInvalidatedBy('tom:data', 'tom:tx/leave')
      .wasAssociatedWith('tom:tx/leave', 'tom:admin')
      .wasAttributedTo('tom:data', 'tom:owner')
      .wasAssociatedWith('tom:tx/other', 'tom:device')
  )
  const r = await whoTouched(index, 'tom:data')
  t.strictSame(r.activities, [
    { id: 'tom:tx/join', relation: 'wasGeneratedBy' },
    { id: 'tom:tx/derive', relation: 'used' },
    { id: 'tom:tx/derive2', relation: 'used' },
    { id: 'tom:tx/leave', relation: 'wasInvalidatedBy' },
    { id: 'tom:tx/job', relation: 'wasStartedBy' }
  ])
  t.strictSame(r.agents, [
    { id: 'tom:owner', relation: 'wasAttributedTo', via: 'tom:data' },
    { id: 'tom:device', relation: 'wasAssociatedWith', via: 'tom:tx/join' },
    { id: 'tom:container', relation: 'wasAssociatedWith', via: 'tom:tx/derive' },
    { id: 'tom:admin', relation: 'wasAssociatedWith', via: 'tom:tx/leave' },
    { id: 'tom:org', relation: 'actedOnBehalfOf', via: 'tom:device' }
  ])
  t.equal(r.truncated, false)
  const limited = await whoTouched(index, 'tom:data', { limit: 6 })
  t.equal(limited.activities.length + limited.agents.length, 6)
  t.equal(limited.truncated, true)
  t.strictSame(await activitiesOf(index, 'tom:device'), { activities: ['tom:tx/join', 'tom:tx/other'], truncated: false })
  t.strictSame(await activitiesOf(index, 'tom:device', { limit: 1 }), { activities: ['tom:tx/join'], truncated: true })
})

t.test('lineageEdges: one edge per relation, first argument to second', async (t) => {
  const b = new RecordsBuilder().entity('tom:e').wasGeneratedBy('tom:e').wasDerivedFrom('tom:e', 'tom:f', { id: 'tom:r' }).hadMember('tom:c', 'tom:e')
  t.strictSame(b.records.flatMap(lineageEdges), [
    { relation: 'wasDerivedFrom', from: 'tom:e', to: 'tom:f', id: 'tom:r' },
    { relation: 'hadMember', from: 'tom:c', to: 'tom:e' }
  ], 'an element or a generation without activity adds none')
})

t.test('the lineage subgraph exports as a PROV document', async (t) => {
  const r = await lineage(index, 'tom:d1', 'backward')
  const doc = lineageDocument(r, { tom: 'https://tom.example/ns#' })
  t.strictSame(fromProvJson(toProvJson(doc)), doc)
  t.equal(doc.records.filter((x) => x.kind === 'entity').length, 5, 'd1, d0, z, x, y')
  t.equal(doc.records.filter((x) => x.kind === 'activity').length, 1)
  t.equal(doc.records.filter((x) => x.kind === 'wasDerivedFrom').length, 2)
})

// ---------------------------------------------------------------------------------------------
// Property: against a plain breadth-first search over the records.

function randomGraph(random: SeededRandom): ProvRecord[] {
  const b = new RecordsBuilder()
  const n = random.intBetween(5, 60)
  for (let i = 1; i < n; i++) {
    for (let k = random.below(3); k > 0; k--) b.wasDerivedFrom(`tom:e${i}`, `tom:e${random.below(i)}`)
    if (random.bool()) {
      const a = `tom:a${i}`
      b.wasGeneratedBy(`tom:e${i}`, a)
      for (let k = random.below(4); k > 0; k--) b.used(a, `tom:e${random.below(i)}`)
    }
  }
  return [...b.records]
}

function reference(records: readonly ProvRecord[], start: string, direction: LineageDirection, depth: number): Map<string, number> {
  const backward = direction === 'backward'
  const next = new Map<string, { entities: string[]; activities: string[] }>()
  const gen = new Map<string, string[]>()
  const used = new Map<string, string[]>()
  const push = (m: Map<string, string[]>, k: string, v: string): void => void (m.get(k) ?? m.set(k, []).get(k)!).push(v)
  for (const r of records) {
    if (r.kind === 'wasDerivedFrom') {
      const [from, to] = backward ? [r.generatedEntity, r.usedEntity] : [r.usedEntity, r.generatedEntity]
      const entry = next.get(from) ?? { entities: [], activities: [] }
      entry.entities.push(to)
      next.set(from, entry)
    }
    if (r.kind === 'wasGeneratedBy' && r.activity !== undefined) push(backward ? gen : used, backward ? r.entity : r.activity, backward ? r.activity : r.entity)
    if (r.kind === 'used') push(backward ? used : gen, backward ? r.activity : r.entity, backward ? r.entity : r.activity)
  }
  const dist = new Map<string, number>()
  let frontier = [start]
  const seen = new Set([start])
  for (let d = 0; d < depth && frontier.length > 0; d++) {
    const following: string[] = []
    const reach = (id: string): boolean => {
      if (seen.has(id)) return false
      seen.add(id)
      dist.set(id, d + 1)
      return true
    }
    for (const x of frontier) {
      for (const y of next.get(x)?.entities ?? []) if (reach(y)) following.push(y)
      for (const a of gen.get(x) ?? []) {
        if (!reach(a)) continue
        for (const y of used.get(a) ?? []) if (reach(y)) following.push(y)
      }
    }
    frontier = following
  }
  return dist
}

t.test('lineage equals a breadth-first search; a limit returns a prefix (property)', async (t) => {
  const seed = 0x11ea9e
  const random = new SeededRandom(seed)
  for (let run = 0; run < 200; run++) {
    const records = randomGraph(random)
    const index = new MemoryLineageIndex()
    index.add(records)
    const direction = random.bool() ? 'backward' : 'forward'
    const start = `tom:e${random.below(5) === 0 ? 0 : random.below(60)}`
    const depth = random.intBetween(1, 12)
    const where = `seed ${seed} run ${run}: ${direction} ${start} depth ${depth}`
    const full = await lineage(index, start, direction, { depth })
    const expected = reference(records, start, direction, depth)
    if (!t.strictSame(new Map(full.nodes.map((n) => [n.id, n.depth])), expected, where)) return
    t.equal(full.truncated, false)
    const limit = random.below(full.nodes.length + 2)
    const cut = await lineage(index, start, direction, { depth, limit })
    t.strictSame(cut.nodes, full.nodes.slice(0, limit), `${where} limit ${limit}`)
    t.equal(cut.truncated, full.nodes.length > limit, `${where} limit ${limit}: truncated`)
  }
})
