/**
 * `tom-node up`, the README's main job, as a real process: it creates a 3-node network, starts the
 * nodes, prints each node's API address and the leader; a client submits a tx through one node's HTTP
 * API (a follower forwards it) and reads the metrics; Ctrl-C (SIGINT) stops everything gracefully.
 * And when `up` itself dies (SIGKILL), its nodes stop gracefully rather than live on as orphans.
 */
import t from 'tap'
import type { Test } from 'tap'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fromHex, loadKeyFile, Signer } from '../../src/crypto/index.js'
import { TomClient } from '../../src/api/index.js'
import { findFreePorts } from '../../src/node/index.js'
import { distMissing, finished, processTimeoutMs, runBin, spawnBin } from './bin.js'

/** Starts `tom-node up` with 3 nodes in a test folder and waits for the three API addresses and a leader. */
async function startUp(t: Test): Promise<{ up: ReturnType<typeof spawnBin>; dir: string; base: number; apis: Map<string, string>; leader: string; done: ReturnType<typeof finished> }> {
  const dir = join(t.testdir(), 'net')
  // Three p2p ports and the three API ports 100 above them.
  const base = await findFreePorts(3)
  const up = spawnBin('tom-node', ['up', '--dir', dir, '--nodes', '3', '--base-port', String(base)])
  // The network's whole life, from start to graceful stop, on a machine that may be busy.
  const done = finished(up, 'tom-node up', processTimeoutMs * 4)
  t.teardown(() => {
    if (up.exitCode === null) up.kill('SIGKILL')
  })
  const apis = new Map<string, string>()
  let leader: string | undefined
  const lines = createInterface({ input: up.stdout })
  await new Promise<void>((resolve, reject) => {
    const guard = setTimeout(() => reject(new Error(`no APIs and leader within ${processTimeoutMs * 2} ms`)), processTimeoutMs * 2)
    lines.on('line', (line) => {
      const api = /^(node\d): API (http:\/\/\S+)$/.exec(line)
      if (api !== null) apis.set(api[1]!, api[2]!)
      const lead = /^(node\d) is the leader$/.exec(line)
      if (lead !== null) leader = lead[1]
      if (apis.size === 3 && leader !== undefined) {
        clearTimeout(guard)
        resolve()
      }
    })
  })
  return { up, dir, base, apis, leader: leader!, done }
}

t.test('tom-node up: three nodes, their APIs, a tx through a follower, a graceful stop', { skip: distMissing('tom-node') }, async (t) => {
  const { up, dir, base, apis, leader, done } = await startUp(t)
  t.same([...apis.values()].sort(), [1, 2, 3].map((k) => `http://127.0.0.1:${base + 99 + k}`), 'each node serves its API 100 above its p2p port')

  const follower = [...apis.keys()].find((name) => name !== leader)!
  const client = new TomClient({ url: apis.get(follower)! })
  const status = await client.status()
  t.equal(status.role, 'follower')
  const admin = new Signer(await loadKeyFile(join(dir, 'admin.key')))
  const committed = await client.submit(TomClient.sign(admin, fromHex(status.network), 'data.add', { id: 'through-a-follower', hash: new Uint8Array(32).fill(1) }))
  t.match(committed, { receipt: { ok: true } }, 'a follower forwards the tx to the leader and answers once it committed')
  // The commit was the leader's; a linearizable read makes the follower apply it before its metrics are read.
  t.ok(await client.state('data/through-a-follower', { linearizable: true }), 'the follower reads the tx back')
  const metrics = await (await fetch(`${apis.get(follower)!}/metrics`)).text()
  t.match(metrics, /^tom_block_height [1-9]\d*$/m)

  up.kill('SIGINT')
  const result = await done
  t.equal(result.code, 0, `exits 0 after a graceful stop: ${result.stderr.slice(-500)}`)
})

/** The pids of the processes whose command line names `path`: the node processes of a data folder. */
async function pidsRunning(path: string): Promise<number[]> {
  const pids: number[] = []
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const cmdline = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '')
    if (cmdline.split('\0').includes(path)) pids.push(Number(name))
  }
  return pids
}

t.test('a node never outlives tom-node up: killed with SIGKILL, its nodes still stop gracefully', { skip: distMissing('tom-node') || (process.platform !== 'linux' && 'reads /proc') }, async (t) => {
  const { up, dir, apis, done } = await startUp(t)
  const nodeDirs = [...apis.keys()].map((name) => join(dir, name))
  const pids = (await Promise.all(nodeDirs.map(pidsRunning))).flat()
  t.equal(pids.length, 3, 'three node processes run')
  up.kill('SIGKILL')
  await done
  // Each node sees its standard input (a pipe from up) end and shuts down as on SIGTERM.
  const deadline = Date.now() + processTimeoutMs * 2
  let left = pids
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    left = (await Promise.all(nodeDirs.map(pidsRunning))).flat()
  }
  t.same(left, [], 'every node process ended')
  for (const nodeDir of nodeDirs) {
    // Its store is released and sound. (That the close on stdin's end is graceful, exit 0 and
    // "node closed", is tested on tom-node start itself, whose stderr a test can still read.)
    const verified = await runBin('tom-node', ['verify', '--dir', nodeDir, '--json'])
    t.equal(verified.code, 0, `${nodeDir} verifies, its store released: ${verified.stderr}`)
  }
})
