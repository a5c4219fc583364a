/**
 * Whole-chain verification against tampering. One real chain is built on disk by a TomNode (several
 * blocks of data.add txs, some derived from others, one failing); each case copies that folder, edits
 * the raw LevelDB records, and checks that verifyDataDir names the exact code and height.
 */
import t from 'tap'
import type { Test } from 'tap'
import { cp } from 'node:fs/promises'
import { join } from 'node:path'
import { decode, encode, loadKeyFile, sha256, Signer, toHex } from '../../src/crypto/index.js'
import { decodeBlock, decodeTx, layout, LevelKvStore, sealBlock, signTx } from '../../src/ledger/index.js'
import type { Block, ChainReport, Receipt, Tx } from '../../src/ledger/index.js'
import { dataPath, initNetwork, silentLogger, TomNode, verifyDataDir } from '../../src/node/index.js'

const dataTxs = 150
const genesisTxs = 3

/** The folder every case copies, and what it holds. */
const base = join(t.testdir(), 'node')
const chain = await buildChain(base)

interface Chain {
  readonly height: number
  readonly hash: string
  readonly blocks: Block[]
  readonly txIds: Uint8Array[]
  /** All V (history) records, in key order. */
  readonly versions: [Uint8Array, Uint8Array][]
}

async function buildChain(dir: string): Promise<Chain> {
  await initNetwork({ dir })
  const admin = new Signer(await loadKeyFile(dataPath(dir, 'adminKey')))
  const node = await TomNode.open({ dir, logger: silentLogger(), config: { blockTxMax: 20 } })
  node.start()
  const expiresAt = Date.now() + 10 * 60 * 1000
  let nonce = 0
  const make = (payload: Tx['payload']): Tx =>
    signTx({ network: node.network, type: 'data.add', signer: admin.publicKey, nonce: nonce++, expiresAt, payload }, admin)
  const id = (i: number): string => `sensor/${i}`
  // Two waves, so that every parent is committed before a tx that derives from it is submitted.
  const first = Array.from({ length: 100 }, (_, i) => make({ id: id(i), hash: sha256(new TextEncoder().encode(id(i))), size: i * 10 }))
  const second = Array.from({ length: dataTxs - 101 }, (_, j) => make({ id: `derived/${j}`, hash: sha256(Uint8Array.of(j)), derivedFrom: [id(j), id(j + 1)] }))
  second.push(make({ id: 'orphan', hash: sha256(Uint8Array.of(0)), derivedFrom: ['no-such-data'] }))
  const committed = [...(await Promise.all(first.map((x) => node.submitTx(x)))), ...(await Promise.all(second.map((x) => node.submitTx(x))))]
  const failed = committed.filter((c) => !c.receipt.ok).map((c) => (c.receipt.ok ? '' : c.receipt.code))
  if (failed.length !== 1 || failed[0] !== 'ERR_DATA_UNKNOWN') throw new Error(`unexpected receipts: ${failed.join(', ')}`)
  const height = node.head.height
  const hash = toHex(node.head.hash)
  await node.close()

  const store = new LevelKvStore(dataPath(dir, 'ledger'))
  await store.open()
  const blocks: Block[] = []
  for (let h = 0; h <= height; h++) blocks.push(decodeBlock((await store.get(layout.block(h)))!))
  const versions: [Uint8Array, Uint8Array][] = []
  for await (const entry of store.entries({ gte: Uint8Array.of(0x56), lt: Uint8Array.of(0x57) })) versions.push(entry)
  await store.close()
  return { height, hash, blocks, txIds: blocks.flatMap((b) => b.txs.map((x) => x.id)), versions }
}

/** Copies the chain, edits its raw records, and verifies the copy. */
async function tampered(t: Test, edit: (store: LevelKvStore) => Promise<void>): Promise<ChainReport> {
  const dir = join(t.testdir(), 'node')
  await cp(base, dir, { recursive: true })
  const store = new LevelKvStore(dataPath(dir, 'ledger'))
  await store.open()
  try {
    await edit(store)
  } finally {
    await store.close()
  }
  return verifyDataDir(dir)
}

function put(store: LevelKvStore, key: Uint8Array, value: Uint8Array): Promise<void> {
  return store.batch([{ type: 'put', key, value }])
}

function del(store: LevelKvStore, key: Uint8Array): Promise<void> {
  return store.batch([{ type: 'del', key }])
}

function expectUnsound(t: Test, report: ChainReport, code: string, height: number): void {
  t.match(report, { ok: false, code, height }, `${code} at height ${height}`)
  if (!report.ok) t.type(report.reason, 'string')
}

/** The only offset of `needle` in `hay`; fails the test if it is missing or not unique. */
function offsetOf(hay: Uint8Array, needle: Uint8Array): number {
  const b = Buffer.from(hay)
  const i = b.indexOf(needle)
  if (i < 0 || b.lastIndexOf(needle) !== i) throw new Error('needle not found exactly once')
  return i
}

t.test('the chain under test has several blocks', async (t) => {
  t.ok(chain.height >= 8, `height ${chain.height}: at most 20 txs per block`)
  t.equal(chain.txIds.length, genesisTxs + dataTxs)
  t.ok(chain.blocks.every((b) => b.txs.length <= 20))
})

t.test('the untampered chain is sound, with progress per block', async (t) => {
  const calls: [number, number][] = []
  const report = await verifyDataDir(base, { onProgress: (h, head) => calls.push([h, head]) })
  t.match(report, { ok: true, height: chain.height, hash: chain.hash, txs: genesisTxs + dataTxs })
  t.same(
    calls,
    Array.from({ length: chain.height + 1 }, (_, h) => [h, chain.height]),
    'onProgress once per block, in order, with the head height'
  )
  const copy = await tampered(t, async () => {})
  t.match(copy, { ok: true, height: chain.height, hash: chain.hash }, 'a copied folder verifies too')
})

t.test('a flipped byte in a stored block', async (t) => {
  const h = 3
  const block = chain.blocks[h]!
  const bytes = block.bytes
  const tx = block.txs[2]!
  const txAt = offsetOf(bytes, tx.bytes)
  const header = (key: string): number => offsetOf(bytes, encode(key)) + encode(key).length
  // The time is 0x1b and 8 bytes, big-endian; its byte 2 holds bits 47..40. Times of this era lie in
  // [2^40, 2^41): clearing bit 40 moves the block before its predecessor, setting bit 41 moves it later.
  t.ok(block.header.time >= 2 ** 40 && block.header.time < 2 ** 41, 'a time of this era')
  const timeByte = header('time') + 1 + 2
  const cases: [string, number, number, string][] = [
    ['the block map header', 0, 0x01, 'ERR_CHAIN_CORRUPT_BLOCK'],
    ['the proposer signature', offsetOf(bytes, block.sig) + 5, 0x20, 'ERR_BLOCK_BAD_SIGNATURE'],
    ['the last byte of the signature', offsetOf(bytes, block.sig) + 63, 0x01, 'ERR_BLOCK_BAD_SIGNATURE'],
    ['a tx: its map header (no longer a tx)', txAt, 0x01, 'ERR_CHAIN_CORRUPT_BLOCK'],
    ['a tx: the length of its byte string', txAt - 1, 0x01, 'ERR_CHAIN_CORRUPT_BLOCK'],
    ['a tx: its signature', offsetOf(bytes, tx.sig) + 10, 0x04, 'ERR_BLOCK_BAD_TX_ROOT'],
    ['a tx: its payload hash', offsetOf(bytes, (tx.payload as { hash: Uint8Array }).hash) + 31, 0x80, 'ERR_BLOCK_BAD_TX_ROOT'],
    ['a tx: its last byte (expiresAt)', txAt + tx.bytes.length - 1, 0x01, 'ERR_BLOCK_BAD_TX_ROOT'],
    ['a tx: a letter of its type (now upper case)', txAt + offsetOf(tx.bytes, encode('data.add')) + 1, 0x20, 'ERR_CHAIN_CORRUPT_BLOCK'],
    ['the header: height', header('height'), 0x04, 'ERR_BLOCK_BAD_HEIGHT'],
    ['the header: prevHash', offsetOf(bytes, block.header.prevHash) + 7, 0x01, 'ERR_BLOCK_BAD_PREV_HASH'],
    ['the header: stateRoot', offsetOf(bytes, block.header.stateRoot) + 31, 0x01, 'ERR_BLOCK_BAD_STATE_ROOT'],
    ['the header: txRoot', offsetOf(bytes, block.header.txRoot), 0x10, 'ERR_BLOCK_BAD_TX_ROOT'],
    ['the header: proposer', offsetOf(bytes, block.header.proposer) + 16, 0x02, 'ERR_BLOCK_BAD_SIGNATURE'],
    ['the header: time, later', timeByte, 0x02, 'ERR_BLOCK_BAD_SIGNATURE'],
    ['the header: time, before the previous block', timeByte, 0x01, 'ERR_BLOCK_BAD_TIME'],
    ['the header: a field name', offsetOf(bytes, encode('raftIndex')) + 1, 0x01, 'ERR_CHAIN_CORRUPT_BLOCK']
  ]
  for (const [name, position, mask, code] of cases) {
    t.test(name, async (t) => {
      const report = await tampered(t, async (store) => {
        const copy = Uint8Array.from(bytes)
        copy[position]! ^= mask
        t.not(copy[position], bytes[position], `byte ${position} changed`)
        await put(store, layout.block(h), copy)
      })
      expectUnsound(t, report, code, h)
    })
  }
})

t.test('a block re-sealed by the node key around a forged tx: ERR_BLOCK_BAD_TX', async (t) => {
  // Whoever holds node.key can re-sign a block; the txs' own signatures still catch a changed tx.
  const h = 2
  const nodeKey = new Signer(await loadKeyFile(dataPath(base, 'nodeKey')))
  const original = chain.blocks[h]!
  const raw = decode<Record<string, unknown>>(original.txs[0]!.bytes)
  raw.payload = { ...(raw.payload as Record<string, unknown>), size: 999_999 }
  const forged = decodeTx(encode(raw))
  const block = sealBlock({ ...original.header, txs: [forged, ...original.txs.slice(1)] }, nodeKey)
  const report = await tampered(t, (store) => put(store, layout.block(h), block.bytes))
  expectUnsound(t, report, 'ERR_BLOCK_BAD_TX', h)
})

t.test('a block stored under another height', async (t) => {
  const report = await tampered(t, (store) => put(store, layout.block(4), chain.blocks[5]!.bytes))
  expectUnsound(t, report, 'ERR_BLOCK_BAD_HEIGHT', 4)
})

t.test('a missing block: ERR_CHAIN_MISSING_BLOCK at its height', async (t) => {
  for (const h of [4, 0, chain.height]) {
    t.test(`block ${h}`, async (t) => {
      const report = await tampered(t, (store) => del(store, layout.block(h)))
      expectUnsound(t, report, 'ERR_CHAIN_MISSING_BLOCK', h)
    })
  }
})

t.test('world state: ERR_CHAIN_STATE_MISMATCH', async (t) => {
  const key = 'data/sensor/10'
  const cases: [string, (store: LevelKvStore) => Promise<void>][] = [
    [
      'a changed value',
      async (store) => {
        const value = decode<Record<string, unknown>>((await store.get(layout.state(key)))!)
        await put(store, layout.state(key), encode({ ...value, size: 1 }))
      }
    ],
    ['a value changed to an empty one', (store) => put(store, layout.state('network'), new Uint8Array(0))],
    ['a deleted key', (store) => del(store, layout.state(key))],
    ['a deleted first key', (store) => del(store, layout.state('data/derived/0'))],
    ['an added key', (store) => put(store, layout.state('data/sensor/1000'), encode({ hash: new Uint8Array(32) }))],
    ['an added key after all others', (store) => put(store, layout.state('zzz'), Uint8Array.of(1))],
    ['an added identity', (store) => put(store, layout.state(`identity/${'ab'.repeat(32)}`), encode({ kind: 'admin', org: 'org1' }))]
  ]
  for (const [name, edit] of cases) {
    t.test(name, async (t) => {
      expectUnsound(t, await tampered(t, edit), 'ERR_CHAIN_STATE_MISMATCH', chain.height)
    })
  }
})

t.test('state history (V records): ERR_CHAIN_STATE_MISMATCH', async (t) => {
  const [key, value] = chain.versions[Math.floor(chain.versions.length / 2)]!
  const cases: [string, (store: LevelKvStore) => Promise<void>][] = [
    [
      'a changed value',
      async (store) => {
        const copy = Uint8Array.from(value)
        copy[copy.length - 1]! ^= 1
        await put(store, key, copy)
      }
    ],
    ['a value turned into a deletion', (store) => put(store, key, Uint8Array.of(0))],
    ['a deleted record', (store) => del(store, key)],
    ['an added record', (store) => put(store, layout.version('data/sensor/10', chain.height + 1), Uint8Array.of(0))],
    [
      'a record moved to the next height',
      async (store) => {
        const record = (await store.get(layout.version('data/sensor/0', sensor0At)))!
        await del(store, layout.version('data/sensor/0', sensor0At))
        await put(store, layout.version('data/sensor/0', sensor0At + 1), record)
      }
    ]
  ]
  const sensor0At = chain.blocks.findIndex((b) => b.txs.some((x) => (x.payload as { id?: string }).id === 'sensor/0'))
  t.ok(chain.versions.some(([k]) => Buffer.from(k).equals(Buffer.from(layout.version('data/sensor/0', sensor0At)))), 'the history holds sensor/0 at its block')
  for (const [name, edit] of cases) {
    t.test(name, async (t) => expectUnsound(t, await tampered(t, edit), 'ERR_CHAIN_STATE_MISMATCH', chain.height))
  }
})

t.test('receipts: ERR_CHAIN_RECEIPT_MISMATCH at the block', async (t) => {
  const failedAt = chain.blocks.findIndex((b) => b.txs.some((x) => (x.payload as { id?: string }).id === 'orphan'))
  t.ok(failedAt > 0, 'the block holding the failing tx')
  const cases: [string, number, (store: LevelKvStore, h: number) => Promise<void>][] = [
    [
      'a receipt turned into a failure',
      2,
      async (store, h) => {
        const receipts = decode<Receipt[]>((await store.get(layout.receipts(h)))!)
        receipts[1] = { ok: false, code: 'ERR_DATA_EXISTS', message: 'x' }
        await put(store, layout.receipts(h), encode(receipts))
      }
    ],
    [
      'a failure turned into success',
      failedAt,
      async (store, h) => {
        const receipts = decode<Receipt[]>((await store.get(layout.receipts(h)))!)
        await put(store, layout.receipts(h), encode(receipts.map(() => ({ ok: true }))))
      }
    ],
    [
      'only the message of a failure changed',
      failedAt,
      async (store, h) => {
        const receipts = decode<Receipt[]>((await store.get(layout.receipts(h)))!)
        await put(store, layout.receipts(h), encode(receipts.map((r) => (r.ok ? r : { ...r, message: `${r.message}!` }))))
      }
    ],
    ['a receipt dropped', 5, async (store, h) => put(store, layout.receipts(h), encode(decode<Receipt[]>((await store.get(layout.receipts(h)))!).slice(1)))],
    ['receipts deleted', 6, (store, h) => del(store, layout.receipts(h))],
    ['genesis receipts deleted', 0, (store, h) => del(store, layout.receipts(h))]
  ]
  for (const [name, h, edit] of cases) {
    t.test(name, async (t) => expectUnsound(t, await tampered(t, (store) => edit(store, h)), 'ERR_CHAIN_RECEIPT_MISMATCH', h))
  }
})

t.test('tx and block-hash indexes: ERR_CHAIN_INDEX_MISMATCH at the block', async (t) => {
  const h = 3
  const id = chain.blocks[h]!.txs[4]!.id
  const cases: [string, number, (store: LevelKvStore) => Promise<void>][] = [
    ['a deleted tx index entry', h, (store) => del(store, layout.tx(id))],
    ['a tx index entry pointing at the wrong index', h, (store) => put(store, layout.tx(id), encode([h, 5]))],
    ['a tx index entry pointing at the wrong block', h, (store) => put(store, layout.tx(id), encode([h + 1, 4]))],
    ['a genesis tx index entry altered', 0, (store) => put(store, layout.tx(chain.blocks[0]!.txs[1]!.id), encode([0, 2]))],
    ['a deleted block-hash entry', 5, (store) => del(store, layout.blockHash(chain.blocks[5]!.hash))],
    ['a block-hash entry naming another height', 5, (store) => put(store, layout.blockHash(chain.blocks[5]!.hash), layout.block(6).subarray(1))]
  ]
  for (const [name, height, edit] of cases) {
    t.test(name, async (t) => expectUnsound(t, await tampered(t, edit), 'ERR_CHAIN_INDEX_MISMATCH', height))
  }
  t.test(
    'an added tx index entry for a tx no block holds',
    async (t) => {
      const report = await tampered(t, (store) => put(store, layout.tx(sha256(Uint8Array.of(9))), encode([3, 0])))
      t.match(report, { ok: false, code: 'ERR_CHAIN_INDEX_MISMATCH' })
    }
  )
})

t.test('the head record: ERR_CHAIN_HEAD_MISMATCH', async (t) => {
  const headRecord = (h: number): Uint8Array =>
    encode({ height: h, hash: chain.blocks[h]!.hash, time: chain.blocks[h]!.header.time, stateDigest: chain.blocks[h + 1]!.header.stateRoot })
  t.test('naming a lower height, with blocks beyond it', async (t) => {
    const lower = 4
    const report = await tampered(t, (store) => put(store, layout.head, headRecord(lower)))
    expectUnsound(t, report, 'ERR_CHAIN_HEAD_MISMATCH', lower + 1)
  })
  t.test('naming the right height and the wrong hash', async (t) => {
    const report = await tampered(t, async (store) => {
      const head = decode<Record<string, unknown>>((await store.get(layout.head))!)
      await put(store, layout.head, encode({ ...head, hash: chain.blocks[chain.height - 1]!.hash }))
    })
    expectUnsound(t, report, 'ERR_CHAIN_HEAD_MISMATCH', chain.height)
  })
  t.test(
    'naming the right block with a wrong state digest',
    async (t) => {
      const report = await tampered(t, async (store) => {
        const head = decode<Record<string, unknown>>((await store.get(layout.head))!)
        await put(store, layout.head, encode({ ...head, stateDigest: new Uint8Array(32).fill(1) }))
      })
      expectUnsound(t, report, 'ERR_CHAIN_HEAD_MISMATCH', chain.height)
    }
  )
})

t.test(
  'the network record naming another network',
  async (t) => {
    const report = await tampered(t, (store) => put(store, layout.network, sha256(Uint8Array.of(1))))
    t.match(report, { ok: false })
  }
)
