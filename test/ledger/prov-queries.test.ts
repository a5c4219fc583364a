/**
 * Provenance queries from the ledger's indexes (LevelDB): lineage both ways with depth and limits,
 * who touched X (with the signer associations the index only implies), everything an agent did,
 * the history and the state of X, the historian by height range and by signer, and bad input.
 */
import t from 'tap'
import type { Test } from 'tap'
import { decode, toHex } from '../../src/crypto/index.js'
import { ProvQueryError } from '../../src/ledger/index.js'
import type { HistorianEntry, ProvQueries } from '../../src/ledger/index.js'
import type { LineageResult } from '../../src/prov/index.js'
import { genesisTime, makeNetwork } from './chain-fixture.js'
import { activityOf, applyTxs, data, itemTx, keyAgent, namedTx, openProvLedger } from './prov-fixture.js'
import type { ProvLedger } from './prov-fixture.js'

/**
 * Blocks 1-3: a chain c0 <- c1 <- ... <- c14 (admin), block 2 also a failing data.add (c3 again);
 * block 4: a tree r <- a1, a2; a1 <- b1, b2; a2 <- b3; m <- b1, b3 (node), and node2 added (admin);
 * block 5: node2 removed, c15 <- c14.
 */
async function scenario(t: Test): Promise<ProvLedger & { node2: ReturnType<typeof makeNetwork>['node'] }> {
  const p = await openProvLedger(t)
  const chain = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => itemTx(p, { id: `c${from + k}`, ...(from + k > 0 ? { parents: [`c${from + k - 1}`] } : {}) }))
  t.strictSame(await applyTxs(p, chain(0, 4)), [true, true, true, true, true])
  const dup = namedTx(p, 'dup', p.net.admin, 'data.add', { id: 'c3', hash: new Uint8Array(32) })
  t.strictSame(await applyTxs(p, [...chain(5, 7), dup, ...chain(8, 9)]), [true, true, true, false, true, true])
  t.strictSame(await applyTxs(p, chain(10, 14)), [true, true, true, true, true])
  const tree = [
    { id: 'r' }, { id: 'a1', parents: ['r'] }, { id: 'a2', parents: ['r'] }, { id: 'b1', parents: ['a1'] },
    { id: 'b2', parents: ['a1'] }, { id: 'b3', parents: ['a2'] }, { id: 'm', parents: ['b1', 'b3'] }
  ].map((item) => itemTx(p, { ...item, signer: 'node' }))
  const node2 = makeNetwork().node
  const add = namedTx(p, 'add-node2', p.net.admin, 'node.add', { org: 'org1', publicKey: node2.publicKey, name: 'node2', addrs: [] })
  t.strictSame(await applyTxs(p, [...tree, add]), [true, true, true, true, true, true, true, true])
  const remove = namedTx(p, 'remove-node2', p.net.admin, 'node.remove', { publicKey: node2.publicKey })
  t.strictSame(await applyTxs(p, [remove, itemTx(p, { id: 'c15', parents: ['c14'] })]), [true, true])
  return { ...p, node2 }
}

function ids(r: LineageResult): string[] {
  return r.nodes.map((n) => `${n.id}@${n.depth}`)
}

t.test('provenance queries over a ledger of derivation chains and trees', async (t) => {
  const p = await scenario(t)
  const q: ProvQueries = p.queries
  const tx = (name: string): string => activityOf(p, name)
  const admin = keyAgent(p.net.admin)
  const node = keyAgent(p.net.node)

  t.test('backward lineage with depth and limit', async (t) => {
    const r = await q.lineage(data('c14'), 'backward', { depth: 3 })
    t.strictSame(ids(r), [`${data('c13')}@1`, `${tx('c14')}@1`, `${data('c12')}@2`, `${tx('c13')}@2`, `${data('c11')}@3`, `${tx('c12')}@3`])
    t.strictSame(r.nodes.map((n) => n.kind), ['entity', 'activity', 'entity', 'activity', 'entity', 'activity'])
    t.equal(r.truncated, false, 'a depth bound is the caller’s choice, not truncation')
    t.ok(r.edges.some((e) => e.relation === 'used' && e.from === tx('c14') && e.to === data('c13')))
    const limited = await q.lineage(data('c14'), 'backward', { depth: 3, limit: 4 })
    t.strictSame(ids(limited), ids(r).slice(0, 4))
    t.equal(limited.truncated, true)
    const all = await q.lineage(data('c14'), 'backward', { depth: 64 })
    t.equal(all.nodes.filter((n) => n.kind === 'entity').length, 14, 'c13 to c0')
    t.equal(all.nodes.filter((n) => n.kind === 'activity').length, 15, 'the txs of c14 to c0')
    t.equal(all.nodes.at(-1)!.id, tx('c0'))
    t.equal(all.truncated, false)
    t.notOk(all.nodes.some((n) => n.id === tx('dup')), 'a failed tx recorded nothing')
    const merge = await q.lineage(data('m'), 'backward', { depth: 64 })
    t.strictSame(ids(merge), [
      `${data('b1')}@1`, `${data('b3')}@1`, `${tx('m')}@1`,
      `${data('a1')}@2`, `${tx('b1')}@2`, `${data('a2')}@2`, `${tx('b3')}@2`,
      `${data('r')}@3`, `${tx('a1')}@3`, `${tx('a2')}@3`, `${tx('r')}@4`
    ])
  })

  t.test('forward lineage', async (t) => {
    t.strictSame(ids(await q.lineage(data('c0'), 'forward', { depth: 2 })), [`${data('c1')}@1`, `${tx('c1')}@1`, `${data('c2')}@2`, `${tx('c2')}@2`])
    const tree = await q.lineage(data('r'), 'forward', { depth: 64 })
    t.strictSame(ids(tree), [
      `${data('a1')}@1`, `${data('a2')}@1`, `${tx('a1')}@1`, `${tx('a2')}@1`,
      `${data('b1')}@2`, `${data('b2')}@2`, `${tx('b1')}@2`, `${tx('b2')}@2`, `${data('b3')}@2`, `${tx('b3')}@2`,
      `${data('m')}@3`, `${tx('m')}@3`
    ])
    const fromTx = await q.lineage(tx('m'), 'forward', { depth: 1 })
    t.strictSame(ids(fromTx), [`${data('m')}@1`], 'a tx activity as the start: what it generated')
    const leaf = await q.lineage(data('c15'), 'forward')
    t.strictSame(leaf.nodes, [])
    t.equal(leaf.truncated, false)
    t.strictSame((await q.lineage('tom:data/never', 'backward')).nodes, [], 'an unknown id has no lineage')
  })

  t.test('who touched X: activities, attributed and associated agents, delegations', async (t) => {
    const c5 = await q.whoTouched(data('c5'))
    t.strictSame(c5.activities, [{ id: tx('c5'), relation: 'wasGeneratedBy' }, { id: tx('c6'), relation: 'used' }])
    t.strictSame(c5.agents, [
      { id: admin, relation: 'wasAttributedTo', via: data('c5') },
      { id: 'tom:org/org1', relation: 'actedOnBehalfOf', via: admin }
    ])
    t.equal(c5.truncated, false)
    const b1 = await q.whoTouched(data('b1'))
    t.strictSame(b1.agents, [{ id: node, relation: 'wasAttributedTo', via: data('b1') }])
    // node2 is attributed to its org; only the implied association names the admin who signed.
    const node2 = await q.whoTouched(`tom:node/${toHex(p.node2.publicKey)}`)
    t.strictSame(node2.activities, [{ id: tx('add-node2'), relation: 'wasGeneratedBy' }, { id: tx('remove-node2'), relation: 'wasInvalidatedBy' }])
    t.strictSame(node2.agents, [
      { id: 'tom:org/org1', relation: 'wasAttributedTo', via: `tom:node/${toHex(p.node2.publicKey)}` },
      { id: admin, relation: 'wasAssociatedWith', via: tx('add-node2') }
    ])
    const limited = await q.whoTouched(data('c5'), { limit: 1 })
    t.strictSame(limited.activities, [{ id: tx('c5'), relation: 'wasGeneratedBy' }])
    t.strictSame(limited.agents, [])
    t.equal(limited.truncated, true)
  })

  t.test('everything an agent did, with tx type, height and time; paged', async (t) => {
    const byNode = await q.activitiesOf(node)
    t.equal(byNode.activities.length, 7)
    t.strictSame(byNode.activities.map((a) => a.activity), ['r', 'a1', 'a2', 'b1', 'b2', 'b3', 'm'].map(tx))
    t.ok(byNode.activities.every((a) => a.implied && a.tx!.type === 'data.add' && a.tx!.height === 4 && a.tx!.time === genesisTime + 4000 && a.tx!.receipt.ok))
    t.strictSame(byNode.activities.map((a) => a.at.index), [0, 1, 2, 3, 4, 5, 6])
    t.equal(byNode.truncated, false)
    t.equal(byNode.next, undefined)
    const all = await q.activitiesOf(admin)
    t.strictSame(all.activities.slice(0, 3).map((a) => a.tx!.type), ['network.create', 'org.create', 'node.add'], 'genesis txs first')
    t.equal(all.activities.length, 3 + 15 + 3, 'genesis, c0-c14, node2 added and removed, c15; not the failed tx')
    t.notOk(all.activities.some((a) => a.activity === tx('dup')))
    t.strictSame((await q.activityIdsOf(admin)).activities, all.activities.map((a) => a.activity), 'the same answer as src/prov activitiesOf')
    const pages: string[] = []
    let cursor: string | undefined
    let rounds = 0
    do {
      const page = await q.activitiesOf(admin, { limit: 5, ...(cursor === undefined ? {} : { cursor }) })
      pages.push(...page.activities.map((a) => a.activity))
      t.equal(page.truncated, page.next !== undefined)
      cursor = page.next
    } while (cursor !== undefined && ++rounds < 20)
    t.strictSame(pages, all.activities.map((a) => a.activity), 'pages of 5 add up to the whole')
    t.strictSame((await q.activitiesOf('tom:org/org1')).activities, [], 'an org signs nothing')
  })

  t.test('history of X: every edge touching it, in chain order, with what the index knows; paged', async (t) => {
    const h = await q.history(data('c5'))
    t.strictSame(h.kinds, ['entity'])
    t.strictSame(h.generation, { at: { height: 2, index: 0 }, activity: tx('c5') })
    t.strictSame(h.firstUse?.at, { height: 2, index: 1 })
    t.equal(h.invalidation, undefined)
    t.strictSame(
      h.events.map((e) => `${e.at.height}.${e.at.index} ${e.direction} ${e.edge.relation} ${e.edge.from}>${e.edge.to}`),
      [
        `2.0 backward wasGeneratedBy ${data('c5')}>${tx('c5')}`,
        `2.0 backward wasAttributedTo ${data('c5')}>${admin}`,
        `2.0 backward wasDerivedFrom ${data('c5')}>${data('c4')}`,
        `2.1 forward used ${tx('c6')}>${data('c5')}`,
        `2.1 forward wasDerivedFrom ${data('c6')}>${data('c5')}`
      ]
    )
    const paged: typeof h.events[number][] = []
    let cursor: string | undefined
    let rounds = 0
    do {
      const page = await q.history(data('c5'), { limit: 2, ...(cursor === undefined ? {} : { cursor }) })
      t.ok(page.events.length <= 2)
      paged.push(...page.events)
      cursor = page.next
    } while (cursor !== undefined && ++rounds < 10)
    t.strictSame(paged, h.events, 'pages of 2 add up to the whole')

    const ofTx = await q.history(tx('c5'))
    t.strictSame(ofTx.kinds, ['activity'])
    t.strictSame(ofTx.events.map((e) => `${e.direction} ${e.edge.relation} ${e.implied}`), ['backward wasAssociatedWith true', 'forward wasGeneratedBy false', 'backward used false'])
    const failed = await q.history(tx('dup'))
    t.strictSame([failed.kinds, failed.events], [[], []], 'a failed tx is no activity')
    const ofNode = await q.history(node)
    t.strictSame(ofNode.kinds, ['agent'], 'a signer is an agent without being declared')
    t.equal(ofNode.events.length, 14)
    t.strictSame(ofNode.events.slice(0, 2).map((e) => `${e.edge.relation} ${e.implied}`), ['wasAssociatedWith true', 'wasAttributedTo false'], 'a tx’s association comes before its records')
    const node2 = await q.history(`tom:node/${toHex(p.node2.publicKey)}`)
    t.strictSame(node2.kinds, ['entity', 'agent'])
    t.strictSame(node2.invalidation?.at, { height: 5, index: 0 })
  })

  t.test('state of X at a height', async (t) => {
    const before = await q.stateAt(data('c10'), 2)
    t.strictSame(before, { id: data('c10'), height: 2, live: false, stateKey: 'data/c10' })
    const at = await q.stateAt(data('c10'), 3)
    t.equal(at.live, true)
    t.strictSame(at.generation?.at, { height: 3, index: 0 })
    t.equal(decode<{ height: number; derivedFrom: string[] }>(at.value!).height, 3)
    t.strictSame(decode<{ derivedFrom: string[] }>(at.value!).derivedFrom, ['c9'])
    const n2 = `tom:node/${toHex(p.node2.publicKey)}`
    const alive = await q.stateAt(n2, 4)
    t.equal(alive.live, true)
    t.ok(alive.value)
    const gone = await q.stateAt(n2, 5)
    t.equal(gone.live, false)
    t.strictSame(gone.invalidation?.at, { height: 5, index: 0 })
    t.equal(gone.value, undefined, 'removed from the state in the same block')
    t.strictSame((await q.stateAt(n2, 4)).invalidation, undefined, 'the invalidation is not seen before its height')
  })

  t.test('historian by height range and by signer; paged', async (t) => {
    const range = await q.historian({ from: 1, to: 2 })
    t.equal(range.entries.length, 11)
    t.equal(range.next, undefined)
    const dup = range.entries.find((e) => e.activity === tx('dup'))!
    t.strictSame(dup.receipt, { ok: false, code: 'ERR_DATA_EXISTS', message: dup.receipt.ok ? '' : dup.receipt.message })
    t.strictSame([dup.height, dup.index, dup.type, dup.signer], [2, 3, 'data.add', toHex(p.net.admin.publicKey)])
    t.strictSame(range.entries.map((e) => e.time), [...Array(5).fill(genesisTime + 1000), ...Array(6).fill(genesisTime + 2000)])
    const whole = await q.historian({ from: 0, to: p.ledger.head!.height })
    t.equal(whole.entries.length, 3 + 5 + 6 + 5 + 8 + 2)
    const paged: HistorianEntry[] = []
    let cursor: string | undefined
    let rounds = 0
    do {
      const page = await q.historian({ from: 0, to: 5 }, { limit: 4, ...(cursor === undefined ? {} : { cursor }) })
      t.ok(page.entries.length <= 4)
      paged.push(...page.entries)
      cursor = page.next
    } while (cursor !== undefined && ++rounds < 20)
    t.strictSame(paged, whole.entries, 'pages of 4 add up to the whole')

    const byNode = await q.historianOfSigner(p.net.node.publicKey)
    t.strictSame(byNode.entries.map((e) => e.activity), ['r', 'a1', 'a2', 'b1', 'b2', 'b3', 'm'].map(tx))
    t.strictSame(await q.historianOfSigner(node), byNode, 'by agent id or by key')
    const byAdmin = await q.historianOfSigner(p.net.admin.publicKey, { limit: 4 })
    t.equal(byAdmin.entries.length, 4)
    const rest = await q.historianOfSigner(p.net.admin.publicKey, { limit: 100, cursor: byAdmin.next! })
    t.strictSame([...byAdmin.entries, ...rest.entries], whole.entries.filter((e) => e.signer === toHex(p.net.admin.publicKey) && e.receipt.ok), 'the committed txs it signed')
  })

  t.test('bad input gets a clear, typed error', async (t) => {
    const cases: [string, () => Promise<unknown>, string][] = [
      ['not a qualified name', () => q.lineage('no-prefix', 'backward'), 'ERR_PROV_QUERY_BAD_ID'],
      ['an empty id', () => q.whoTouched(''), 'ERR_PROV_QUERY_BAD_ID'],
      ['a name too long', () => q.history(`tom:${'x'.repeat(600)}`), 'ERR_PROV_QUERY_BAD_ID'],
      ['a bad direction', () => q.lineage(data('c1'), 'sideways' as 'forward'), 'ERR_PROV_QUERY_BAD_ID'],
      ['depth 65', () => q.lineage(data('c1'), 'backward', { depth: 65 }), 'ERR_PROV_QUERY_LIMIT'],
      ['a negative limit', () => q.activitiesOf(admin, { limit: -1 }), 'ERR_PROV_QUERY_LIMIT'],
      ['a fractional limit', () => q.whoTouched(data('c1'), { limit: 1.5 }), 'ERR_PROV_QUERY_LIMIT'],
      ['a height above the head', () => q.stateAt(data('c1'), 6), 'ERR_PROV_QUERY_BAD_HEIGHT'],
      ['a negative height', () => q.historian({ from: -1, to: 2 }), 'ERR_PROV_QUERY_BAD_HEIGHT'],
      ['a reversed range', () => q.historian({ from: 3, to: 2 }), 'ERR_PROV_QUERY_BAD_HEIGHT'],
      ['a historian page too long', () => q.historian({ from: 0, to: 2 }, { limit: 10_001 }), 'ERR_PROV_QUERY_LIMIT'],
      ['a cursor out of its range', () => q.historian({ from: 0, to: 2 }, { cursor: '000000000004.000000' }), 'ERR_PROV_QUERY_BAD_CURSOR'],
      ['a made-up cursor', () => q.history(data('c1'), { cursor: 'abc' }), 'ERR_PROV_QUERY_BAD_CURSOR'],
      ['another query’s cursor', () => q.history(data('c1'), { cursor: '000000000001.000000' }), 'ERR_PROV_QUERY_BAD_CURSOR'],
      ['a signer that is no key', () => q.historianOfSigner('tom:org/org1'), 'ERR_PROV_QUERY_BAD_ID'],
      ['a short key', () => q.historianOfSigner(new Uint8Array(31)), 'ERR_PROV_QUERY_BAD_ID']
    ]
    for (const [what, run, code] of cases) await t.rejects(run(), { name: 'ProvQueryError', code }, what)
    t.ok(new ProvQueryError('ERR_PROV_QUERY_BAD_ID', 'x') instanceof Error)
    await t.rejects(q.lineage(data('c14'), 'backward', { signal: AbortSignal.abort() }), { name: 'AbortError' }, 'an aborted query stops')
  })
})
