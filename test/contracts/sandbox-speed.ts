/**
 * Prints the sandbox's calls per second (not a test: tap skips it). Run with
 *   node --import=./node_modules/@tapjs/typescript/dist/esm/import.mjs test/contracts/sandbox-speed.ts
 */
import { benchSandbox } from '../../src/contracts/sandbox/bench.js'

for (const [name, slots, reuseRealm] of [['reused realm, hints hit', 1, true], ['reused realm, one miss per call', 1_000_000, true], ['new realm per call, hints hit', 1, false], ['new realm per call, one miss per call', 1_000_000, false]] as const) {
  console.log(name, JSON.stringify(await benchSandbox(reuseRealm ? 10_000 : 3_000, slots, { reuseRealm })))
}
