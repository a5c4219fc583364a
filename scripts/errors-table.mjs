// Regenerates the tables of docs/errors.md from the registries in dist/ (run after npm run build):
// everything before the first `## ` heading is kept as written, the rest is rewritten.
import { readFileSync, writeFileSync } from 'node:fs'
import { errorRegistries } from '../dist/errors.js'

const path = new URL('../docs/errors.md', import.meta.url)
const doc = readFileSync(path, 'utf8')
const start = doc.indexOf('\n## ')
const intro = start === -1 ? doc.trimEnd() + '\n' : doc.slice(0, start + 1)
let tables = ''
for (const { module, codes } of errorRegistries) {
  tables += `\n## ${module}\n\n| code | meaning |\n| --- | --- |\n`
  for (const [code, meaning] of Object.entries(codes)) tables += `| \`${code}\` | ${meaning} |\n`
}
writeFileSync(path, intro + tables.slice(1))
