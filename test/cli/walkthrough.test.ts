/**
 * The README as a newcomer meets it: the repository copied to a temporary folder as a fresh clone
 * (tracked and untracked-not-ignored files), `npm ci` there, `npm start` as a real process, then
 * every command of the README's walk-through block, in order, as a shell runs it (each must exit 0),
 * and Ctrl-C (SIGINT to the process group, as a terminal sends it) for a clean exit.
 *
 * `npm start` gets its default ports (p2p 7401-7403, API 7501-7503) when they are free; otherwise
 * `-- --base-port P` and the walk-through runs with TOM_NODE (and its node URLs rewritten) to match,
 * so the test runs on a machine where a network is already up.
 */
import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { findFreePorts, portFree } from '../../src/node/index.js'
import { repoRoot } from './bin.js'

/** Failure guards only: npm ci (with the build its prepare script runs), the network's start, one command. */
const installMs = 150_000
const startMs = 30_000
const commandMs = 30_000
const defaultBasePort = 7401
/** `tom-node up` gives node K the API port 100 above its p2p port. */
const apiPortOffset = 100

/** Three p2p ports and their three API ports, all free now. */
async function networkPortsFree(base: number): Promise<boolean> {
  for (let k = 0; k < 3; k++) if (!(await portFree(base + k)) || !(await portFree(base + apiPortOffset + k))) return false
  return true
}

/** The commands of the fenced block under the README's "## Walk-through" heading. */
export function walkthroughCommands(readme: string): string[] {
  const section = readme.slice(readme.indexOf('\n## Walk-through'))
  const block = /```sh\n([\s\S]*?)```/.exec(section)
  if (block === null) throw new Error('the README has no ```sh block under ## Walk-through')
  return block[1]!.split('\n').filter((line) => line.trim() !== '' && !line.trim().startsWith('#'))
}

function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s))
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s))
    const guard = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${command} ${args.join(' ')} did not finish within ${options.timeoutMs} ms; stderr: ${stderr.slice(-2000)}`))
    }, options.timeoutMs)
    child.once('error', reject)
    child.once('close', (code) => {
      clearTimeout(guard)
      resolve({ code, stdout, stderr })
    })
  })
}

t.test('the README walk-through in a fresh clone against npm start', { timeout: installMs + 120_000 }, async (t) => {
  const clone = await mkdtemp(join(tmpdir(), 'tom-clone-'))
  t.teardown(() => rm(clone, { recursive: true, force: true }))
  const listed = spawnSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: repoRoot, encoding: 'utf8' })
  t.equal(listed.status, 0, `git ls-files lists the clone's files: ${listed.stderr}`)
  if (listed.status !== 0) return
  for (const file of listed.stdout.split('\0').filter((f) => f !== '')) {
    await mkdir(dirname(join(clone, file)), { recursive: true })
    await copyFile(join(repoRoot, file), join(clone, file))
  }

  const install = await run('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: clone, timeoutMs: installMs })
  t.equal(install.code, 0, `npm ci: ${install.stderr.slice(-2000)}`)
  if (install.code !== 0) return

  let base = defaultBasePort
  if (!(await networkPortsFree(base))) {
    do base = await findFreePorts(3)
    while (!(await networkPortsFree(base)))
    t.comment(`the default ports are taken: npm start -- --base-port ${base}`)
  }
  const moved = base !== defaultBasePort
  // detached: its own process group, which a terminal's Ctrl-C signals as a whole.
  const start: ChildProcess = spawn('npm', ['start', ...(moved ? ['--', '--base-port', String(base)] : [])], { cwd: clone, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  let startErr = ''
  start.stderr!.setEncoding('utf8').on('data', (s: string) => (startErr += s))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => start.once('close', (code, signal) => resolve({ code, signal })))
  const killGroup = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-start.pid!, signal)
    } catch {
      // The group is gone already.
    }
  }
  // On a failure midway: Ctrl-C first, so that the nodes (each in its own group) are stopped too.
  t.teardown(async () => {
    if (start.exitCode !== null || start.signalCode !== null) return
    killGroup('SIGINT')
    const guard = setTimeout(() => killGroup('SIGKILL'), startMs)
    await exited
    clearTimeout(guard)
  })
  const apis: string[] = []
  await new Promise<void>((resolve, reject) => {
    const guard = setTimeout(() => reject(new Error(`npm start: no leader within ${startMs} ms; stderr: ${startErr.slice(-2000)}`)), startMs)
    let leader = false
    createInterface({ input: start.stdout! }).on('line', (line) => {
      const api = /^node\d: API (\S+)$/.exec(line)
      if (api !== null) apis.push(api[1]!)
      if (/^node\d is the leader$/.test(line)) leader = true
      if (leader && apis.length === 3) {
        clearTimeout(guard)
        resolve()
      }
    })
  })
  t.same(apis.sort(), [0, 1, 2].map((k) => `http://127.0.0.1:${base + apiPortOffset + k}`), 'three nodes serve their APIs')

  const lines = walkthroughCommands(await readFile(join(clone, 'README.md'), 'utf8'))
  const setup = lines.filter((l) => l.startsWith('alias '))
  t.equal(setup.length, 1, 'the walk-through says how to invoke tom')
  // The README's node URLs name the default ports: the same nodes on the ports used here.
  const onPorts = (line: string): string => line.replace(/127\.0\.0\.1:75(0[1-3])/g, (_, k: string) => `127.0.0.1:${base + apiPortOffset + Number(k) - 1}`)
  const env: NodeJS.ProcessEnv = { ...process.env, ...(moved ? { TOM_NODE: apis[0]! } : {}) }
  delete env.TOM_KEY
  if (!moved) delete env.TOM_NODE
  const outputs = new Map<string, string>()
  for (const line of lines.filter((l) => !l.startsWith('alias '))) {
    // One shell per command, as typed after the alias: bash expands aliases only when told to.
    const r = await run('bash', ['-c', ['shopt -s expand_aliases', ...setup, onPorts(line)].join('\n')], { cwd: clone, env, timeoutMs: commandMs })
    t.equal(r.code, 0, `${line}: exit 0 (${r.stderr.trim()})`)
    if (r.code !== 0) break
    const words = line.replace(/\s+#.*$/, '').split(/\s+/)
    outputs.set(words.slice(1, 3).join(' '), r.stdout)
  }
  t.match(outputs.get('status'), /^role: (leader|follower)$/m, 'status names a role')
  t.match(outputs.get('device list'), /^cam-1 {2}joined {2}org1/m, 'the camera joined')
  t.match(outputs.get('device join'), /^committed device\.join tx [0-9a-f]{64} in block \d+$/m)
  t.match(outputs.get('prov lineage'), /tom:data\/frame-1/, 'clean-1 comes from frame-1')
  t.match(outputs.get('prov who-touched'), /tom:device\/cam-1/, 'the camera touched frame-1')
  t.match(await readFile(join(clone, '.tom', 'clean-1.ttl'), 'utf8'), /prov:wasDerivedFrom/, 'the Turtle export holds the derivation')
  t.match(outputs.get('verify --node'), /^chain sound: height \d+, head [0-9a-f]{64}/, 'node 2 serves a sound chain')

  killGroup('SIGINT')
  const guard = setTimeout(() => killGroup('SIGKILL'), startMs)
  const end = await exited
  clearTimeout(guard)
  // npm itself got the Ctrl-C too: it waits for its script, then ends as interrupted (or 0).
  t.ok(end.code === 0 || end.signal === 'SIGINT', `Ctrl-C ends npm start: ${JSON.stringify(end)} ${startErr.slice(-1000)}`)
  t.notMatch(startErr, /exited \(/, 'no node died on its own')
  for (const k of [1, 2, 3]) {
    const log = (await readFile(join(clone, '.tom', `node${k}`, 'node.log'), 'utf8')).trim().split('\n')
    t.match(log.at(-1), /"msg":"node closed"/, `node${k} shut down gracefully: its last log line says it closed`)
  }
})
