/**
 * The contract sandbox: the deterministic API, the same outputs and instruction counts on the same
 * inputs, every limit and escape attempt failing with its code, and the sandbox carrying on after.
 */
import t from 'tap'
import type { Test } from 'tap'
import {
  ContractSandbox, applyContractWrites, sandboxErrorCodes, ContractSandboxError
} from '../../src/contracts/sandbox/index.js'
import type { ContractBlock, ContractOutcome, ContractSandboxOptions, ContractTx } from '../../src/contracts/sandbox/index.js'
import type { StateWriter } from '../../src/ledger/index.js'
import type { ProvRecord } from '../../src/prov/index.js'

const enc = new TextEncoder()
const dec = new TextDecoder()

/** A Map-backed StateWriter that counts its reads. */
class MemoryState implements StateWriter {
  readonly map = new Map<string, Uint8Array>()
  readonly provRecords: ProvRecord[] = []
  readonly prov = { add: (...records: ProvRecord[]): void => void this.provRecords.push(...records) }
  gets = 0
  constructor (entries: Record<string, string> = {}) {
    for (const [k, v] of Object.entries(entries)) this.map.set(k, enc.encode(v))
  }

  async get (key: string): Promise<Uint8Array | undefined> {
    this.gets++
    return this.map.get(key)
  }

  put (key: string, value: Uint8Array): void { this.map.set(key, value) }
  delete (key: string): void { this.map.delete(key) }
  text (key: string): string | undefined {
    const v = this.map.get(key)
    return v === undefined ? undefined : dec.decode(v)
  }
}

const block: ContractBlock = { height: 7, time: 1_700_000_000_000 }
function tx (type: string, payload: unknown = {}): ContractTx {
  return { type, signer: 'ab'.repeat(32), id: 'cd'.repeat(32), payload }
}

const shop = `
handlers['shop.stock'] = (tx, api) => {
  api.state.put('stock/' + tx.payload.item, String(tx.payload.count))
}
handlers['shop.sell'] = (tx, api) => {
  const key = 'stock/' + tx.payload.item
  const n = Number(api.state.get(key) ?? '0')
  const price = Number(api.state.get('price/' + tx.payload.item) ?? '1')
  if (n < 1) throw new Error('sold out')
  api.state.put(key, String(n - 1))
  api.emit({ type: 'sold', item: tx.payload.item, by: tx.signer, at: api.block.time })
  api.action({ type: 'container.start', node: 'n1', image: 'sha256:' + tx.payload.item })
  api.prov.entity('sale/' + tx.id, { 'prov:label': tx.payload.item })
  api.prov.wasGeneratedBy('sale/' + tx.id)
  return { left: n - 1, total: price, height: api.block.height }
}
`

async function expectCode (t: Test, p: Promise<unknown>, code: keyof typeof sandboxErrorCodes, what: string): Promise<void> {
  try {
    await p
    t.fail(`${what}: expected ${code}, it succeeded`)
  } catch (err) {
    t.ok(err instanceof ContractSandboxError, `${what}: a sandbox error (${String(err)})`)
    t.equal((err as ContractSandboxError).code, code, `${what}: ${code}`)
  }
}

t.test('a handler reads and writes state and emits events, actions and PROV statements', async (t) => {
  const sandbox = await ContractSandbox.compile(shop, { statePrefix: 'c/shop/' })
  t.same(sandbox.types, ['shop.sell', 'shop.stock'])
  const state = new MemoryState({ 'c/shop/stock/apple': '3', 'c/shop/price/apple': '5' })
  const out = await sandbox.run(tx('shop.sell', { item: 'apple' }), block, state)
  t.same(out.result, { left: 2, total: 5, height: 7 })
  t.same(out.reads, ['c/shop/stock/apple', 'c/shop/price/apple'])
  t.same(out.writes.map((w) => [w.key, w.value === undefined ? undefined : dec.decode(w.value)]), [['c/shop/stock/apple', '2']])
  t.same(out.events, [{ type: 'sold', item: 'apple', by: 'ab'.repeat(32), at: block.time }])
  t.same(out.actions, [{ type: 'container.start', node: 'n1', image: 'sha256:apple' }])
  t.same(out.prov, [
    { kind: 'entity', id: 'sale/' + 'cd'.repeat(32), attributes: { 'prov:label': 'apple' } },
    { kind: 'wasGeneratedBy', entity: 'sale/' + 'cd'.repeat(32) }
  ])
  t.equal(state.text('c/shop/stock/apple'), '3', 'the sandbox does not write: the caller applies')
  applyContractWrites(state, out)
  t.equal(state.text('c/shop/stock/apple'), '2')
  t.equal(out.runs, 3, 'first call: two misses, so three runs')
  const again = await sandbox.run(tx('shop.sell', { item: 'apple' }), block, state)
  t.equal(again.runs, 1, 'second call: the read keys were prefetched as hints')
  t.same(again.result, { left: 1, total: 5, height: 7 })
  await expectCode(t, sandbox.run(tx('shop.sell', { item: 'pear' }), block, state), 'ERR_CONTRACT_THROWN', 'sold out')
})

t.test('reads see the call\'s own writes; deletes; Uint8Array payloads arrive as hex', async (t) => {
  const sandbox = await ContractSandbox.compile(`
    handlers['kv.swap'] = (tx, api) => {
      api.state.put('a', tx.payload.blob)
      const mine = api.state.get('a')
      api.state.delete('b')
      return [mine, api.state.get('b') === undefined]
    }`)
  const state = new MemoryState({ b: 'x' })
  const out = await sandbox.run(tx('kv.swap', { blob: new Uint8Array([1, 255]) }), block, state)
  t.same(out.result, ['01ff', true])
  applyContractWrites(state, out)
  t.equal(state.text('a'), '01ff')
  t.notOk(state.map.has('b'))
  t.same(out.reads, [], 'reading its own writes reads nothing from state')
})

/** An outcome without what may differ between runs of the same call: runs, and the count of a reused realm. */
const verdictOf = (o: ContractOutcome): unknown => ({ ...o, runs: 0, interrupts: 0, interruptsExact: false })

t.test('the same inputs give the same outputs, and instruction counts exact in a fresh realm, at most one over in a reused one', async (t) => {
  const source = `
    handlers['work'] = (tx, api) => {
      let h = 0
      for (let i = 0; i < tx.payload.n; i++) h = (h * 31 + i) | 0
      const seen = api.state.get('seen') ?? ''
      api.state.put('seen', seen + h)
      api.emit({ h })
      return h
    }`
  const outcomes: ContractOutcome[] = []
  for (const reuseRealm of [true, false]) {
    const sandbox = await ContractSandbox.compile(source, { reuseRealm })
    const state = new MemoryState({ seen: 's' })
    outcomes.push(await sandbox.run(tx('work', { n: 123_457 }), block, state))
    // Again in the same sandbox: counts must not depend on what ran before in its realm.
    outcomes.push(await sandbox.run(tx('work', { n: 123_457 }), block, state))
    outcomes.push(await sandbox.run(tx('work', { n: 123_457 }), block, state))
  }
  for (const o of outcomes.slice(1)) t.same(verdictOf(o), verdictOf(outcomes[0]!))
  const exact = outcomes.filter((o) => o.interruptsExact)
  t.equal(exact.length, 3, 'each call of a new realm per call is exact')
  const count = exact[0]!.interrupts
  t.ok(count >= 12, `counted ${count} interrupts`)
  for (const o of exact) t.equal(o.interrupts, count, 'exact counts agree')
  for (const o of outcomes.filter((o) => !o.interruptsExact)) t.ok(o.interrupts === count || o.interrupts === count + 1, `reused realm: ${o.interrupts}`)
})

t.test('a call exactly at the instruction limit passes in a reused realm too (its limit verdict is decided again)', async (t) => {
  const source = `handlers.x = (tx) => { let i = 0; while (i < tx.payload.n) i++; return i }`
  const options = { runInterruptsMax: 10 }
  const exactRealm = await ContractSandbox.compile(source, { ...options, reuseRealm: false })
  const state = new MemoryState()
  const fits = async (n: number): Promise<boolean> => {
    try {
      await exactRealm.run(tx('x', { n }), block, state)
      return true
    } catch (err) {
      if ((err as ContractSandboxError).code === 'ERR_CONTRACT_INSTRUCTION_LIMIT') return false
      throw err
    }
  }
  // The largest n that fits, by bisection: the call that uses the budget to the last interrupt.
  let lo = 40_000
  let hi = 60_000
  t.ok(await fits(lo))
  t.notOk(await fits(hi))
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1
    if (await fits(mid)) lo = mid
    else hi = mid
  }
  t.equal((await exactRealm.run(tx('x', { n: lo }), block, state)).interrupts, 10, 'the limit exactly')
  const reused = await ContractSandbox.compile(source, options)
  // Calls of other sizes in between leave the counter at different points.
  for (const before of [1, 7_777, 23_456, 31_000, 0]) {
    await reused.run(tx('x', { n: before }), block, state)
    t.equal((await reused.run(tx('x', { n: lo }), block, state)).result, lo, `fits after a call of ${before}`)
    await expectCode(t, reused.run(tx('x', { n: lo + 1 }), block, state), 'ERR_CONTRACT_INSTRUCTION_LIMIT', `one more does not, after a call of ${before}`)
  }
})

const hostile: Array<[string, string, keyof typeof sandboxErrorCodes | 'inert']> = [
  ['infinite loop', `handlers.x = () => { for (;;) {} }`, 'ERR_CONTRACT_INSTRUCTION_LIMIT'],
  ['infinite loop that catches the interrupt', `handlers.x = () => { for (;;) { try { for (;;) {} } catch (e) {} } }`, 'ERR_CONTRACT_INSTRUCTION_LIMIT'],
  ['deep recursion', `handlers.x = () => { const f = (n) => f(n + 1) + 1; return f(0) }`, 'ERR_CONTRACT_STACK_OVERFLOW'],
  ['huge allocation', `handlers.x = () => { const a = []; for (let i = 0; ; i++) a.push({ i, s: 'v' + i }) }`, 'ERR_CONTRACT_MEMORY_LIMIT'],
  ['one huge string', `handlers.x = () => 'x'.repeat(1 << 28).length`, 'ERR_CONTRACT_MEMORY_LIMIT'],
  ['builtins that work in bulk are charged', `handlers.x = () => { for (;;) 'x'.repeat(100000) }`, 'ERR_CONTRACT_INSTRUCTION_LIMIT'],
  ['join over a big sparse array, charged', `handlers.x = () => { const a = new Array(1e6); for (;;) a.join('') }`, 'ERR_CONTRACT_INSTRUCTION_LIMIT'],
  ['catastrophic regex backtracking', `handlers.x = () => /^(a+)+$/.test('a'.repeat(40) + 'b')`, 'ERR_CONTRACT_INSTRUCTION_LIMIT'],
  ['throw', `handlers.x = () => { throw new TypeError('nope') }`, 'ERR_CONTRACT_THROWN'],
  ['throw a non-error', `handlers.x = () => { throw 42 }`, 'ERR_CONTRACT_THROWN'],
  ['return a function', `handlers.x = () => () => 1`, 'ERR_CONTRACT_BAD_OUTPUT'],
  ['return a cycle', `handlers.x = () => { const o = {}; o.o = o; return o }`, 'ERR_CONTRACT_BAD_OUTPUT'],
  ['return a bigint', `handlers.x = () => 1n`, 'ERR_CONTRACT_BAD_OUTPUT'],
  ['return a promise', `handlers.x = () => Promise.resolve(1)`, 'ERR_CONTRACT_BAD_OUTPUT'],
  ['async handler', `handlers.x = async () => 1`, 'ERR_CONTRACT_BAD_OUTPUT'],
  ['emit a cycle, and catch it', `handlers.x = (tx, api) => { const o = {}; o.o = o; try { api.emit(o) } catch {} return 1 }`, 'ERR_CONTRACT_BAD_OUTPUT'],
  ['emit a non-object', `handlers.x = (tx, api) => { api.emit(5) }`, 'ERR_CONTRACT_BAD_OUTPUT'],
  ['put a number', `handlers.x = (tx, api) => { api.state.put('k', 5) }`, 'ERR_CONTRACT_BAD_OUTPUT'],
  ['too many events', `handlers.x = (tx, api) => { for (let i = 0; i < 100; i++) api.emit({ i }) }`, 'ERR_CONTRACT_OUTPUT_LIMIT'],
  ['too many writes', `handlers.x = (tx, api) => { for (let i = 0; i < 100; i++) api.state.put('k' + i, '') }`, 'ERR_CONTRACT_OUTPUT_LIMIT'],
  ['a value too large', `handlers.x = (tx, api) => { api.state.put('k', 'x'.repeat(70000)) }`, 'ERR_CONTRACT_OUTPUT_LIMIT'],
  ['too many reads', `handlers.x = (tx, api) => { for (let i = 0; i < 100; i++) api.state.get('k' + i) }`, 'ERR_CONTRACT_READ_LIMIT'],
  ['no handler for the type', `handlers.y = () => 1`, 'ERR_CONTRACT_NO_HANDLER'],
  ['Date.now', `handlers.x = () => Date.now()`, 'ERR_CONTRACT_THROWN'],
  ['new Date', `handlers.x = () => String(new Date())`, 'ERR_CONTRACT_THROWN'],
  ['Math.random', `handlers.x = () => Math.random()`, 'ERR_CONTRACT_THROWN'],
  ['require', `handlers.x = () => require('fs')`, 'ERR_CONTRACT_THROWN'],
  ['process', `handlers.x = () => process.exit(1)`, 'ERR_CONTRACT_THROWN'],
  ['eval', `handlers.x = () => eval('1')`, 'ERR_CONTRACT_THROWN'],
  ['WeakRef', `handlers.x = () => new WeakRef({})`, 'ERR_CONTRACT_THROWN'],
  ['dynamic import', `handlers.x = () => { import('fs'); return 1 }`, 'ERR_CONTRACT_BAD_OUTPUT'],
  ['the host object', `handlers.x = () => typeof globalThis.__tomHost === 'undefined' ? 1 : 0`, 'inert'],
  ['Function constructor reaches only the sandbox', `handlers.x = () => { const g = Function('return this')(); return [typeof g.process, typeof g.require, typeof g.Date, typeof g.__tomHost].join() === 'undefined,undefined,undefined,undefined' ? 1 : 0 }`, 'inert'],
  ['constructor chain from the api', `handlers.x = (tx, api) => { const F = api.state.get.constructor; const g = F('return globalThis')(); return typeof g.process === 'undefined' && typeof g.Buffer === 'undefined' ? 1 : 0 }`, 'inert'],
  ['a host function prototype chain', `handlers.x = (tx, api) => { let o = api.emit; const seen = []; while (o) { seen.push(typeof o); o = Object.getPrototypeOf(o) } return seen.length <= 3 ? 1 : 0 }`, 'inert'],
  ['overwriting handlers (the next call gets them afresh)', `handlers.x = () => { handlers = null; return 1 }`, 'inert']
]

t.test('hostile contracts fail with their code or are inert, and the sandbox carries on', async (t) => {
  const options: ContractSandboxOptions = { runInterruptsMax: 200, memoryBytesMax: 4 * 1024 * 1024 }
  const good = await ContractSandbox.compile(shop, options)
  const state = new MemoryState({ 'stock/apple': '100' })
  for (const [what, source, expected] of hostile) {
    const sandbox = await ContractSandbox.compile(source, options)
    if (expected === 'inert') {
      t.same((await sandbox.run(tx('x'), block, state)).result, 1, `${what}: inert`)
      t.same((await sandbox.run(tx('x'), block, state)).result, 1, `${what}: inert, again`)
    } else {
      await expectCode(t, sandbox.run(tx('x'), block, state), expected, what)
      // The same sandbox and another one both still work.
      await expectCode(t, sandbox.run(tx('x'), block, state), expected, `${what}, again`)
    }
    const out = await good.run(tx('shop.sell', { item: 'apple' }), block, state)
    t.same(out.result, { left: 99, total: 1, height: 7 }, `after ${what}, the next call works`)
  }
})

t.test('the instruction limit is the same on every run', async (t) => {
  const sandbox = await ContractSandbox.compile(`handlers.x = (tx) => { let i = 0; while (i < tx.payload.n) i++; return i }`, { runInterruptsMax: 10 })
  const state = new MemoryState()
  // 10 interrupts of 10,000 polls, two polls per iteration: ~45,000 iterations fit, ~55,000 do not.
  const ok = await sandbox.run(tx('x', { n: 45_000 }), block, state)
  t.equal(ok.result, 45_000)
  t.equal(ok.interrupts, 9)
  for (let i = 0; i < 3; i++) {
    await expectCode(t, sandbox.run(tx('x', { n: 55_000 }), block, state), 'ERR_CONTRACT_INSTRUCTION_LIMIT', 'over the budget')
    t.equal((await sandbox.run(tx('x', { n: 45_000 }), block, state)).interrupts, 9, 'the same count after a limit')
  }
})

t.test('the recursion depth a contract reaches is the same in a reused and a new realm', async (t) => {
  const source = `handlers.x = () => { let d = 0; const f = () => { d++; f() }; try { f() } catch (e) { return [d, e.name] } }`
  const depths: unknown[] = []
  for (const reuseRealm of [true, false]) {
    const sandbox = await ContractSandbox.compile(source, { reuseRealm })
    for (let i = 0; i < 2; i++) depths.push((await sandbox.run(tx('x'), block, new MemoryState())).result)
  }
  t.ok((depths[0] as [number])[0] > 1000, `depth ${String(depths[0])}`)
  for (const d of depths) t.same(d, depths[0])
})

t.test('isolation between calls: no globals, no top-level variables, no API objects carried over', async (t) => {
  const source = `
    let calls = 0
    const tryWrite = (f) => { try { f(); return 'wrote' } catch (e) { return e.name } }
    handlers.x = (tx, api) => {
      calls++
      const attempts = [
        tryWrite(() => { globalThis.leak = 1 }),
        tryWrite(() => { Array.prototype.leak = 1 }),
        tryWrite(() => { JSON.parse = () => 'hijacked' }),
        tryWrite(() => { api.state.get.leak = 1 }),
        tryWrite(() => { api.emit.leak = 1 }),
        tryWrite(() => { Object.getPrototypeOf(function * () {}).leak = 1 }),
        tryWrite(() => { Object.getPrototypeOf([][Symbol.iterator]()).leak = 1 }),
        tryWrite(() => { Function.prototype.call = null })
      ]
      return [calls, typeof globalThis.leak, [].leak === undefined, JSON.parse('1'), ...attempts]
    }`
  for (const reuseRealm of [true, false]) {
    const sandbox = await ContractSandbox.compile(source, { reuseRealm })
    const state = new MemoryState()
    for (let i = 0; i < 3; i++) {
      t.same((await sandbox.run(tx('x'), block, state)).result, [1, 'undefined', true, 1, ...Array(8).fill('TypeError')], `reuseRealm ${reuseRealm}, call ${i}`)
    }
    sandbox.close()
  }
})

t.test('a reused realm and a new realm per call give the same outcomes', async (t) => {
  const reused = await ContractSandbox.compile(shop)
  const fresh = await ContractSandbox.compile(shop, { reuseRealm: false })
  const a = new MemoryState({ 'stock/apple': '10' })
  const b = new MemoryState({ 'stock/apple': '10' })
  for (let i = 0; i < 5; i++) {
    const x = await reused.run(tx('shop.sell', { item: 'apple' }), block, a)
    const y = await fresh.run(tx('shop.sell', { item: 'apple' }), block, b)
    t.same(verdictOf(x), verdictOf(y), `call ${i}`)
    applyContractWrites(a, x)
    applyContractWrites(b, y)
  }
})

t.test('compile errors are reported with their code', async (t) => {
  await expectCode(t, ContractSandbox.compile('handlers.x = ('), 'ERR_CONTRACT_COMPILE', 'syntax error')
  await expectCode(t, ContractSandbox.compile('x = 1; handlers.y = () => 1'), 'ERR_CONTRACT_COMPILE', 'strict mode: undeclared variable')
  await expectCode(t, ContractSandbox.compile('throw new Error("top")'), 'ERR_CONTRACT_COMPILE', 'top level throws')
  await expectCode(t, ContractSandbox.compile('for (;;) {}', { runInterruptsMax: 5 }), 'ERR_CONTRACT_COMPILE', 'top level loops')
  await expectCode(t, ContractSandbox.compile('const a = 1'), 'ERR_CONTRACT_COMPILE', 'no handler')
  await expectCode(t, ContractSandbox.compile('import fs from "fs"; handlers.x = () => 1'), 'ERR_CONTRACT_COMPILE', 'a module import')
  await expectCode(t, ContractSandbox.compile('handlers.x = () => 1 //' + 'x'.repeat(300_000)), 'ERR_CONTRACT_COMPILE', 'too large')
  const ok = await ContractSandbox.compile('handlers.x = () => 1')
  t.equal((await ok.run(tx('x'), block, new MemoryState())).result, 1, 'a good contract still compiles and runs')
})

t.test('every sandbox error code is registered with a meaning', async (t) => {
  for (const [code, meaning] of Object.entries(sandboxErrorCodes)) {
    t.match(code, /^ERR_CONTRACT_[A-Z_]+$/)
    t.ok(meaning.length > 10)
  }
})
