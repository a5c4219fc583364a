/** The KvStore contract, run against every implementation (memory and LevelDB). */
import type { Test } from 'tap'
import type { KvStore } from '../../src/ledger/index.js'

const b = (s: string): Uint8Array => new TextEncoder().encode(s)
const s = (u: Uint8Array): string => new TextDecoder().decode(u)

async function collect(it: AsyncIterable<[Uint8Array, Uint8Array]>): Promise<string[]> {
  const out: string[] = []
  for await (const [k, v] of it) out.push(`${s(k)}=${s(v)}`)
  return out
}

export function kvSuite(t: Test, factory: (t: Test) => KvStore): void {
  t.test('get after put, undefined for a missing key', async (t) => {
    const kv = factory(t)
    await kv.open()
    t.equal(await kv.get(b('missing')), undefined)
    await kv.batch([{ type: 'put', key: b('a'), value: b('1') }])
    t.same(await kv.get(b('a')), b('1'))
    t.same(kv.getSync(b('a')), b('1'), 'the same read, synchronously')
    t.equal(kv.getSync(b('missing')), undefined)
    await kv.close()
  })

  t.test('getMany returns values in key order, undefined where missing', async (t) => {
    const kv = factory(t)
    await kv.open()
    await kv.batch([{ type: 'put', key: b('x'), value: b('1') }, { type: 'put', key: b('z'), value: b('3') }])
    t.same(await kv.getMany([b('z'), b('y'), b('x')]), [b('3'), undefined, b('1')])
    t.same(await kv.getMany([]), [])
    await kv.close()
  })

  t.test('a batch applies puts and deletes in order', async (t) => {
    const kv = factory(t)
    await kv.open()
    await kv.batch([
      { type: 'put', key: b('a'), value: b('1') },
      { type: 'put', key: b('b'), value: b('2') },
      { type: 'del', key: b('a') },
      { type: 'put', key: b('b'), value: b('3') },
      { type: 'del', key: b('never') }
    ], { sync: true })
    t.equal(await kv.get(b('a')), undefined)
    t.same(s((await kv.get(b('b')))!), '3')
    await kv.close()
  })

  t.test('entries are in byte order and honour every bound, reverse and limit', async (t) => {
    const kv = factory(t)
    await kv.open()
    const keys = ['b', 'a', 'c', 'ab', 'ba', '\u00ff', 'a\u0000']
    await kv.batch(keys.map((k) => ({ type: 'put', key: Buffer.from(k, 'latin1'), value: b('v') })))
    const all = await collect(kv.entries())
    t.same(all.map((e) => e.split('=')[0]), ['a', 'a\u0000', 'ab', 'b', 'ba', 'c', '\ufffd'], 'byte order (0xff last)')
    t.same((await collect(kv.entries({ gte: b('ab'), lt: b('c') }))).length, 3)
    t.same((await collect(kv.entries({ gt: b('ab'), lte: b('c') }))).map((e) => e[0]), ['b', 'b', 'c'])
    t.same((await collect(kv.entries({ reverse: true, limit: 2 }))).map((e) => e.split('=')[0]), ['\ufffd', 'c'])
    t.same((await collect(kv.entries({ lt: b('b'), reverse: true, limit: 1 }))).map((e) => e.split('=')[0]), ['ab'])
    t.same(await collect(kv.entries({ gt: Uint8Array.of(0xff) })), [])
    t.same((await collect(kv.entries({ gt: b('z') }))).length, 1, '0xff sorts after z')
    await kv.close()
  })

  t.test('an iteration is a snapshot: writes during it are not seen', async (t) => {
    const kv = factory(t)
    await kv.open()
    await kv.batch([1, 2, 3].map((i) => ({ type: 'put' as const, key: b(`k${i}`), value: b('old') })))
    const seen: string[] = []
    for await (const [k, v] of kv.entries()) {
      seen.push(`${s(k)}=${s(v)}`)
      if (seen.length === 1) await kv.batch([{ type: 'put', key: b('k2'), value: b('new') }, { type: 'put', key: b('k9'), value: b('new') }])
    }
    t.same(seen, ['k1=old', 'k2=old', 'k3=old'])
    await kv.close()
  })

  t.test('values are copied: mutating a written array changes nothing stored', async (t) => {
    const kv = factory(t)
    await kv.open()
    const value = b('abc')
    await kv.batch([{ type: 'put', key: b('k'), value }])
    value[0] = 0x7a
    t.same(s((await kv.get(b('k')))!), 'abc')
    await kv.close()
  })

  t.test('binary keys and empty values', async (t) => {
    const kv = factory(t)
    await kv.open()
    const key = Uint8Array.of(0, 255, 0, 1)
    await kv.batch([{ type: 'put', key, value: new Uint8Array(0) }])
    t.same(await kv.get(key), new Uint8Array(0))
    t.equal(await kv.get(Uint8Array.of(0, 255, 0)), undefined)
    await kv.close()
  })
}
