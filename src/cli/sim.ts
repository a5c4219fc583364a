/**
 * `npm run sim -- --seeds N [--start S] [--steps K] [--json] [--broken votes|commit] [--seed S --trace]`: runs the seeded
 * Raft simulation (src/consensus/simulation.ts) over consecutive seeds and reports failures with
 * the seeds that replay them. Exits 1 on any failure, 2 on bad arguments.
 */
import { runSimulation, type SimulationResult } from '../consensus/simulation.js'

interface Args {
  seeds: number
  start: number
  steps: number | undefined
  json: boolean
  trace: boolean
  /** Run a core broken on purpose, to see the checker fail (exit 1). */
  broken: 'votes' | 'commit' | undefined
}

function parseArgs(argv: string[]): Args {
  const args: Args = { seeds: 100, start: 1, steps: undefined, json: false, trace: false, broken: undefined }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const value = (): number => {
      const v = Number(argv[++i])
      if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${a} needs a non-negative integer`)
      return v
    }
    if (a === '--seeds') args.seeds = value()
    else if (a === '--start') args.start = value()
    else if (a === '--seed') {
      args.start = value()
      args.seeds = 1
    } else if (a === '--steps') args.steps = value()
    else if (a === '--json') args.json = true
    else if (a === '--trace') args.trace = true
    else if (a === '--broken') {
      const what = argv[++i]
      if (what !== 'votes' && what !== 'commit') throw new RangeError('--broken takes votes or commit')
      args.broken = what
    }
    else throw new RangeError(`unknown argument ${a}`)
  }
  return args
}

function main(): number {
  let args: Args
  try {
    args = parseArgs(process.argv.slice(2))
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\nusage: sim --seeds N [--start S] [--steps K] [--json] [--broken votes|commit] | --seed S [--trace]\n`)
    return 2
  }
  const started = performance.now()
  const failures: SimulationResult[] = []
  let steps = 0
  for (let seed = args.start; seed < args.start + args.seeds; seed++) {
    const options: Parameters<typeof runSimulation>[0] = { seed }
    if (args.steps !== undefined) options.steps = args.steps
    if (args.broken === 'votes') options.unsafeFaults = { forgetVotes: true }
    if (args.broken === 'commit') options.unsafeFaults = { ignoreCurrentTermCommitRule: true }
    if (args.trace) options.trace = (line: string): void => void process.stdout.write(`${line}\n`)
    const result = runSimulation(options)
    steps += result.steps
    if (!result.ok) {
      failures.push(result)
      if (!args.json) process.stderr.write(`FAIL ${result.violation ?? ''}\n`)
    }
  }
  const ms = Math.round(performance.now() - started)
  const summary = { seeds: args.seeds, failures: failures.length, failedSeeds: failures.map((f) => f.seed), steps, ms }
  if (args.json) process.stdout.write(`${JSON.stringify(summary)}\n`)
  else process.stdout.write(`${args.seeds} seeds, ${failures.length} failed, ${steps} steps, ${ms} ms${failures.length > 0 ? `; replay with --seed ${failures[0]?.seed ?? ''} --trace` : ''}\n`)
  return failures.length === 0 ? 0 : 1
}

// `sim --trace | head` closes the pipe early; that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err
})
process.exitCode = main()
