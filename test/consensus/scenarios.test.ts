/**
 * Replays the scenario files in test/consensus/scenarios: each command's trace must equal the
 * expected output in the file. UPDATE_SCENARIOS=1 rewrites the expected output from the actual
 * one; a rewritten file must be read and judged correct before it is committed.
 */
import t from 'tap'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { formatScenario, Interaction, parseScenario } from './interaction.js'

const dir = join(dirname(fileURLToPath(import.meta.url)), 'scenarios')
const update = process.env.UPDATE_SCENARIOS === '1'

for (const file of readdirSync(dir).filter((f) => f.endsWith('.txt')).sort()) {
  t.test(file, async (t) => {
    const path = join(dir, file)
    const blocks = parseScenario(readFileSync(path, 'utf8'))
    const env = new Interaction()
    const results = blocks.map((b) => ({ ...b, actual: env.run(b.command) }))
    if (update) {
      writeFileSync(path, formatScenario(results))
      t.pass(`rewrote ${file}`)
      return
    }
    for (const r of results) t.equal(r.actual, r.expected, `${file}:${r.line} ${r.command}`)
  })
}
