/**
 * The JavaScript that runs inside each sandbox context before the contract: it takes the host
 * functions out of the global scope, removes what is not deterministic, freezes every object a
 * contract can reach (so that no call can leave anything behind for the next), and returns the
 * functions the host calls. A contract reaches the host only through host functions that take and
 * return strings; every limit and type check happens on the host side, where a contract cannot
 * catch its way around it.
 */

import { pollsPerInterrupt } from './constants.js'

/** Global the host sets before the prelude runs; the prelude deletes it. */
export const hostGlobalName = '__tomHost'

/**
 * Wraps a contract's source as a factory: each call runs the contract's top level afresh, with a
 * fresh `handlers` object, so its top-level variables cannot carry data from one tx to the next.
 * On the first line, so that error positions match the source's own lines.
 */
export function contractFactorySource (source: string): string {
  return `(function (handlers) { ${source}\n})`
}

export const preludeSource = `'use strict';
(() => {
  const host = globalThis.${hostGlobalName}
  delete globalThis.${hostGlobalName}
  // No clock, no randomness, nothing that observes the garbage collector.
  delete Math.random
  for (const name of ['Date', 'WeakRef', 'FinalizationRegistry', 'eval']) delete globalThis[name]
  const { stringify, parse } = JSON
  const { create, freeze, keys, getPrototypeOf, getOwnPropertyDescriptor } = Object
  const ownKeys = Reflect.ownKeys
  const PromiseCtor = Promise
  const toJson = (what, value) => {
    let json
    try { json = stringify(value) } catch (e) { host.bad(what + ' is not JSON-compatible: ' + String(e && e.message)) }
    if (typeof json !== 'string') host.bad(what + ' is not JSON-compatible')
    return json
  }
  const state = { get: (key) => host.get(key), put: (key, value) => { host.put(key, value) }, delete: (key) => { host.del(key) } }
  const emit = (event) => { host.out('event', toJson('an event', event)) }
  const action = (spec) => { host.out('action', toJson('an action', spec)) }
  // PROV statements as one method per relation. The host (src/contracts/deployed.ts) names the
  // activity (always the tx itself), resolves and confines the ids, and checks every field; the
  // prelude only shapes the statement, so nothing here is trusted.
  const statement = (kind, fields, attributes) => {
    const s = { kind, ...fields }
    if (attributes !== undefined) s.attributes = attributes
    host.out('prov', toJson('a PROV statement', s))
  }
  const prov = {
    entity: (id, attributes) => { statement('entity', { id }, attributes) },
    wasGeneratedBy: (entity, attributes) => { statement('wasGeneratedBy', { entity }, attributes) },
    used: (entity, attributes) => { statement('used', { entity }, attributes) },
    wasInvalidatedBy: (entity, attributes) => { statement('wasInvalidatedBy', { entity }, attributes) },
    wasDerivedFrom: (generatedEntity, usedEntity, attributes) => { statement('wasDerivedFrom', { generatedEntity, usedEntity }, attributes) },
    wasAttributedTo: (entity, agent, attributes) => { statement('wasAttributedTo', { entity, agent }, attributes) },
    hadMember: (collection, entity) => { statement('hadMember', { collection, entity }) },
    specializationOf: (specificEntity, generalEntity) => { statement('specializationOf', { specificEntity, generalEntity }) }
  }

  // Metering: QuickJS counts loop back-edges and calls, but a builtin such as 'x'.repeat(1e6) or
  // arr.join() does work in proportion to its data in one step. Charge such builtins one poll per
  // character or element they take or return, gathered here and passed to the host in batches.
  let pending = 0
  const charge = (units) => {
    pending += units
    if (pending >= ${pollsPerInterrupt}) { const k = pending; pending = 0; host.charge(k) }
  }
  const isArray = Array.isArray
  const apply = Reflect.apply
  const sizeOf = (x) => (typeof x === 'string' || isArray(x)) ? x.length : 0
  const meter = (target, names) => {
    for (const name of names) {
      const original = target[name]
      if (typeof original !== 'function') continue
      const metered = { [name] (...args) {
        const result = apply(original, this, args)
        let units = sizeOf(this) + sizeOf(result)
        for (let i = 0; i < args.length; i++) units += sizeOf(args[i])
        charge(units)
        return result
      } }[name]
      Object.defineProperty(target, name, { value: metered, writable: true, configurable: true, enumerable: false })
    }
  }
  meter(String.prototype, ['repeat', 'padStart', 'padEnd', 'concat', 'normalize', 'toUpperCase', 'toLowerCase', 'toLocaleUpperCase',
    'toLocaleLowerCase', 'replace', 'replaceAll', 'split', 'indexOf', 'lastIndexOf', 'includes', 'startsWith', 'endsWith', 'slice',
    'substring', 'substr', 'trim', 'trimStart', 'trimEnd', 'localeCompare', 'match', 'matchAll', 'search', 'at', 'isWellFormed', 'toWellFormed'])
  meter(Array.prototype, ['join', 'fill', 'indexOf', 'lastIndexOf', 'includes', 'slice', 'concat', 'reverse', 'splice', 'flat',
    'copyWithin', 'sort', 'toSorted', 'toReversed', 'toSpliced', 'with', 'toString', 'toLocaleString'])
  meter(Array, ['from', 'of'])
  meter(JSON, ['stringify', 'parse'])
  meter(Object, ['keys', 'values', 'entries', 'assign', 'fromEntries', 'getOwnPropertyNames', 'getOwnPropertySymbols'])
  meter(String, ['fromCharCode', 'fromCodePoint', 'raw'])

  // Lockdown: freeze everything reachable from the global object, from the API, and the intrinsics
  // that only syntax reaches (generator, async and iterator prototypes).
  const roots = [globalThis, state, emit, action, prov]
  const hidden = [
    () => getPrototypeOf(function * () {}),
    () => getPrototypeOf(async function () {}),
    () => getPrototypeOf(async function * () {}),
    () => getPrototypeOf([][Symbol.iterator]()),
    () => getPrototypeOf(new Map()[Symbol.iterator]()),
    () => getPrototypeOf(new Set()[Symbol.iterator]()),
    () => getPrototypeOf(''[Symbol.iterator]()),
    () => getPrototypeOf('a'.matchAll(/a/g)),
    () => getPrototypeOf([].values().map((x) => x)),
    () => getPrototypeOf(Iterator.from({ next () { return { done: true } } })),
    () => getOwnPropertyDescriptor(Function.prototype, 'caller').get
  ]
  for (const find of hidden) { try { roots.push(find()) } catch (e) {} }
  const seen = new Set()
  while (roots.length > 0) {
    const o = roots.pop()
    if (o === null || (typeof o !== 'object' && typeof o !== 'function') || seen.has(o)) continue
    seen.add(o)
    freeze(o)
    roots.push(getPrototypeOf(o))
    for (const key of ownKeys(o)) {
      const d = getOwnPropertyDescriptor(o, key)
      if (d === undefined) continue
      if ('value' in d) roots.push(d.value)
      else roots.push(d.get, d.set)
    }
  }

  const load = (factory) => {
    const handlers = create(null)
    factory(handlers)
    return handlers
  }
  const run = (factory, type, txJson, blockJson) => {
    pending = 0
    const handler = load(factory)[type]
    if (typeof handler !== 'function') host.noHandler(type)
    const tx = freeze(parse(txJson))
    const api = freeze({ state, block: freeze(parse(blockJson)), emit, action, prov })
    const result = handler(tx, api)
    if (result === undefined) return undefined
    if (result instanceof PromiseCtor) host.bad('a handler must return a value, not a promise')
    return toJson('the result', result)
  }
  const types = (factory) => {
    pending = 0
    const handlers = load(factory)
    return stringify(keys(handlers).filter((type) => typeof handlers[type] === 'function'))
  }
  // Runs until the interrupt handler stops it: resets QuickJS's interrupt counter before a call.
  const burn = () => { for (;;) {} }
  return { run, types, burn }
})()
`
