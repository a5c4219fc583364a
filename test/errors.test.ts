/** docs/errors.md, the error registries and the codes used in src/ must agree. */
import t from 'tap'
import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { errorRegistries } from '../src/errors.js'

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...(await sourceFiles(path)))
    else if (entry.name.endsWith('.ts')) out.push(path)
  }
  return out
}

t.test('docs/errors.md lists exactly the registered codes, with the same meanings', async (t) => {
  const doc = await readFile('docs/errors.md', 'utf8')
  const documented = new Map<string, string>()
  for (const m of doc.matchAll(/^\| `(ERR_[A-Z0-9_]+)` \| (.+) \|$/gm)) {
    t.notOk(documented.has(m[1]!), `${m[1]} is documented once`)
    documented.set(m[1]!, m[2]!)
  }
  const registered = new Map<string, string>()
  for (const { codes } of errorRegistries) {
    for (const [code, meaning] of Object.entries(codes)) {
      t.notOk(registered.has(code), `${code} is registered once`)
      registered.set(code, meaning)
    }
  }
  t.same([...documented.keys()].sort(), [...registered.keys()].sort(), 'same codes in docs/errors.md and src/errors.ts')
  for (const [code, meaning] of registered) t.equal(documented.get(code), meaning, `${code}: same meaning`)
})

t.test('every ERR_ code used in src/ is registered', async (t) => {
  const registered = new Set(errorRegistries.flatMap(({ codes }) => Object.keys(codes)))
  for (const file of await sourceFiles('src')) {
    const text = await readFile(file, 'utf8')
    for (const m of text.matchAll(/['"`](ERR_[A-Z0-9_]+)['"`]/g)) {
      t.ok(registered.has(m[1]!), `${m[1]} (used in ${file}) is registered in src/errors.ts and documented`)
    }
  }
})
