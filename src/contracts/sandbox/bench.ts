/**
 * A measurement of the sandbox alone, for the `contractTxPerSec` benchmark: calls per second of a
 * small deployed contract whose handler reads two keys and writes one, over an in-memory state.
 * Not a test: it reads the clock.
 */
import { ContractSandbox } from './sandbox.js'
import type { ContractSandboxOptions } from './sandbox.js'
import type { StateReader } from '../../ledger/index.js'

export const benchContractSource = `
handlers['bench.add'] = (tx, api) => {
  const a = Number(api.state.get('a') ?? '0')
  const b = Number(api.state.get('b/' + tx.payload.slot) ?? '0')
  api.state.put('sum/' + tx.payload.slot, String(a + b + tx.payload.n))
}
`

export interface SandboxBenchResult {
  readonly calls: number
  readonly callsPerSec: number
  readonly usPerCall: number
  /** Mean runs per call (above 1 when reads missed the prefetch hints). */
  readonly runsPerCall: number
}

/**
 * Runs `calls` calls of benchContractSource. `slots` distinct payload slots: 1 means every call reads
 * the same keys (the hints always hit); more means the second key changes from call to call (it
 * misses, and the call runs twice).
 */
export async function benchSandbox (calls: number, slots = 1, options: ContractSandboxOptions = {}): Promise<SandboxBenchResult> {
  const sandbox = await ContractSandbox.compile(benchContractSource, { statePrefix: 'c/bench/', ...options })
  const enc = new TextEncoder()
  const values = new Map<string, Uint8Array>([['c/bench/a', enc.encode('1')]])
  for (let s = 0; s < slots; s++) values.set(`c/bench/b/${s}`, enc.encode(String(s)))
  const state: StateReader = { get: async (key) => values.get(key) }
  const block = { height: 1, time: 1_700_000_000_000 }
  const call = async (i: number): Promise<number> => {
    const out = await sandbox.run({ type: 'bench.add', signer: 'ab'.repeat(32), id: i.toString(16).padStart(64, '0'), payload: { n: i, slot: i % slots } }, block, state)
    return out.runs
  }
  for (let i = 0; i < Math.min(200, calls); i++) await call(i)
  let runs = 0
  const start = performance.now()
  for (let i = 0; i < calls; i++) runs += await call(i)
  const ms = performance.now() - start
  sandbox.close()
  return { calls, callsPerSec: Math.round(calls / ms * 1000), usPerCall: Math.round(ms / calls * 1000), runsPerCall: runs / calls }
}
