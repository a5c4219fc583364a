/**
 * A realm: one QuickJS runtime and context holding one contract, with the prelude run, every
 * reachable object frozen and the contract compiled as a factory. It runs calls one at a time and
 * turns whatever happens into a RunRecord or a ContractSandboxError.
 *
 * Determinism across reuse: QuickJS calls the interrupt handler when a per-context counter, lowered
 * at each loop back-edge and call, reaches zero, and the counter carries over from one evaluation to
 * the next. (Measured: two identical calls in a reused context took 4 and 3 interrupts.) The first
 * call of a realm (`fresh`) "burns" the counter first: runs an empty loop until the handler stops it,
 * which resets the counter to its initial value, so that call's interrupt count is exact: it depends
 * only on the call. Later calls skip the burn, which cost ~10,000 polls, a fifth of a small call's
 * time: their counter starts at most a full period, so they count the exact number or one more,
 * never fewer. An ok verdict in a reused realm therefore holds in a fresh one too, and the sandbox
 * decides an instruction-limit verdict of a reused realm again in a fresh realm (sandbox.ts). Only
 * the verdict is consensus-critical; the count of an ok call is exact only from a fresh realm.
 */
import type { QuickJSContext, QuickJSHandle, QuickJSRuntime, QuickJSWASMModule } from 'quickjs-emscripten-core'
import * as limits from './constants.js'
import {
  ContractBadOutputError, ContractCompileError, ContractInstructionLimitError, ContractMemoryLimitError,
  ContractNoHandlerError, ContractOutputLimitError, ContractReadLimitError, ContractSandboxError,
  ContractStackOverflowError, ContractThrownError
} from './errors.js'
import { contractFactorySource, hostGlobalName, preludeSource } from './prelude.js'

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/** The limits a realm enforces; see constants.ts. */
export interface RealmLimits {
  readonly statePrefix: string
  readonly runInterruptsMax: number
  readonly memoryBytesMax: number
  readonly stackBytesMax: number
  readonly stateReadsMax: number
  readonly stateWritesMax: number
  readonly stateValueBytesMax: number
  readonly eventsMax: number
  readonly actionsMax: number
  readonly provStatementsMax: number
  readonly outputItemBytesMax: number
}

/** Thrown out of a call that read a key that was not fetched: fetch it and call again. */
export class NeedKeySignal extends Error {
  override readonly name = 'NeedKeySignal'
  readonly key: string
  constructor (key: string) {
    // A signal, not a failure, thrown on most calls whose keys were not prefetched: skip the stack
    // trace, which costs more than the rest of the signal.
    const stackTraceLimit = Error.stackTraceLimit
    Error.stackTraceLimit = 0
    try {
      super(`need state key ${key}`)
    } finally {
      Error.stackTraceLimit = stackTraceLimit
    }
    this.key = key
  }
}

/** What one call collects through the host functions. */
export class RunRecord {
  readonly reads = new Set<string>()
  readonly writes = new Map<string, string | null>()
  readonly events: Json[] = []
  readonly actions: Json[] = []
  readonly prov: Json[] = []
  interrupts = 0
  /** Whether the counter was reset before the call, so that `interrupts` is exact (see the file's comment). */
  exact = false
  /** Polls charged by metered builtins, not yet a whole interrupt. */
  chargedPolls = 0
  interrupted = false
  burning = false
  /** The first host-side verdict; the contract cannot catch it away. */
  fatal: ContractSandboxError | NeedKeySignal | undefined
  constructor (readonly values: ReadonlyMap<string, string | undefined>) {}
}

const intrinsics = {
  BaseObjects: true,
  Eval: true, // the host evaluates the prelude and the contract through it; the prelude removes the `eval` global
  JSON: true,
  MapSet: true,
  RegExp: true,
  StringNormalize: true,
  // On: with Promise off, QuickJS leaks an async function's objects and aborts when the runtime is freed.
  Promise: true,
  Date: false,
  Proxy: false,
  TypedArrays: false
} as const

const utf8 = new TextEncoder()

export function utf8Bytes (s: string): number {
  return utf8.encode(s).length
}

export class Realm {
  readonly #limits: RealmLimits
  readonly #rt: QuickJSRuntime
  readonly #ctx: QuickJSContext
  readonly #api: QuickJSHandle
  readonly #factory: QuickJSHandle
  readonly #module: QuickJSWASMModule
  #record: RunRecord | undefined
  #calls = 0
  #disposed = false
  /** Set when a verdict may have left the engine in a state we do not trust: dispose, make a new one. */
  #spent = false

  /** Builds the realm; throws ContractCompileError if the source does not compile. */
  constructor (module: QuickJSWASMModule, source: string, realmLimits: RealmLimits) {
    this.#limits = realmLimits
    this.#module = module
    this.#rt = module.newRuntime()
    let ctx: QuickJSContext | undefined
    let api: QuickJSHandle | undefined
    try {
      this.#rt.setMemoryLimit(realmLimits.memoryBytesMax)
      this.#rt.setMaxStackSize(realmLimits.stackBytesMax)
      this.#rt.setInterruptHandler(() => this.#onInterrupt())
      ctx = this.#rt.newContext({ intrinsics })
      this.#ctx = ctx
      this.#installHost()
      const prelude = ctx.evalCode(preludeSource, 'prelude.js')
      if (prelude.error !== undefined) {
        const message = JSON.stringify(ctx.dump(prelude.error))
        prelude.error.dispose()
        throw new Error(`bug: the sandbox prelude failed: ${message}`)
      }
      api = prelude.value
      const factory = ctx.evalCode(contractFactorySource(source), 'contract.js', { strict: true })
      if (factory.error !== undefined) {
        const { name, message } = describe(this.#dump(factory.error))
        throw new ContractCompileError(name === '' ? message : `${name}: ${message}`)
      }
      if (ctx.typeof(factory.value) !== 'function') {
        factory.value.dispose()
        throw new ContractCompileError('the source must be a script of statements (it closed the function it is wrapped in)')
      }
      this.#api = api
      this.#factory = factory.value
    } catch (err) {
      api?.dispose()
      ctx?.dispose()
      this.#rt.dispose()
      throw err
    }
  }

  /** Whether the realm has run no call yet: the state every node's realm starts from. */
  get fresh (): boolean {
    return this.#calls === 0
  }

  /** Whether the realm must be disposed rather than used again. */
  get spent (): boolean {
    return this.#spent || this.#disposed
  }

  markSpent (): void {
    this.#spent = true
  }

  /** The WebAssembly module the realm lives in. */
  get module (): QuickJSWASMModule {
    return this.#module
  }

  /** The handler types the contract registers (runs its top level once, under the limits). */
  types (): string[] {
    const json = this.#call(new RunRecord(new Map()), 'types', [])
    return json === undefined ? [] : JSON.parse(json) as string[]
  }

  /** Runs the handler for `type`; returns the handler's result as JSON, or throws the verdict. */
  run (record: RunRecord, type: string, txJson: string, blockJson: string): string | undefined {
    return this.#call(record, 'run', [type, txJson, blockJson])
  }

  /** Frees the runtime; a second call does nothing. */
  dispose (): void {
    if (this.#disposed) return
    this.#disposed = true
    this.#factory.dispose()
    this.#api.dispose()
    this.#ctx.dispose()
    this.#rt.dispose()
  }

  #onInterrupt (): boolean {
    const record = this.#record
    if (record === undefined) return false
    if (record.burning || record.interrupted) return true
    record.interrupts++
    if (record.interrupts > this.#limits.runInterruptsMax) record.interrupted = true
    return record.interrupted
  }

  #call (record: RunRecord, method: 'run' | 'types', args: string[]): string | undefined {
    const ctx = this.#ctx
    const fresh = this.#calls === 0
    this.#calls++
    this.#record = record
    try {
      if (fresh) {
        this.#burn(record)
        record.exact = true
      }
      const fn = ctx.getProp(this.#api, method)
      const handles = args.map((a) => ctx.newString(a))
      try {
        const result = ctx.callFunction(fn, ctx.undefined, this.#factory, ...handles)
        if (this.#rt.hasPendingJob()) {
          // Handlers are synchronous: promise jobs left behind would run in a later call. Drop the realm.
          this.#spent = true
          record.fatal ??= new ContractBadOutputError('the contract left promise jobs pending; handlers must be synchronous')
        }
        if (result.error !== undefined) throw this.#classify(result.error, record)
        try {
          if (record.fatal !== undefined) throw record.fatal
          return ctx.typeof(result.value) === 'string' ? ctx.getString(result.value) : undefined
        } finally {
          result.value.dispose()
        }
      } finally {
        for (const h of handles) h.dispose()
        fn.dispose()
      }
    } catch (err) {
      if (!(err instanceof ContractSandboxError) && !(err instanceof NeedKeySignal)) this.#spent = true
      throw err
    } finally {
      this.#record = undefined
    }
  }

  #burn (record: RunRecord): void {
    const ctx = this.#ctx
    record.burning = true
    const fn = ctx.getProp(this.#api, 'burn')
    try {
      const result = ctx.callFunction(fn, ctx.undefined)
      if (result.error === undefined) {
        result.value.dispose()
        throw new Error('bug: the burn loop returned')
      }
      result.error.dispose()
    } finally {
      fn.dispose()
      record.burning = false
    }
  }

  #dump (error: QuickJSHandle): unknown {
    try {
      return this.#ctx.dump(error)
    } catch {
      return undefined
    } finally {
      error.dispose()
    }
  }

  /** Turns a VM exception into the call's verdict. A host-side verdict wins over what the VM says. */
  #classify (error: QuickJSHandle, record: RunRecord): Error {
    const dumped = this.#dump(error)
    if (record.fatal !== undefined) return record.fatal
    const lim = this.#limits
    if (record.interrupted) {
      this.#spent = true
      return new ContractInstructionLimitError(`the contract ran past ${lim.runInterruptsMax} interrupts (about ${lim.runInterruptsMax * limits.pollsPerInterrupt} loop back-edges and calls)`)
    }
    const { name, message } = describe(dumped)
    if (name === 'InternalError' && message === 'out of memory') {
      this.#spent = true
      return new ContractMemoryLimitError(`the contract ran out of its ${lim.memoryBytesMax} bytes of memory`)
    }
    if ((name === 'RangeError' && /call stack size exceeded/i.test(message)) || (name === 'InternalError' && message === 'stack overflow')) {
      this.#spent = true
      return new ContractStackOverflowError(`the contract recursed past its ${lim.stackBytesMax}-byte stack`)
    }
    return new ContractThrownError(name === '' ? message : `${name}: ${message}`)
  }

  #installHost (): void {
    const ctx = this.#ctx
    const lim = this.#limits
    const current = (): RunRecord => {
      const record = this.#record
      if (record === undefined) throw new Error('no call is running')
      if (record.fatal !== undefined) throw record.fatal
      return record
    }
    const fail = (record: RunRecord, err: ContractSandboxError | NeedKeySignal): never => {
      record.fatal ??= err
      throw record.fatal
    }
    const stateKey = (record: RunRecord, handle: QuickJSHandle | undefined): string => {
      if (handle === undefined || ctx.typeof(handle) !== 'string') return fail(record, new ContractBadOutputError('a state key must be a string'))
      const key = ctx.getString(handle)
      const full = lim.statePrefix + key
      if (key.length === 0 || utf8Bytes(full) > limits.stateKeyBytesMax) return fail(record, new ContractBadOutputError(`a state key must be 1 to ${limits.stateKeyBytesMax} bytes with its prefix`))
      return full
    }
    const write = (record: RunRecord, key: string, value: string | null): void => {
      if (!record.writes.has(key) && record.writes.size >= lim.stateWritesMax) fail(record, new ContractOutputLimitError(`the contract wrote more than ${lim.stateWritesMax} keys`))
      record.writes.set(key, value) // a Map keeps a key where it was first set: writes come out in first-write order
    }
    const fns: Record<string, (...args: QuickJSHandle[]) => QuickJSHandle | undefined> = {
      get: (k) => {
        const record = current()
        const key = stateKey(record, k)
        if (record.writes.has(key)) {
          const own = record.writes.get(key)
          return own === null || own === undefined ? ctx.undefined : ctx.newString(own)
        }
        if (!record.reads.has(key)) {
          if (record.reads.size >= lim.stateReadsMax) fail(record, new ContractReadLimitError(`the contract read more than ${lim.stateReadsMax} keys`))
          record.reads.add(key)
        }
        if (!record.values.has(key)) fail(record, new NeedKeySignal(key))
        const value = record.values.get(key)
        return value === undefined ? ctx.undefined : ctx.newString(value)
      },
      put: (k, v) => {
        const record = current()
        const key = stateKey(record, k)
        if (v === undefined || ctx.typeof(v) !== 'string') return fail(record, new ContractBadOutputError('a state value must be a string'))
        const value = ctx.getString(v)
        if (utf8Bytes(value) > lim.stateValueBytesMax) fail(record, new ContractOutputLimitError(`a state value is over ${lim.stateValueBytesMax} bytes`))
        write(record, key, value)
        return undefined
      },
      del: (k) => {
        const record = current()
        write(record, stateKey(record, k), null)
        return undefined
      },
      out: (kindHandle, jsonHandle) => {
        const record = current()
        const kind = kindHandle === undefined ? '' : ctx.getString(kindHandle)
        const json = jsonHandle === undefined ? '' : ctx.getString(jsonHandle)
        const [list, max] = kind === 'event'
          ? [record.events, lim.eventsMax]
          : kind === 'action' ? [record.actions, lim.actionsMax] : [record.prov, lim.provStatementsMax]
        if (list.length >= max) fail(record, new ContractOutputLimitError(`the contract emitted more than ${max} items of kind ${kind}`))
        if (utf8Bytes(json) > lim.outputItemBytesMax) fail(record, new ContractOutputLimitError(`an item of kind ${kind} is over ${lim.outputItemBytesMax} bytes`))
        const item = JSON.parse(json) as Json
        if (item === null || typeof item !== 'object' || Array.isArray(item)) fail(record, new ContractBadOutputError(`an item of kind ${kind} must be a JSON object`))
        list.push(item)
        return undefined
      },
      charge: (n) => {
        const record = current()
        record.chargedPolls += n === undefined ? 0 : ctx.getNumber(n)
        const whole = Math.floor(record.chargedPolls / limits.pollsPerInterrupt)
        record.chargedPolls -= whole * limits.pollsPerInterrupt
        record.interrupts += whole
        if (record.interrupts > lim.runInterruptsMax) {
          record.interrupted = true
          fail(record, new ContractInstructionLimitError(`the contract ran past ${lim.runInterruptsMax} interrupts (builtins charged by the size of their data)`))
        }
        return undefined
      },
      bad: (m) => fail(current(), new ContractBadOutputError(m === undefined ? 'bad output' : ctx.getString(m))),
      noHandler: (t) => fail(current(), new ContractNoHandlerError(`the contract has no handler for ${t === undefined ? '?' : ctx.getString(t)}`))
    }
    const host = ctx.newObject()
    try {
      for (const [name, impl] of Object.entries(fns)) {
        const fn = ctx.newFunction(name, (...args) => impl(...args))
        ctx.setProp(host, name, fn)
        fn.dispose()
      }
      ctx.setProp(ctx.global, hostGlobalName, host)
    } finally {
      host.dispose()
    }
  }
}

function describe (dumped: unknown): { name: string, message: string } {
  if (dumped !== null && typeof dumped === 'object') {
    const { name, message } = dumped as { name?: unknown, message?: unknown }
    if (typeof message === 'string') return { name: typeof name === 'string' ? name : '', message }
  }
  let text: string
  try {
    text = JSON.stringify(dumped) ?? String(dumped)
  } catch {
    text = String(dumped)
  }
  return { name: '', message: `threw a non-error: ${text.slice(0, 200)}` }
}
