/**
 * Runs contracts that organisations deploy as JavaScript source, inside QuickJS compiled to
 * WebAssembly. A contract is a script that registers handlers by tx type:
 *
 *   handlers['shop.sell'] = (tx, api) => {
 *     const n = Number(api.state.get('stock') ?? '0')
 *     if (n < 1) throw new Error('sold out')
 *     api.state.put('stock', String(n - 1))
 *     api.emit({ sold: tx.payload.item })
 *   }
 *
 * The handler's `api`: `state.get/put/delete` (string keys and values, under the sandbox's
 * statePrefix), `block` ({ height, time }), `emit(event)`, `action(spec)` (an orchestration action),
 * and `prov.entity(id, attrs?)`, `prov.wasGeneratedBy(entity, attrs?)`, `prov.used(entity, attrs?)`,
 * `prov.wasInvalidatedBy(entity, attrs?)`, `prov.wasDerivedFrom(generated, used, attrs?)`,
 * `prov.wasAttributedTo(entity, agent, attrs?)`, `prov.hadMember(collection, entity)`,
 * `prov.specializationOf(specific, general)`. The sandbox only collects events, actions and PROV
 * statements as JSON objects (ContractOutcome); what they mean, and which ids a contract may name,
 * is decided by the caller (src/contracts/deployed.ts for deployed contracts).
 *
 * The source is compiled once into a Realm (realm.ts) that is reused across calls: each call runs the
 * contract's top level afresh (fresh `handlers`, fresh top-level variables), every object a contract
 * can reach is frozen, and a call that runs past its instruction or memory limit in a reused realm is
 * decided again in a fresh one, so a call sees nothing another left behind and gets the same verdict
 * wherever it runs. A realm is dropped after a
 * verdict that may leave the engine in doubt (instruction, memory or stack limit, pending promise
 * jobs). A memory-limit verdict in a realm that ran earlier calls is decided again in a new realm: the
 * heap of a reused realm holds garbage that a fresh one does not. Option `reuseRealm: false` uses a new
 * realm for every call: the same outcomes, but building a realm (lockdown included) takes ~3.5 ms,
 * against ~0.1 ms for a call in a reused one (test/contracts/sandbox-speed.ts prints both).
 *
 * State is read synchronously from a map of values fetched before the call. A read of a key not in
 * the map stops the call with "need key K"; the host fetches K from the async StateReader and runs it
 * again from scratch. The contract is deterministic, so each run repeats the previous one up to the
 * new key, and the last run (the one that reads no unknown key) alone decides the outcome. Re-runs are
 * bounded by stateReadsMax. To avoid most re-runs, the keys the last call of the same tx type read are
 * prefetched: hints change how many runs a call takes, never its outcome.
 */
import { newQuickJSWASMModuleFromVariant } from 'quickjs-emscripten-core'
import type { QuickJSWASMModule } from 'quickjs-emscripten-core'
import type { StateReader, StateWriter } from '../../ledger/index.js'
import * as limits from './constants.js'
import { ContractCompileError, ContractInstructionLimitError, ContractMemoryLimitError, ContractOutputLimitError, ContractSandboxError } from './errors.js'
import { NeedKeySignal, Realm, RunRecord, utf8Bytes } from './realm.js'
import type { Json, RealmLimits } from './realm.js'

export type { Json } from './realm.js'

/** The tx as a contract sees it (`tx` in a handler). */
export interface ContractTx {
  readonly type: string
  /** Signer's public key, hex. */
  readonly signer: string
  /** Tx id, hex. */
  readonly id: string
  /** JSON-compatible; Uint8Arrays become hex strings and bigints decimal strings. */
  readonly payload: unknown
}

/** The block as a contract sees it (`api.block`): its only clock is the block time. */
export interface ContractBlock {
  readonly height: number
  /** Block time, ms since the epoch. */
  readonly time: number
}

/** A write of a call: the key carries the sandbox's statePrefix, ready for the ledger. */
export interface ContractWrite {
  readonly key: string
  /** UTF-8 of the string the contract put; undefined for a delete. */
  readonly value: Uint8Array | undefined
}

export interface ContractOutcome {
  /** What the handler returned, if anything. */
  readonly result: Json | undefined
  /** Final value of each key written, in order of first write. Apply with applyContractWrites. */
  readonly writes: readonly ContractWrite[]
  readonly events: readonly Json[]
  readonly actions: readonly Json[]
  readonly prov: readonly Json[]
  /** Keys (with prefix) the deciding run read from state, in order of first read. */
  readonly reads: readonly string[]
  /**
   * Interrupts the deciding run took: its instruction count in units of pollsPerInterrupt. Exact when
   * `interruptsExact` (the run was a realm's first); otherwise the exact count or one more (realm.ts).
   * Not deterministic across reuse, unlike the verdict: do not record it.
   */
  readonly interrupts: number
  readonly interruptsExact: boolean
  /** Runs it took, re-runs for missing keys included. Not deterministic (depends on hints); do not record. */
  readonly runs: number
}

/** All optional; defaults in constants.ts. */
export interface ContractSandboxOptions {
  /**
   * Prepended to every key the contract names, so that a contract only sees its own part of the
   * world state (e.g. `contract/<name>/`). Default '' (the whole state): set it for deployed contracts.
   */
  statePrefix?: string
  /** Reuse one realm across calls (default true). False: a new realm per call, slower. */
  reuseRealm?: boolean
  runInterruptsMax?: number
  memoryBytesMax?: number
  stackBytesMax?: number
  stateReadsMax?: number
  stateWritesMax?: number
  stateValueBytesMax?: number
  eventsMax?: number
  actionsMax?: number
  provStatementsMax?: number
  outputItemBytesMax?: number
}

let quickJS: Promise<QuickJSWASMModule> | undefined

/** The QuickJS WebAssembly module of the process; its runtimes are isolated from each other. */
function loadQuickJS (): Promise<QuickJSWASMModule> {
  // A dynamic import: the package's types describe its CommonJS build, whose default export is nested.
  quickJS ??= newQuickJSWASMModuleFromVariant(import('@jitl/quickjs-wasmfile-release-sync'))
  return quickJS
}

/**
 * After an engine abort (a failed assertion inside QuickJS) the WebAssembly instance is dead: load a
 * new one for the realms made from now on.
 */
function discardQuickJS (module: QuickJSWASMModule): void {
  void quickJS?.then((current) => {
    if (current === module) quickJS = undefined
  })
}

const utf8 = new TextEncoder()
const fromUtf8 = new TextDecoder() // not fatal: bytes that are not UTF-8 read as U+FFFD, the same on every node

function payloadJson (payload: unknown): string {
  const json = JSON.stringify(payload ?? null, (_key, value: unknown) => {
    if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')
    if (typeof value === 'bigint') return value.toString()
    return value
  })
  return json ?? 'null'
}

function limitsFrom (options: ContractSandboxOptions): RealmLimits {
  const count = (name: keyof ContractSandboxOptions, fallback: number): number => {
    const v = options[name] ?? fallback
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new TypeError(`${name} must be a non-negative integer`)
    return v
  }
  const statePrefix = options.statePrefix ?? ''
  if (typeof statePrefix !== 'string') throw new TypeError('statePrefix must be a string')
  return Object.freeze({
    statePrefix,
    runInterruptsMax: count('runInterruptsMax', limits.runInterruptsMax),
    memoryBytesMax: count('memoryBytesMax', limits.memoryBytesMax),
    stackBytesMax: count('stackBytesMax', limits.stackBytesMax),
    stateReadsMax: count('stateReadsMax', limits.stateReadsMax),
    stateWritesMax: count('stateWritesMax', limits.stateWritesMax),
    stateValueBytesMax: count('stateValueBytesMax', limits.stateValueBytesMax),
    eventsMax: count('eventsMax', limits.eventsMax),
    actionsMax: count('actionsMax', limits.actionsMax),
    provStatementsMax: count('provStatementsMax', limits.provStatementsMax),
    outputItemBytesMax: count('outputItemBytesMax', limits.outputItemBytesMax)
  })
}

export class ContractSandbox {
  readonly #source: string
  readonly #limits: RealmLimits
  readonly #reuseRealm: boolean
  readonly #types: readonly string[]
  #realm: Realm | undefined
  /** Set by close(): a realm still in a call when the sandbox closed is disposed when it comes back, not parked. */
  #closed = false
  /** Per tx type, the keys its last call read: prefetched before the first run. */
  readonly #readHints = new Map<string, readonly string[]>()

  private constructor (source: string, realmLimits: RealmLimits, reuseRealm: boolean, types: readonly string[], realm: Realm | undefined) {
    this.#source = source
    this.#limits = realmLimits
    this.#reuseRealm = reuseRealm
    this.#types = types
    this.#realm = realm
  }

  /**
   * Compiles `source` and runs its top level once (which may only register handlers), and returns a
   * sandbox for it. Throws ContractCompileError if it does not compile, is too large, throws or runs
   * past a limit at its top level, or registers no handler.
   */
  static async compile (source: string, options: ContractSandboxOptions = {}): Promise<ContractSandbox> {
    if (typeof source !== 'string') throw new TypeError('source must be a string')
    const realmLimits = limitsFrom(options)
    const reuseRealm = options.reuseRealm ?? true
    if (utf8Bytes(source) > limits.sourceBytesMax) throw new ContractCompileError(`the source is over ${limits.sourceBytesMax} bytes`)
    const module = await loadQuickJS()
    const realm = new Realm(module, source, realmLimits)
    let types: string[]
    try {
      types = realm.types()
    } catch (err) {
      realm.dispose()
      if (err instanceof ContractSandboxError) throw new ContractCompileError(`the top level failed: ${err.code}: ${err.message}`)
      throw err
    }
    if (types.length === 0) {
      realm.dispose()
      throw new ContractCompileError('the contract registers no handler')
    }
    const keep = reuseRealm && !realm.spent
    if (!keep) realm.dispose()
    return new ContractSandbox(source, realmLimits, reuseRealm, Object.freeze(types.sort()), keep ? realm : undefined)
  }

  /** The tx types the contract handles, sorted. */
  get types (): readonly string[] {
    return this.#types
  }

  /**
   * Runs the handler for `tx.type`. Reads come from `state`; the outcome lists the writes, which the
   * caller applies (applyContractWrites) once it accepts the call. Throws a ContractSandboxError
   * whose `code` is the tx's failure code; the sandbox stays usable either way. One call at a time.
   */
  async run (tx: ContractTx, block: ContractBlock, state: StateReader, options: { signal?: AbortSignal } = {}): Promise<ContractOutcome> {
    if (typeof tx?.type !== 'string' || typeof tx.signer !== 'string' || typeof tx.id !== 'string') throw new TypeError('tx needs type, signer and id strings')
    if (!Number.isSafeInteger(block?.height) || !Number.isFinite(block.time)) throw new TypeError('block needs an integer height and a finite time')
    const txJson = JSON.stringify({ type: tx.type, signer: tx.signer, id: tx.id, payload: JSON.parse(payloadJson(tx.payload)) as Json })
    const blockJson = JSON.stringify({ height: block.height, time: block.time })
    const values = new Map<string, string | undefined>()
    const fetch = async (key: string): Promise<void> => {
      const raw = await state.get(key)
      values.set(key, raw === undefined ? undefined : fromUtf8.decode(raw))
    }
    for (const key of this.#readHints.get(tx.type) ?? []) await fetch(key)
    for (let runs = 1; ; runs++) {
      options.signal?.throwIfAborted()
      const outcome = await this.#runOnce(tx.type, txJson, blockJson, values, runs)
      if (outcome instanceof NeedKeySignal) {
        // Each run reads one more key than the last, and a run reading too many fails: this bounds re-runs.
        if (runs > this.#limits.stateReadsMax + 1) throw new Error(`bug: contract re-ran ${runs} times`)
        await fetch(outcome.key)
        continue
      }
      this.#rememberReads(tx.type, outcome.reads)
      return outcome
    }
  }

  /**
   * Frees the realm, and any realm a call still running holds once that call ends (a QuickJS runtime
   * lives in WebAssembly memory, which the garbage collector never frees). A closed sandbox still
   * runs calls, each in a new realm.
   */
  close (): void {
    this.#closed = true
    const realm = this.#realm
    this.#realm = undefined
    if (realm !== undefined) this.#disposeRealm(realm)
  }

  #rememberReads (type: string, reads: readonly string[]): void {
    this.#readHints.delete(type)
    this.#readHints.set(type, reads)
    if (this.#readHints.size > limits.readHintTypesMax) {
      const oldest = this.#readHints.keys().next().value
      if (oldest !== undefined) this.#readHints.delete(oldest)
    }
  }

  async #takeRealm (): Promise<Realm> {
    const realm = this.#realm
    this.#realm = undefined
    if (realm !== undefined) return realm
    return new Realm(await loadQuickJS(), this.#source, this.#limits)
  }

  #returnRealm (realm: Realm): void {
    if (this.#reuseRealm && !this.#closed && !realm.spent && this.#realm === undefined) this.#realm = realm
    else this.#disposeRealm(realm)
  }

  #disposeRealm (realm: Realm): void {
    try {
      realm.dispose()
    } catch (err) {
      // An abort inside the engine (e.g. a failed assertion when freeing the runtime) kills the
      // WebAssembly instance: further realms come from a new one. The call's verdict stands.
      discardQuickJS(realm.module)
      if (!(err instanceof Error && err.message.startsWith('Aborted('))) throw err
    }
  }

  async #runOnce (type: string, txJson: string, blockJson: string, values: ReadonlyMap<string, string | undefined>, runs: number): Promise<ContractOutcome | NeedKeySignal> {
    const realm = await this.#takeRealm()
    const fresh = realm.fresh
    const record = new RunRecord(values)
    let resultJson: string | undefined
    try {
      resultJson = realm.run(record, type, txJson, blockJson)
    } catch (err) {
      if (err instanceof NeedKeySignal) return err
      if ((err instanceof ContractMemoryLimitError || err instanceof ContractInstructionLimitError) && !fresh) {
        // A reused realm's heap holds what earlier calls left for the collector, and its instruction
        // counter may count one interrupt too many: decide again in a realm in the state every node's
        // realm starts from.
        realm.markSpent()
        this.#returnRealm(realm)
        return this.#runOnce(type, txJson, blockJson, values, runs)
      }
      throw err
    } finally {
      this.#returnRealm(realm) // disposes it if spent; a second return is a no-op
    }
    let result: Json | undefined
    if (resultJson !== undefined) {
      if (utf8Bytes(resultJson) > this.#limits.outputItemBytesMax) throw new ContractOutputLimitError(`the result is over ${this.#limits.outputItemBytesMax} bytes`)
      result = JSON.parse(resultJson) as Json
    }
    return {
      result,
      writes: [...record.writes].map(([key, value]) => ({ key, value: value === null ? undefined : utf8.encode(value) })),
      events: record.events,
      actions: record.actions,
      prov: record.prov,
      reads: [...record.reads],
      interrupts: record.interrupts,
      interruptsExact: record.exact,
      runs
    }
  }
}

/** Applies a successful call's writes to the tx's state. */
export function applyContractWrites (state: StateWriter, outcome: ContractOutcome): void {
  for (const { key, value } of outcome.writes) {
    if (value === undefined) state.delete(key)
    else state.put(key, value)
  }
}
