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
 * What the checker needs to know of earlier txs, answered synchronously: a store-backed index loads
 * what `provIndexReads` names before the check (the ledger's LevelDB index: `k/<id>`, `g/<id>`,
 * `i/<id>`, `u/<id>`), so the check itself runs without a promise per question. Answers reflect
 * every tx applied before the one being checked.
 */
export interface ProvIndex {
  /** The kinds the id was declared with: one kind, or entity and agent; empty when unknown. */
  kindsOf(id: QualifiedName): readonly RecordKind[]
  generationOf(entity: QualifiedName): ProvEvent | undefined
  invalidationOf(entity: QualifiedName): ProvEvent | undefined
  /** The earliest usage of the entity, or derivation from it. */
  firstUseOf(entity: QualifiedName): ProvEvent | undefined
}

/** What `checkProvRecords` asks the index about `records`: the kinds of these ids, the events of these entities. */
export interface ProvIndexReads {
  readonly kinds: Set<QualifiedName>
  readonly events: Set<QualifiedName>
}

/** The entity arguments whose generation, invalidation or first use `checkEvents` reads, per relation. */
const eventArguments: Partial<Record<RelationKind, readonly string[]>> = {
  wasGeneratedBy: ['entity'],
  wasInvalidatedBy: ['entity'],
  used: ['entity'],
  wasDerivedFrom: ['generatedEntity', 'usedEntity'],
  wasStartedBy: ['trigger'],
  wasEndedBy: ['trigger']
}

export function provIndexReads(records: readonly ProvRecord[]): ProvIndexReads {
  const kinds = new Set<QualifiedName>()
  const events = new Set<QualifiedName>()
  for (const r of records) {
    if (isElement(r)) {
      kinds.add(r.id)
      continue
    }
    const id = recordId(r)
    if (id !== undefined) kinds.add(id)
    for (const a of relationSpecs[r.kind].args) {
      if (a.type === 'time') continue
      const v = relationArgument(r, a.field)
      if (v !== undefined) kinds.add(v)
    }
    for (const field of eventArguments[r.kind] ?? []) {
      const v = relationArgument(r, field)
      if (v !== undefined) events.add(v)
    }
  }
  return { kinds, events }
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

  kindsOf(id: QualifiedName): readonly RecordKind[] {
    const local = this.#kinds.get(id)
    const stored = this.index.kindsOf(id)
    return local === undefined ? stored : [...stored, ...local]
  }

  declare(id: QualifiedName, kind: RecordKind): void {
    const kinds = this.kindsOf(id)
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

  generationOf(e: QualifiedName): ProvEvent | undefined {
    return this.#generations.get(e) ?? this.index.generationOf(e)
  }

  invalidationOf(e: QualifiedName): ProvEvent | undefined {
    return this.#invalidations.get(e) ?? this.index.invalidationOf(e)
  }

  firstUseOf(e: QualifiedName): ProvEvent | undefined {
    return this.index.firstUseOf(e) ?? this.#firstUses.get(e)
  }

  setGeneration(entity: QualifiedName, event: ProvEvent): void {
    this.#generations.set(entity, event)
    this.facts.push({ type: 'generation', entity, event })
  }

  setInvalidation(entity: QualifiedName, event: ProvEvent): void {
    this.#invalidations.set(entity, event)
    this.facts.push({ type: 'invalidation', entity, event })
  }

  noteUse(entity: QualifiedName, event: ProvEvent): void {
    if (this.firstUseOf(entity) !== undefined) return
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
export function checkProvRecords(records: readonly ProvRecord[], at: ProvPosition, index: ProvIndex): ProvIndexFact[] {
  const overlay = new Overlay(index)
  for (const r of records) if (isElement(r)) overlay.declare(r.id, r.kind)
  for (const r of records) {
    if (isElement(r)) continue
    const id = recordId(r)
    if (id !== undefined) overlay.declare(id, r.kind)
    checkTyping(r, overlay)
  }
  for (const r of records) if (!isElement(r)) checkEvents(r, at, overlay)
  return overlay.facts
}

function checkTyping(r: Relation, overlay: Overlay): void {
  for (const a of relationSpecs[r.kind].args) {
    if (a.type === 'time') continue
    const v = relationArgument(r, a.field)
    if (v === undefined) continue
    const kinds = overlay.kindsOf(v)
    if (kinds.length === 0) refuse('ERR_PROV_UNKNOWN_ID', `${r.kind}: ${a.field} ${v} was never declared`)
    const ok = a.type === 'element' ? kinds.some(isElementKind) : kinds.includes(a.type as RecordKind)
    if (!ok) refuse('ERR_PROV_WRONG_KIND', `${r.kind}: ${a.field} ${v} is a ${kinds.join(' and ')}, not a ${a.type}`)
  }
}

function notInvalidated(kind: RelationKind, entity: QualifiedName, at: ProvPosition, overlay: Overlay, time?: string): void {
  const inv = overlay.invalidationOf(entity)
  if (inv === undefined) return
  if (comparePositions(inv.at, at) < 0 || (time !== undefined && timesDisagree({ at, time }, inv))) {
    refuse('ERR_PROV_AFTER_INVALIDATION', `${kind}: ${entity} was invalidated at height ${inv.at.height}`)
  }
}

function checkEvents(r: Relation, at: ProvPosition, overlay: Overlay): void {
  switch (r.kind) {
    case 'wasGeneratedBy': {
      const event = eventOf(r, at)
      if ((overlay.generationOf(r.entity)) !== undefined) refuse('ERR_PROV_DOUBLE_GENERATION', `${r.entity} was already generated`)
      notInvalidated(r.kind, r.entity, at, overlay, r.time)
      const use = overlay.firstUseOf(r.entity)
      if (use !== undefined && (comparePositions(use.at, at) < 0 || timesDisagree(event, use))) {
        refuse('ERR_PROV_USE_BEFORE_GENERATION', `${r.entity} was used or derived from at height ${use.at.height}, before this generation`)
      }
      overlay.setGeneration(r.entity, event)
      return
    }
    case 'wasInvalidatedBy': {
      if ((overlay.invalidationOf(r.entity)) !== undefined) refuse('ERR_PROV_DOUBLE_INVALIDATION', `${r.entity} was already invalidated`)
      const event = eventOf(r, at)
      const gen = overlay.generationOf(r.entity)
      if (gen !== undefined && timesDisagree(gen, event)) refuse('ERR_PROV_USE_BEFORE_GENERATION', `${r.entity} is invalidated before its generation time`)
      overlay.setInvalidation(r.entity, event)
      return
    }
    case 'used':
      use(r.kind, r.entity, eventOf(r, at), overlay)
      return
    case 'wasDerivedFrom': {
      notInvalidated(r.kind, r.generatedEntity, at, overlay)
      use(r.kind, r.usedEntity, { at }, overlay)
      const usedGen = overlay.generationOf(r.usedEntity)
      const derivedGen = overlay.generationOf(r.generatedEntity)
      if (usedGen !== undefined && derivedGen !== undefined && (comparePositions(derivedGen.at, usedGen.at) < 0 || timesDisagree(usedGen, derivedGen))) {
        refuse('ERR_PROV_DERIVATION_BEFORE_GENERATION', `${r.generatedEntity} was generated before ${r.usedEntity}, which it is derived from`)
      }
      return
    }
    case 'wasStartedBy':
    case 'wasEndedBy':
      if (r.trigger !== undefined) notInvalidated(r.kind, r.trigger, at, overlay, r.time)
      return
    default:
      return
  }
}

function use(kind: RelationKind, entity: QualifiedName, event: ProvEvent, overlay: Overlay): void {
  notInvalidated(kind, entity, event.at, overlay, event.time)
  const gen = overlay.generationOf(entity)
  if (gen !== undefined && timesDisagree(gen, event)) refuse('ERR_PROV_USE_BEFORE_GENERATION', `${kind}: ${entity} is used before its generation time`)
  overlay.noteUse(entity, event)
}

/** ProvIndex in memory, for tests and for replaying a chain; `apply` adds a committed tx's facts. */
export class MemoryProvIndex implements ProvIndex {
  readonly #kinds = new Map<QualifiedName, RecordKind[]>()
  readonly #generations = new Map<QualifiedName, ProvEvent>()
  readonly #invalidations = new Map<QualifiedName, ProvEvent>()
  readonly #firstUses = new Map<QualifiedName, ProvEvent>()

  kindsOf(id: QualifiedName): readonly RecordKind[] {
    return this.#kinds.get(id) ?? []
  }

  generationOf(entity: QualifiedName): ProvEvent | undefined {
    return this.#generations.get(entity)
  }

  invalidationOf(entity: QualifiedName): ProvEvent | undefined {
    return this.#invalidations.get(entity)
  }

  firstUseOf(entity: QualifiedName): ProvEvent | undefined {
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
  commit(records: readonly ProvRecord[], at: ProvPosition): ProvIndexFact[] {
    const facts = checkProvRecords(records, at, this)
    this.apply(facts)
    return facts
  }
}
