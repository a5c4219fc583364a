/** `tom-node` through real processes: init, verify (sound, tampered, not initialised), usage errors, start and stop, the lock, the API's rate limit from config.json. */
import t from 'tap'
import type { Test } from 'tap'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { decode, encode, loadKeyFile, sha256, Signer } from '../../src/crypto/index.js'
import { layout, LevelKvStore, signTx } from '../../src/ledger/index.js'
import { dataPath, silentLogger, TomNode } from '../../src/node/index.js'
import { distMissing, finished, logMessage, runBin, spawnBin, waitForLine } from './bin.js'

const skip = distMissing('tom-node')

async function modeOf(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777
}

/** The one line a failed command writes to stderr. */
function errorLine(t: Test, stderr: string, code: string): void {
  const lines = stderr.split('\n').filter((l) => l.length > 0)
  t.equal(lines.length, 1, `one line on stderr: ${JSON.stringify(stderr)}`)
  t.match(lines[0], new RegExp(`^tom-node: ${code}: `))
}

t.test('init, verify, tamper, verify again', { skip }, async (t) => {
  const dir = join(t.testdir(), 'node1')

  const init = await runBin('tom-node', ['init', '--dir', dir, '--json'])
  t.equal(init.code, 0, init.stderr)
  const result = JSON.parse(init.stdout) as Record<string, unknown>
  t.match(result.network, /^[0-9a-f]{64}$/)
  t.match(result.peerId, /^12D3KooW/)
  t.equal(result.adminKeyPath, join(dir, 'admin.key'))
  t.equal(result.dir, dir)
  t.equal(await modeOf(dir), 0o700, 'the folder is 0700')
  t.equal(await modeOf(join(dir, 'node.key')), 0o600, 'node.key is 0600')
  t.equal(await modeOf(join(dir, 'admin.key')), 0o600, 'admin.key is 0600')

  const again = await runBin('tom-node', ['init', '--dir', dir, '--json'])
  t.equal(again.code, 2, 'a second init exits 2')
  t.equal(again.stdout, '')
  errorLine(t, again.stderr, 'ERR_NODE_ALREADY_INITIALISED')

  const sound = await runBin('tom-node', ['verify', '--dir', dir])
  t.equal(sound.code, 0, sound.stderr)
  t.match(sound.stdout, /^chain sound: height 0, head [0-9a-f]{64}, 3 txs, \d+ ms\n$/)
  t.match(sound.stdout, result.network as string, 'the head of a new network is its genesis')

  // A few blocks beyond genesis, written in-process.
  const admin = new Signer(await loadKeyFile(dataPath(dir, 'adminKey')))
  const node = await TomNode.open({ dir, logger: silentLogger(), config: { blockTxMax: 2 } })
  node.start()
  const expiresAt = Date.now() + 10 * 60 * 1000
  await Promise.all(
    [0, 1, 2, 3, 4].map((i) =>
      node.submitTx(signTx({ network: node.network, type: 'data.add', signer: admin.publicKey, nonce: i, expiresAt, payload: { id: `d${i}`, hash: sha256(Uint8Array.of(i)) } }, admin))
    )
  )
  const height = node.head.height
  await node.close()
  t.ok(height >= 3, `height ${height}`)

  const json = await runBin('tom-node', ['verify', '--dir', dir, '--json'])
  t.equal(json.code, 0, json.stderr)
  t.match(JSON.parse(json.stdout), { ok: true, height, txs: 8 })

  const store = new LevelKvStore(dataPath(dir, 'ledger'))
  await store.open()
  const raw = decode<{ sig: Uint8Array }>((await store.get(layout.block(2)))!)
  raw.sig[0]! ^= 1
  await store.batch([{ type: 'put', key: layout.block(2), value: encode(raw) }])
  await store.close()

  const unsound = await runBin('tom-node', ['verify', '--dir', dir])
  t.equal(unsound.code, 1, 'an unsound chain exits 1')
  t.match(unsound.stdout, /^chain UNSOUND at height 2: ERR_BLOCK_BAD_SIGNATURE: /)
  const unsoundJson = await runBin('tom-node', ['verify', '--dir', dir, '--json'])
  t.equal(unsoundJson.code, 1)
  t.match(JSON.parse(unsoundJson.stdout), { ok: false, height: 2, code: 'ERR_BLOCK_BAD_SIGNATURE' })
})

t.test('plain init output names the network and the key files', { skip }, async (t) => {
  const dir = join(t.testdir(), 'n')
  const init = await runBin('tom-node', ['init', '--dir', dir, '--network', 'edge', '--org', 'acme', '--name', 'mec-1'])
  t.equal(init.code, 0, init.stderr)
  t.match(init.stdout, /^network edge created in /)
  t.match(init.stdout, /organisation: acme/)
  t.match(init.stdout, /node mec-1: key [0-9a-f]{64}, peer id 12D3KooW/)
})

t.test('verify on a folder without a network exits 2 with ERR_NODE_NOT_INITIALISED', { skip }, async (t) => {
  for (const dir of [t.testdir(), join(t.testdir(), 'does-not-exist')]) {
    const r = await runBin('tom-node', ['verify', '--dir', dir])
    t.equal(r.code, 2)
    t.equal(r.stdout, '')
    errorLine(t, r.stderr, 'ERR_NODE_NOT_INITIALISED')
  }
})

async function usageErrors(t: Test, cases: [string, string[]][]): Promise<void> {
  for (const [name, args] of cases) {
    const r = await runBin('tom-node', args)
    t.equal(r.code, 2, `${name}: exit 2`)
    t.match(r.stderr, /^tom-node: ERR_CLI_USAGE: \S[^\n]*\n$/, `${name}: says why on stderr, in one line`)
    t.equal(r.stdout, '', `${name}: nothing on stdout`)
  }
}

t.test('usage errors exit 2: an unknown command', { skip }, async (t) => {
  await usageErrors(t, [
    ['an unknown command', ['frobnicate']],
    ['an unknown option of the program', ['--frob']]
  ])
  const help = await runBin('tom-node', ['--help'])
  t.equal(help.code, 0, '--help is not an error')
  t.match(help.stdout, /verify/)
})

t.test(
  'usage errors exit 2: a missing required option or a bad option of a command',
  {
    skip
  },
  async (t) => {
    await usageErrors(t, [
      ['verify without --dir', ['verify']],
      ['init without --dir', ['init', '--json']],
      ['start without --dir', ['start']],
      ['an unknown option of verify', ['verify', '--dir', t.testdir(), '--frob']],
      ['a bad --log-level', ['start', '--dir', t.testdir(), '--log-level', 'loud']]
    ])
  }
)

t.test('start runs until SIGTERM; a second start on the folder exits 2 with ERR_NODE_LOCKED', { skip }, async (t) => {
  const dir = join(t.testdir(), 'node1')
  const init = await runBin('tom-node', ['init', '--dir', dir])
  t.equal(init.code, 0, init.stderr)

  const child = spawnBin('tom-node', ['start', '--dir', dir])
  const exited = finished(child, 'tom-node start')
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  const started = await waitForLine(child.stderr, (line) => logMessage(line) === 'node started', 'tom-node start')
  t.match(JSON.parse(started), { level: 30, msg: 'node started', name: 'node1', module: 'node' })

  const second = await runBin('tom-node', ['start', '--dir', dir])
  t.equal(second.code, 2, 'the second start exits 2')
  t.match(second.stderr, /^tom-node: ERR_NODE_LOCKED: /m)
  t.equal(child.exitCode, null, 'the first node is still running')

  const verifyWhileRunning = await runBin('tom-node', ['verify', '--dir', dir])
  t.equal(verifyWhileRunning.code, 2, 'verify refuses a folder a running node holds')
  t.match(verifyWhileRunning.stderr, /ERR_NODE_LOCKED/)

  child.kill('SIGTERM')
  const result = await exited
  t.equal(result.signal, null, 'exits by itself rather than by the signal')
  t.equal(result.code, 0, `exit 0 on SIGTERM; stderr: ${result.stderr}`)
  t.match(result.stderr, /SIGTERM: shutting down/)
  t.ok(
    result.stderr.split('\n').some((l) => logMessage(l) === 'node closed'),
    'logs that it closed'
  )

  const after = await runBin('tom-node', ['verify', '--dir', dir])
  t.equal(after.code, 0, 'the folder verifies after a clean stop')
})

t.test('start --stop-with-stdin stops gracefully when its standard input ends (how up ties its nodes to itself)', { skip }, async (t) => {
  const dir = join(t.testdir(), 'node1')
  const init = await runBin('tom-node', ['init', '--dir', dir])
  t.equal(init.code, 0, init.stderr)
  const config = JSON.parse(await readFile(dataPath(dir, 'config'), 'utf8')) as Record<string, unknown>
  await writeFile(dataPath(dir, 'config'), JSON.stringify({ ...config, apiPort: 0, orchestrator: false }))
  const child = spawnBin('tom-node', ['start', '--dir', dir, '--stop-with-stdin'])
  const exited = finished(child, 'tom-node start')
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  await waitForLine(child.stderr, (l) => l.startsWith('tom-node: API at '), 'tom-node start')
  child.stdin.end()
  const result = await exited
  t.equal(result.code, 0, `exit 0 once stdin ended; stderr: ${result.stderr.slice(-500)}`)
  t.match(result.stderr, /standard input closed: shutting down/)
  t.ok(
    result.stderr.split('\n').some((l) => logMessage(l) === 'node closed'),
    'logs that it closed'
  )
})

t.test('start serves the API with the rate limit of config.json (apiRateLimit)', { skip }, async (t) => {
  const dir = join(t.testdir(), 'node1')
  const init = await runBin('tom-node', ['init', '--dir', dir])
  t.equal(init.code, 0, init.stderr)
  const config = JSON.parse(await readFile(dataPath(dir, 'config'), 'utf8')) as Record<string, unknown>
  // Two requests at once and none refilled: the third must be refused, whatever the timing.
  await writeFile(dataPath(dir, 'config'), JSON.stringify({ ...config, apiPort: 0, orchestrator: false, apiRateLimit: { burst: 2, perSecond: 0 } }))
  const child = spawnBin('tom-node', ['start', '--dir', dir])
  const exited = finished(child, 'tom-node start')
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  const line = await waitForLine(child.stderr, (l) => l.startsWith('tom-node: API at '), 'tom-node start')
  const url = line.slice('tom-node: API at '.length)
  const statuses: number[] = []
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${url}/v1/status`)
    await res.arrayBuffer()
    statuses.push(res.status)
  }
  t.same(statuses, [200, 200, 429], 'the burst of two from config.json, then ERR_API_RATE_LIMITED')
  child.kill('SIGTERM')
  t.equal((await exited).code, 0)
})
