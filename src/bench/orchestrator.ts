/**
 * The orchestrator benchmark: 3 node processes (orchestrated-node.ts) with default timeouts, on the
 * real container engine and the local test image (`tom-test/busybox:1`, which `.ci/run` builds).
 * - actionToRunningMsP50/P99: a deployed contract emits `container.start` for a node; from that tx
 *   committed to the container running and its `container.join` committed, as the node saw both.
 * - failoverMs: a device's container runs on its node; that node is SIGKILLed (and its containers
 *   stopped, as when a host dies); from the kill to the container joined on another node. Also
 *   detectMs (kill to `node.unreachable` committed).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DockerContainerRuntime } from '../orchestrator/index.js'
import { startOrchestratedNetwork } from './orchestrated-network.js'
import { percentile } from './percentile.js'

export const benchImage = 'tom-test/busybox:1'

export interface OrchestratorBenchResult {
  readonly actions: number
  readonly actionToRunningMsP50: number
  readonly actionToRunningMsP99: number
  readonly detectMs: number
  readonly failoverMs: number
}

export async function benchOrchestrator(options: { actions?: number } = {}): Promise<OrchestratorBenchResult> {
  const actions = options.actions ?? 20
  const runtime = new DockerContainerRuntime()
  await runtime.ping()
  const digest = await runtime.inspectImage(benchImage).then(
    (image) => image.id,
    () => {
      throw new Error(`the local image ${benchImage} is missing: run .ci/run, which builds it with docker import`)
    }
  )
  const root = await mkdtemp(join(tmpdir(), 'tom-bench-orchestrator-'))
  const net = await startOrchestratedNetwork(join(root, 'net'), 3, {})
  try {
    const leader = await net.leader()
    const admin = net.adminKeyPath
    const ok = async (outcome: Promise<string>, what: string): Promise<void> => {
      const code = await outcome
      if (code !== 'ok') throw new Error(`assertion: ${what} failed: ${code}`)
    }
    await ok(leader.submit(admin, 'image.approve', { digest }), 'image.approve')
    const source = `handlers['bench.start'] = (tx, api) => {
      api.action({ type: 'container.start', node: tx.payload.node, params: { image: '${digest}', container: 'bench-' + tx.payload.n, cmd: ['sleep', '3600'] } })
    }`
    await ok(leader.submit(admin, 'contract.deploy', { name: 'bench', source }), 'contract.deploy')

    const latencies: number[] = []
    for (let n = 0; n < actions; n++) {
      const target = net.nodes[n % net.nodes.length]!
      await ok(leader.submit(admin, 'bench.start', { node: target.publicKey, n: String(n) }), 'bench.start')
      const emitted = await target.untilTx('bench.start', { n: String(n) })
      const joined = await target.untilTx('container.join', { id: `bench-${n}` }, 30_000)
      latencies.push(joined.at - emitted.at)
    }
    latencies.sort((a, b) => a - b)

    await ok(leader.submit(admin, 'template.set', { id: 'cam', on: 'device.join', match: { type: 'camera' }, image: digest, cmd: ['sleep', '3600'] }), 'template.set')
    const device = await net.newKey('cam1')
    const host = net.nodes.find((n) => n !== leader)!
    await ok(leader.submit(admin, 'device.authorise', { id: 'cam1', publicKey: `hex:${device.publicKey}`, attributes: { type: 'camera', firmwareHash: 'f1' } }), 'device.authorise')
    await ok(leader.submit(device.path, 'device.join', { id: 'cam1', attributes: { type: 'camera', firmwareHash: 'f1' }, node: host.publicKey }), 'device.join')
    await leader.untilTx('container.join', { id: 'cam-cam1' }, 60_000)
    const killedAt = Date.now()
    await host.kill()
    for (const c of await runtime.list({ labels: { 'tom.network': net.local.network, 'tom.node': host.publicKey } })) await runtime.stop(c.id, { graceS: 0 })
    const unreachable = await leader.untilTx('node.unreachable', {}, 60_000)
    const moved = await leader.untilTx('container.join', { id: `cam-cam1-r${unreachable.height}` }, 60_000)
    return {
      actions,
      actionToRunningMsP50: percentile(latencies, 50),
      actionToRunningMsP99: percentile(latencies, 99),
      detectMs: unreachable.at - killedAt,
      failoverMs: moved.at - killedAt
    }
  } finally {
    await net.close()
    for (const c of await runtime.list({ labels: { 'tom.network': net.local.network } })) await runtime.remove(c.id, { force: true })
    await rm(root, { recursive: true, force: true })
  }
}
