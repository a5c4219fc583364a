/**
 * The PROV-CONSTRAINTS checks applied with each tx: every check allowed and refused by example,
 * then property tests: random valid histories are never refused, and a random history with one
 * violation added is refused at that tx, with the violation's code.
 */
import t from 'tap'
import { MemoryProvIndex, RecordsBuilder, checkProvRecords, provConstraintCodes } from '../../src/prov/index.js'
import type { ProvConstraintCode, ProvPosition, ProvRecord } from '../../src/prov/index.js'
import { SeededRandom } from '../crypto/seeded-random.js'

const at = (height: number, index = 0): ProvPosition => ({ height, index })
const tx = (fill: (b: RecordsBuilder) => void): ProvRecord[] => {
  const b = new RecordsBuilder()
  fill(b)
  return [...b.records]
}
const refused = (code: ProvConstraintCode): { name: string; code: string } => ({ name: 'ProvConstraintError', code })

/** An index with a device (entity and agent), an org, and data tom:d1 generated at height 1. */
async function world(): Promise<MemoryProvIndex> {
  const index = new MemoryProvIndex()
  index.commit(tx((b) => b.agent('tom:org').entity('tom:dev').agent('tom:dev').actedOnBehalfOf('tom:dev', 'tom:org')), at(0))
  index.commit(tx((b) => b.activity('tom:tx/1').entity('tom:d1').wasGeneratedBy('tom:d1', 'tom:tx/1', { id: 'tom:g1', time: 1000 }).wasAssociatedWith('tom:tx/1', 'tom:dev')), at(1))
  return index
}

t.test('typing: a relation names declared ids of the right kind', async (t) => {
  const index = await world()
  t.doesNotThrow(() => checkProvRecords(tx((b) => b.activity('tom:tx/2').used('tom:tx/2', 'tom:d1')), at(2), index), 'declared in the same tx or before')
  t.throws(() => checkProvRecords(tx((b) => b.activity('tom:tx/2').used('tom:tx/2', 'tom:nothing')), at(2), index), refused('ERR_PROV_UNKNOWN_ID'))
  t.throws(() => checkProvRecords(tx((b) => b.used('tom:tx/9', 'tom:d1')), at(2), index), refused('ERR_PROV_UNKNOWN_ID'), 'an undeclared activity')
  t.throws(() => checkProvRecords(tx((b) => b.activity('tom:tx/2').used('tom:tx/2', 'tom:org')), at(2), index), refused('ERR_PROV_WRONG_KIND'), 'an agent is not an entity')
  t.throws(() => checkProvRecords(tx((b) => b.wasAttributedTo('tom:d1', 'tom:tx/1')), at(2), index), refused('ERR_PROV_WRONG_KIND'), 'an activity is not an agent')
  t.throws(() => checkProvRecords(tx((b) => b.wasDerivedFrom('tom:d1', 'tom:d1', { generation: 'tom:d1' })), at(2), index), refused('ERR_PROV_WRONG_KIND'), 'generation must name a generation')
  t.doesNotThrow(() => checkProvRecords(tx((b) => b.entity('tom:d2').wasDerivedFrom('tom:d2', 'tom:d1', { generation: 'tom:g1' })), at(2), index))
  t.doesNotThrow(() => checkProvRecords(tx((b) => b.wasAttributedTo('tom:d1', 'tom:dev').wasInfluencedBy('tom:d1', 'tom:tx/1')), at(2), index), 'a device is an agent; influence takes any element')
  t.throws(() => checkProvRecords(tx((b) => b.wasInfluencedBy('tom:d1', 'tom:g1')), at(2), index), refused('ERR_PROV_WRONG_KIND'), 'influence takes elements, not relations')
})

t.test('key uniqueness: one id, one kind (an entity may also be an agent)', async (t) => {
  const index = await world()
  t.doesNotThrow(() => checkProvRecords(tx((b) => b.entity('tom:d1').agent('tom:org').activity('tom:tx/1')), at(2), index), 'a re-declaration with the same kind')
  t.doesNotThrow(() => checkProvRecords(tx((b) => b.agent('tom:d1')), at(2), index), 'an entity becomes an agent too')
  t.throws(() => checkProvRecords(tx((b) => b.activity('tom:d1')), at(2), index), refused('ERR_PROV_ENTITY_ACTIVITY_DISJOINT'))
  t.throws(() => checkProvRecords(tx((b) => b.entity('tom:tx/1')), at(2), index), refused('ERR_PROV_ENTITY_ACTIVITY_DISJOINT'))
  t.throws(() => checkProvRecords(tx((b) => b.entity('tom:x').activity('tom:x')), at(2), index), refused('ERR_PROV_ENTITY_ACTIVITY_DISJOINT'), 'within one tx')
  t.throws(() => checkProvRecords(tx((b) => b.activity('tom:org')), at(2), index), refused('ERR_PROV_KIND_CONFLICT'), 'an agent is not an activity')
  t.throws(() => checkProvRecords(tx((b) => b.entity('tom:g1')), at(2), index), refused('ERR_PROV_KIND_CONFLICT'), 'a relation id is not an element')
  t.throws(() => checkProvRecords(tx((b) => b.wasAttributedTo('tom:d1', 'tom:org', { id: 'tom:tx/1' })), at(2), index), refused('ERR_PROV_KIND_CONFLICT'), 'an element id is not a relation id')
  t.throws(() => checkProvRecords(tx((b) => b.wasAttributedTo('tom:d1', 'tom:org', { id: 'tom:g1' })), at(2), index), refused('ERR_PROV_KIND_CONFLICT'))
  t.throws(() => checkProvRecords(tx((b) => b.activity('tom:tx/2').wasGeneratedBy('tom:d1', 'tom:tx/2', { id: 'tom:g1' })), at(2), index), refused('ERR_PROV_DUPLICATE_RELATION'))
})

t.test('unique generation and unique invalidation', async (t) => {
  const index = await world()
  t.throws(() => checkProvRecords(tx((b) => b.activity('tom:tx/2').wasGeneratedBy('tom:d1', 'tom:tx/2')), at(2), index), refused('ERR_PROV_DOUBLE_GENERATION'))
  t.throws(() => checkProvRecords(tx((b) => b.entity('tom:d2').wasGeneratedBy('tom:d2').wasGeneratedBy('tom:d2')), at(2), index), refused('ERR_PROV_DOUBLE_GENERATION'), 'twice in one tx')
  index.commit(tx((b) => b.activity('tom:tx/2').wasInvalidatedBy('tom:d1', 'tom:tx/2')), at(2))
  t.throws(() => checkProvRecords(tx((b) => b.activity('tom:tx/3').wasInvalidatedBy('tom:d1', 'tom:tx/3')), at(3), index), refused('ERR_PROV_DOUBLE_INVALIDATION'))
  t.doesNotThrow(() => checkProvRecords(tx((b) => b.entity('tom:d3').wasInvalidatedBy('tom:d3')), at(3), index), 'an entity never generated can be invalidated')
})

t.test('no usage or derivation before generation', async (t) => {
  const index = await world()
  index.commit(tx((b) => b.entity('tom:old').activity('tom:tx/2').used('tom:tx/2', 'tom:old')), at(2))
  t.throws(() => checkProvRecords(tx((b) => b.activity('tom:tx/3').wasGeneratedBy('tom:old', 'tom:tx/3')), at(3), index), refused('ERR_PROV_USE_BEFORE_GENERATION'), 'generated after a usage')
  index.commit(tx((b) => b.entity('tom:src').entity('tom:copy').wasGeneratedBy('tom:copy').wasDerivedFrom('tom:copy', 'tom:src')), at(3))
  t.throws(() => checkProvRecords(tx((b) => b.wasGeneratedBy('tom:src')), at(4), index), refused('ERR_PROV_USE_BEFORE_GENERATION'), 'generated after something was derived from it')
  t.doesNotThrow(() => checkProvRecords(tx((b) => b.entity('tom:new').activity('tom:tx/5').used('tom:tx/5', 'tom:new').wasGeneratedBy('tom:new', 'tom:tx/5')), at(5), index), 'in one tx: simultaneous')
  // Derived entity generated before the one it is derived from.
  index.commit(tx((b) => b.entity('tom:late').wasGeneratedBy('tom:late')), at(6))
  t.throws(() => checkProvRecords(tx((b) => b.wasDerivedFrom('tom:d1', 'tom:late')), at(7), index), refused('ERR_PROV_DERIVATION_BEFORE_GENERATION'))
  t.doesNotThrow(() => checkProvRecords(tx((b) => b.wasDerivedFrom('tom:late', 'tom:d1', { type: 'prov:Revision' })), at(7), index))
  // Explicit times must agree with the generation's.
  t.throws(() => checkProvRecords(tx((b) => b.activity('tom:tx/8').used('tom:tx/8', 'tom:d1', { time: 999 })), at(8), index), refused('ERR_PROV_USE_BEFORE_GENERATION'), 'a usage time before the generation time')
  t.doesNotThrow(() => checkProvRecords(tx((b) => b.activity('tom:tx/8').used('tom:tx/8', 'tom:d1', { time: 1000 })), at(8), index))
  t.throws(() => checkProvRecords(tx((b) => b.wasInvalidatedBy('tom:d1', undefined, { time: 10 })), at(8), index), refused('ERR_PROV_USE_BEFORE_GENERATION'), 'an invalidation time before the generation time')
})

t.test('nothing after invalidation', async (t) => {
  const index = await world()
  index.commit(tx((b) => b.activity('tom:tx/2').entity('tom:d2').wasGeneratedBy('tom:d2', 'tom:tx/2').wasInvalidatedBy('tom:d1', 'tom:tx/2').used('tom:tx/2', 'tom:d1')), at(2, 0))
  const later = at(2, 1)
  t.throws(() => checkProvRecords(tx((b) => b.activity('tom:tx/3').used('tom:tx/3', 'tom:d1')), later, index), refused('ERR_PROV_AFTER_INVALIDATION'), 'usage')
  t.throws(() => checkProvRecords(tx((b) => b.entity('tom:d3').wasDerivedFrom('tom:d3', 'tom:d1')), later, index), refused('ERR_PROV_AFTER_INVALIDATION'), 'derivation from it')
  t.throws(() => checkProvRecords(tx((b) => b.activity('tom:tx/3').wasStartedBy('tom:tx/3', 'tom:d1')), later, index), refused('ERR_PROV_AFTER_INVALIDATION'), 'a start it triggers')
  t.throws(() => checkProvRecords(tx((b) => b.activity('tom:tx/3').wasEndedBy('tom:tx/3', 'tom:d1')), later, index), refused('ERR_PROV_AFTER_INVALIDATION'), 'an end it triggers')
  index.commit(tx((b) => b.entity('tom:gone').wasInvalidatedBy('tom:gone')), at(3))
  t.throws(() => checkProvRecords(tx((b) => b.wasGeneratedBy('tom:gone')), at(4), index), refused('ERR_PROV_AFTER_INVALIDATION'), 'generation')
  t.doesNotThrow(() => checkProvRecords(tx((b) => b.wasAttributedTo('tom:d1', 'tom:org').activity('tom:tx/4').wasStartedBy('tom:tx/4', 'tom:d2')), at(4), index), 'attribution is not an event; d2 is alive')
})

t.test('a refused tx changes nothing; facts describe what a commit adds', async (t) => {
  const index = await world()
  t.throws(() => index.commit(tx((b) => b.entity('tom:n').wasGeneratedBy('tom:n').used('tom:x', 'tom:n')), at(2)), refused('ERR_PROV_UNKNOWN_ID'))
  t.strictSame(index.kindsOf('tom:n'), [], 'the declaration of the refused tx was not applied')
  t.equal(index.generationOf('tom:n'), undefined)
  const facts = index.commit(tx((b) => b.entity('tom:n').activity('tom:a').wasGeneratedBy('tom:n', 'tom:a', { id: 'tom:gn' }).used('tom:a', 'tom:d1')), at(2, 3))
  t.strictSame(facts, [
    { type: 'kind', id: 'tom:n', kind: 'entity' },
    { type: 'kind', id: 'tom:a', kind: 'activity' },
    { type: 'kind', id: 'tom:gn', kind: 'wasGeneratedBy' },
    { type: 'generation', entity: 'tom:n', event: { at: at(2, 3), activity: 'tom:a' } },
    { type: 'firstUse', entity: 'tom:d1', event: { at: at(2, 3), activity: 'tom:a' } }
  ])
  t.equal(Object.keys(provConstraintCodes).length, 10)
})

// ---------------------------------------------------------------------------------------------
// Property tests

/** A random valid history, kept as the state a generator needs to stay valid (or break one rule). */
class History {
  readonly entities: string[] = []
  readonly primordial = new Set<string>() // declared, never to be generated
  readonly generated: string[] = []
  readonly invalidated = new Set<string>()
  readonly used = new Set<string>()
  readonly activities: string[] = []
  readonly agents: string[] = ['tom:org/0']
  readonly relationIds: string[] = []
  readonly attributionIds: string[] = []
  #n = 0
  #position = at(1)

  constructor(readonly random: SeededRandom) {}

  fresh(kind: string): string {
    return `tom:${kind}/${++this.#n}`
  }

  next(): ProvPosition {
    const r = this.random
    this.#position = r.bool() ? at(this.#position.height, this.#position.index + 1) : at(this.#position.height + 1 + r.below(3), r.below(3))
    return this.#position
  }

  alive(): string[] {
    return this.entities.filter((e) => !this.invalidated.has(e))
  }

  #relationId(): { id?: string } {
    if (!this.random.bool()) return {}
    const id = this.fresh('rel')
    this.relationIds.push(id)
    return { id }
  }

  /** One valid tx: an activity, associated with an agent, doing a few random things. */
  validTx(): ProvRecord[] {
    const r = this.random
    return tx((b) => {
      const act = this.fresh('tx')
      b.activity(act)
      if (r.below(4) === 0) {
        const agent = this.fresh('agent')
        b.agent(agent).actedOnBehalfOf(agent, r.pick(this.agents), this.#relationId())
        this.agents.push(agent)
      }
      b.wasAssociatedWith(act, r.pick(this.agents), this.#relationId())
      if (this.activities.length > 0 && r.bool()) b.wasInformedBy(act, r.pick(this.activities), this.#relationId())
      this.activities.push(act)
      for (let i = r.intBetween(1, 4); i > 0; i--) {
        const alive = this.alive()
        switch (alive.length === 0 ? 0 : r.below(9)) {
          case 0:
          case 1: {
            // New data, maybe derived from live data.
            const e = this.fresh('data')
            b.entity(e).wasGeneratedBy(e, act, this.#relationId())
            for (let k = r.below(3); k > 0 && alive.length > 0; k--) {
              b.wasDerivedFrom(e, r.pick(alive), { ...this.#relationId(), ...(r.bool() ? { type: r.pick(['prov:Revision', 'prov:Quotation', 'prov:PrimarySource'] as const) } : {}) })
            }
            this.entities.push(e)
            this.generated.push(e)
            break
          }
          case 2: {
            const e = this.fresh('image')
            b.entity(e)
            this.entities.push(e)
            this.primordial.add(e)
            break
          }
          case 3: {
            const e = r.pick(alive)
            b.used(act, e, this.#relationId())
            this.used.add(e)
            break
          }
          case 4: {
            const e = r.pick(alive)
            b.wasInvalidatedBy(e, act, this.#relationId())
            this.invalidated.add(e)
            break
          }
          case 5:
          {
            const rel = this.#relationId()
            b.wasAttributedTo(r.pick(this.entities), r.pick(this.agents), rel)
            if (rel.id !== undefined) this.attributionIds.push(rel.id)
            break
          }
          case 6: {
            const e = r.pick(this.entities) // an entity that is also an agent, or a re-declaration
            if (r.bool()) {
              b.agent(e)
              this.agents.push(e)
            } else b.entity(e)
            break
          }
          case 7:
            b.wasStartedBy(act, r.pick(alive), undefined, this.#relationId())
            break
          default: {
            const [x, y] = [r.pick(this.entities), r.pick(this.entities)]
            r.pick([() => b.specializationOf(x, y), () => b.alternateOf(x, y), () => b.hadMember(x, y), () => b.wasInfluencedBy(x, y, this.#relationId())])()
          }
        }
      }
    })
  }

  /** Valid setup txs, then one tx that breaks exactly one rule, and that rule's code. */
  violation(): { setup: ProvRecord[][]; bad: ProvRecord[]; code: ProvConstraintCode } {
    const r = this.random
    const act = this.fresh('tx')
    const pickOr = (list: readonly string[], make: () => string): string => (list.length > 0 && r.bool() ? r.pick(list) : make())
    switch (r.pick(Object.keys(provConstraintCodes) as ProvConstraintCode[])) {
      case 'ERR_PROV_UNKNOWN_ID':
        return { setup: [], bad: tx((b) => b.activity(act).used(act, this.fresh('ghost'))), code: 'ERR_PROV_UNKNOWN_ID' }
      case 'ERR_PROV_WRONG_KIND': {
        const activity = r.pick(this.activities)
        if (this.entities.length === 0) return { setup: [], bad: tx((b) => b.activity(act).used(act, activity)), code: 'ERR_PROV_WRONG_KIND' }
        const bad = r.pick([
          () => tx((b) => b.activity(act).used(act, activity)),
          () => tx((b) => b.wasAttributedTo(r.pick(this.entities), activity)),
          () => tx((b) => b.wasInformedBy(activity, r.pick(this.entities)))
        ])()
        return { setup: [], bad, code: 'ERR_PROV_WRONG_KIND' }
      }
      case 'ERR_PROV_KIND_CONFLICT':
        if (this.relationIds.length > 0 && r.bool()) {
          const id = r.pick(this.relationIds)
          return { setup: [], bad: tx((b) => (r.bool() ? b.entity(id) : b.agent(id))), code: 'ERR_PROV_KIND_CONFLICT' }
        }
        return r.bool()
          ? { setup: [], bad: tx((b) => b.agent(r.pick(this.activities))), code: 'ERR_PROV_KIND_CONFLICT' }
          : { setup: [], bad: tx((b) => b.activity(this.agents[0]!)), code: 'ERR_PROV_KIND_CONFLICT' }
      case 'ERR_PROV_ENTITY_ACTIVITY_DISJOINT':
        return this.entities.length > 0 && r.bool()
          ? { setup: [], bad: tx((b) => b.activity(r.pick(this.entities))), code: 'ERR_PROV_ENTITY_ACTIVITY_DISJOINT' }
          : { setup: [], bad: tx((b) => b.entity(r.pick(this.activities))), code: 'ERR_PROV_ENTITY_ACTIVITY_DISJOINT' }
      case 'ERR_PROV_DUPLICATE_RELATION': {
        const setup: ProvRecord[][] = []
        let id = this.attributionIds.length > 0 && r.bool() ? r.pick(this.attributionIds) : undefined
        if (id === undefined) {
          id = this.fresh('rel')
          const d = this.fresh('data')
          setup.push(tx((b) => b.entity(d).wasAttributedTo(d, this.agents[0]!, { id })))
        }
        const reused = id
        return { setup, bad: tx((b) => b.entity(this.fresh('data')).wasAttributedTo(this.entities[0] ?? 'tom:org/0', this.agents[0]!, { id: reused })), code: 'ERR_PROV_DUPLICATE_RELATION' }
      }
      case 'ERR_PROV_DOUBLE_GENERATION': {
        const setup: ProvRecord[][] = []
        const e = pickOr(this.generated, () => {
          const d = this.fresh('data')
          setup.push(tx((b) => b.entity(d).wasGeneratedBy(d)))
          return d
        })
        return { setup, bad: tx((b) => b.activity(act).wasGeneratedBy(e, act)), code: 'ERR_PROV_DOUBLE_GENERATION' }
      }
      case 'ERR_PROV_DOUBLE_INVALIDATION': {
        const setup: ProvRecord[][] = []
        const e = pickOr([...this.invalidated], () => {
          const d = this.fresh('data')
          setup.push(tx((b) => b.entity(d).wasGeneratedBy(d).wasInvalidatedBy(d)))
          return d
        })
        return { setup, bad: tx((b) => b.activity(act).wasInvalidatedBy(e, act)), code: 'ERR_PROV_DOUBLE_INVALIDATION' }
      }
      case 'ERR_PROV_USE_BEFORE_GENERATION': {
        const setup: ProvRecord[][] = []
        const candidates = [...this.primordial].filter((e) => this.used.has(e) && !this.invalidated.has(e))
        const e = pickOr(candidates, () => {
          const d = this.fresh('image')
          const user = this.fresh('tx')
          setup.push(tx((b) => (r.bool() ? b.entity(d).activity(user).used(user, d) : b.entity(d).entity(`${d}c`).wasDerivedFrom(`${d}c`, d))))
          return d
        })
        return { setup, bad: tx((b) => b.activity(act).wasGeneratedBy(e, act)), code: 'ERR_PROV_USE_BEFORE_GENERATION' }
      }
      case 'ERR_PROV_DERIVATION_BEFORE_GENERATION': {
        const [early, late] = [this.fresh('data'), this.fresh('data')]
        return {
          setup: [tx((b) => b.entity(early).wasGeneratedBy(early)), tx((b) => b.entity(late).wasGeneratedBy(late))],
          bad: tx((b) => b.wasDerivedFrom(early, late)),
          code: 'ERR_PROV_DERIVATION_BEFORE_GENERATION'
        }
      }
      case 'ERR_PROV_AFTER_INVALIDATION': {
        const setup: ProvRecord[][] = []
        const e = pickOr([...this.invalidated], () => {
          const d = this.alive().length > 0 && r.bool() ? r.pick(this.alive()) : this.fresh('data')
          setup.push(tx((b) => b.entity(d).wasInvalidatedBy(d)))
          return d
        })
        const bad = r.pick([
          () => tx((b) => b.activity(act).used(act, e)),
          () => tx((b) => b.entity(`${e}d`).wasDerivedFrom(`${e}d`, e)),
          () => tx((b) => b.activity(act).wasStartedBy(act, e))
        ])()
        return { setup, bad, code: 'ERR_PROV_AFTER_INVALIDATION' }
      }
    }
  }
}

t.test('random valid histories are never refused (property)', async (t) => {
  const seed = 0x5eed01
  const random = new SeededRandom(seed)
  let txs = 0
  for (let run = 0; run < 60; run++) {
    const history = new History(random)
    const index = new MemoryProvIndex()
    index.commit(tx((b) => b.agent('tom:org/0')), at(0))
    for (let i = random.intBetween(5, 40); i > 0; i--) {
      const records = history.validTx()
      try {
        index.commit(records, history.next())
        txs++
      } catch (err) {
        t.fail(`seed ${seed} run ${run}: ${String(err)} in ${JSON.stringify(records)}`)
        return
      }
    }
  }
  t.ok(txs > 1000, `${txs} valid txs applied`)
})

t.test('one violation in a random history is refused with its code (property)', async (t) => {
  const seed = 0x5eed02
  const random = new SeededRandom(seed)
  const seen = new Set<string>()
  for (let run = 0; run < 400; run++) {
    const history = new History(random)
    const index = new MemoryProvIndex()
    index.commit(tx((b) => b.agent('tom:org/0')), at(0))
    for (let i = random.intBetween(1, 15); i > 0; i--) index.commit(history.validTx(), history.next())
    const { setup, bad, code } = history.violation()
    for (const s of setup) index.commit(s, history.next())
    const where = `seed ${seed} run ${run}: ${code} in ${JSON.stringify(bad)}`
    try {
      index.commit(bad, history.next())
      t.fail(`${where}: accepted`)
    } catch (err) {
      if (!t.match(err, { name: 'ProvConstraintError', code }, where)) return
    }
    seen.add(code)
    // The index is unchanged: the history goes on.
    t.doesNotThrow(() => index.commit(history.validTx(), history.next()), `${where}: a valid tx after it is accepted`)
  }
  t.strictSame([...seen].sort(), Object.keys(provConstraintCodes).sort(), 'every code was exercised')
})
