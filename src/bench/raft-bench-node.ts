/**
 * One process of the consensus benchmark: a Raft driver over real libp2p and the synced LevelDB Raft
 * log, applying opaque 256-byte entries (no ledger). Talks to the parent by JSON lines:
 * out: {event:'role',role,leader,t} | {event:'load',entries,ms,latencies:{p50,p99}}
 * in:  `load <ms>` (the leader proposes as fast as the flow-control window allows for that long).
 */
import '../polyfills.js'
import { createInterface } from 'node:readline'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { fromHex } from '../crypto/index.js'
import { LevelKvStore } from '../ledger/index.js'
import { createP2pNode } from '../p2p/index.js'
import { decodeRaftMessage, encodeRaftMessage } from '../p2p/raft-codec.js'
import { LevelRaftStorage, RaftDriver, silentLogger } from '../node/index.js'
import type { Message } from '../consensus/index.js'

interface Peer {
  id: number
  peerId: string
  addr: string
}

const [dir, idArg, seedHex, peersJson] = process.argv.slice(2)
const id = Number(idArg)
const peers = JSON.parse(peersJson!) as Peer[]
const me = peers.find((p) => p.id === id)!
const out = (o: object): void => void process.stdout.write(JSON.stringify(o) + '\n')

const p2p = createP2pNode({ privateKey: fromHex(seedHex!), listen: [me.addr] })
await p2p.start()
const others = peers.filter((p) => p.id !== id)
p2p.setAllowedPeers(others.map((p) => p.peerId))
for (const p of others) p2p.setPeerAddresses(p.peerId, [`${p.addr}/p2p/${p.peerId}`])
const peerOf = new Map(peers.map((p) => [p.id, p.peerId]))
const idOf = new Map(peers.map((p) => [p.peerId, p.id]))

const storage = await LevelRaftStorage.open(new LevelKvStore(join(dir!, 'raft')), { voters: peers.map((p) => p.id), learners: [] })
const proposedAt = new Map<number, number>() // last index of a batch -> when proposed
const latencies: number[] = []
const driver = new RaftDriver({
  id,
  storage,
  logger: silentLogger(),
  transport: {
    send: (m: Message) => p2p.send(peerOf.get(m.to)!, encodeRaftMessage(m)),
    onMessage: (handler) =>
      p2p.onMessage((from, bytes) => {
        const m = decodeRaftMessage(bytes)
        if (idOf.get(from) === m.from) handler(m)
      })
  },
  stateMachine: { apply: async () => {}, restore: async () => {} }
})
driver.on('softState', (s) => out({ event: 'role', role: s.role, leader: s.leader, t: Date.now() }))
driver.on('applied', (index) => {
  for (const [last, at] of proposedAt) {
    if (last > index) continue
    latencies.push(performance.now() - at)
    proposedAt.delete(last)
  }
})
driver.start()

const batchEntries = 64
const inflightBatchesMax = 32
const payload = randomBytes(256)

async function load(ms: number): Promise<void> {
  const started = performance.now()
  let entries = 0
  const startApplied = driver.applied
  while (performance.now() - started < ms) {
    if (driver.role !== 'leader') break
    if (proposedAt.size < inflightBatchesMax) {
      const at = driver.proposeBatch(Array.from({ length: batchEntries }, () => payload))
      proposedAt.set(at.lastIndex, performance.now())
      entries += batchEntries
    }
    await new Promise((r) => setImmediate(r))
  }
  const elapsed = performance.now() - started
  const committed = driver.applied - startApplied
  latencies.sort((a, b) => a - b)
  const q = (p: number): number => Math.round((latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0) * 10) / 10
  out({ event: 'load', proposed: entries, committed, ms: Math.round(elapsed), latencies: { p50: q(0.5), p99: q(0.99) } })
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, arg] = line.split(' ')
  if (cmd === 'load') void load(Number(arg))
})
process.on('SIGTERM', () => {
  void driver
    .stop()
    .then(() => p2p.stop())
    .then(() => storage.close())
    .then(() => process.exit(0))
})
