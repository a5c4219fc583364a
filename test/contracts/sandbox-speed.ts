/**
 * Prints the sandbox's calls per second (not a test). Run with
 *   node --import=./node_modules/@tapjs/typescript/dist/esm/import.mjs test/contracts/sandbox-speed.ts
 * tap runs it when given the whole folder (`npx tap test/contracts`): it then only reports a skip, as
 * its minutes of timing would say nothing there and can pass tap's timeout on a busy machine.
 */
import { benchSandbox } from '../../src/contracts/sandbox/bench.js'

if (Object.keys(process.env).some((name) => name.startsWith('TAP_'))) {
  console.log('TAP version 14\n1..0 # SKIP a speed print, not a test')
} else {
  for (const [name, slots, reuseRealm] of [['reused realm, hints hit', 1, true], ['reused realm, one miss per call', 1_000_000, true], ['new realm per call, hints hit', 1, false], ['new realm per call, one miss per call', 1_000_000, false]] as const) {
    console.log(name, JSON.stringify(await benchSandbox(reuseRealm ? 10_000 : 3_000, slots, { reuseRealm })))
  }
}
