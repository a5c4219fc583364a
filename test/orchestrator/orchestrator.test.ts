/**
 * The Orchestrator over the memory runtime and a fake ledger edge (fake-ledger.ts): each action kind,
 * idempotence across a crash between start and join, refused images, no engine, and reconciliation.
 * The Docker run of the same behaviours is orchestrator-docker.test.ts.
 */
import t, { type Test } from 'tap'
import { rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { loadKeyFile, toHex } from '../../src/crypto/index.js'
import {
  MemoryContainerRuntime,
  Orchestrator,
  orchestratorConstants,
  type MemoryProcessInput,
  type OrchestratorOptions
} from '../../src/orchestrator/index.js'
import { FakeLedger, newNodeKey, recordingLogger } from './fake-ledger.js'
import { pollUntil } from './runtime-suite.js'

const imageA = 'a1'.repeat(32)
const imageB = 'b2'.repeat(32)

interface World {
  ledger: FakeLedger
  runtime: MemoryContainerRuntime
  node: string
  keysDir: string
  started: MemoryProcessInput[]
  clock: { ms: number; now(): number }
  log: ReturnType<typeof recordingLogger>
  orchestrator(more?: Partial<OrchestratorOptions>): Orchestrator
}

function world(t: Test): World {
  const ledger = new FakeLedger()
  const started: MemoryProcessInput[] = []
  const runtime = new MemoryContainerRuntime({
    processModel: (input) => {
      started.push(input)
      return {}
    }
  })
  runtime.addImage('app:1', { id: `sha256:${imageA}` })
  ledger.approveImage(imageA)
  const node = newNodeKey()
  const keysDir = join(t.testdir(), 'keys')
  const clock = { ms: 1_000_000, now(): number { return this.ms } }
  const log = recordingLogger()
  const w: World = {
    ledger,
    runtime,
    node,
    keysDir,
    started,
    clock,
    log,
    orchestrator: (more = {}) => {
      const o = new Orchestrator({
        runtime,
        reader: ledger.reader(more.nodeKey ?? node),
        submit: ledger.submit(more.nodeKey ?? node),
        networkId: ledger.network,
        nodeKey: node,
        keysDir,
        logger: log.logger,
        clock,
        reconcileIntervalMs: 1_000,
        stopGraceS: 1,
        networkMode: 'none',
        ...more
      })
      t.teardown(() => o.stop())
      return o
    }
  }
  return w
}

async function pass(o: Orchestrator, what: 'sync' | 'reconcile' = 'sync'): Promise<void> {
  await o[what]()
  await o.settled()
}

t.test('start: the container runs from the approved image ID with labels, env, command and its read-only key; the join carries the key and the action', async (t) => {
  const w = world(t)
  const o = w.orchestrator()
  const id = w.ledger.addAction('container.start', w.node, { image: imageA, container: 'cam-1', env: { DEVICE: 'cam' }, cmd: ['serve', '--fast'] })
  await pass(o)
  const list = await w.runtime.list({ labels: { 'tom.action': id } })
  t.equal(list.length, 1, 'one container for the action')
  const c = await w.runtime.inspect(list[0]!.id)
  t.equal(c.state, 'running')
  t.equal(c.imageId, `sha256:${imageA}`)
  t.same(c.labels, { 'tom.network': w.ledger.network, 'tom.node': w.node, 'tom.action': id, 'tom.container': 'cam-1' })
  t.same(c.command, ['serve', '--fast'])
  t.equal(c.env.DEVICE, 'cam')
  t.equal(c.env.TOM_CONTAINER_ID, 'cam-1')
  t.equal(c.env.TOM_NETWORK, w.ledger.network)
  t.equal(c.env.TOM_KEY_FILE, orchestratorConstants.containerKeyPath)
  t.equal(c.networkMode, 'none')
  const keyPath = join(w.keysDir, 'cam-1.key')
  t.same(c.readOnlyFiles, [{ hostPath: keyPath, containerPath: orchestratorConstants.containerKeyPath }])
  t.equal((await stat(keyPath)).mode & 0o777, 0o600, 'key file is owner-only')
  t.equal((await stat(w.keysDir)).mode & 0o777, 0o700, 'keys folder is owner-only')
  const keys = await loadKeyFile(keyPath)
  const seen = JSON.parse(Buffer.from(w.started[0]!.files.get(orchestratorConstants.containerKeyPath)!).toString('utf8')) as { privateKey: string }
  t.equal(seen.privateKey, toHex(keys.privateKey), 'the container sees its private key')
  const joins = w.ledger.ofType('container.join')
  t.equal(joins.length, 1)
  t.same(joins[0]!.payload, { id: 'cam-1', imageDigest: `sha256:${imageA}`, publicKey: keys.publicKey, action: id })
  t.equal(w.ledger.actions.get(id)!.status, 'done', 'the join closed the action')
  t.equal(w.ledger.containers.get('cam-1')!.status, 'joined')
  await pass(o)
  t.equal((await w.runtime.list({ labels: { 'tom.action': id } })).length, 1, 'a second sync starts nothing')
  t.equal(w.ledger.ofType('container.join').length, 1, 'and submits nothing')
})

t.test('idempotence: after a crash between start and join, a new orchestrator over the same engine joins the running container and starts nothing', async (t) => {
  const w = world(t)
  const first = w.orchestrator()
  const id = w.ledger.addAction('container.start', w.node, { image: imageA, container: 'cam-2' })
  w.ledger.intercept('container.join', { hang: true })
  await first.sync()
  t.equal((await w.runtime.list({ labels: { 'tom.action': id } })).length, 1, 'started')
  t.equal(w.ledger.ofType('container.join').length, 0, 'the join has not committed')
  // Blocks keep coming while the join is on its way: nothing is started or submitted again.
  await first.sync()
  await first.sync()
  t.equal((await w.runtime.list({ labels: { 'tom.action': id } })).length, 1, 'not started again while the join is on its way')
  // The node crashes: the hung submit is lost with it. A new orchestrator over the same engine and keys.
  await first.stop()
  const second = w.orchestrator()
  await pass(second)
  const list = await w.runtime.list({ labels: { 'tom.action': id } })
  t.equal(list.length, 1, 'still one container')
  const joins = w.ledger.ofType('container.join')
  t.equal(joins.length, 1, 'the join was submitted again')
  t.same(joins[0]!.payload.publicKey, (await loadKeyFile(join(w.keysDir, 'cam-2.key'))).publicKey, 'with the key the container holds')
  t.equal(w.ledger.actions.get(id)!.status, 'done')
  t.equal(w.started.length, 1, 'one process ever started')
  w.ledger.releaseHung()
})

t.test('a join that does not commit in time is submitted again; a retryable failure at once', async (t) => {
  const w = world(t)
  const o = w.orchestrator({ resubmitAfterMs: 10_000 })
  const id = w.ledger.addAction('container.start', w.node, { image: imageA, container: 'cam-3' })
  w.ledger.intercept('container.join', { hang: true })
  await o.sync()
  w.clock.ms += 9_000
  await o.sync()
  t.equal(w.ledger.submitted.length, 0, 'within resubmitAfterMs: left alone')
  w.clock.ms += 2_000
  await o.sync()
  // The first join still hangs (lost on its way), so settled() would wait for it: poll for the second.
  await pollUntil(async () => w.ledger.ofType('container.join').length, (n) => n > 0, 5_000)
  t.equal(w.ledger.ofType('container.join').length, 1, 'after resubmitAfterMs: joined again')
  t.equal(w.ledger.actions.get(id)!.status, 'done')

  const id2 = w.ledger.addAction('container.start', w.node, { image: imageA, container: 'cam-4' })
  w.ledger.intercept('container.join', { fail: 'ERR_NO_LEADER' })
  await o.sync()
  await pollUntil(async () => w.ledger.ofType('container.join').length, (n) => n > 1, 5_000)
  t.equal(w.ledger.actions.get(id2)!.status, 'pending', 'no leader: not committed')
  await o.sync()
  await pollUntil(async () => w.ledger.actions.get(id2)!.status, (s) => s === 'done', 5_000)
  t.equal(w.ledger.actions.get(id2)!.status, 'done', 'the next sync joined it')
  t.equal((await w.runtime.list({ labels: { 'tom.action': id2 } })).length, 1, 'one container')
  t.equal(w.started.length, 2, 'two processes for two actions')
  w.ledger.releaseHung()
})

t.test('a refused join takes the container down and fails the action with the reason', async (t) => {
  const w = world(t)
  const o = w.orchestrator()
  const id = w.ledger.addAction('container.start', w.node, { image: imageA, container: 'cam-5' })
  w.ledger.intercept('container.join', { refuse: 'ERR_TX_UNAUTHORIZED' })
  await pass(o)
  t.equal(w.ledger.actions.get(id)!.status, 'pending')
  await pass(o)
  t.same(await w.runtime.list({ labels: { 'tom.action': id } }), [], 'container removed')
  const action = w.ledger.actions.get(id)!
  t.equal(action.status, 'failed')
  t.match(action.detail, /^container.join refused: ERR_TX_UNAUTHORIZED/)
})

t.test('an unapproved image is refused and nothing starts', async (t) => {
  const w = world(t)
  const o = w.orchestrator()
  w.runtime.addImage('other:1', { id: `sha256:${imageB}` })
  const id = w.ledger.addAction('container.start', w.node, { image: imageB, container: 'x-1' })
  await pass(o)
  t.equal(w.ledger.actions.get(id)!.status, 'failed')
  t.equal(w.ledger.actions.get(id)!.detail, `image sha256:${imageB} is not approved`)
  t.same(await w.runtime.list({ labels: { 'tom.node': w.node } }), [])
  t.equal(w.started.length, 0)
})

t.test('an approved digest with no local image of that ID is refused, even if a local image of another digest has the name', async (t) => {
  const w = world(t)
  const o = w.orchestrator()
  w.ledger.approveImage(imageB)
  // `app:2` is here, but its ID is not the approved digest: it must never run in its place.
  w.runtime.addImage('app:2', { id: `sha256:${'c3'.repeat(32)}` })
  const id = w.ledger.addAction('container.start', w.node, { image: imageB, container: 'x-2' })
  await pass(o)
  const a = w.ledger.actions.get(id)!
  t.equal(a.status, 'failed')
  t.equal(a.detail, `no local image with the approved digest sha256:${imageB}; a local image with a different digest is never run`)
  t.same(await w.runtime.list({ labels: { 'tom.node': w.node } }), [])
})

t.test('an engine refusal fails the action with the engine reason and leaves no key behind', async (t) => {
  const w = world(t)
  const o = w.orchestrator()
  // The engine name the orchestrator would give is taken by something else on the host.
  await w.runtime.run({ image: 'app:1', name: `tom-${w.node.slice(0, 12)}-x-3`, labels: { other: 'yes' } })
  const id = w.ledger.addAction('container.start', w.node, { image: imageA, container: 'x-3' })
  await pass(o)
  const a = w.ledger.actions.get(id)!
  t.equal(a.status, 'failed')
  t.match(a.detail, /^the engine could not start container x-3: container name .* is taken/)
  await t.rejects(stat(join(w.keysDir, 'x-3.key')), { code: 'ENOENT' })
})

t.test('no engine and nothing to do: said once at start', async (t) => {
  const w = world(t)
  w.runtime.setAvailable(false)
  const o = w.orchestrator()
  await pass(o)
  await pass(o)
  t.same(w.log.lines.filter((l) => l.level === 'warn').map((l) => l.msg), ['no container engine at memory: actions for this node stay pending'])
  t.same(w.ledger.submitted, [])
})

t.test('no engine: said once, each pending action reported pending once with the reason; carried out when the engine is back', async (t) => {
  const w = world(t)
  w.runtime.setAvailable(false)
  const o = w.orchestrator()
  const a1 = w.ledger.addAction('container.start', w.node, { image: imageA, container: 'p-1' })
  const a2 = w.ledger.addAction('container.restart', w.node, { container: 'p-2' })
  await pass(o)
  await pass(o)
  await pass(o, 'reconcile')
  const detail = 'no container engine at memory: actions for this node stay pending'
  const reports = w.ledger.ofType('action.report')
  t.same(reports.map((r) => r.payload).sort((x, y) => String(x.id).localeCompare(String(y.id))), [
    { id: a1, status: 'pending', detail },
    { id: a2, status: 'pending', detail }
  ])
  t.equal(w.log.lines.filter((l) => l.msg === detail).length, 1, 'logged once')
  // A restarted node reads the reason from the ledger: not reported again.
  await o.stop()
  const again = w.orchestrator()
  await pass(again)
  t.equal(w.ledger.ofType('action.report').length, 2, 'not reported again after a restart')
  w.runtime.setAvailable(true)
  await pass(again)
  t.equal(w.ledger.actions.get(a1)!.status, 'done', 'started and joined once the engine answers')
  t.equal(w.ledger.actions.get(a2)!.status, 'failed', 'the restart of an unknown container fails')
  t.ok(w.log.lines.some((l) => /answers again/.test(l.msg)), 'says the engine is back')
})

async function startOne(w: World, o: Orchestrator, container: string, params: Record<string, unknown> = {}): Promise<string> {
  const id = w.ledger.addAction('container.start', w.node, { image: imageA, container, ...params })
  await pass(o)
  if (w.ledger.actions.get(id)!.status !== 'done') throw new Error(`start of ${container} did not complete`)
  return (await w.runtime.list({ labels: { 'tom.container': container } }))[0]!.id
}

t.test('stop: stops and keeps the container, which stays stopped through reconciles; restart runs it again', async (t) => {
  const w = world(t)
  const o = w.orchestrator()
  await startOne(w, o, 'k-1')
  const stop = w.ledger.addAction('container.stop', w.node, { container: 'k-1' })
  await pass(o)
  t.equal(w.ledger.actions.get(stop)!.status, 'done')
  t.equal(w.ledger.containers.get('k-1')!.stopped, true, 'the ledger says stopped')
  t.equal(w.ledger.containers.get('k-1')!.status, 'joined', 'and still joined')
  const [kept] = await w.runtime.list({ labels: { 'tom.container': 'k-1' } })
  t.equal(kept?.state, 'exited', 'kept on the engine, not running')
  await o.reconcile()
  await o.reconcile()
  t.equal((await w.runtime.list({ labels: { 'tom.container': 'k-1' } }))[0]?.state, 'exited', 'reconcile does not revive it')
  t.same(w.ledger.ofType('container.status'), [], 'and records no drift')
  const restart = w.ledger.addAction('container.restart', w.node, { container: 'k-1' })
  await pass(o)
  t.equal(w.ledger.actions.get(restart)!.status, 'done')
  t.equal((await w.runtime.list({ labels: { 'tom.container': 'k-1' } }))[0]?.state, 'running')
  t.equal(w.ledger.containers.get('k-1')!.stopped, undefined, 'running again on the ledger')
})

t.test('remove: stops and removes the container, leaves, reports done, deletes the key; an unknown container fails', async (t) => {
  const w = world(t)
  const o = w.orchestrator()
  await startOne(w, o, 's-1')
  const id = w.ledger.addAction('container.remove', w.node, { container: 's-1' })
  await pass(o)
  t.same(await w.runtime.list({ labels: { 'tom.container': 's-1' } }), [], 'removed')
  t.same(w.ledger.ofType('container.leave').map((s) => s.payload), [{ id: 's-1' }])
  t.equal(w.ledger.containers.get('s-1')!.status, 'left')
  t.equal(w.ledger.actions.get(id)!.status, 'done')
  await t.rejects(stat(join(w.keysDir, 's-1.key')), { code: 'ENOENT' }, 'the retired key is deleted')
  const unknown = w.ledger.addAction('container.remove', w.node, { container: 'nope' })
  await pass(o)
  t.equal(w.ledger.actions.get(unknown)!.status, 'failed')
  t.equal(w.ledger.actions.get(unknown)!.detail, 'no container nope on this node')
})

t.test('remove after a crash that removed the container before the report committed: done, not failed', async (t) => {
  const w = world(t)
  const o = w.orchestrator()
  await startOne(w, o, 's-2')
  const id = w.ledger.addAction('container.remove', w.node, { container: 's-2' })
  w.ledger.intercept('container.leave', { hang: true })
  await o.sync()
  t.same(await w.runtime.list({ labels: { 'tom.container': 's-2' } }), [], 'removed')
  await o.stop()
  const again = w.orchestrator()
  await pass(again)
  t.equal(w.ledger.containers.get('s-2')!.status, 'left')
  t.equal(w.ledger.actions.get(id)!.status, 'done')
  t.equal(w.ledger.actions.get(id)!.detail, 'container s-2 does not run on this node')
  w.ledger.releaseHung()
})

t.test('restart: the container runs again; report done', async (t) => {
  const w = world(t)
  const o = w.orchestrator()
  const engineId = await startOne(w, o, 'r-1')
  w.runtime.exit(engineId, 1)
  const id = w.ledger.addAction('container.restart', w.node, { container: 'r-1' })
  await pass(o)
  t.equal((await w.runtime.inspect(engineId)).state, 'running')
  t.equal(w.ledger.actions.get(id)!.status, 'done')
  t.equal(w.started.length, 2, 'the process started a second time, in the same container')
})

t.test('migrate, make before break: the target starts the copy (same command and env) and joins with the action; the source removes the old container once the join committed', async (t) => {
  const w = world(t)
  const source = w.orchestrator()
  const oldId = await startOne(w, source, 'm-1', { env: { MODE: 'edge' }, cmd: ['run', 'x'] })
  const targetKey = newNodeKey()
  const target = w.orchestrator({ nodeKey: targetKey })
  const id = w.ledger.addAction('container.migrate', w.node, { container: 'm-1', image: imageA, target: targetKey, newContainer: 'm-1b' })
  await pass(source)
  await pass(source, 'reconcile')
  t.equal((await w.runtime.inspect(oldId)).state, 'running', 'the source keeps serving until the copy joined')
  t.equal(w.ledger.submitted.filter((s) => s.node === w.node).length, 1, 'the source submitted nothing for the migrate (only its first join)')
  await pass(target)
  const copies = await w.runtime.list({ labels: { 'tom.node': targetKey } })
  t.equal(copies.length, 1, 'one copy on the target')
  const copy = await w.runtime.inspect(copies[0]!.id)
  t.equal(copy.state, 'running')
  t.same(copy.labels, { 'tom.network': w.ledger.network, 'tom.node': targetKey, 'tom.action': id, 'tom.container': 'm-1b' })
  t.same(copy.command, ['run', 'x'])
  t.equal(copy.env.MODE, 'edge')
  t.equal(copy.env.TOM_CONTAINER_ID, 'm-1b')
  const joins = w.ledger.ofType('container.join', targetKey)
  t.same(joins.map((j) => [j.payload.id, j.payload.action]), [['m-1b', id]])
  t.equal(w.ledger.actions.get(id)!.status, 'done', 'the join closed the migrate')
  t.equal(w.ledger.containers.get('m-1')!.status, 'left', 'and the old container left')
  // The next block: the source sees its migrate closed and retires the old container at once.
  await source.sync()
  await source.reconcile()
  t.same(await w.runtime.list({ labels: { 'tom.node': w.node } }), [], 'old container removed from the source')
  t.equal(w.ledger.ofType('container.status').length, 0, 'no drift to record: the ledger already says it left')
  await t.rejects(stat(join(w.keysDir, 'm-1.key')), { code: 'ENOENT' }, 'its retired key is deleted')
  await pass(target)
  await pass(target, 'reconcile')
  t.equal((await w.runtime.list({ labels: { 'tom.container': 'm-1b' } })).length, 1, 'still one copy')
})

t.test('migrate to a target without the image: no report (only the source may report), retried later; the source keeps its container', async (t) => {
  const w = world(t)
  const source = w.orchestrator()
  const oldId = await startOne(w, source, 'm-2')
  const targetKey = newNodeKey()
  w.ledger.approveImage(imageB)
  const target = w.orchestrator({ nodeKey: targetKey, resubmitAfterMs: 5_000 })
  const id = w.ledger.addAction('container.migrate', w.node, { container: 'm-2', image: imageB, target: targetKey, newContainer: 'm-2b' })
  await pass(target)
  t.equal(w.ledger.submitted.filter((s) => s.node === targetKey).length, 0, 'nothing the ledger would refuse')
  t.ok(w.log.lines.some((l) => l.level === 'warn' && l.msg === 'action failed'), 'the refusal is logged')
  w.runtime.addImage('app:b', { id: `sha256:${imageB}` })
  await pass(target)
  t.equal(w.ledger.ofType('container.join', targetKey).length, 0, 'not retried before resubmitAfterMs')
  w.clock.ms += 5_000
  await pass(target)
  t.equal(w.ledger.actions.get(id)!.status, 'done', 'the copy joined once the image is here')
  await pass(source)
  await source.reconcile()
  await t.rejects(w.runtime.inspect(oldId), { code: 'ERR_RUNTIME_CONTAINER_NOT_FOUND' })
})

t.test('reconcile: a dead container is restarted and the drift recorded, with a doubling wait if it keeps dying', async (t) => {
  const w = world(t)
  const o = w.orchestrator()
  const engineId = await startOne(w, o, 'd-1')
  w.runtime.exit(engineId, 3)
  await pass(o, 'reconcile')
  t.equal((await w.runtime.inspect(engineId)).state, 'running')
  t.same(w.ledger.ofType('container.status').map((s) => s.payload), [{ id: 'd-1', status: 'restarted', detail: 'exit code 3' }])
  w.runtime.exit(engineId, 4)
  await pass(o, 'reconcile')
  t.equal((await w.runtime.inspect(engineId)).state, 'exited', 'within the wait: not restarted yet')
  w.clock.ms += 1_000
  await pass(o, 'reconcile')
  t.equal((await w.runtime.inspect(engineId)).state, 'running', 'restarted after the wait')
  w.runtime.exit(engineId, 5)
  w.clock.ms += 1_000
  await pass(o, 'reconcile')
  t.equal((await w.runtime.inspect(engineId)).state, 'exited', 'the wait doubled')
  w.clock.ms += 1_000
  await pass(o, 'reconcile')
  t.equal((await w.runtime.inspect(engineId)).state, 'running')
  t.equal(w.ledger.ofType('container.status').length, 3)
  t.equal((await w.runtime.list({ labels: { 'tom.container': 'd-1' } })).length, 1, 'never a second container')
})

t.test('reconcile: containers the ledger does not want (left, unknown, another network, a second copy) are stopped and removed', async (t) => {
  const w = world(t)
  const o = w.orchestrator()
  await startOne(w, o, 'u-1')
  w.ledger.setContainerStatus('u-1', 'left')
  const labels = { 'tom.network': w.ledger.network, 'tom.node': w.node, 'tom.action': 'gone', 'tom.container': 'u-2' }
  await w.runtime.run({ image: 'app:1', labels })
  await w.runtime.run({ image: 'app:1', labels: { ...labels, 'tom.network': 'f'.repeat(64), 'tom.container': 'u-3' } })
  const unrelated = await w.runtime.run({ image: 'app:1', labels: { 'tom.node': newNodeKey() } })
  const kept = await startOne(w, o, 'u-4')
  await w.runtime.run({ image: 'app:1', labels: { ...labels, 'tom.action': 'again', 'tom.container': 'u-4' } })
  await pass(o, 'reconcile')
  t.same((await w.runtime.list({ labels: { 'tom.node': w.node } })).map((c) => c.id), [kept], 'all removed but the first u-4')
  t.equal((await w.runtime.inspect(unrelated)).state, 'running', 'another node’s container is not touched')
  t.same(w.ledger.ofType('container.status').map((s) => s.payload), [{ id: 'u-4', status: 'stopped', detail: 'a second container for u-4' }], 'only the second copy of a joined container is drift on chain')
  t.equal(w.ledger.submitted.filter((s) => !s.result.ok).length, 0, 'nothing submitted that the ledger refuses')
  await t.rejects(stat(join(w.keysDir, 'u-1.key')), { code: 'ENOENT' }, 'the key of a container that left is deleted')
  t.ok((await stat(join(w.keysDir, 'u-4.key'))).isFile(), 'the key of the kept one is not')
})

t.test('reconcile: a missing container is recreated with its own key; without its key it is reported, not recreated', async (t) => {
  const w = world(t)
  const o = w.orchestrator()
  const engineId = await startOne(w, o, 'g-1', { env: { K: 'v' }, cmd: ['go'] })
  await w.runtime.remove(engineId, { force: true })
  await pass(o, 'reconcile')
  const list = await w.runtime.list({ labels: { 'tom.container': 'g-1' } })
  t.equal(list.length, 1, 'recreated once')
  const c = await w.runtime.inspect(list[0]!.id)
  t.equal(c.state, 'running')
  t.same(c.command, ['go'])
  t.equal(c.env.K, 'v')
  t.equal(c.env.TOM_CONTAINER_ID, 'g-1')
  const seen = JSON.parse(Buffer.from(w.started.at(-1)!.files.get(orchestratorConstants.containerKeyPath)!).toString('utf8')) as { publicKey: string }
  t.equal(seen.publicKey, toHex(w.ledger.containers.get('g-1')!.publicKey), 'the key it joined with')
  t.same(w.ledger.ofType('container.status').map((s) => s.payload), [{ id: 'g-1', status: 'missing', detail: 'recreated' }])
  await pass(o, 'reconcile')
  t.equal((await w.runtime.list({ labels: { 'tom.container': 'g-1' } })).length, 1, 'not again')

  const other = await startOne(w, o, 'g-2')
  await w.runtime.remove(other, { force: true })
  await rm(join(w.keysDir, 'g-2.key'))
  await pass(o, 'reconcile')
  await pass(o, 'reconcile')
  t.same(await w.runtime.list({ labels: { 'tom.container': 'g-2' } }), [], 'not recreated without its key')
  const statuses = w.ledger.ofType('container.status').filter((s) => s.payload.id === 'g-2')
  t.equal(statuses.length, 1, 'reported once')
  t.match(statuses[0]!.payload, { status: 'missing', detail: /^not recreated: its key file .* is gone/ })
})

t.test('reconcile leaves alone a container whose action is still open (started, join not yet committed)', async (t) => {
  const w = world(t)
  const o = w.orchestrator()
  const id = w.ledger.addAction('container.start', w.node, { image: imageA, container: 'o-1' })
  w.ledger.intercept('container.join', { hang: true })
  await o.sync()
  await o.reconcile()
  t.equal((await w.runtime.list({ labels: { 'tom.action': id } }))[0]?.state, 'running', 'still running')
  t.equal(w.ledger.ofType('container.status').length, 0)
  w.ledger.releaseHung()
  await o.settled()
  t.equal(w.ledger.actions.get(id)!.status, 'done')
})

t.test('sync passes never overlap, later calls share one queued pass, and stop() waits for the pass in progress', async (t) => {
  const w = world(t)
  let release!: () => void
  const gate = new Promise<void>((resolve) => (release = resolve))
  let runs = 0
  const slowRun: MemoryContainerRuntime['run'] = async (spec, options) => {
    runs++
    await gate
    return w.runtime.run(spec, options)
  }
  const slow = new Proxy(w.runtime, {
    get: (target, prop) => {
      if (prop === 'run') return slowRun
      const value: unknown = Reflect.get(target, prop, target)
      return typeof value === 'function' ? value.bind(target) : value
    }
  })
  const o = w.orchestrator({ runtime: slow })
  w.ledger.addAction('container.start', w.node, { image: imageA, container: 'q-1' })
  const first = o.sync()
  const second = o.sync()
  const third = o.sync()
  t.equal(second, third, 'calls during a pass share the queued pass')
  await pollUntil(async () => runs, (n) => n === 1, 5_000)
  let stopped = false
  const stopping = o.stop().then(() => (stopped = true))
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(stopped, false, 'stop waits for the pass in progress')
  release()
  await Promise.all([first, second, stopping])
  t.equal(runs, 1, 'one start')
  await o.sync()
  await o.settled()
  t.equal((await w.runtime.list({ labels: { 'tom.container': 'q-1' } })).length, 1)
})

t.test('options are checked', async (t) => {
  const w = world(t)
  t.throws(() => w.orchestrator({ networkId: 'xyz' }), { code: 'ERR_ORCHESTRATOR_INVALID_OPTION' })
  t.throws(() => w.orchestrator({ reconcileIntervalMs: 1 }), { code: 'ERR_ORCHESTRATOR_INVALID_OPTION' })
  t.throws(() => w.orchestrator({ labels: { 'tom.node': 'x' } }), { code: 'ERR_ORCHESTRATOR_INVALID_OPTION' })
})
