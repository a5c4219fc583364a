/** The ledger over both stores: apply, receipts, reads, history, rejections, atomicity. */
import t from 'tap'
import type { Test } from 'tap'
import { join } from 'node:path'
import { decode, encode, generateKeyPair, Signer, toHex } from '../../src/crypto/index.js'
import { StateCache } from '../../src/ledger/state-cache.js'
import { BlockRejectedError, decodeBlock, decodeTx, layout, Ledger, ledgerFormat, LevelKvStore, MemoryKvStore, sealBlock, TxRejectedError } from '../../src/ledger/index.js'
import type { Block, KvStore } from '../../src/ledger/index.js'
import { CoreContracts } from '../../src/contracts/index.js'
import { FaultyKvStore } from './faulty-kv.js'
import { dataTx, genesisTime, KvTestContract, kvValue, makeNetwork, nextBlock, tx } from './chain-fixture.js'

const stores: Record<string, (t: Test) => KvStore> = {
  memory: () => new MemoryKvStore(),
  level: (t) => new LevelKvStore(join(t.testdir(), 'ledger'))
}

async function started(store: KvStore): Promise<{ ledger: Ledger; net: ReturnType<typeof makeNetwork> }> {
  const net = makeNetwork()
  const ledger = await Ledger.open(store, new KvTestContract(new CoreContracts()))
  await ledger.applyBlock(net.genesis)
  return { ledger, net }
}

/** Re-encodes a block with some raw fields replaced, keeping everything else byte for byte. */
function tamperBlock(block: Block, edit: (raw: { header: Record<string, unknown>; txs: Uint8Array[]; sig: Uint8Array }) => void): Block {
  const raw = decode<{ header: Record<string, unknown>; txs: Uint8Array[]; sig: Uint8Array }>(block.bytes)
  edit(raw)
  return decodeBlock(encode(raw))
}

for (const [name, factory] of Object.entries(stores)) {
  t.test(`ledger on ${name} store`, async (t) => {
    t.test('genesis creates the network, its org and its node', async (t) => {
      const { ledger, net } = await started(factory(t))
      t.equal(ledger.head!.height, 0)
      t.same(ledger.network, net.genesis.hash)
      t.ok(await ledger.getState(`node/${toHex(net.node.publicKey)}`))
      t.ok(await ledger.getState('org/org1'))
      t.same((await ledger.getReceipts(0))!.map((r) => r.ok), [true, true, true])
      await ledger.close()
    })

    t.test('applies a block: receipts, tx index, state, block reads', async (t) => {
      const { ledger, net } = await started(factory(t))
      const txs = [dataTx(ledger.network!, net.admin, 'd1'), dataTx(ledger.network!, net.admin, 'd2', { derivedFrom: ['d1'] })]
      const block = nextBlock(ledger, txs, net.node)
      const { receipts } = await ledger.applyBlock(block)
      t.same(receipts, [{ ok: true }, { ok: true }])
      t.equal(ledger.head!.height, 1)
      const rec = await ledger.getTx(txs[1]!.id)
      t.equal(rec!.height, 1)
      t.equal(rec!.index, 1)
      t.same(rec!.tx.bytes, txs[1]!.bytes)
      t.same(decode<{ derivedFrom: string[] }>((await ledger.getState('data/d2'))!).derivedFrom, ['d1'])
      t.same((await ledger.getBlock(1))!.bytes, block.bytes)
      t.same((await ledger.getBlockByHash(block.hash))!.hash, block.hash)
      t.equal(await ledger.getBlock(2), undefined)
      t.equal(await ledger.getTx(new Uint8Array(32)), undefined)
      await ledger.close()
    })

    t.test('a failed tx stays in its block with its code and changes nothing', async (t) => {
      const { ledger, net } = await started(factory(t))
      const stranger = new Signer(generateKeyPair())
      const n = ledger.network!
      const txs = [
        dataTx(n, stranger, 'x1'),
        tx(n, net.admin, 'data.add', { id: 'bad id!', hash: new Uint8Array(32) }),
        tx(n, net.admin, 'data.add', { id: 'ok', hash: new Uint8Array(3) }),
        dataTx(n, net.admin, 'dup'),
        dataTx(n, net.admin, 'dup'),
        tx(n, net.admin, 'kv.fail', { key: 'f' }),
        tx(n, net.admin, 'kv.throw', { key: 'g' }),
        tx(n, net.admin, 'no.such-type', {}),
        dataTx(n, net.admin, 'orphan', { derivedFrom: ['nothing'] })
      ]
      const { receipts } = await ledger.applyBlock(nextBlock(ledger, txs, net.node))
      t.same(
        receipts.map((r) => (r.ok ? 'ok' : r.code)),
        ['ERR_TX_UNKNOWN_SIGNER', 'ERR_TX_INVALID_PAYLOAD', 'ERR_TX_INVALID_PAYLOAD', 'ok', 'ERR_DATA_EXISTS', 'ERR_TEST_FAIL', 'ERR_TX_EXECUTION', 'ERR_TX_UNKNOWN_TYPE', 'ERR_DATA_UNKNOWN']
      )
      t.equal(await ledger.getState('data/x1'), undefined)
      t.equal(await ledger.getState('kv/f'), undefined, 'writes of a failed tx are discarded')
      t.equal(await ledger.getState('kv/g'), undefined)
      t.equal(await ledger.getState('data/orphan'), undefined)
      t.equal((await ledger.getTx(txs[0]!.id))!.receipt.ok, false, 'a failed tx is indexed with its receipt')
      await ledger.close()
    })

    t.test('expired and replayed txs fail in their receipts', async (t) => {
      const { ledger, net } = await started(factory(t))
      const n = ledger.network!
      const once = dataTx(n, net.admin, 'once')
      const expired = tx(n, net.admin, 'data.add', { id: 'late', hash: new Uint8Array(32) }, { expiresAt: genesisTime + 500 })
      const r1 = await ledger.applyBlock(nextBlock(ledger, [once, expired], net.node, genesisTime + 1000))
      t.same(r1.receipts.map((r) => (r.ok ? 'ok' : r.code)), ['ok', 'ERR_TX_EXPIRED'])
      const r2 = await ledger.applyBlock(nextBlock(ledger, [once], net.node))
      t.same(r2.receipts.map((r) => (r.ok ? 'ok' : r.code)), ['ERR_TX_REPLAY'])
      t.equal((await ledger.getTx(once.id))!.height, 1, 'the index keeps the first inclusion')
      await t.rejects(ledger.checkTx(once, genesisTime), { code: 'ERR_TX_REPLAY' })
      await ledger.close()
    })

    t.test('admission checks: network, expiry, signature, replay', async (t) => {
      const { ledger, net } = await started(factory(t))
      const n = ledger.network!
      await t.resolves(ledger.checkTx(dataTx(n, net.admin, 'a'), genesisTime))
      await t.rejects(ledger.checkTx(dataTx(new Uint8Array(32).fill(1), net.admin, 'a'), genesisTime), { code: 'ERR_TX_WRONG_NETWORK' })
      await t.rejects(ledger.checkTx(dataTx(n, net.admin, 'a'), genesisTime + 4_000_000), { code: 'ERR_TX_EXPIRED' })
      const far = tx(n, net.admin, 'data.add', { id: 'a', hash: new Uint8Array(32) }, { expiresAt: genesisTime + 48 * 3_600_000 })
      await t.rejects(ledger.checkTx(far, genesisTime), { code: 'ERR_TX_EXPIRY_TOO_FAR' })
      const raw = decode<Record<string, unknown>>(dataTx(n, net.admin, 'a').bytes)
      ;(raw.sig as Uint8Array)[5]! ^= 1
      const forged = decodeTx(encode(raw))
      await t.rejects(ledger.checkTx(forged, genesisTime), { code: 'ERR_TX_BAD_SIGNATURE' })
      await ledger.close()
    })

    t.test('state as of any height', async (t) => {
      const { ledger, net } = await started(factory(t))
      const n = ledger.network!
      const set = (v: string): ReturnType<typeof tx> => tx(n, net.admin, 'kv.set', { key: 'a', value: v })
      await ledger.applyBlock(nextBlock(ledger, [set('one')], net.node)) // 1
      await ledger.applyBlock(nextBlock(ledger, [dataTx(n, net.admin, 'z')], net.node)) // 2
      await ledger.applyBlock(nextBlock(ledger, [set('three'), set('three-b')], net.node)) // 3
      await ledger.applyBlock(nextBlock(ledger, [tx(n, net.admin, 'kv.del', { key: 'a' })], net.node)) // 4
      await ledger.applyBlock(nextBlock(ledger, [set('five')], net.node)) // 5
      const at = async (h: number): Promise<string | undefined> => kvValue(await ledger.getStateAt('kv/a', h))
      t.same([await at(0), await at(1), await at(2), await at(3), await at(4), await at(5), await at(99)], [undefined, 'one', 'one', 'three-b', undefined, 'five', 'five'])
      t.equal(kvValue(await ledger.getState('kv/a')), 'five')
      const written = async (h: number): Promise<(string | undefined)[]> => (await ledger.getStateWrittenAt(['kv/a', 'kv/none'], h)).map(kvValue)
      t.same(
        [await written(1), await written(2), await written(3), await written(4), await written(5)],
        [['one', undefined], [undefined, undefined], ['three-b', undefined], [undefined, undefined], ['five', undefined]],
        'what each block itself wrote: nothing where it did not write, nothing for a delete'
      )
      await ledger.close()
    })

    t.test('an invalid block is refused with its code and changes nothing', async (t) => {
      const { ledger, net } = await started(factory(t))
      const n = ledger.network!
      const good = nextBlock(ledger, [dataTx(n, net.admin, 'g')], net.node)
      const head = ledger.head!
      const reseal = (edit: Partial<Parameters<typeof sealBlock>[0]>, signer = net.node): Block =>
        sealBlock({ height: 1, prevHash: head.hash, time: head.time + 1, stateRoot: head.stateDigest, raftTerm: 0, raftIndex: 1, txs: good.txs, ...edit }, signer)
      const badSigTx = (() => {
        const raw = decode<Record<string, unknown>>(dataTx(n, net.admin, 's').bytes)
        ;(raw.sig as Uint8Array)[0]! ^= 1
        return decodeTx(encode(raw))
      })()
      const cases: [string, Block][] = [
        ['ERR_BLOCK_BAD_HEIGHT', reseal({ height: 2 })],
        ['ERR_BLOCK_BAD_PREV_HASH', reseal({ prevHash: new Uint8Array(32) })],
        ['ERR_BLOCK_BAD_TIME', reseal({ time: head.time - 1 })],
        ['ERR_BLOCK_BAD_STATE_ROOT', reseal({ stateRoot: new Uint8Array(32).fill(9) })],
        ['ERR_BLOCK_UNKNOWN_PROPOSER', reseal({}, new Signer(generateKeyPair()))],
        ['ERR_BLOCK_BAD_TX', reseal({ txs: [dataTx(new Uint8Array(32).fill(3), net.admin, 'w')] })],
        ['ERR_BLOCK_BAD_TX', reseal({ txs: [badSigTx] })],
        ['ERR_BLOCK_DUPLICATE_TX', reseal({ txs: [good.txs[0]!, good.txs[0]!] })],
        ['ERR_BLOCK_BAD_TX_ROOT', tamperBlock(good, (raw) => raw.txs.push(dataTx(n, net.admin, 'extra').bytes))],
        ['ERR_BLOCK_BAD_SIGNATURE', tamperBlock(good, (raw) => (raw.sig[10]! ^= 1))],
        ['ERR_BLOCK_BAD_SIGNATURE', tamperBlock(good, (raw) => (raw.header.time = (raw.header.time as number) + 1))]
      ]
      for (const [code, block] of cases) {
        await t.rejects(ledger.applyBlock(block), { name: 'BlockRejectedError', code }, code)
        t.same(ledger.head, head, `${code}: head unchanged`)
        t.equal(await ledger.getBlock(1), undefined)
        t.equal(await ledger.getState('data/g'), undefined)
      }
      await t.resolves(ledger.applyBlock(good), 'the valid block still applies after all that')
      t.ok(await ledger.getState('data/g'))
      await ledger.close()
    })

    t.test('a failed write leaves neither block nor state behind', async (t) => {
      const store = new FaultyKvStore(factory(t))
      const { ledger, net } = await started(store)
      const block = nextBlock(ledger, [dataTx(ledger.network!, net.admin, 'w')], net.node)
      const head = ledger.head
      store.failNext = 'before'
      await t.rejects(ledger.applyBlock(block), /no space left/)
      t.same(ledger.head, head)
      t.equal(await ledger.getBlock(1), undefined)
      t.equal(await ledger.getState('data/w'), undefined)
      t.equal(await ledger.getTx(block.txs[0]!.id), undefined)
      await ledger.applyBlock(block)
      t.equal(ledger.head!.height, 1)
      await ledger.close()
    })

    t.test('blocks apply one at a time', async (t) => {
      const { ledger, net } = await started(factory(t))
      const a = nextBlock(ledger, [dataTx(ledger.network!, net.admin, 'a')], net.node)
      const first = ledger.applyBlock(a)
      await t.rejects(ledger.applyBlock(a), { code: 'ERR_LEDGER_STATE' })
      await first
      await ledger.close()
    })
  })
}

t.test('a LevelDB ledger reopens at its head with everything readable', async (t) => {
  const dir = join(t.testdir(), 'ledger')
  const { ledger, net } = await started(new LevelKvStore(dir))
  const txs = Array.from({ length: 20 }, (_, i) => dataTx(ledger.network!, net.admin, `r${i}`))
  await ledger.applyBlock(nextBlock(ledger, txs.slice(0, 10), net.node))
  await ledger.applyBlock(nextBlock(ledger, txs.slice(10), net.node))
  const head = ledger.head
  await ledger.close()
  const again = await Ledger.open(new LevelKvStore(dir), new CoreContracts())
  t.same(again.head, head)
  t.same(again.network, net.genesis.hash)
  t.equal((await again.getTx(txs[15]!.id))!.height, 2)
  await again.applyBlock(nextBlock(again, [dataTx(again.network!, net.admin, 'after')], net.node))
  t.equal(again.head!.height, 3)
  await again.close()
})

t.test('a ledger in another layout is refused at open, not read wrong', async (t) => {
  const dir = join(t.testdir(), 'ledger')
  const { ledger } = await started(new LevelKvStore(dir))
  await ledger.close()
  const raw = new LevelKvStore(dir)
  await raw.open()
  t.same(decode(raw.getSync(layout.format)!), ledgerFormat, 'genesis records the layout')
  await raw.batch([{ type: 'del', key: layout.format }])
  await raw.close()
  await t.rejects(Ledger.open(new LevelKvStore(dir), new CoreContracts()), { name: 'LedgerFormatError', code: 'ERR_LEDGER_FORMAT', message: /layout 1 \(no format record/ })
  await raw.open()
  await raw.batch([{ type: 'put', key: layout.format, value: encode(ledgerFormat + 1) }])
  await raw.close()
  await t.rejects(Ledger.open(new LevelKvStore(dir), new CoreContracts()), { code: 'ERR_LEDGER_FORMAT', message: new RegExp(`layout ${ledgerFormat + 1};`) })
})

t.test('a small state cache always agrees with the state (sets and deletes, seeded)', async (t) => {
  const net = makeNetwork()
  const ledger = await Ledger.open(new MemoryKvStore(), new KvTestContract(new CoreContracts()), { stateCacheEntries: 4 })
  await ledger.applyBlock(net.genesis)
  const n = ledger.network!
  const expected = new Map<string, string>()
  let seed = 0x5eed
  const next = (k: number): number => {
    seed = (seed * 1103515245 + 12345) >>> 0
    return seed % k
  }
  let wrong = 0
  for (let round = 0; round < 80; round++) {
    const key = `k${next(5)}`
    const set = next(3) > 0
    await ledger.applyBlock(nextBlock(ledger, [set ? tx(n, net.admin, 'kv.set', { key, value: `v${round}` }) : tx(n, net.admin, 'kv.del', { key })], net.node))
    if (set) expected.set(key, `v${round}`)
    else expected.delete(key)
    for (let k = 0; k < 5; k++) if (kvValue(await ledger.getState(`kv/k${k}`)) !== expected.get(`k${k}`)) wrong++
  }
  t.equal(wrong, 0, 'every read matched the state (seed 0x5eed)')
  await ledger.close()
})

t.test('the state cache: a known absence hides an older value; bounded by generations', async (t) => {
  const cache = new StateCache(4)
  const v = (s: string): Uint8Array => new TextEncoder().encode(s)
  cache.set('x', v('1'))
  cache.set('a', v('1'))
  cache.set('y', v('1')) // young was full: {x, a} becomes old
  cache.set('a', null) // deleted since
  t.equal(cache.get('a'), null, 'the deletion wins over the older generation')
  t.same(cache.get('x'), v('1'))
  cache.set('z', v('2')) // young {y, a} becomes old; {x} is dropped
  t.equal(cache.get('x'), undefined)
  t.same(cache.get('y'), v('1'))
})

t.test('BlockRejectedError and TxRejectedError carry stable names', async (t) => {
  t.equal(new BlockRejectedError('ERR_BLOCK_BAD_HEIGHT', 'x').name, 'BlockRejectedError')
  t.equal(new TxRejectedError('ERR_TX_REPLAY', 'x').name, 'TxRejectedError')
})

t.test('scanState lists committed world state under a prefix, in key order, bounded', async (t) => {
  const net = makeNetwork()
  const ledger = await Ledger.open(new MemoryKvStore(), new CoreContracts())
  await ledger.applyBlock(net.genesis)
  const network = ledger.network!
  await ledger.applyBlock(nextBlock(ledger, ['b', 'a', 'c', 'a/x'].map((id) => dataTx(network, net.admin, id)), net.node))
  t.same((await ledger.scanState('data/', 10)).map(([k]) => k), ['data/a', 'data/a/x', 'data/b', 'data/c'])
  t.same((await ledger.scanState('data/a', 10)).map(([k]) => k), ['data/a', 'data/a/x'])
  t.same((await ledger.scanState('data/', 2)).length, 2, 'at most limit')
  t.same(await ledger.scanState('nothing/', 10), [])
  await ledger.close()
})
