/**
 * The seeded simulation: hundreds of runs over a hostile network with crash-restarts, membership
 * changes and snapshots, checking the safety properties of Figure 3 after every step and progress
 * after healing. Then proof that the checker can fail: cores broken on purpose are caught.
 */
import t from 'tap'
import { runSimulation, type SimulationResult } from '../../src/consensus/simulation.js'

const seeds = Number(process.env.SIM_SEEDS ?? 500)
const steps = Number(process.env.SIM_STEPS ?? 2000)

t.test(`${seeds} seeded runs keep Election Safety, Log Matching, Leader Completeness and State Machine Safety, and make progress after healing`, async (t) => {
  const failures: SimulationResult[] = []
  const totals = { leadersElected: 0, proposalsCommitted: 0, crashes: 0, partitions: 0, confChangesApplied: 0, snapshotsInstalled: 0, readsServed: 0 }
  for (let seed = 1; seed <= seeds; seed++) {
    const r = runSimulation({ seed, steps })
    if (!r.ok) failures.push(r)
    for (const k of Object.keys(totals) as Array<keyof typeof totals>) totals[k] += r.stats[k]
  }
  t.same(failures.map((f) => f.violation), [], 'replay a failure with: npm run sim -- --seed <seed> --trace')
  t.comment(JSON.stringify(totals))
  // The runs must actually exercise what they claim to.
  t.ok(totals.leadersElected > seeds * 3, 'leader changes')
  t.ok(totals.crashes > seeds * 10, 'crash-restarts')
  t.ok(totals.partitions > seeds * 5, 'partitions')
  t.ok(totals.confChangesApplied > seeds, 'membership changes')
  t.ok(totals.snapshotsInstalled > seeds / 2, 'snapshot installs')
  t.ok(totals.readsServed > 0, 'linearizable reads')
  // Reference: §5.2-§5.4, Figure 3
})

t.test('a run replays exactly from its seed', async (t) => {
  const a = runSimulation({ seed: 42, steps: 500 })
  const b = runSimulation({ seed: 42, steps: 500 })
  t.same(a, b)
  // Reference: §5 (determinism of the state machine is what makes replication work)
})

function firstFailure(options: Omit<Parameters<typeof runSimulation>[0], 'seed'>, maxSeeds: number): SimulationResult | undefined {
  for (let seed = 1; seed <= maxSeeds; seed++) {
    const r = runSimulation({ ...options, seed })
    if (!r.ok) return r
  }
  return undefined
}

t.test('the checker catches a core that does not persist its vote', async (t) => {
  const failure = firstFailure({ steps, unsafeFaults: { forgetVotes: true } }, 500)
  t.ok(failure, 'some seed elects two leaders in one term')
  t.match(failure?.violation, /Election Safety|Leader Completeness|State Machine Safety|Log Matching/)
  t.comment(failure?.violation ?? '')
  if (failure !== undefined) t.same(runSimulation({ seed: failure.seed, steps, unsafeFaults: { forgetVotes: true } }), failure, 'and the seed replays it')
  // Reference: §5.2, Figure 2 (votedFor is persistent state)
})

t.test('the checker catches a core that commits entries of earlier terms by counting replicas', async (t) => {
  const failure = firstFailure({ steps, nodes: 3, unsafeFaults: { ignoreCurrentTermCommitRule: true } }, 1000)
  t.ok(failure, 'some seed commits an entry that a later leader overwrites (Figure 8)')
  t.match(failure?.violation, /Leader Completeness|State Machine Safety/)
  t.comment(failure?.violation ?? '')
  if (failure !== undefined) t.ok(runSimulation({ seed: failure.seed, steps, nodes: 3 }).ok, 'the same seed passes with the correct core')
  // Reference: §5.4.2, Figure 8
})

t.test('the checker catches a driver that sends before it persists (the Ready contract)', async (t) => {
  const failure = firstFailure({ steps, unsafeSendBeforePersist: true }, 1000)
  t.ok(failure, 'some seed breaks a safety property')
  t.comment(failure?.violation ?? '')
  // Reference: §5.2, §5.3, Figure 2 (persistent state is updated on stable storage before responding to RPCs)
})
