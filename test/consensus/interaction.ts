/**
 * The scenario language (after etcd's interaction tests): each command drives a Cluster and
 * returns the trace it produced. Files in test/consensus/scenarios/*.txt hold commands with
 * their expected traces; scenarios.test.ts replays them.
 */
import type { ConfChange, NodeId } from '../../src/consensus/index.js'
import { Cluster, describeEntry, enc, heartbeatInterval, type ClusterOptions } from './cluster.js'

function ids(args: string[]): NodeId[] | undefined {
  const list = args.filter((a) => /^\d+$/.test(a)).map(Number)
  return list.length === 0 ? undefined : list
}

function flag(args: string[], name: string): string | undefined {
  const a = args.find((x) => x.startsWith(`${name}=`))
  return a?.slice(name.length + 1)
}

function idList(v: string | undefined): NodeId[] | undefined {
  return v === undefined ? undefined : v.split(',').filter((x) => x !== '').map(Number)
}

export class Interaction {
  #cluster: Cluster | undefined

  get cluster(): Cluster {
    if (this.#cluster === undefined) throw new Error('add-nodes first')
    return this.#cluster
  }

  /** Runs one command line and returns its trace ("ok" if it printed nothing). */
  run(line: string): string {
    const [cmd, ...args] = line.trim().split(/\s+/)
    const c = this.#cluster
    if (c !== undefined) c.out.length = 0
    try {
      this.#dispatch(cmd ?? '', args)
    } catch (err) {
      const e = err as Error
      this.cluster.out.push(`error: ${e.name}: ${e.message}`)
    }
    const out = this.cluster.out.join('\n')
    return out === '' ? 'ok' : out
  }

  #dispatch(cmd: string, args: string[]): void {
    const n = (i: number): number => {
      const v = Number(args[i])
      if (!Number.isSafeInteger(v)) throw new Error(`${cmd}: argument ${i + 1} must be a number`)
      return v
    }
    switch (cmd) {
      case 'add-nodes': {
        if (this.#cluster === undefined) {
          const options: ClusterOptions = {}
          const voters = idList(flag(args, 'voters'))
          const learners = idList(flag(args, 'learners'))
          if (voters !== undefined) options.voters = voters
          if (learners !== undefined) options.learners = learners
          if (flag(args, 'prevote') === 'false') options.preVote = false
          if (flag(args, 'checkquorum') === 'false') options.checkQuorum = false
          this.#cluster = new Cluster(n(0), options)
          this.#cluster.verbose = true
        } else {
          const next = Math.max(...this.#cluster.nodes.keys()) + 1
          for (let i = 0; i < n(0); i++) this.#cluster.addNode(next + i)
        }
        return
      }
      case 'campaign':
        return this.cluster.campaign(n(0))
      case 'propose': {
        const r = this.cluster.get(n(0)).propose(enc(args.slice(1).join(' ')))
        this.cluster.out.push(`appended at ${r.term}/${r.index}`)
        return
      }
      case 'propose-conf-change': {
        const cc: ConfChange = { type: args[1] as ConfChange['type'], nodeId: n(2) }
        const r = this.cluster.get(n(0)).proposeConfChange(cc)
        this.cluster.out.push(`appended at ${r.term}/${r.index}`)
        return
      }
      case 'tick-election':
        return this.cluster.tickElection(n(0))
      case 'tick-heartbeat':
        return this.cluster.tick(n(0), heartbeatInterval * (args[1] === undefined ? 1 : n(1)))
      case 'process-ready':
        this.cluster.processReady(ids(args))
        return
      case 'deliver-msgs':
        this.cluster.deliver(ids(args))
        return
      case 'drop-msgs': {
        const from = flag(args, 'from')
        const to = flag(args, 'to')
        const dropped = this.cluster.drop((m) => (from === undefined || m.from === Number(from)) && (to === undefined || m.to === Number(to)))
        this.cluster.out.push(`dropped ${dropped.length} messages`)
        return
      }
      case 'stabilize':
        return this.cluster.stabilize(ids(args))
      case 'partition': {
        const groups = args.join(' ').split('/').map((g) => g.trim().split(/\s+/).map(Number))
        return this.cluster.partition(...groups)
      }
      case 'heal':
        return this.cluster.heal()
      case 'crash':
        return this.cluster.crash(n(0))
      case 'restart':
        return this.cluster.restart(n(0))
      case 'compact':
        return this.cluster.compact(n(0), n(1))
      case 'read-index':
        return this.cluster.get(n(0)).readIndex(enc(args[1] ?? ''))
      case 'transfer-leader':
        return this.cluster.get(n(0)).transferLeader(n(1))
      case 'status': {
        for (const id of ids(args) ?? [...this.cluster.nodes.keys()]) {
          const tn = this.cluster.nodes.get(id)
          if (tn?.node === undefined) {
            this.cluster.out.push(`${id}: down`)
            continue
          }
          const s = tn.node.status()
          this.cluster.out.push(
            `${id}: ${s.softState.role} term=${s.hardState.term} vote=${s.hardState.vote} leader=${s.softState.leader} ` +
              `commit=${s.hardState.commit} applied=${s.applied} log=[${s.firstIndex},${s.lastIndex}] ` +
              `voters=[${s.confState.voters.join(',')}] learners=[${s.confState.learners.join(',')}]`
          )
        }
        return
      }
      case 'raft-log': {
        const log = this.cluster.logOf(n(0))
        this.cluster.out.push(log.length === 0 ? '(empty)' : log.join('\n'))
        return
      }
      case 'applied': {
        const tn = this.cluster.nodes.get(n(0))
        const a = tn?.applied.map(describeEntry) ?? []
        this.cluster.out.push(a.length === 0 ? '(nothing)' : a.join('\n'))
        return
      }
      default:
        throw new Error(`unknown command ${cmd}`)
    }
  }
}

export interface ScenarioBlock {
  /** Comment lines before the command, kept when the file is rewritten. */
  comments: string[]
  command: string
  expected: string
  line: number
}

/** Parses `command\n----\nexpected output\n` blocks separated by blank lines. */
export function parseScenario(text: string): ScenarioBlock[] {
  const lines = text.split('\n')
  const blocks: ScenarioBlock[] = []
  let i = 0
  while (i < lines.length) {
    const comments: string[] = []
    while (i < lines.length && ((lines[i] as string).startsWith('#') || (lines[i] as string).trim() === '')) {
      if ((lines[i] as string).startsWith('#')) comments.push(lines[i] as string)
      i++
    }
    if (i >= lines.length) break
    const command = lines[i] as string
    const line = i + 1
    i++
    if (lines[i] !== '----') throw new Error(`line ${i + 1}: expected ---- after the command`)
    i++
    const out: string[] = []
    while (i < lines.length && (lines[i] as string).trim() !== '') out.push(lines[i++] as string)
    blocks.push({ comments, command, expected: out.join('\n'), line })
  }
  return blocks
}

export function formatScenario(blocks: Array<ScenarioBlock & { actual: string }>): string {
  return blocks.map((b) => [...b.comments, b.command, '----', b.actual].join('\n')).join('\n\n') + '\n'
}
