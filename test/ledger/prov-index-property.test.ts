/**
 * Property: over random seeded derivation DAGs committed to a LevelDB ledger, the stored-index
 * answers (ProvQueries, LedgerLineageIndex) equal src/prov's answers over a MemoryLineageIndex of the
 * same records (each committed tx's implied association, then its stored records, in chain order).
 * A failure names its seed; rerun with PROV_SEED=<seed> to replay it alone.
 */
import t from 'tap'
import { activitiesOf, lineage, MemoryLineageIndex, relationKinds, whoTouched } from '../../src/prov/index.js'
import type { LineageEdge, QualifiedName } from '../../src/prov/index.js'
import type { Tx } from '../../src/ledger/index.js'
import { SeededRandom } from '../crypto/seeded-random.js'
import { ledgerProvIds } from '../../src/ledger/index.js'
import { applyTxs, data, itemTx, keyAgent, ledgerRecords, namedTx, openProvLedger } from './prov-fixture.js'

function edgeText(e: LineageEdge): string {
  return `${e.relation} ${e.from} ${e.to} ${e.id ?? '-'}`
}

const seeds = process.env.PROV_SEED !== undefined ? [Number(process.env.PROV_SEED)] : [1, 2, 3, 4]

for (const seed of seeds) {
  t.test(`stored index = memory index, seed ${seed}`, async (t) => {
    const random = new SeededRandom(seed)
    const p = await openProvLedger(t)
    const items = random.intBetween(40, 70)
    const parents = new Map<string, string[]>()
    let pending: Tx[] = []
    for (let i = 0; i < items; i++) {
      const id = `s${seed}/i${i}`
      // Mostly chains (the previous item), sometimes trees (any earlier item), sometimes merges.
      const chosen = new Set<string>()
      if (i > 0) {
        const n = random.pick([0, 1, 1, 1, 2, 3])
        for (let k = 0; k < n; k++) chosen.add(`s${seed}/i${random.bool() ? i - 1 : random.below(i)}`)
      }
      parents.set(id, [...chosen])
      pending.push(itemTx(p, { id, parents: [...chosen], signer: random.bool() ? 'admin' : 'node' }))
      // Now and then a stored association, of an earlier tx or of its own, with either key.
      if (random.below(4) === 0) {
        const signer = random.bool() ? p.net.admin : p.net.node
        const earlier = [...p.txs.values()].filter((x) => !pending.includes(x))
        const agent = keyAgent(random.bool() ? p.net.admin : p.net.node)
        const payload: Record<string, string> = earlier.length === 0 || random.bool() ? { agent } : { agent, activity: ledgerProvIds.tx(random.pick(earlier).id) }
        pending.push(namedTx(p, `assoc${i}`, signer, 'prov.associate', payload))
      }
      if (pending.length >= random.intBetween(1, 12) || i === items - 1) {
        t.ok((await applyTxs(p, pending)).every((ok) => ok), `seed ${seed}: every data.add commits`)
        pending = []
      }
    }
    const memory = new MemoryLineageIndex()
    const records = await ledgerRecords(p.ledger)
    memory.add(records)
    const stored = p.queries.index()

    const nodes = new Set<QualifiedName>()
    for (const r of records) for (const v of Object.values(r)) if (typeof v === 'string' && v.startsWith('tom:')) nodes.add(v)
    t.ok(nodes.size > items, `seed ${seed}: ${nodes.size} ids`)
    let mismatches = 0
    for (const node of nodes) {
      for (const direction of ['backward', 'forward'] as const) {
        for (const relation of relationKinds) {
          const limit = random.pick([1, 2, 3, 1000])
          const [a, b] = await Promise.all([stored.edges(node, direction, relation, limit), memory.edges(node, direction, relation, limit)])
          // Compared as text: key order differs between the decoded and the memory edges.
          if (a.map(edgeText).join('\n') !== b.map(edgeText).join('\n')) {
            mismatches++
            t.strictSame(a, b, `seed ${seed}: edges(${node}, ${direction}, ${relation}, ${limit})`)
          }
        }
      }
    }
    t.equal(mismatches, 0, `seed ${seed}: every edge list agrees`)

    for (const [id, ps] of parents) {
      const depth = random.intBetween(1, 8)
      const limit = random.pick([1, 3, 10, 1000])
      for (const direction of ['backward', 'forward'] as const) {
        t.strictSame(await p.queries.lineage(data(id), direction, { depth, limit }), await lineage(memory, data(id), direction, { depth, limit }), `seed ${seed}: lineage ${direction} ${id} depth ${depth} limit ${limit}`)
      }
      // Independent of both indexes: one step back are exactly the parents the tx named.
      const oneBack = await p.queries.lineage(data(id), 'backward', { depth: 1 })
      t.strictSame(oneBack.nodes.filter((n) => n.kind === 'entity').map((n) => n.id).sort(), ps.map(data).sort(), `seed ${seed}: parents of ${id}`)
      const whoLimit = random.pick([1, 2, 1000])
      t.strictSame(await p.queries.whoTouched(data(id), { limit: whoLimit }), await whoTouched(memory, data(id), { limit: whoLimit }), `seed ${seed}: whoTouched ${id}`)
    }
    for (const agent of [keyAgent(p.net.admin), keyAgent(p.net.node), 'tom:org/org1']) {
      for (const limit of [1, 5, 1000]) {
        t.strictSame(await p.queries.activityIdsOf(agent, { limit }), await activitiesOf(memory, agent, { limit }), `seed ${seed}: activitiesOf ${agent} limit ${limit}`)
        const full = await p.queries.activitiesOf(agent, { limit })
        t.strictSame(full.activities.map((a) => a.activity), (await activitiesOf(memory, agent, { limit })).activities, `seed ${seed}: activitiesOf with txs ${agent}`)
      }
    }
  })
}
