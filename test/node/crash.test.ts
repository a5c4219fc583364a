/**
 * SIGKILL a real node process under load at several moments, restart it each time, and check that
 * every tx it acknowledged as committed is in the ledger, that the chain verifies, and that the node
 * carries on from where it was.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fromHex } from '../../src/crypto/index.js'
import { Ledger, LevelKvStore } from '../../src/ledger/index.js'
import { CoreContracts } from '../../src/contracts/index.js'
import { initNetwork, verifyDataDir, dataPath } from '../../src/node/index.js'

const fixture = join(import.meta.dirname, '..', 'fixtures', 'load-node.mjs')
const built = existsSync(join(import.meta.dirname, '..', '..', 'dist', 'index.js'))

/** Runs the load process until it has acknowledged `acks` txs, then SIGKILLs it. Returns the acked ids. */
async function loadAndKill(dir: string, prefix: string, acks: number): Promise<{ acked: string[]; startHeight: number }> {
  const child = spawn(process.execPath, [fixture, dir, prefix, '64'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
  const acked: string[] = []
  let startHeight = -1
  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000) // failure guard only
  for await (const line of createInterface({ input: child.stdout })) {
    const [word, value] = line.split(' ')
    if (word === 'ready') startHeight = Number(value)
    if (word === 'ack') acked.push(value!)
    if (acked.length === acks) child.kill('SIGKILL')
  }
  clearTimeout(guard)
  const { signal } = await exited
  if (signal !== 'SIGKILL' || acked.length < acks) throw new Error(`load process ended early (${signal}, ${acked.length} acks): ${stderr}`)
  return { acked, startHeight }
}

t.test('no acknowledged tx is lost when the node is SIGKILLed under load', { skip: built ? false : 'dist/ not built: run npm run build' }, async (t) => {
  const dir = join(t.testdir(), 'node')
  await initNetwork({ dir })
  let lastHeight = 0
  let total = 0
  // Kill after different amounts of work so that the kill lands at different points of a block.
  for (const [round, acks] of [300, 1, 1500, 77, 900].entries()) {
    const { acked, startHeight } = await loadAndKill(dir, `round${round}`, acks)
    t.ok(startHeight >= lastHeight, `round ${round}: restarted at height ${startHeight}, not below ${lastHeight}`)
    const ledger = await Ledger.open(new LevelKvStore(dataPath(dir, 'ledger')), new CoreContracts())
    let missing = 0
    for (const id of acked) {
      const record = await ledger.getTx(fromHex(id))
      if (record === undefined || !record.receipt.ok) missing++
    }
    t.equal(missing, 0, `round ${round}: all ${acked.length} acknowledged txs are committed`)
    lastHeight = ledger.head!.height
    await ledger.close()
    const report = await verifyDataDir(dir)
    t.ok(report.ok, `round ${round}: chain verifies at height ${report.height}`)
    total += acked.length
  }
  t.ok(total >= 2778, `${total} txs acknowledged over five crashes`)
})
