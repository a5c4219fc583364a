/**
 * A deterministic in-memory cluster for the paper tests and the scenario files: each node is a
 * RawNode over a MemoryStorage driven by the Ready contract (persist, send, apply, advance);
 * messages wait in a queue until delivered, so a test decides exactly what arrives and when.
 * `describe*` functions give the one-line text forms the scenario traces print.
 */
import {
  decodeConfChange,
  MemoryStorage,
  RawNode,
  SeededRandom,
  type ConfState,
  type Entry,
  type Message,
  type NodeId,
  type RaftConfig,
  type Ready
} from '../../src/consensus/index.js'

export const electionTimeout = 10
export const heartbeatInterval = 1

const decoder = new TextDecoder()
export const enc = (s: string): Uint8Array => new TextEncoder().encode(s)

export function describeEntry(e: Entry): string {
  if (e.type === 'confChange') {
    const cc = decodeConfChange(e.data)
    return `${e.term}/${e.index} ${cc.type} ${cc.nodeId}`
  }
  return e.data.length === 0 ? `${e.term}/${e.index} (empty)` : `${e.term}/${e.index} "${decoder.decode(e.data)}"`
}

export function describeMessage(m: Message): string {
  let s = `${m.from}->${m.to} ${m.type} term:${m.term}`
  switch (m.type) {
    case 'app':
      s += ` log:${m.logTerm}/${m.index} commit:${m.commit}`
      if (m.entries.length > 0) s += ` entries:[${m.entries.map(describeEntry).join(', ')}]`
      break
    case 'appResp':
      s += m.reject ? ` rejected index:${m.index} hint:${m.logTerm}/${m.rejectHint}` : ` index:${m.index}`
      break
    case 'vote':
    case 'preVote':
      s += ` log:${m.logTerm}/${m.index}`
      if (m.context !== undefined) s += ' (transfer)'
      break
    case 'voteResp':
    case 'preVoteResp':
      if (m.reject) s += ' rejected'
      break
    case 'heartbeat':
      s += ` commit:${m.commit}`
      break
    case 'snap': {
      const md = m.snapshot?.metadata
      if (md !== undefined) s += ` snapshot:${md.term}/${md.index} voters:[${md.confState.voters.join(',')}] learners:[${md.confState.learners.join(',')}]`
      break
    }
    case 'readIndexResp':
      s += ` index:${m.index}`
      break
    default:
      break
  }
  if (m.context !== undefined && m.type !== 'vote' && m.type !== 'preVote') s += ` ctx:"${decoder.decode(m.context)}"`
  return s
}

export interface ClusterOptions {
  preVote?: boolean
  checkQuorum?: boolean
  /** Genesis voters; default every node. */
  voters?: NodeId[]
  learners?: NodeId[]
  appendInflightMax?: number
  appendBytesMax?: number
  unsafeFaults?: RaftConfig['unsafeFaults']
}

export interface TestNode {
  id: NodeId
  storage: MemoryStorage
  node: RawNode | undefined
  /** What the application applied, in order (lost on crash, rebuilt from the snapshot on restart). */
  applied: Entry[]
  confState: ConfState
  restarts: number
}

export class Cluster {
  readonly nodes = new Map<NodeId, TestNode>()
  /** Messages sent and not yet delivered, in send order. */
  queue: Message[] = []
  readonly out: string[] = []
  /** Print core log lines and message flow into `out` (the scenario traces). */
  verbose = false
  #options: ClusterOptions
  #genesis: ConfState
  #groups: Map<NodeId, number> | undefined
  #printedSoftState = new Map<NodeId, string>()

  constructor(ids: number | NodeId[], options: ClusterOptions = {}) {
    const list = typeof ids === 'number' ? Array.from({ length: ids }, (_, i) => i + 1) : ids
    this.#options = options
    this.#genesis = { voters: options.voters ?? list.filter((id) => !(options.learners ?? []).includes(id)), learners: options.learners ?? [] }
    for (const id of list) this.addNode(id)
  }

  addNode(id: NodeId): TestNode {
    const tn: TestNode = { id, storage: new MemoryStorage(this.#genesis), node: undefined, applied: [], confState: this.#genesis, restarts: 0 }
    this.nodes.set(id, tn)
    this.#boot(tn)
    return tn
  }

  #boot(tn: TestNode): void {
    const snap = tn.storage.snapshot()
    const o = this.#options
    const config: RaftConfig = {
      id: tn.id,
      storage: tn.storage,
      random: new SeededRandom(tn.id * 1000 + tn.restarts),
      applied: snap.metadata.index,
      electionTimeoutTicks: electionTimeout,
      heartbeatIntervalTicks: heartbeatInterval,
      preVote: o.preVote ?? true,
      checkQuorum: o.checkQuorum ?? true,
      logger: (line) => {
        if (this.verbose) this.out.push(line)
      }
    }
    if (o.appendInflightMax !== undefined) config.appendInflightMax = o.appendInflightMax
    if (o.appendBytesMax !== undefined) config.appendBytesMax = o.appendBytesMax
    if (o.unsafeFaults !== undefined) config.unsafeFaults = o.unsafeFaults
    tn.applied = []
    tn.confState = snap.metadata.confState
    tn.node = new RawNode(config)
  }

  get(id: NodeId): RawNode {
    const n = this.nodes.get(id)?.node
    if (n === undefined) throw new Error(`node ${id} is not running`)
    return n
  }

  /** Handles one Ready per node (if it has one), following the contract. Returns whether any had one. */
  processReady(ids: NodeId[] = [...this.nodes.keys()]): boolean {
    let any = false
    for (const id of ids) {
      const tn = this.nodes.get(id)
      const node = tn?.node
      if (tn === undefined || node === undefined || !node.hasReady()) continue
      any = true
      const rd = node.ready()
      if (this.verbose) this.#printReady(id, rd)
      if (rd.snapshot !== undefined) {
        tn.storage.applySnapshot(rd.snapshot)
        tn.confState = rd.snapshot.metadata.confState
      }
      tn.storage.append(rd.entries)
      if (rd.hardState !== undefined) tn.storage.setHardState(rd.hardState)
      this.queue.push(...rd.messages)
      for (const e of rd.committedEntries) {
        tn.applied.push(e)
        if (e.type === 'confChange') tn.confState = node.applyConfChange(decodeConfChange(e.data))
      }
      node.advance()
    }
    return any
  }

  #printReady(id: NodeId, rd: Ready): void {
    this.out.push(`> ${id} handling Ready`)
    const soft = `role=${rd.softState.role} leader=${rd.softState.leader}`
    if (soft !== (this.#printedSoftState.get(id) ?? 'role=follower leader=0')) this.out.push(`  softState: ${soft}`)
    this.#printedSoftState.set(id, soft)
    // Printed in the order the contract persists them: snapshot, entries, hard state; then sends; then applies.
    if (rd.snapshot !== undefined) {
      const md = rd.snapshot.metadata
      this.out.push(`  snapshot: ${md.term}/${md.index} voters:[${md.confState.voters.join(',')}] learners:[${md.confState.learners.join(',')}]`)
    }
    if (rd.entries.length > 0) this.out.push(`  entries: ${rd.entries.map(describeEntry).join(', ')}`)
    if (rd.hardState !== undefined) this.out.push(`  hardState: term=${rd.hardState.term} vote=${rd.hardState.vote} commit=${rd.hardState.commit}`)
    for (const m of rd.messages) this.out.push(`  send: ${describeMessage(m)}`)
    if (rd.committedEntries.length > 0) this.out.push(`  apply: ${rd.committedEntries.map(describeEntry).join(', ')}`)
    for (const rs of rd.readStates) this.out.push(`  readState: index=${rs.index} ctx="${decoder.decode(rs.requestContext)}"`)
  }

  #connected(a: NodeId, b: NodeId): boolean {
    return this.#groups === undefined || this.#groups.get(a) === this.#groups.get(b)
  }

  /** Delivers the queued messages addressed to `ids` (all if omitted). Returns how many were delivered. */
  deliver(ids?: NodeId[], filter: (m: Message) => boolean = () => true): number {
    const take: Message[] = []
    const keep: Message[] = []
    for (const m of this.queue) {
      if ((ids === undefined || ids.includes(m.to)) && filter(m)) take.push(m)
      else keep.push(m)
    }
    this.queue = keep
    let n = 0
    for (const m of take) {
      const target = this.nodes.get(m.to)?.node
      if (target === undefined || !this.#connected(m.from, m.to)) {
        if (this.verbose) this.out.push(`  dropped: ${describeMessage(m)}`)
        if (m.type === 'snap') this.nodes.get(m.from)?.node?.reportSnapshot(m.to, false)
        continue
      }
      if (this.verbose) this.out.push(`${describeMessage(m)}`)
      target.step(m)
      if (m.type === 'snap') this.nodes.get(m.from)?.node?.reportSnapshot(m.to, true)
      n++
    }
    return n
  }

  /** Drops queued messages (all, or those matching). */
  drop(filter: (m: Message) => boolean = () => true): Message[] {
    const dropped = this.queue.filter(filter)
    this.queue = this.queue.filter((m) => !filter(m))
    return dropped
  }

  /** Processes Readies and delivers messages until nothing moves. */
  stabilize(ids?: NodeId[]): void {
    for (let round = 0; round < 10000; round++) {
      const a = this.processReady(ids)
      const b = this.deliver(ids) > 0
      if (!a && !b) return
    }
    throw new Error('cluster did not stabilize')
  }

  tick(id: NodeId, times = 1): void {
    for (let i = 0; i < times; i++) this.get(id).tick()
  }

  /** Ticks a node until its randomised election timeout fires once (a leader: one election timeout). */
  tickElection(id: NodeId): void {
    const node = this.get(id)
    if (node.raft.role === 'leader') {
      this.tick(id, electionTimeout)
      return
    }
    for (let i = 0; i < 2 * electionTimeout; i++) {
      node.tick()
      if (node.raft.electionElapsed === 0) return
    }
  }

  campaign(id: NodeId): void {
    this.get(id).campaign()
  }

  /** Campaigns `id` and stabilizes the whole cluster. */
  elect(id: NodeId): void {
    this.campaign(id)
    this.stabilize()
  }

  partition(...groups: NodeId[][]): void {
    this.#groups = new Map()
    groups.forEach((g, i) => {
      for (const id of g) this.#groups?.set(id, i)
    })
  }

  heal(): void {
    this.#groups = undefined
  }

  /** Loses everything not persisted: the node object, its unprocessed Ready, its queued messages. */
  crash(id: NodeId): void {
    const tn = this.nodes.get(id)
    if (tn === undefined) throw new Error(`no node ${id}`)
    tn.node = undefined
    this.queue = this.queue.filter((m) => m.to !== id)
  }

  restart(id: NodeId): void {
    const tn = this.nodes.get(id)
    if (tn === undefined) throw new Error(`no node ${id}`)
    this.#printedSoftState.delete(id)
    tn.restarts++
    this.#boot(tn)
  }

  /** The application snapshots at its applied index and compacts the log up to `index`. */
  compact(id: NodeId, index: number): void {
    const tn = this.nodes.get(id) as TestNode
    const applied = tn.node?.status().applied ?? 0
    tn.storage.createSnapshot(applied, tn.confState, enc(`snap@${applied}`))
    tn.storage.compact(index)
  }

  leader(): NodeId | undefined {
    for (const [id, tn] of this.nodes) if (tn.node?.raft.role === 'leader') return id
    return undefined
  }

  appliedData(id: NodeId): string[] {
    return (this.nodes.get(id) as TestNode).applied.filter((e) => e.type === 'normal' && e.data.length > 0).map((e) => decoder.decode(e.data))
  }

  logOf(id: NodeId): string[] {
    return this.get(id).raft.log.allEntries().map(describeEntry)
  }
}
