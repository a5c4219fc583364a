/**
 * `npm run bench -- [suite ...] [--json]`: runs the named benchmark suites (all when none is named)
 * and prints their figures, as JSON with --json. Suites: ledger, consensus, contract, prov, orchestrator, cluster.
 */
import '../polyfills.js'
import { benchLedger } from './ledger.js'
import { benchConsensus } from './consensus.js'

const suites: Record<string, () => Promise<object>> = {
  ledger: () => benchLedger(),
  consensus: () => benchConsensus(),
  contract: async () => (await import('./contract.js')).benchContract(),
  prov: async () => (await import('./prov.js')).benchProv(),
  orchestrator: async () => (await import('./orchestrator.js')).benchOrchestrator(),
  cluster: async () => (await import('./cluster.js')).benchCluster()
}

async function main(argv: string[]): Promise<void> {
  const json = argv.includes('--json')
  const names = argv.filter((a) => !a.startsWith('--'))
  for (const name of names) if (!(name in suites)) throw new Error(`unknown suite ${name}; suites: ${Object.keys(suites).join(', ')}`)
  const chosen = names.length > 0 ? names : Object.keys(suites)
  const results: Record<string, object> = {}
  for (const name of chosen) {
    if (!json) process.stderr.write(`running ${name}...\n`)
    results[name] = await suites[name]!()
  }
  const out = chosen.length === 1 ? results[chosen[0]!]! : results
  if (json) process.stdout.write(JSON.stringify(out, null, 2) + '\n')
  else for (const [name, r] of Object.entries(results)) process.stdout.write(`${name}: ${JSON.stringify(r)}\n`)
}

main(process.argv.slice(2)).catch((err: Error) => {
  process.stderr.write(`bench: ${err.message}\n`)
  process.exitCode = 2
})
