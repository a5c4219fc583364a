/**
 * `tom-node up`, the README's main job, as a real process: it creates a 3-node network, starts the
 * nodes, prints each node's API address and the leader; a client submits a tx through one node's HTTP
 * API (a follower forwards it) and reads the metrics; Ctrl-C (SIGINT) stops everything gracefully.
 */
import t from 'tap'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fromHex, loadKeyFile, Signer } from '../../src/crypto/index.js'
import { TomClient } from '../../src/api/index.js'
import { findFreePorts } from '../../src/node/index.js'
import { distMissing, finished, processTimeoutMs, spawnBin } from './bin.js'

t.test('tom-node up: three nodes, their APIs, a tx through a follower, a graceful stop', { skip: distMissing('tom-node') }, async (t) => {
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
