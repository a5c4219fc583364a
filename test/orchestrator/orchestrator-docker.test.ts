/**
 * The Orchestrator on the real Docker engine of this host, with the fake ledger edge: a start runs
 * the approved image ID with the labels, env and read-only key the container can read (and that key
 * is the one it joined with), a crash between start and join starts nothing twice, stop, a killed
 * container restarted by reconcile, a digest with no local image refused. Skipped without an engine
 * outside CI, failed under CI=true (docker-env.ts). Every container carries the test labels.
 */
import t, { type Test } from 'tap'
import { enginePath, engineRequest } from '../../src/orchestrator/engine-api.js'
import { join } from 'node:path'
import { bytesEqual, fromHex, keyPairFromSeed } from '../../src/crypto/index.js'
import { Orchestrator, orchestratorConstants, type ContainerRuntime, type OrchestratorOptions } from '../../src/orchestrator/index.js'
import { ensureTestImage, removeTestContainers, testLabels, withDockerEngine } from './docker-env.js'
import { FakeLedger, newNodeKey } from './fake-ledger.js'
import { pollUntil } from './runtime-suite.js'

/** Prints the key file and the identity env, then runs until SIGTERM. */
const identityCommand = ['sh', '-c', 'cat "$TOM_KEY_FILE"; echo; echo "id=$TOM_CONTAINER_ID net=$TOM_NETWORK"; trap \'exit 0\' TERM; sleep 3600 & wait']

t.test('Orchestrator on the Docker engine', async (t) => {
  await withDockerEngine(t, async ({ socketPath, runtime }) => {
    await removeTestContainers(runtime)
    t.teardown(() => removeTestContainers(runtime, { onlyThisProcess: true }))
    const imageId = await ensureTestImage(socketPath)
    const imageHex = imageId.slice('sha256:'.length)

    const setup = (t: Test, more: Partial<OrchestratorOptions> = {}): { ledger: FakeLedger; node: string; make: (m?: Partial<OrchestratorOptions>) => Orchestrator } => {
      const ledger = new FakeLedger()
      ledger.approveImage(imageHex)
      const node = newNodeKey()
      const keysDir = join(t.testdir(), 'keys')
      const make = (m: Partial<OrchestratorOptions> = {}): Orchestrator => {
        const o = new Orchestrator({
          runtime: runtime as ContainerRuntime,
          reader: ledger.reader(node),
          submit: ledger.submit(node),
          networkId: ledger.network,
          nodeKey: node,
          keysDir,
          networkMode: 'none',
          labels: testLabels(),
          stopGraceS: 2,
          reconcileIntervalMs: 60_000,
          ...more,
          ...m
        })
        t.teardown(() => o.stop())
        return o
      }
      return { ledger, node, make }
    }
    const pass = async (o: Orchestrator, what: 'sync' | 'reconcile' = 'sync'): Promise<void> => {
      await o[what]()
      await o.settled()
    }

    t.test('start: labels, env, the read-only key inside is the private key of the joined public key; then stop', async (t) => {
      const { ledger, node, make } = setup(t)
      const o = make()
      const limits = { memoryBytes: 48 * 1024 * 1024, nanoCpus: 500_000_000 }
      const id = ledger.addAction('container.start', node, { image: imageHex, container: 'cam-1', env: { DEVICE: 'camera-7' }, cmd: identityCommand, limits, labels: { app: 'camera', 'tom.node': 'forged' } })
      await pass(o)
      t.equal(ledger.actions.get(id)!.status, 'done', ledger.actions.get(id)!.detail ?? 'joined')
      const [summary] = await runtime.list({ labels: { 'tom.action': id } })
      t.ok(summary, 'found by its action label')
      const c = await runtime.inspect(summary!.id)
      t.equal(c.state, 'running')
      t.equal(c.imageId, imageId, 'runs the approved image ID')
      t.match(c.labels, { 'tom.network': ledger.network, 'tom.node': node, 'tom.action': id, 'tom.container': 'cam-1', 'tom.test': 'orchestrator', app: 'camera' }, 'its labels, and an action cannot forge the tom.* ones')
      t.equal(c.memoryBytes, limits.memoryBytes, 'the memory limit')
      t.equal(c.nanoCpus, limits.nanoCpus, 'the CPU limit')
      t.match(c.env, { DEVICE: 'camera-7', TOM_CONTAINER_ID: 'cam-1', TOM_NETWORK: ledger.network, TOM_KEY_FILE: orchestratorConstants.containerKeyPath })
      t.equal(c.networkMode, 'none')
      t.same(c.readOnlyFiles.map((m) => m.containerPath), [orchestratorConstants.containerKeyPath], 'the key is mounted read-only')
      const logs = await pollUntil(() => runtime.logs(summary!.id), (l) => l.stdout.includes('id='), 20_000)
      const [keyLine, idLine] = logs.stdout.split('\n').filter((line) => line !== '')
      t.equal(idLine, `id=cam-1 net=${ledger.network}`)
      const inside = JSON.parse(keyLine!) as { privateKey: string }
      const joined = ledger.ofType('container.join')[0]!.payload
      t.ok(bytesEqual(keyPairFromSeed(fromHex(inside.privateKey)).publicKey, joined.publicKey as Uint8Array), 'the key read inside the container is the private key of the joined public key')
      t.equal(joined.imageDigest, imageId)

      const stop = ledger.addAction('container.stop', node, { container: 'cam-1' })
      await pass(o)
      t.equal(ledger.actions.get(stop)!.status, 'done')
      t.equal((await runtime.list({ labels: { 'tom.action': id } }))[0]?.state, 'exited', 'stopped and kept')
      const restart = ledger.addAction('container.restart', node, { container: 'cam-1' })
      await pass(o)
      t.equal(ledger.actions.get(restart)!.status, 'done')
      t.equal((await runtime.list({ labels: { 'tom.action': id } }))[0]?.state, 'running', 'running again')
      const remove = ledger.addAction('container.remove', node, { container: 'cam-1' })
      await pass(o)
      t.equal(ledger.actions.get(remove)!.status, 'done')
      t.same(await runtime.list({ labels: { 'tom.action': id } }), [], 'stopped and removed')
      t.equal(ledger.containers.get('cam-1')!.status, 'left')
    })

    t.test('a crash between start and join: a new orchestrator joins the running container and starts no other', async (t) => {
      const { ledger, node, make } = setup(t)
      const first = make()
      const id = ledger.addAction('container.start', node, { image: imageHex, container: 'cam-2', cmd: identityCommand })
      ledger.intercept('container.join', { hang: true })
      await first.sync()
      await first.stop()
      const second = make()
      await pass(second)
      t.equal((await runtime.list({ labels: { 'tom.action': id } })).length, 1, 'one container')
      t.equal(ledger.actions.get(id)!.status, 'done', 'joined by the new orchestrator')
      ledger.releaseHung()
    })

    t.test('a killed container is restarted by reconcile and the drift recorded', async (t) => {
      const { ledger, node, make } = setup(t)
      const o = make()
      const id = ledger.addAction('container.start', node, { image: imageHex, container: 'cam-3', cmd: identityCommand })
      await pass(o)
      const [summary] = await runtime.list({ labels: { 'tom.action': id } })
      const killed = await engineRequest(socketPath, { method: 'POST', path: enginePath(['containers', summary!.id, 'kill'], { signal: 'SIGKILL' }), signal: AbortSignal.timeout(10_000), bodyBytesMax: 65_536 })
      t.equal(killed.status, 204, 'killed outside the orchestrator')
      await pollUntil(() => runtime.inspect(summary!.id), (d) => d.state === 'exited', 20_000)
      await pass(o, 'reconcile')
      t.equal((await runtime.inspect(summary!.id)).state, 'running', 'running again, same container')
      t.same(ledger.ofType('container.status').map((s) => s.payload), [{ id: 'cam-3', status: 'restarted', detail: 'exit code 137' }])
      t.equal((await runtime.list({ labels: { 'tom.container': 'cam-3' } })).length, 1, 'never two')
    })

    t.test('an approved digest with no local image of that ID is refused; the tagged image of another digest is not run', async (t) => {
      const { ledger, node, make } = setup(t)
      const o = make()
      const other = 'd4'.repeat(32)
      ledger.approveImage(other)
      const id = ledger.addAction('container.start', node, { image: other, container: 'cam-4' })
      await pass(o)
      t.equal(ledger.actions.get(id)!.status, 'failed')
      t.equal(ledger.actions.get(id)!.detail, `no local image with the approved digest sha256:${other}; a local image with a different digest is never run`)
      t.same(await runtime.list({ labels: { 'tom.node': node } }), [], 'nothing created')
    })
  })
})
