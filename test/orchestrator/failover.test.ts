/**
 * Service continuity on real processes and real Docker (the MEC cluster scenario): 3 nodes; a camera
 * joins at a follower and a template starts its container there; that host fails (its node process
 * SIGKILLed and, as when a host dies, its containers stopped); the leader declares it unreachable,
 * the continuity contract places the container on a healthy node, which starts it and joins it,
 * within 10 s of the failure being committed. When the host comes back, it does not run its lost
 * container again: one container runs for the workload.
 */
import t from 'tap'
import { join } from 'node:path'
import { startOrchestratedNetwork } from '../../src/bench/orchestrated-network.js'
import type { DockerContainerRuntime } from '../../src/orchestrator/index.js'
import { ensureTestImage, withDockerEngine } from './docker-env.js'

async function running(runtime: DockerContainerRuntime, network: string): Promise<{ container: string; node: string }[]> {
  const all = await runtime.list({ labels: { 'tom.network': network } })
  return all.filter((c) => c.state === 'running').map((c) => ({ container: c.labels['tom.container']!, node: c.labels['tom.node']! }))
}

/** Polls `check` until it holds; fails after `ms`. */
async function eventually(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

t.test('a failed host\'s container runs on another node within 10 s, and never twice', async (t) => {
  await withDockerEngine(t, async ({ runtime, socketPath }) => {
    const digest = await ensureTestImage(socketPath)
    const net = await startOrchestratedNetwork(join(t.testdir(), 'net'), 3, { nodeUnreachableMs: 2000, reconcileIntervalMs: 1000 })
    const network = net.local.network
    t.teardown(async () => {
      await net.close()
      for (const c of await runtime.list({ labels: { 'tom.network': network } })) await runtime.remove(c.id, { force: true })
    })
    const leader = await net.leader()
    const admin = net.adminKeyPath
    t.equal(await leader.submit(admin, 'image.approve', { digest }), 'ok')
    t.equal(await leader.submit(admin, 'template.set', { id: 'cam', on: 'device.join', match: { type: 'camera' }, image: digest, cmd: ['sleep', '3600'] }), 'ok')
    const device = await net.newKey('cam1')
    const host = net.nodes.find((n) => n !== leader)!
    t.equal(await leader.submit(admin, 'device.authorise', { id: 'cam1', publicKey: `hex:${device.publicKey}`, attributes: { type: 'camera', firmwareHash: 'f1' } }), 'ok')
    t.equal(await leader.submit(device.path, 'device.join', { id: 'cam1', attributes: { type: 'camera', firmwareHash: 'f1' }, node: host.publicKey }), 'ok')

    await leader.untilTx('container.join', { id: 'cam-cam1' }, 60_000)
    t.same(await running(runtime, network), [{ container: 'cam-cam1', node: host.publicKey }], 'the camera\'s container runs on its node')

    // The host fails.
    await host.kill()
    for (const c of await runtime.list({ labels: { 'tom.network': network, 'tom.node': host.publicKey } })) await runtime.stop(c.id, { graceS: 0 })
    const unreachable = await leader.untilTx('node.unreachable', {}, 30_000)
    const moved = `cam-cam1-r${unreachable.height}`
    const joined = await leader.untilTx('container.join', { id: moved }, 20_000)
    const failoverMs = joined.at - unreachable.at
    t.ok(failoverMs <= 10_000, `running elsewhere ${failoverMs} ms after the failure was committed`)
    const now = await running(runtime, network)
    t.equal(now.length, 1, 'one container runs for the workload')
    t.equal(now[0]!.container, moved)
    t.not(now[0]!.node, host.publicKey, 'on a healthy node')

    // The host comes back: declared reachable again, and it does not start its lost container.
    host.spawn()
    await leader.untilTx('node.reachable', {}, 30_000)
    await host.until(() => host.find('node.reachable') !== undefined, 'the host applied node.reachable', 30_000)
    // Give its orchestrator two reconcile rounds to (wrongly) act, checking all along.
    const settledAt = Date.now() + 2500
    await eventually('the host to settle', async () => {
      const live = await running(runtime, network)
      if (live.length !== 1 || live[0]!.container !== moved) throw new Error(`running twice or not at all: ${JSON.stringify(live)}`)
      return Date.now() > settledAt
    })
    t.pass('still one container, on the healthy node')
  })
})
