/**
 * Three real nodes in this process (LevelDB, Raft over libp2p on loopback), the API on a follower:
 * its status, its event stream, forwarding to the leader with wait=false (202 once the leader admitted
 * the tx, the leader's refusals with their codes); then a leader without a quorum whose mempool fills
 * up, refusing with ERR_MEMPOOL_FULL with and without wait.
 */
import t from 'tap'
import { loadKeyFile, Signer, toHex } from '../../src/crypto/index.js'
import { TomClient } from '../../src/api/index.js'
import type { NodeEvent } from '../../src/api/index.js'
import { findFreePorts, initLocalNetwork, silentLogger, TomNode } from '../../src/node/index.js'
import { dataHash, startApi } from './fixture.js'

/** Resolves when `check` holds, re-checked on every role change and block of `nodes`; rejects after `ms`. */
function until(nodes: TomNode[], check: () => boolean, what: string, ms = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const test = (): void => {
      if (!check()) return
      stop()
      resolve()
    }
    const timer = setTimeout(() => {
      stop()
      reject(new Error(`timed out waiting for ${what}`))
    }, ms)
    const stop = (): void => {
      clearTimeout(timer)
      for (const n of nodes) n.off('role', test).off('block', test)
    }
    for (const n of nodes) n.on('role', test).on('block', test)
    test()
  })
}

async function blockWith(events: AsyncIterator<NodeEvent>, id: string): Promise<number> {
  for (;;) {
    const { done, value } = await events.next()
    if (done === true) throw new Error('the stream ended')
    if (value.event === 'block' && value.txs.some((x) => x.id === id)) return value.height
  }
}

t.test('the API on a follower; then a leader without quorum fills its mempool', async (t) => {
  const net = await initLocalNetwork({ dir: t.testdir(), nodes: 3, basePort: await findFreePorts(3) })
  const admin = new Signer(await loadKeyFile(net.adminKeyPath))
  const nodes: TomNode[] = []
  for (const info of net.nodes) {
    // A mempool of one tx, so that the leader without quorum below is full after two; no health txs;
    // an election timeout of 3 s, so that the leader keeps its role for 3 s at least once alone.
    const config = { orchestrator: false, nodeUnreachableMs: 3_600_000, mempoolTxMax: 1, electionTimeoutTicks: 60 }
    const node = await TomNode.open({ dir: info.dir, logger: silentLogger(), config })
    nodes.push(node)
    t.teardown(() => node.close())
  }
  for (const n of nodes) n.start()
  await until(nodes, () => nodes.some((n) => n.role.role === 'leader') && nodes.every((n) => n.role.leader !== 0 && n.role.leader === nodes.find((m) => m.role.role === 'leader')?.raftId), 'a leader all know')
  const leader = nodes.find((n) => n.role.role === 'leader')!
  const follower = nodes.find((n) => n !== leader)!
  const { url, client } = await startApi(t, follower)

  const status = await client.status()
  const peerOf = new Map(nodes.map((n) => [n.raftId, n.peerId]))
  t.equal(status.role, 'follower')
  t.equal(status.leader, leader.raftId)
  t.same(status.node, { name: follower.config.name, raftId: follower.raftId, publicKey: toHex(follower.publicKey), peerId: follower.peerId })
  t.same([...status.raft.voters].sort((a, b) => a.raftId - b.raftId), [...peerOf].sort(([a], [b]) => a - b).map(([raftId, peerId]) => ({ raftId, peerId })), 'the three founders vote, with their PeerIds')
  t.same(status.raft.learners, [])
  // Followers talk to the leader; to each other only during elections, so that link may be closed.
  t.ok(status.peers.ids.includes(leader.peerId), 'the follower is connected to the leader')
  t.equal(status.peers.connected, status.peers.ids.length)
  t.same([...leader.status().connectedPeers].sort(), nodes.filter((n) => n !== leader).map((n) => n.peerId).sort(), 'the leader, to both followers')
  t.equal(status.raft.term, leader.status().raft.term, "the leader's term")

  // wait=false through the follower: answered once the leader admitted the tx; the follower's stream sees it commit.
  const b = TomClient.sign.bind(TomClient, admin, leader.network)
  const events = await client.events({ from: follower.head.height })
  t.teardown(() => events.return?.())
  const forwarded = b('data.add', { id: 'via-follower', hash: dataHash() })
  const res = await fetch(`${url}/v1/txs?wait=false`, { method: 'POST', headers: { 'content-type': 'application/cbor' }, body: forwarded.bytes })
  t.equal(res.status, 202)
  const atLeader = leader.status().mempool.txs > 0 || (await leader.getTx(forwarded.id)) !== undefined
  t.ok(atLeader, 'the leader holds the tx when the follower answers')
  const height = await blockWith(events, toHex(forwarded.id))
  t.same((await client.tx(forwarded.id)).height, height, "the follower's stream delivered the block that holds it")
  const after = (await client.status()).raft
  // Entry 1 is the leader's empty entry, the block is a later one: the follower applied both.
  t.ok(after.lastIndex >= after.commitIndex && after.commitIndex >= after.appliedIndex && after.appliedIndex >= 2, `indexes: last ${after.lastIndex} >= commit ${after.commitIndex} >= applied ${after.appliedIndex} >= 2`)

  // The leader's refusals come back through the follower with their codes, with and without wait.
  const post = async (bytes: Uint8Array, wait: boolean): Promise<{ status: number; code: string }> => {
    const r = await fetch(`${url}/v1/txs?wait=${wait}`, { method: 'POST', headers: { 'content-type': 'application/cbor' }, body: bytes })
    return { status: r.status, code: ((await r.json()) as { code: string }).code }
  }
  const forged = Uint8Array.from(b('data.add', { id: 'forged', hash: dataHash() }).bytes)
  forged[7] = forged[7]! ^ 0xff
  const expired = b('data.add', { id: 'late', hash: dataHash() }, { expiresAt: 1 })
  for (const [name, bytes, code] of [['replay', forwarded.bytes, 'ERR_TX_REPLAY'], ['bad signature', forged, 'ERR_TX_BAD_SIGNATURE'], ['expired', expired.bytes, 'ERR_TX_EXPIRED']] as const) {
    t.same(await post(bytes, false), { status: 409, code }, `${name}: wait=false through the follower`)
    t.same(await post(bytes, true), { status: 409, code }, `${name}: wait=true through the follower`)
  }
  const viaWait = b('data.add', { id: 'via-follower-waited', hash: dataHash() })
  t.same(await post(viaWait.bytes, true).then((r) => r.status), 200, 'wait=true through the follower commits')

  // The followers go: the leader keeps its role for an election timeout but can commit nothing.
  const leaderApi = await startApi(t, leader)
  for (const n of nodes) if (n !== leader) await n.close()
  const postLeader = async (bytes: Uint8Array, wait: boolean): Promise<{ status: number; code: string | undefined }> => {
    const r = await fetch(`${leaderApi.url}/v1/txs?wait=${wait}`, { method: 'POST', headers: { 'content-type': 'application/cbor' }, body: bytes })
    return { status: r.status, code: ((await r.json()) as { code?: string }).code }
  }
  t.equal(leader.role.role, 'leader', 'still the leader')
  t.same(await postLeader(b('data.add', { id: 'stuck-1', hash: dataHash() }).bytes, false), { status: 202, code: undefined }, 'admitted: in a block that cannot commit')
  t.same(await postLeader(b('data.add', { id: 'stuck-2', hash: dataHash() }).bytes, false), { status: 202, code: undefined }, 'admitted: waits in the mempool')
  const third = b('data.add', { id: 'stuck-3', hash: dataHash() }).bytes
  t.same(await postLeader(third, false), { status: 503, code: 'ERR_MEMPOOL_FULL' }, 'mempool full: wait=false')
  t.same(await postLeader(third, true), { status: 503, code: 'ERR_MEMPOOL_FULL' }, 'mempool full: wait=true')
  t.equal(leader.role.role, 'leader', 'all of it while the leader still led')
})
