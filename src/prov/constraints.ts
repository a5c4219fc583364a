/**
 * The checks from PROV-CONSTRAINTS (https://www.w3.org/TR/prov-constraints/) that fit when a tx
 * is applied, as a pure function of the tx's records, its position in the chain, and an index of
 * what earlier txs asserted. Order is the chain's order: every record of a tx happens at the tx's
 * position (block height, then index in the block); records of one tx are simultaneous.
 *
 * Checked, each with its own code (see errors.ts):
 * - typing: every id a relation names was declared (earlier, or in the same tx) with the kind
 *   its argument requires (ERR_PROV_UNKNOWN_ID, ERR_PROV_WRONG_KIND);
 * - key uniqueness: an id has one kind, except that an entity may also be an agent (a device or
 *   a container is both); re-declaring an element with its kind is allowed (ERR_PROV_KIND_CONFLICT,
 *   and ERR_PROV_ENTITY_ACTIVITY_DISJOINT for entity and activity, PROV-CONSTRAINTS 55); a
 *   relation id is asserted once (ERR_PROV_DUPLICATE_RELATION);
 * - unique generation and invalidation of an entity (ERR_PROV_DOUBLE_GENERATION, _INVALIDATION);
 * - generation precedes usage and derivation from the entity (ERR_PROV_USE_BEFORE_GENERATION), and
 *   the entity derived from is generated no later than the derived one
 *   (ERR_PROV_DERIVATION_BEFORE_GENERATION); explicit `time`s, where both are given, must agree;
 * - nothing after invalidation: no generation, usage, derivation, start or end trigger of an
 *   entity at a later position than its invalidation (ERR_PROV_AFTER_INVALIDATION).
 *
 * Not checked: orderings among activities (start/end), and the inferences of PROV-CONSTRAINTS
 * (an id must be declared; types are not inferred from use).
 */
import { ProvConstraintError } from './errors.js'
import { isElement, recordId, relationArgument, relationSpecs } from './model.js'
import type { ElementKind, ProvRecord, QualifiedName, RecordKind, Relation, RelationKind } from './model.js'

/** Where a tx is in the chain. Positions are totally ordered: height first, then index. */
export interface ProvPosition {
  readonly height: number
  readonly index: number
}

export function comparePositions(a: ProvPosition, b: ProvPosition): number {
  return a.height - b.height || a.index - b.index
}

/** A generation or invalidation as the index keeps it. */
export interface ProvEvent {
  readonly at: ProvPosition
  readonly activity?: QualifiedName
  readonly time?: string
}

/**
 * What the checker needs to know of earlier txs. Each method is one key lookup in a keyed
 * store (the ledger's LevelDB index: `prov/kind/<id>`, `prov/gen/<id>`, `prov/inv/<id>`,
 * `prov/use/<id>`). Answers reflect every tx applied before the one being checked.
 */
export interface ProvIndex {
  /** The kinds the id was declared with: one kind, or entity and agent; empty when unknown. */
  kindsOf(id: QualifiedName): Promise<readonly RecordKind[]>
  generationOf(entity: QualifiedName): Promise<ProvEvent | undefined>
  invalidationOf(entity: QualifiedName): Promise<ProvEvent | undefined>
  /** The earliest usage of the entity, or derivation from it. */
  firstUseOf(entity: QualifiedName): Promise<ProvEvent | undefined>
}

/** What applying a tx adds to the index; the ledger writes these, the memory index applies them. */
export type ProvIndexFact =
  | { readonly type: 'kind'; readonly id: QualifiedName; readonly kind: RecordKind }
  | { readonly type: 'generation'; readonly entity: QualifiedName; readonly event: ProvEvent }
  | { readonly type: 'invalidation'; readonly entity: QualifiedName; readonly event: ProvEvent }
  | { readonly type: 'firstUse'; readonly entity: QualifiedName; readonly event: ProvEvent }

function refuse(code: ProvConstraintError['code'], message: string): never {
  throw new ProvConstraintError(code, message)
}

function eventOf(relation: Relation, at: ProvPosition): ProvEvent {
  const activity = relationArgument(relation, 'activity')
  const time = relationArgument(relation, 'time')
  return { at, ...(activity === undefined ? {} : { activity }), ...(time === undefined ? {} : { time }) }
}

/** True when both events give a time and `later` is strictly before `earlier`. */
function timesDisagree(earlier: ProvEvent, later: ProvEvent): boolean {
  return earlier.time !== undefined && later.time !== undefined && Date.parse(later.time) < Date.parse(earlier.time)
}

function compatible(kinds: readonly RecordKind[], kind: RecordKind): ProvConstraintError['code'] | undefined {
  for (const k of kinds) {
    if (k === kind) continue
    if ((k === 'entity' && kind === 'agent') || (k === 'agent' && kind === 'entity')) continue
    if ((k === 'entity' && kind === 'activity') || (k === 'activity' && kind === 'entity')) return 'ERR_PROV_ENTITY_ACTIVITY_DISJOINT'
    return 'ERR_PROV_KIND_CONFLICT'
  }
  return undefined
}

/** The index as of before the tx, with the tx's own facts layered on top as they are found. */
class Overlay {
  readonly facts: ProvIndexFact[] = []
  readonly #kinds = new Map<QualifiedName, RecordKind[]>()
  readonly #generations = new Map<QualifiedName, ProvEvent>()
  readonly #invalidations = new Map<QualifiedName, ProvEvent>()
  readonly #firstUses = new Map<QualifiedName, ProvEvent>()

  constructor(readonly index: ProvIndex) {}

  async kindsOf(id: QualifiedName): Promise<readonly RecordKind[]> {
    const local = this.#kinds.get(id)
    const stored = await this.index.kindsOf(id)
    return local === undefined ? stored : [...stored, ...local]
  }

  async declare(id: QualifiedName, kind: RecordKind): Promise<void> {
    const kinds = await this.kindsOf(id)
    if (kinds.includes(kind)) {
      if (isElementKind(kind)) return
      refuse('ERR_PROV_DUPLICATE_RELATION', `relation ${id} was already asserted`)
    }
    const conflict = compatible(kinds, kind)
    if (conflict !== undefined) refuse(conflict, `${id} is a ${kinds.join(' and ')}; cannot also be a ${kind}`)
    const local = this.#kinds.get(id) ?? []
    local.push(kind)
    this.#kinds.set(id, local)
    this.facts.push({ type: 'kind', id, kind })
  }

  async generationOf(e: QualifiedName): Promise<ProvEvent | undefined> {
    return this.#generations.get(e) ?? (await this.index.generationOf(e))
  }

  async invalidationOf(e: QualifiedName): Promise<ProvEvent | undefined> {
    return this.#invalidations.get(e) ?? (await this.index.invalidationOf(e))
  }

  async firstUseOf(e: QualifiedName): Promise<ProvEvent | undefined> {
    return (await this.index.firstUseOf(e)) ?? this.#firstUses.get(e)
  }

  setGeneration(entity: QualifiedName, event: ProvEvent): void {
    this.#generations.set(entity, event)
    this.facts.push({ type: 'generation', entity, event })
  }

  setInvalidation(entity: QualifiedName, event: ProvEvent): void {
    this.#invalidations.set(entity, event)
    this.facts.push({ type: 'invalidation', entity, event })
  }

  async noteUse(entity: QualifiedName, event: ProvEvent): Promise<void> {
    if ((await this.firstUseOf(entity)) !== undefined) return
    this.#firstUses.set(entity, event)
    this.facts.push({ type: 'firstUse', entity, event })
  }
}

function isElementKind(kind: RecordKind): kind is ElementKind {
  return kind === 'entity' || kind === 'activity' || kind === 'agent'
}

/**
 * Checks the records of one tx at position `at` against `index`; returns the facts to add to the
 * index when the tx commits, or throws ProvConstraintError with the first violation found.
 * Elements are declared before relations are checked, so a tx may declare what it relates.
 * Deterministic: the same records, position and index give the same answer.
 */
export async function checkProvRecords(records: readonly ProvRecord[], at: ProvPosition, index: ProvIndex): Promise<ProvIndexFact[]> {
  const overlay = new Overlay(index)
  for (const r of records) if (isElement(r)) await overlay.declare(r.id, r.kind)
  for (const r of records) {
    if (isElement(r)) continue
    const id = recordId(r)
    if (id !== undefined) await overlay.declare(id, r.kind)
    await checkTyping(r, overlay)
  }
  for (const r of records) if (!isElement(r)) await checkEvents(r, at, overlay)
  return overlay.facts
}

async function checkTyping(r: Relation, overlay: Overlay): Promise<void> {
  for (const a of relationSpecs[r.kind].args) {
    if (a.type === 'time') continue
    const v = relationArgument(r, a.field)
    if (v === undefined) continue
    const kinds = await overlay.kindsOf(v)
    if (kinds.length === 0) refuse('ERR_PROV_UNKNOWN_ID', `${r.kind}: ${a.field} ${v} was never declared`)
    const ok = a.type === 'element' ? kinds.some(isElementKind) : kinds.includes(a.type as RecordKind)
    if (!ok) refuse('ERR_PROV_WRONG_KIND', `${r.kind}: ${a.field} ${v} is a ${kinds.join(' and ')}, not a ${a.type}`)
  }
}

async function notInvalidated(kind: RelationKind, entity: QualifiedName, at: ProvPosition, overlay: Overlay, time?: string): Promise<void> {
  const inv = await overlay.invalidationOf(entity)
  if (inv === undefined) return
  if (comparePositions(inv.at, at) < 0 || (time !== undefined && timesDisagree({ at, time }, inv))) {
    refuse('ERR_PROV_AFTER_INVALIDATION', `${kind}: ${entity} was invalidated at height ${inv.at.height}`)
  }
}

async function checkEvents(r: Relation, at: ProvPosition, overlay: Overlay): Promise<void> {
  switch (r.kind) {
    case 'wasGeneratedBy': {
      const event = eventOf(r, at)
      if ((await overlay.generationOf(r.entity)) !== undefined) refuse('ERR_PROV_DOUBLE_GENERATION', `${r.entity} was already generated`)
      await notInvalidated(r.kind, r.entity, at, overlay, r.time)
      const use = await overlay.firstUseOf(r.entity)
      if (use !== undefined && (comparePositions(use.at, at) < 0 || timesDisagree(event, use))) {
        refuse('ERR_PROV_USE_BEFORE_GENERATION', `${r.entity} was used or derived from at height ${use.at.height}, before this generation`)
      }
      overlay.setGeneration(r.entity, event)
      return
    }
    case 'wasInvalidatedBy': {
      if ((await overlay.invalidationOf(r.entity)) !== undefined) refuse('ERR_PROV_DOUBLE_INVALIDATION', `${r.entity} was already invalidated`)
      const event = eventOf(r, at)
      const gen = await overlay.generationOf(r.entity)
      if (gen !== undefined && timesDisagree(gen, event)) refuse('ERR_PROV_USE_BEFORE_GENERATION', `${r.entity} is invalidated before its generation time`)
      overlay.setInvalidation(r.entity, event)
      return
    }
    case 'used':
      await use(r.kind, r.entity, eventOf(r, at), overlay)
      return
    case 'wasDerivedFrom': {
      await notInvalidated(r.kind, r.generatedEntity, at, overlay)
      await use(r.kind, r.usedEntity, { at }, overlay)
      const usedGen = await overlay.generationOf(r.usedEntity)
      const derivedGen = await overlay.generationOf(r.generatedEntity)
      if (usedGen !== undefined && derivedGen !== undefined && (comparePositions(derivedGen.at, usedGen.at) < 0 || timesDisagree(usedGen, derivedGen))) {
        refuse('ERR_PROV_DERIVATION_BEFORE_GENERATION', `${r.generatedEntity} was generated before ${r.usedEntity}, which it is derived from`)
      }
      return
    }
    case 'wasStartedBy':
    case 'wasEndedBy':
      if (r.trigger !== undefined) await notInvalidated(r.kind, r.trigger, at, overlay, r.time)
      return
    default:
      return
  }
}

async function use(kind: RelationKind, entity: QualifiedName, event: ProvEvent, overlay: Overlay): Promise<void> {
  await notInvalidated(kind, entity, event.at, overlay, event.time)
  const gen = await overlay.generationOf(entity)
  if (gen !== undefined && timesDisagree(gen, event)) refuse('ERR_PROV_USE_BEFORE_GENERATION', `${kind}: ${entity} is used before its generation time`)
  await overlay.noteUse(entity, event)
}

/** ProvIndex in memory, for tests and for replaying a chain; `apply` adds a committed tx's facts. */
export class MemoryProvIndex implements ProvIndex {
  readonly #kinds = new Map<QualifiedName, RecordKind[]>()
  readonly #generations = new Map<QualifiedName, ProvEvent>()
  readonly #invalidations = new Map<QualifiedName, ProvEvent>()
  readonly #firstUses = new Map<QualifiedName, ProvEvent>()

  async kindsOf(id: QualifiedName): Promise<readonly RecordKind[]> {
    return this.#kinds.get(id) ?? []
  }

  async generationOf(entity: QualifiedName): Promise<ProvEvent | undefined> {
    return this.#generations.get(entity)
  }

  async invalidationOf(entity: QualifiedName): Promise<ProvEvent | undefined> {
    return this.#invalidations.get(entity)
  }

  async firstUseOf(entity: QualifiedName): Promise<ProvEvent | undefined> {
    return this.#firstUses.get(entity)
  }

  apply(facts: readonly ProvIndexFact[]): void {
    for (const f of facts) {
      switch (f.type) {
        case 'kind': {
          const kinds = this.#kinds.get(f.id) ?? []
          if (!kinds.includes(f.kind)) kinds.push(f.kind)
          this.#kinds.set(f.id, kinds)
          break
        }
        case 'generation':
          this.#generations.set(f.entity, f.event)
          break
        case 'invalidation':
          this.#invalidations.set(f.entity, f.event)
          break
        case 'firstUse':
          if (!this.#firstUses.has(f.entity)) this.#firstUses.set(f.entity, f.event)
          break
      }
    }
  }

  /** Checks the records and, when they pass, applies them: one committed tx. */
  async commit(records: readonly ProvRecord[], at: ProvPosition): Promise<ProvIndexFact[]> {
    const facts = await checkProvRecords(records, at, this)
    this.apply(facts)
    return facts
  }
}
