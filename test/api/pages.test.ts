/** The paged reads, against a real node: GET /v1/state (world state under a prefix) and GET /v1/blocks (exact block bytes), and the bytes of GET /v1/blocks/{h}. */
import t from 'tap'
import { decode, toHex } from '../../src/crypto/index.js'
import { decodeBlock } from '../../src/ledger/index.js'
import { ApiError } from '../../src/api/index.js'
import { blockPageBlocksMax, statePageEntriesMax } from '../../src/api/constants.js'
import { apiFixture, dataHash } from './fixture.js'

t.test('state pages: every entry under the prefix once, in key order, with the values the node holds', async (t) => {
  const { node, admin, url, client } = await apiFixture(t)
  const b = await client.build(admin)
  const ids = ['d3', 'd1', 'd5', 'd2', 'd4']
  for (const id of ids) await client.submit(b.dataAdd({ id, hash: dataHash() }))

  const seen: string[] = []
  let after: string | undefined
  let pages = 0
  for (;;) {
    const page = await client.stateList('data/', { limit: 2, ...(after === undefined ? {} : { after }) })
    pages++
    t.equal(page.height, node.head.height)
    t.ok(page.entries.length <= 2, 'at most the limit')
    for (const e of page.entries) {
      seen.push(e.key)
      t.same(e.value, await node.getState(e.key), `${e.key}: the value the node holds`)
    }
    if (page.next === undefined) break
    t.equal(page.next, page.entries.at(-1)!.key, 'next is the last key of the page')
    after = page.next
  }
  t.same(seen, ids.map((id) => `data/${id}`).sort(), 'each key once, in order')
  t.equal(pages, 3, '5 entries in pages of 2')
  t.match(decode((await client.stateList('data/d1')).entries[0]!.value), { owner: admin.publicKey, derivedFrom: [] }, 'values are the CBOR records')

  const all = await client.stateList('')
  t.ok(all.entries.some((e) => e.key === 'network'), 'no prefix: the whole state')
  t.same((await client.stateList('nothing-here/')).entries, [], 'an empty prefix range')
  const tail = await client.stateList('data/', { after: 'data/d4' })
  t.same(tail.entries.map((e) => e.key), ['data/d5'])
  t.equal(tail.next, undefined, 'the last page has no next')

  for (const [query, why] of [
    ['prefix=data/&limit=0', 'limit 0'],
    [`prefix=data/&limit=${statePageEntriesMax + 1}`, 'limit past the max'],
    ['prefix=data/&after=device/x', 'after outside the prefix'],
    ['limit=abc', 'limit not a number']
  ] as const) {
    const res = await fetch(`${url}/v1/state?${query}`)
    t.equal(res.status, 400, why)
    t.equal(((await res.json()) as { code: string }).code, 'ERR_API_BAD_REQUEST', why)
  }
  const refused = await client.stateList('data/', { limit: 0 }).catch((e: unknown) => e)
  t.ok(refused instanceof ApiError && refused.code === 'ERR_API_BAD_REQUEST', 'the client passes the code through')
})

t.test('a block carries its exact stored bytes, which decode to the same block', async (t) => {
  const { node, admin, client } = await apiFixture(t)
  const b = await client.build(admin)
  const committed = await client.submit(b.dataAdd({ id: 'x', hash: dataHash() }))
  if ('pending' in committed) return t.fail('waited')
  const view = await client.block(committed.height)
  const stored = (await node.getBlock(committed.height))!
  t.equal(view.bytes, toHex(stored.bytes), 'the stored bytes')
  const decoded = decodeBlock(Buffer.from(view.bytes, 'hex'))
  t.equal(toHex(decoded.hash), view.hash, 'the hash is the hash of those bytes')
  t.equal(toHex(decoded.txs[committed.index]!.id), committed.id)
})

t.test('block pages: every block from a height on, exact bytes, next until the head', async (t) => {
  const { node, admin, url, client } = await apiFixture(t)
  const b = await client.build(admin)
  for (let i = 0; i < 4; i++) await client.submit(b.dataAdd({ id: `p${i}`, hash: dataHash() }))
  const head = node.head
  const seen: number[] = []
  let from: number | undefined = 0
  while (from !== undefined) {
    const page = await client.blocks(from, { limit: 2 })
    t.same(page.head, { height: head.height, hash: toHex(head.hash) })
    t.ok(page.blocks.length >= 1 && page.blocks.length <= 2)
    for (const block of page.blocks) {
      const stored = (await node.getBlock(block.height))!
      t.same(block.bytes, stored.bytes, `block ${block.height}: the stored bytes`)
      t.equal(block.hash, toHex(stored.hash))
      seen.push(block.height)
    }
    from = page.next
  }
  t.same(seen, Array.from({ length: head.height + 1 }, (_, h) => h), 'every height once, in order')
  t.same((await client.blocks(head.height + 1)).blocks, [], 'past the head: no blocks')
  t.equal((await client.blocks(head.height)).next, undefined, 'no next at the head')
  for (const [query, why] of [
    ['limit=0', 'limit 0'],
    [`limit=${blockPageBlocksMax + 1}`, 'limit past the max'],
    ['from=-1', 'a negative height']
  ] as const) {
    const res = await fetch(`${url}/v1/blocks?${query}`)
    t.equal(res.status, 400, why)
    t.equal(((await res.json()) as { code: string }).code, 'ERR_API_BAD_REQUEST', why)
  }
})
