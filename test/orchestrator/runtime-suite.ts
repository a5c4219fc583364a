/**
 * The ContainerRuntime contract, run against every implementation: the Docker driver on a real
 * engine (docker-runtime.test.ts) and the memory runtime (memory-runtime.test.ts). Waiting for a
 * state polls the runtime until a deadline, never sleeps for a guessed time.
 */
import type { Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import type { ContainerDetails, ContainerRuntime, ContainerSpec } from '../../src/orchestrator/index.js'

export interface RuntimeFixture {
  readonly runtime: ContainerRuntime
  /** A local image with a POSIX shell and coreutils (busybox): a `repo:tag` and its image ID. */
  readonly image: { readonly reference: string; readonly id: string }
  /** Labels every container of this fixture carries; the fixture removes such containers at teardown. */
  readonly labels: Readonly<Record<string, string>>
  /** A runtime of the same kind at an endpoint where no engine answers. */
  readonly unavailable: () => ContainerRuntime
}

/** The commands the suite runs. A memory runtime's ProcessModel says what each one does. */
export const suiteCommands = {
  /** Runs until SIGTERM, then exits 0. */
  serve: ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"],
  exitWith: (code: number): string[] => ['sh', '-c', `exit ${code}`],
  cat: (path: string): string[] => ['cat', path],
  overwrite: (path: string): string[] => ['sh', '-c', `echo overwritten > ${path}`]
} as const

/** Polls `read` until `done` holds of its value or the deadline passes; returns the last value. */
export async function pollUntil<T>(read: () => Promise<T>, done: (value: T) => boolean, deadlineMs = 30_000): Promise<T> {
  const deadline = Date.now() + deadlineMs
  for (;;) {
    const value = await read()
    if (done(value) || Date.now() > deadline) return value
    await delay(50)
  }
}

async function rejectsWithCode(t: Test, p: Promise<unknown>, code: string, message: string): Promise<void> {
  try {
    await p
    t.fail(`${message}: resolved, expected ${code}`)
  } catch (err) {
    t.equal((err as { code?: unknown }).code, code, `${message}: ${(err as Error).message}`)
  }
}

export function runtimeSuite(t: Test, factory: (t: Test) => Promise<RuntimeFixture>): void {
  /** Labels unique to one subtest, on top of the fixture's, so concurrent runs never see each other. */
  const caseLabels = (f: RuntimeFixture): Record<string, string> => ({ ...f.labels, 'tom.test.case': randomBytes(8).toString('hex') })
  const exited = (d: ContainerDetails): boolean => d.state === 'exited' || d.state === 'dead'

  t.test('ping and info answer', async (t) => {
    const f = await factory(t)
    await f.runtime.ping()
    const info = await f.runtime.info()
    t.ok(['docker', 'podman', 'memory'].includes(info.engine), `engine ${info.engine}`)
    t.type(info.version, 'string')
    t.ok(info.endpoint.length > 0)
  })

  t.test('image digest: the image ID, by tag or by ID; an unknown image is ERR_RUNTIME_IMAGE_NOT_FOUND', async (t) => {
    const f = await factory(t)
    const byTag = await f.runtime.inspectImage(f.image.reference)
    t.match(byTag.id, /^sha256:[0-9a-f]{64}$/)
    t.equal(byTag.id, f.image.id)
    t.ok(byTag.tags.includes(f.image.reference), 'tags include the reference')
    const byId = await f.runtime.inspectImage(byTag.id)
    t.equal(byId.id, byTag.id)
    await rejectsWithCode(t, f.runtime.inspectImage('tom-test/no-such-image:1'), 'ERR_RUNTIME_IMAGE_NOT_FOUND', 'unknown tag')
    await rejectsWithCode(t, f.runtime.inspectImage(`sha256:${'0'.repeat(64)}`), 'ERR_RUNTIME_IMAGE_NOT_FOUND', 'unknown id')
  })

  t.test('run: inspect shows image, command, env, labels, limits, network; list finds it', async (t) => {
    const f = await factory(t)
    const labels: Record<string, string> = { ...caseLabels(f), 'tom.action': 'a1' }
    const spec: ContainerSpec = {
      image: f.image.id,
      command: suiteCommands.serve,
      env: { TOM_DEVICE: 'camera-7', EMPTY: '' },
      labels,
      memoryBytes: 64 * 1024 * 1024,
      nanoCpus: 500_000_000,
      networkMode: 'none'
    }
    const id = await f.runtime.run(spec)
    t.match(id, /^[0-9a-f]{64}$/)
    const d = await f.runtime.inspect(id)
    t.equal(d.id, id)
    t.equal(d.state, 'running')
    t.equal(d.exitCode, undefined, 'no exit code while running')
    t.equal(d.imageId, f.image.id)
    t.same(d.command, suiteCommands.serve)
    t.equal(d.env.TOM_DEVICE, 'camera-7')
    t.equal(d.env.EMPTY, '')
    t.same(d.labels, labels)
    t.equal(d.memoryBytes, 64 * 1024 * 1024)
    t.equal(d.nanoCpus, 500_000_000)
    t.equal(d.networkMode, 'none')
    t.ok(d.name.length > 0, 'has a name')
    t.equal((await f.runtime.inspect(d.name)).id, id, 'inspect by name')
    const listed = await f.runtime.list({ labels: { 'tom.test.case': labels['tom.test.case']!, 'tom.action': 'a1' } })
    t.same(listed, [{ id, name: d.name, imageId: f.image.id, labels, state: 'running' }])
    t.same(await f.runtime.list({ labels: { 'tom.test.case': labels['tom.test.case']!, 'tom.action': 'a2' } }), [], 'every label must match')
    await f.runtime.remove(id, { force: true })
  })

  t.test('run by tag runs the tagged image ID; a named container is unique', async (t) => {
    const f = await factory(t)
    const name = `tom-test-${randomBytes(6).toString('hex')}`
    const id = await f.runtime.run({ image: f.image.reference, name, command: suiteCommands.serve, labels: caseLabels(f), networkMode: 'none' })
    t.equal((await f.runtime.inspect(id)).imageId, f.image.id)
    t.equal((await f.runtime.inspect(id)).name, name)
    await rejectsWithCode(
      t,
      f.runtime.run({ image: f.image.id, name, command: suiteCommands.serve, labels: caseLabels(f), networkMode: 'none' }),
      'ERR_RUNTIME_NAME_CONFLICT',
      'same name twice'
    )
    await f.runtime.remove(id, { force: true })
  })

  t.test('list selects by label and includes stopped containers', async (t) => {
    const f = await factory(t)
    const labels = caseLabels(f)
    const a = await f.runtime.run({ image: f.image.id, command: suiteCommands.serve, labels: { ...labels, role: 'a' }, networkMode: 'none' })
    const b = await f.runtime.run({ image: f.image.id, command: suiteCommands.exitWith(0), labels: { ...labels, role: 'b' }, networkMode: 'none' })
    await pollUntil(() => f.runtime.inspect(b), exited)
    const all = await f.runtime.list({ labels })
    t.same(all.map((c) => c.id).sort(), [a, b].sort(), 'both, running or not')
    t.same(all.find((c) => c.id === b)?.state, 'exited')
    t.same((await f.runtime.list({ labels: { ...labels, role: 'a' } })).map((c) => c.id), [a])
    await f.runtime.remove(a, { force: true })
    await f.runtime.remove(b)
    t.same(await f.runtime.list({ labels }), [], 'gone after remove')
  })

  t.test('stop, stop again, restart, remove', async (t) => {
    const f = await factory(t)
    const id = await f.runtime.run({ image: f.image.id, command: suiteCommands.serve, labels: caseLabels(f), networkMode: 'none' })
    await f.runtime.stop(id, { graceS: 5 })
    const stopped = await f.runtime.inspect(id)
    t.equal(stopped.state, 'exited')
    t.type(stopped.exitCode, 'number', 'a stopped container has an exit code')
    await f.runtime.stop(id, { graceS: 5 })
    t.pass('stopping an exited container succeeds')
    await f.runtime.restart(id, { graceS: 5 })
    t.equal((await f.runtime.inspect(id)).state, 'running', 'running again, same id')
    await f.runtime.restart(id, { graceS: 5 })
    t.equal((await f.runtime.inspect(id)).state, 'running', 'restart of a running container')
    await rejectsWithCode(t, f.runtime.remove(id), 'ERR_RUNTIME_FAILED', 'remove a running container without force')
    t.equal((await f.runtime.inspect(id)).state, 'running', 'still there')
    await f.runtime.stop(id, { graceS: 5 })
    await f.runtime.remove(id)
    await rejectsWithCode(t, f.runtime.inspect(id), 'ERR_RUNTIME_CONTAINER_NOT_FOUND', 'inspect after remove')
    await rejectsWithCode(t, f.runtime.remove(id), 'ERR_RUNTIME_CONTAINER_NOT_FOUND', 'remove twice')
    await rejectsWithCode(t, f.runtime.stop(id), 'ERR_RUNTIME_CONTAINER_NOT_FOUND', 'stop after remove')
    await rejectsWithCode(t, f.runtime.restart(id), 'ERR_RUNTIME_CONTAINER_NOT_FOUND', 'restart after remove')
  })

  t.test('a container whose process exits is seen as exited, with its exit code', async (t) => {
    const f = await factory(t)
    const id = await f.runtime.run({ image: f.image.id, command: suiteCommands.exitWith(3), labels: caseLabels(f), networkMode: 'none' })
    const d = await pollUntil(() => f.runtime.inspect(id), exited)
    t.equal(d.state, 'exited')
    t.equal(d.exitCode, 3)
    await f.runtime.restart(id, { graceS: 1 })
    const again = await pollUntil(() => f.runtime.inspect(id), exited)
    t.equal(again.exitCode, 3, 'restart runs the command again')
    await f.runtime.remove(id)
  })

  t.test('a read-only mounted file is readable inside and not writable', async (t) => {
    const f = await factory(t)
    const hostPath = join(t.testdir(), 'container.key')
    const secret = `key-${randomBytes(8).toString('hex')}`
    await writeFile(hostPath, secret, { mode: 0o600 })
    const mount = { hostPath, containerPath: '/run/tom/container.key' }
    const reader = await f.runtime.run({ image: f.image.id, command: suiteCommands.cat(mount.containerPath), labels: caseLabels(f), readOnlyFiles: [mount], networkMode: 'none' })
    const read = await pollUntil(() => f.runtime.inspect(reader), exited)
    t.equal(read.exitCode, 0, 'cat succeeded')
    t.same(read.readOnlyFiles, [mount], 'inspect shows the read-only mount')
    t.equal((await f.runtime.logs(reader)).stdout, secret, 'the container read the file')
    const writer = await f.runtime.run({ image: f.image.id, command: suiteCommands.overwrite(mount.containerPath), labels: caseLabels(f), readOnlyFiles: [mount], networkMode: 'none' })
    const wrote = await pollUntil(() => f.runtime.inspect(writer), exited)
    t.not(wrote.exitCode, 0, 'writing failed inside the container')
    t.match((await f.runtime.logs(writer)).stderr, /read-only/i, 'because the file system is read-only')
    t.equal(await readFile(hostPath, 'utf8'), secret, 'the host file is unchanged')
    await f.runtime.remove(reader)
    await f.runtime.remove(writer)
  })

  t.test('a missing mount source or image fails and leaves nothing behind', async (t) => {
    const f = await factory(t)
    const labels = caseLabels(f)
    const mount = { hostPath: join(t.testdir(), 'absent.key'), containerPath: '/run/tom/container.key' }
    await rejectsWithCode(t, f.runtime.run({ image: f.image.id, command: suiteCommands.serve, labels, readOnlyFiles: [mount], networkMode: 'none' }), 'ERR_RUNTIME_FAILED', 'missing host file')
    await rejectsWithCode(t, f.runtime.run({ image: 'tom-test/no-such-image:1', command: suiteCommands.serve, labels, networkMode: 'none' }), 'ERR_RUNTIME_IMAGE_NOT_FOUND', 'unknown image')
    t.same(await f.runtime.list({ labels }), [], 'nothing created')
  })

  t.test('invalid specs and arguments are refused before the engine sees them', async (t) => {
    const f = await factory(t)
    const labels = caseLabels(f)
    const base = { image: f.image.id, command: suiteCommands.serve, labels, networkMode: 'none' }
    await rejectsWithCode(t, f.runtime.run({ ...base, memoryBytes: 1024 }), 'ERR_RUNTIME_INVALID_ARGUMENT', 'memory below the minimum')
    await rejectsWithCode(t, f.runtime.run({ ...base, nanoCpus: 0 }), 'ERR_RUNTIME_INVALID_ARGUMENT', 'zero CPU')
    await rejectsWithCode(t, f.runtime.run({ ...base, env: { 'A=B': 'x' } }), 'ERR_RUNTIME_INVALID_ARGUMENT', 'env name with =')
    await rejectsWithCode(t, f.runtime.run({ ...base, name: '-bad' }), 'ERR_RUNTIME_INVALID_ARGUMENT', 'bad name')
    await rejectsWithCode(t, f.runtime.run({ ...base, readOnlyFiles: [{ hostPath: 'relative', containerPath: '/k' }] }), 'ERR_RUNTIME_INVALID_ARGUMENT', 'relative host path')
    await rejectsWithCode(t, f.runtime.run({ ...base, command: [] }), 'ERR_RUNTIME_INVALID_ARGUMENT', 'empty command')
    await rejectsWithCode(t, f.runtime.list({ labels: {} }), 'ERR_RUNTIME_INVALID_ARGUMENT', 'list with no label')
    await rejectsWithCode(t, f.runtime.stop('abc', { graceS: -1 }), 'ERR_RUNTIME_INVALID_ARGUMENT', 'negative grace')
    t.same(await f.runtime.list({ labels }), [], 'nothing created')
  })

  t.test('an aborted call is ERR_RUNTIME_ABORTED', async (t) => {
    const f = await factory(t)
    await rejectsWithCode(t, f.runtime.ping({ signal: AbortSignal.abort() }), 'ERR_RUNTIME_ABORTED', 'ping')
    await rejectsWithCode(
      t,
      f.runtime.run({ image: f.image.id, command: suiteCommands.serve, labels: caseLabels(f), networkMode: 'none' }, { signal: AbortSignal.abort() }),
      'ERR_RUNTIME_ABORTED',
      'run'
    )
  })

  t.test('no engine: every call is ERR_RUNTIME_UNAVAILABLE', async (t) => {
    const f = await factory(t)
    const runtime = f.unavailable()
    await rejectsWithCode(t, runtime.ping(), 'ERR_RUNTIME_UNAVAILABLE', 'ping')
    await rejectsWithCode(t, runtime.info(), 'ERR_RUNTIME_UNAVAILABLE', 'info')
    await rejectsWithCode(t, runtime.inspectImage(f.image.reference), 'ERR_RUNTIME_UNAVAILABLE', 'inspectImage')
    await rejectsWithCode(t, runtime.run({ image: f.image.id, command: suiteCommands.serve, labels: caseLabels(f) }), 'ERR_RUNTIME_UNAVAILABLE', 'run')
    await rejectsWithCode(t, runtime.list({ labels: f.labels }), 'ERR_RUNTIME_UNAVAILABLE', 'list')
  })
}
