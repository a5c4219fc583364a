/**
 * A seeded simulation of a Raft group: 3 to 7 RawNodes over a network that drops, duplicates,
 * delays and reorders messages, partitions and heals, and crash-restarts nodes (a crashed node
 * keeps only what it persisted before advance(), per the Ready contract), with membership changes,
 * compaction and snapshots in the mix. After every step it checks Election Safety, Log Matching,
 * Leader Completeness and State Machine Safety (§5.2-§5.4, Figure 3); at the end it heals
 * everything and requires a proposal to commit within a bounded number of ticks. Everything is
 * driven by one seed, so any failure replays from it. Pure: no clock, no I/O.
 */
import { decodeConfChange } from './conf-change.js'
import { ConfChangeRefusedError, ProposalDroppedError, RaftInvariantError, ReadIndexDroppedError } from './errors.js'
import { SeededRandom } from './random.js'
import type { RaftConfig } from './raft.js'
import { RawNode } from './raw-node.js'
import { MemoryStorage } from './storage.js'
import type { ConfState, Entry, Message, NodeId, Ready, Snapshot } from './types.js'

export interface SimulationOptions {
  seed: number
  /** Random steps before the final heal-and-progress phase. */
  steps?: number
  /** Genesis voters, 3 to 7; default picked from the seed. */
  nodes?: number
  /** Break the core on purpose (see RaftConfig.unsafeFaults), to prove the checker catches it. */
  unsafeFaults?: RaftConfig['unsafeFaults']
  /** Break the driver on purpose: send a Ready's messages before persisting it (violates the Ready contract). */
  unsafeSendBeforePersist?: boolean
  /** Turn off fault classes to isolate a failure. All default true. */
  crashes?: boolean
  partitions?: boolean
  membership?: boolean
  compaction?: boolean
  /** Receives a line per simulation event, for replaying a failing seed by hand. */
  trace?: (line: string) => void
}

export interface SimulationStats {
  ticks: number
  messagesDelivered: number
  messagesDropped: number
  leadersElected: number
  maxTerm: number
  entriesApplied: number
  proposalsCommitted: number
  crashes: number
  partitions: number
  confChangesApplied: number
  snapshotsInstalled: number
  compactions: number
  readsServed: number
}

export interface SimulationResult {
  seed: number
  ok: boolean
  /** Steps run (random phase plus final phase). */
  steps: number
  /** What broke, with the seed, when ok is false. */
  violation?: string
  stats: SimulationStats
}

const electionTimeoutTicks = 10
const heartbeatIntervalTicks = 2
/** Ticks the healed cluster gets to commit a new proposal before the run fails for lack of progress. */
const progressBoundTicks = 40 * electionTimeoutTicks
const nodesAliveMax = 7
const votersMin = 2

class Violation extends Error {
  override readonly name = 'SimulationViolation'
}

/** Per-seed network and fault rates, so that seeds cover calm and hostile runs alike. */
interface Profile {
  dropRate: number
  duplicateRate: number
  delayTicksMax: number
  crashRate: number
  preVote: boolean
  checkQuorum: boolean
  /** Percent of random steps that tick the clock (more ticks, more elections). */
  tickPercent: number
}

interface InFlight {
  m: Message
  deliverAt: number
}

/** The application on one node: a running digest over the applied entries, as a ledger's state root would be. */
interface AppState {
  applied: number
  digest: number
  confState: ConfState
}

interface SimNode {
  id: NodeId
  storage: MemoryStorage
  node: RawNode | undefined
  app: AppState
  incarnation: number
  downUntil: number
}

interface CommittedRecord {
  term: number
  data: Uint8Array
  commitTerm: number
}

interface AppliedRecord {
  term: number
  data: Uint8Array
  digest: number
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

function mix(h: number, v: number): number {
  h ^= v
  return Math.imul(h, 16777619) >>> 0
}

function applyDigest(digest: number, e: Entry): number {
  let h = mix(mix(digest, e.index), e.term)
  for (const b of e.data) h = mix(h, b)
  return h
}

function encodeAppSnapshot(app: AppState): Uint8Array {
  const out = new Uint8Array(12)
  const view = new DataView(out.buffer)
  view.setFloat64(0, app.applied)
  view.setUint32(8, app.digest)
  return out
}

function decodeAppSnapshot(data: Uint8Array): { applied: number; digest: number } {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  return { applied: view.getFloat64(0), digest: view.getUint32(8) }
}

function emptyStats(): SimulationStats {
  return {
    ticks: 0,
    messagesDelivered: 0,
    messagesDropped: 0,
    leadersElected: 0,
    maxTerm: 0,
    entriesApplied: 0,
    proposalsCommitted: 0,
    crashes: 0,
    partitions: 0,
    confChangesApplied: 0,
    snapshotsInstalled: 0,
    compactions: 0,
    readsServed: 0
  }
}

class Simulation {
  readonly #seed: number
  readonly #rand: SeededRandom
  readonly #opts: Required<Omit<SimulationOptions, 'unsafeFaults' | 'trace' | 'nodes' | 'unsafeSendBeforePersist'>>
  readonly #sendBeforePersist: boolean
  readonly #faults: RaftConfig['unsafeFaults']
  readonly #trace: (line: string) => void
  readonly #tracing: boolean
  readonly #genesis: ConfState
  readonly #nodes = new Map<NodeId, SimNode>()
  #nextId: NodeId
  #network: InFlight[] = []
  #now = 0
  #partition: Map<NodeId, number> | undefined
  #partitionUntil = 0
  #reliable = false
  #proposalSeq = 0
  readonly #profile: Profile
  readonly stats = emptyStats()
  // Checker state.
  readonly #leaderOfTerm = new Map<number, NodeId>()
  readonly #committed = new Map<number, CommittedRecord>()
  readonly #applied = new Map<number, AppliedRecord>()
  readonly #logEntries = new Map<number, Array<{ term: number; data: Uint8Array; prevTerm: number }>>()
  readonly #leaderCommitSeen = new Map<NodeId, number>()

  constructor(options: SimulationOptions) {
    this.#seed = options.seed
    this.#rand = new SeededRandom(options.seed)
    this.#opts = {
      seed: options.seed,
      steps: options.steps ?? 2000,
      crashes: options.crashes ?? true,
      partitions: options.partitions ?? true,
      membership: options.membership ?? true,
      compaction: options.compaction ?? true
    }
    this.#faults = options.unsafeFaults
    this.#sendBeforePersist = options.unsafeSendBeforePersist === true
    this.#trace = options.trace ?? ((): void => {})
    this.#tracing = options.trace !== undefined
    this.#profile = {
      dropRate: this.#rand.pick([0, 0.02, 0.05, 0.1, 0.2]),
      duplicateRate: this.#rand.pick([0, 0.03, 0.1]),
      delayTicksMax: this.#rand.pick([0, 1, 2, 4, 8]),
      crashRate: this.#rand.pick([0.001, 0.003, 0.01]),
      preVote: this.#rand.chance(0.7),
      checkQuorum: this.#rand.chance(0.7),
      tickPercent: this.#rand.pick([20, 30, 45])
    }
    const n = options.nodes ?? 3 + this.#rand.nextInt(3)
    this.#trace(`seed ${options.seed}: ${n} voters, profile ${JSON.stringify(this.#profile)}`)
    if (n < 1 || n > nodesAliveMax) throw new RangeError(`nodes must be 1 to ${nodesAliveMax}`)
    const voters: NodeId[] = []
    for (let id = 1; id <= n; id++) voters.push(id)
    this.#genesis = { voters, learners: [] }
    this.#nextId = n + 1
    for (const id of voters) this.#startNew(id)
  }

  // ---- nodes --------------------------------------------------------------------------------

  #startNew(id: NodeId): void {
    const storage = new MemoryStorage(this.#genesis)
    const sn: SimNode = { id, storage, node: undefined, app: { applied: 0, digest: 0, confState: storage.initialState().confState }, incarnation: 0, downUntil: 0 }
    this.#nodes.set(id, sn)
    this.#boot(sn)
  }

  /** (Re)starts a node from its durable storage; the application restores from the storage snapshot. */
  #boot(sn: SimNode): void {
    sn.incarnation++
    const snap = sn.storage.snapshot()
    const restored = snap.metadata.index > 0 ? decodeAppSnapshot(snap.data) : { applied: 0, digest: 0 }
    sn.app = { applied: restored.applied, digest: restored.digest, confState: snap.metadata.confState }
    const config: RaftConfig = {
      id: sn.id,
      storage: sn.storage,
      random: new SeededRandom(this.#seed * 7919 + sn.id * 104729 + sn.incarnation),
      applied: snap.metadata.index,
      electionTimeoutTicks,
      heartbeatIntervalTicks,
      appendInflightMax: 4,
      appendBytesMax: 64,
      preVote: this.#profile.preVote,
      checkQuorum: this.#profile.checkQuorum
    }
    if (this.#faults !== undefined) config.unsafeFaults = this.#faults
    sn.node = new RawNode(config)
    this.#trace(`t${this.#now} boot ${sn.id} (incarnation ${sn.incarnation}, snapshot ${snap.metadata.index})`)
  }

  #crash(sn: SimNode): void {
    sn.node = undefined
    sn.downUntil = this.#now + 1 + this.#rand.nextInt(3 * electionTimeoutTicks)
    this.stats.crashes++
    this.#trace(`t${this.#now} crash ${sn.id}`)
  }

  #live(): SimNode[] {
    const out: SimNode[] = []
    for (const sn of this.#nodes.values()) if (sn.node !== undefined) out.push(sn)
    return out
  }

  #leaders(): SimNode[] {
    return this.#live().filter((sn) => sn.node?.raft.role === 'leader')
  }

  // ---- network ------------------------------------------------------------------------------

  #connected(a: NodeId, b: NodeId): boolean {
    if (this.#partition === undefined) return true
    return this.#partition.get(a) === this.#partition.get(b)
  }

  #send(m: Message): void {
    if (!this.#reliable && this.#rand.chance(this.#profile.dropRate)) {
      this.#dropped(m)
      return
    }
    const delay = this.#reliable ? 0 : this.#rand.nextInt(this.#profile.delayTicksMax + 1)
    this.#network.push({ m, deliverAt: this.#now + delay })
    if (!this.#reliable && this.#rand.chance(this.#profile.duplicateRate)) {
      this.#network.push({ m, deliverAt: this.#now + this.#rand.nextInt(this.#profile.delayTicksMax + 3) })
    }
  }

  #dropped(m: Message): void {
    this.stats.messagesDropped++
    if (this.#tracing) this.#trace(`t${this.#now} drop ${m.from}->${m.to} ${m.type}`)
    if (m.type === 'snap') this.#nodes.get(m.from)?.node?.reportSnapshot(m.to, false)
  }

  /** Delivers up to `max` due messages, in random order. */
  #deliver(max: number): void {
    for (let n = 0; n < max; n++) {
      const due: number[] = []
      for (let i = 0; i < this.#network.length; i++) if ((this.#network[i] as InFlight).deliverAt <= this.#now) due.push(i)
      if (due.length === 0) return
      const at = this.#reliable ? (due[0] as number) : this.#rand.pick(due)
      const { m } = this.#network.splice(at, 1)[0] as InFlight
      const target = this.#nodes.get(m.to)
      if (target?.node === undefined || !this.#connected(m.from, m.to)) {
        this.#dropped(m)
        continue
      }
      if (this.#tracing) this.#trace(`t${this.#now} deliver ${m.from}->${m.to} ${m.type} term ${m.term} index ${m.index} entries ${m.entries.length} commit ${m.commit}${m.reject ? ' reject' : ''}`)
      target.node.step(m)
      this.stats.messagesDelivered++
      if (m.type === 'snap') this.#nodes.get(m.from)?.node?.reportSnapshot(m.to, true)
      this.#checkLeader(target)
      this.#processReady(target)
    }
  }

  // ---- the driver: the Ready contract ---------------------------------------------------------

  #processReady(sn: SimNode): void {
    while (sn.node?.hasReady() === true) {
      const node = sn.node
      const rd = node.ready()
      if (this.#sendBeforePersist) for (const m of rd.messages) this.#send(m)
      // A crash before persisting loses the whole Ready.
      if (this.#crashNow()) {
        this.#crash(sn)
        return
      }
      this.#persist(sn, rd)
      // A crash after persisting, before sending, loses the messages only.
      if (this.#crashNow()) {
        this.#crash(sn)
        return
      }
      if (!this.#sendBeforePersist) for (const m of rd.messages) this.#send(m)
      // A crash after sending: the messages are out, nothing was applied.
      if (this.#crashNow()) {
        this.#crash(sn)
        return
      }
      this.#apply(sn, rd)
      this.stats.readsServed += rd.readStates.length
      if (sn.node !== node) return
      node.advance()
      this.#checkLeader(sn)
    }
  }

  #crashNow(): boolean {
    return this.#opts.crashes && !this.#reliable && this.#rand.chance(this.#profile.crashRate)
  }

  #persist(sn: SimNode, rd: Ready): void {
    if (rd.snapshot !== undefined) {
      sn.storage.applySnapshot(rd.snapshot)
      this.#restoreApp(sn, rd.snapshot)
    }
    sn.storage.append(rd.entries)
    if (rd.hardState !== undefined) sn.storage.setHardState(rd.hardState)
  }

  #restoreApp(sn: SimNode, snap: Snapshot): void {
    const { applied, digest } = decodeAppSnapshot(snap.data)
    const idx = snap.metadata.index
    if (applied !== idx) throw new Violation(`snapshot at ${idx} holds state applied to ${applied}`)
    const known = this.#applied.get(idx)
    if (known !== undefined && known.digest !== digest) {
      throw new Violation(`State Machine Safety: node ${sn.id} installed a snapshot at ${idx} whose state differs from what others applied`)
    }
    sn.app = { applied, digest, confState: snap.metadata.confState }
    this.stats.snapshotsInstalled++
    this.#trace(`t${this.#now} ${sn.id} installed snapshot at ${idx}`)
  }

  #apply(sn: SimNode, rd: Ready): void {
    const node = sn.node as RawNode
    for (const e of rd.committedEntries) {
      if (e.index !== sn.app.applied + 1) throw new Violation(`node ${sn.id} applied ${e.index} after ${sn.app.applied}`)
      sn.app.digest = applyDigest(sn.app.digest, e)
      sn.app.applied = e.index
      this.stats.entriesApplied++
      const known = this.#applied.get(e.index)
      if (known === undefined) {
        this.#applied.set(e.index, { term: e.term, data: e.data, digest: sn.app.digest })
        if (e.data.length > 0 && e.type === 'normal') this.stats.proposalsCommitted++
      } else if (known.term !== e.term || !bytesEqual(known.data, e.data) || known.digest !== sn.app.digest) {
        throw new Violation(`State Machine Safety: node ${sn.id} applied term ${e.term} at ${e.index}, another node applied term ${known.term}`)
      }
      if (e.type === 'confChange') {
        const cc = decodeConfChange(e.data)
        sn.app.confState = node.applyConfChange(cc)
        this.stats.confChangesApplied++
        this.#trace(`t${this.#now} ${sn.id} applied ${cc.type} ${cc.nodeId} at ${e.index}`)
      }
    }
  }

  // ---- the checker --------------------------------------------------------------------------

  /** Election Safety (§5.2) and Leader Completeness (§5.4) for a node that may have just become leader. */
  #checkLeader(sn: SimNode): void {
    const r = sn.node?.raft
    if (r === undefined) return
    this.stats.maxTerm = Math.max(this.stats.maxTerm, r.term)
    if (r.role !== 'leader') return
    const known = this.#leaderOfTerm.get(r.term)
    if (known === undefined) {
      this.#leaderOfTerm.set(r.term, sn.id)
      this.stats.leadersElected++
      this.#trace(`t${this.#now} ${sn.id} leads term ${r.term}`)
      for (const [index, c] of this.#committed) {
        if (c.commitTerm < r.term) this.#checkHasCommitted(sn, index, c)
      }
    } else if (known !== sn.id) {
      throw new Violation(`Election Safety: nodes ${known} and ${sn.id} are both leaders of term ${r.term}`)
    }
    // Record what this leader commits, with the term it commits in.
    const seen = this.#leaderCommitSeen.get(sn.id) ?? 0
    const from = Math.max(seen + 1, r.log.firstIndex())
    for (let i = from; i <= r.log.committed; i++) {
      const e = r.log.slice(i, i + 1, Number.MAX_SAFE_INTEGER)[0] as Entry
      const prev = this.#committed.get(i)
      if (prev === undefined) {
        const rec = { term: e.term, data: e.data, commitTerm: r.term }
        this.#committed.set(i, rec)
        for (const other of this.#leaders()) if (other.node !== undefined && other.node.raft.term > r.term) this.#checkHasCommitted(other, i, rec)
      } else if (prev.term !== e.term || !bytesEqual(prev.data, e.data)) {
        throw new Violation(`State Machine Safety: leader ${sn.id} committed term ${e.term} at ${i}, term ${prev.term} was committed there before`)
      }
    }
    this.#leaderCommitSeen.set(sn.id, Math.max(seen, r.log.committed))
  }

  #checkHasCommitted(sn: SimNode, index: number, c: CommittedRecord): void {
    const log = (sn.node as RawNode).raft.log
    if (index < log.firstIndex() - 1) return // covered by its snapshot
    const term = log.term(index)
    if (term !== c.term) {
      throw new Violation(
        `Leader Completeness: leader ${sn.id} of term ${(sn.node as RawNode).raft.term} has term ${term ?? 'none'} at ${index}, where term ${c.term} was committed in term ${c.commitTerm}`
      )
    }
  }

  /** Log Matching (§5.3): same index and term means same entry and same predecessor, hence the same prefix. */
  #checkLogs(): void {
    for (const sn of this.#live()) {
      const log = (sn.node as RawNode).raft.log
      let prevTerm = log.term(log.firstIndex() - 1) ?? 0
      for (const e of log.allEntries()) {
        let at = this.#logEntries.get(e.index)
        if (at === undefined) {
          at = []
          this.#logEntries.set(e.index, at)
        }
        const same = at.find((x) => x.term === e.term)
        if (same === undefined) {
          at.push({ term: e.term, data: e.data, prevTerm })
        } else if (!bytesEqual(same.data, e.data) || same.prevTerm !== prevTerm) {
          throw new Violation(`Log Matching: node ${sn.id} holds a different entry at index ${e.index} term ${e.term}`)
        }
        prevTerm = e.term
      }
    }
  }

  #check(): void {
    for (const sn of this.#live()) this.#checkLeader(sn)
    this.#checkLogs()
  }

  // ---- actions ------------------------------------------------------------------------------

  #tick(): void {
    this.#now++
    this.stats.ticks++
    for (const sn of this.#nodes.values()) {
      if (sn.node === undefined) {
        if (sn.downUntil <= this.#now && this.#opts.crashes) this.#boot(sn)
        continue
      }
      sn.node.tick()
      this.#checkLeader(sn)
      this.#processReady(sn)
    }
    if (this.#partition !== undefined && this.#now >= this.#partitionUntil) this.#heal()
  }

  #heal(): void {
    this.#partition = undefined
    this.#trace(`t${this.#now} heal`)
  }

  #propose(): void {
    const leaders = this.#leaders()
    const live = this.#live()
    if (live.length === 0) return
    const target = leaders.length > 0 && this.#rand.chance(0.9) ? this.#rand.pick(leaders) : this.#rand.pick(live)
    const n = ++this.#proposalSeq
    const data = new Uint8Array([0x70, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, this.#rand.nextInt(256)])
    this.#trace(`t${this.#now} propose #${n} at ${target.id}`)
    try {
      if (this.#rand.chance(0.2)) target.node?.proposeBatch([data, data.slice(0, 2)])
      else target.node?.propose(data)
    } catch (err) {
      if (!(err instanceof ProposalDroppedError)) throw err
    }
    this.#processReady(target)
  }

  #confChange(): void {
    const leaders = this.#leaders()
    if (leaders.length === 0) return
    const leader = this.#rand.pick(leaders)
    const node = leader.node as RawNode
    const cs = node.raft.tracker.confState()
    const alive = [...this.#nodes.values()].filter((sn) => cs.voters.includes(sn.id) || cs.learners.includes(sn.id)).length
    const choice = this.#rand.nextInt(3)
    try {
      if (choice === 0 && alive < nodesAliveMax) {
        // Ids are never reused: a removed node may still be running with an old log.
        const id = this.#nextId++
        node.proposeConfChange({ type: 'addLearner', nodeId: id })
        this.#startNew(id)
        this.#trace(`t${this.#now} propose addLearner ${id}`)
      } else if (choice === 1 && cs.learners.length > 0) {
        const id = this.#rand.pick(cs.learners)
        node.proposeConfChange({ type: 'addVoter', nodeId: id })
        this.#trace(`t${this.#now} propose addVoter ${id}`)
      } else if (choice === 2 && cs.voters.length > votersMin) {
        const id = this.#rand.pick(cs.voters)
        node.proposeConfChange({ type: 'removeVoter', nodeId: id })
        this.#trace(`t${this.#now} propose removeVoter ${id}`)
      }
    } catch (err) {
      if (!(err instanceof ConfChangeRefusedError) && !(err instanceof ProposalDroppedError)) throw err
    }
    this.#processReady(leader)
  }

  #compact(): void {
    const live = this.#live()
    if (live.length === 0) return
    const sn = this.#rand.pick(live)
    const index = sn.app.applied
    if (index <= sn.storage.snapshot().metadata.index) return
    sn.storage.createSnapshot(index, sn.app.confState, encodeAppSnapshot(sn.app))
    // Keep a few entries so that slightly lagging followers still catch up from the log.
    const keep = this.#rand.nextInt(4)
    const to = index - keep
    if (to >= sn.storage.firstIndex()) sn.storage.compact(to)
    this.stats.compactions++
    this.#trace(`t${this.#now} ${sn.id} snapshot at ${index}, compact to ${to}`)
  }

  #partitionNow(): void {
    const groups = new Map<NodeId, number>()
    for (const id of this.#nodes.keys()) groups.set(id, this.#rand.nextInt(2))
    // Make sure the cut separates something: move one node to the other side if all are together.
    if (new Set(groups.values()).size === 1) {
      const moved = this.#rand.pick([...groups.keys()])
      groups.set(moved, 1 - (groups.get(moved) as number))
    }
    this.#partition = groups
    this.#partitionUntil = this.#now + 1 + this.#rand.nextInt(6 * electionTimeoutTicks)
    this.stats.partitions++
    this.#trace(`t${this.#now} partition ${JSON.stringify([...groups])}`)
  }

  #read(): void {
    const live = this.#live()
    if (live.length === 0) return
    const sn = this.#rand.pick(live)
    try {
      sn.node?.readIndex(new Uint8Array([0x72, this.#rand.nextInt(256), this.#rand.nextInt(256)]))
    } catch (err) {
      if (!(err instanceof ReadIndexDroppedError)) throw err
    }
    this.#processReady(sn)
  }

  #transfer(): void {
    const leaders = this.#leaders()
    if (leaders.length === 0) return
    const leader = this.#rand.pick(leaders)
    const voters = (leader.node as RawNode).raft.tracker.voterIds()
    leader.node?.transferLeader(this.#rand.pick(voters))
    this.#processReady(leader)
  }

  #randomStep(): void {
    const roll = this.#rand.nextInt(100)
    const tick = this.#profile.tickPercent
    if (roll < tick) this.#tick()
    else if (roll < 70) this.#deliver(1 + this.#rand.nextInt(8))
    else if (roll < 82) this.#propose()
    else if (roll < 85) this.#read()
    else if (roll < 88 && this.#opts.membership) this.#confChange()
    else if (roll < 91 && this.#opts.compaction) this.#compact()
    else if (roll < 92 && this.#opts.partitions) {
      if (this.#partition === undefined) this.#partitionNow()
      else this.#heal()
    } else if (roll < 94 && this.#opts.crashes) {
      const live = this.#live()
      if (live.length > 0) this.#crash(this.#rand.pick(live))
    } else if (roll < 95) this.#transfer()
    else this.#deliver(4)
  }

  /** Heals everything and requires a fresh proposal to commit within progressBoundTicks. */
  #finalProgress(): number {
    this.#heal()
    this.#reliable = true
    for (const sn of this.#nodes.values()) if (sn.node === undefined) this.#boot(sn)
    let proposed: { leader: NodeId; term: number; data: Uint8Array } | undefined
    for (let t = 0; t < progressBoundTicks; t++) {
      this.#tick()
      this.#deliver(Number.MAX_SAFE_INTEGER)
      this.#check()
      const leader = this.#leaders().find((sn) => sn.node?.raft.tracker.isVoter(sn.id))
      if (leader !== undefined && (proposed === undefined || proposed.leader !== leader.id || proposed.term !== leader.node?.raft.term)) {
        const data = new Uint8Array([0x66, t & 0xff, (t >> 8) & 0xff])
        try {
          leader.node?.propose(data)
          proposed = { leader: leader.id, term: leader.node?.raft.term ?? 0, data }
        } catch (err) {
          if (!(err instanceof ProposalDroppedError)) throw err
        }
        this.#processReady(leader)
      }
      if (proposed !== undefined) {
        const p = proposed
        for (const rec of this.#applied.values()) if (bytesEqual(rec.data, p.data)) return t
      }
    }
    throw new Violation(`no progress: a proposal did not commit within ${progressBoundTicks} ticks after healing`)
  }

  run(): SimulationResult {
    let steps = 0
    try {
      for (; steps < this.#opts.steps; steps++) {
        this.#randomStep()
        this.#check()
      }
      steps += this.#finalProgress()
      return { seed: this.#seed, ok: true, steps, stats: this.stats }
    } catch (err) {
      if (!(err instanceof Violation) && !(err instanceof RaftInvariantError)) throw err
      const violation = `seed ${this.#seed}, step ${steps}, tick ${this.#now}: ${err.name}: ${err.message}`
      return { seed: this.#seed, ok: false, steps, violation, stats: this.stats }
    }
  }
}

/** Runs one seeded simulation. A failure's `violation` names the seed that replays it. */
export function runSimulation(options: SimulationOptions): SimulationResult {
  return new Simulation(options).run()
}
