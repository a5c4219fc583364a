/**
 * The Docker driver on the real engine of this host: the shared runtime suite, plus what only a
 * real engine shows (limits applied in the kernel, env seen by the process). Without an engine the
 * engine tests are skipped (failed under CI=true); see docker-env.ts.
 */
import t from 'tap'
import { createServer, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { DockerContainerRuntime, findEngineSocket } from '../../src/orchestrator/index.js'
import { EngineAnswerTooLargeError, enginePath, engineRequest } from '../../src/orchestrator/engine-api.js'
import { ensureTestImage, removeTestContainers, testImageReference, testLabels, withDockerEngine } from './docker-env.js'
import { pollUntil, runtimeSuite } from './runtime-suite.js'

t.test('findEngineSocket: DOCKER_HOST, then Docker, then Podman', async (t) => {
  const none = (): boolean => false
  t.same(findEngineSocket({ DOCKER_HOST: 'unix:///tmp/x.sock' }, none), { socketPath: '/tmp/x.sock', source: 'DOCKER_HOST' })
  t.same(findEngineSocket({}, (p) => p === '/var/run/docker.sock' || p === '/run/podman/podman.sock'), { socketPath: '/var/run/docker.sock', source: 'docker' })
  t.same(findEngineSocket({}, (p) => p === '/run/podman/podman.sock'), { socketPath: '/run/podman/podman.sock', source: 'podman' })
  t.same(findEngineSocket({ DOCKER_HOST: '' }, none), { socketPath: '/var/run/docker.sock', source: 'fallback' })
  t.throws(() => findEngineSocket({ DOCKER_HOST: 'tcp://10.0.0.1:2375' }, none), { code: 'ERR_RUNTIME_INVALID_ARGUMENT' })
  t.throws(() => new DockerContainerRuntime({ socketPath: 'relative.sock' }), { code: 'ERR_RUNTIME_INVALID_ARGUMENT' })
})

/** Runs `body` with a unix socket served by `onConnection`: something at the socket that is not an engine. */
async function withFakeSocket(onConnection: (socket: Socket) => void, body: (socketPath: string) => Promise<void>): Promise<void> {
  // A short path: a unix socket path longer than 107 bytes cannot be bound, and t.testdir() can be longer.
  const dir = await mkdtemp(join(tmpdir(), 'tom-sock-'))
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    // The client hangs up on a bad answer; the reset is expected, not a test error.
    socket.on('error', () => undefined)
    onConnection(socket)
  })
  try {
    const path = join(dir, 'engine.sock')
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(path, resolve))
    await body(path)
  } finally {
    for (const socket of sockets) socket.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await rm(dir, { recursive: true, force: true })
  }
}

t.test('a socket that does not speak the Engine API is ERR_RUNTIME_UNAVAILABLE', async (t) => {
  await withFakeSocket(
    (socket) => socket.end('SSH-2.0-not-docker\r\n'),
    async (socketPath) => {
      await t.rejects(new DockerContainerRuntime({ socketPath }).ping(), { code: 'ERR_RUNTIME_UNAVAILABLE', socketPath })
    }
  )
})

t.test('an engine that never answers is ERR_RUNTIME_TIMEOUT (outcome unknown), within the deadline', async (t) => {
  await withFakeSocket(
    () => undefined,
    async (socketPath) => {
      const started = Date.now()
      await t.rejects(new DockerContainerRuntime({ socketPath, requestTimeoutMs: 300 }).ping(), { code: 'ERR_RUNTIME_TIMEOUT' })
      t.ok(Date.now() - started < 5_000, 'gave up at the deadline')
    }
  )
})

/** A fake engine that answers every request with this status and body, after reading the request head. */
function answering(status: number, body: string): (socket: Socket) => void {
  return (socket) => {
    let head = ''
    socket.setEncoding('latin1').on('data', (chunk: string) => {
      head += chunk
      if (!head.includes('\r\n\r\n')) return
      socket.end(`HTTP/1.1 ${status} X\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`)
    })
  }
}

t.test('engine answers: the JSON message of a refusal, a 404 per call, an answer that is not JSON', async (t) => {
  await withFakeSocket(answering(500, '{"message":"disk full"}'), async (socketPath) => {
    await t.rejects(new DockerContainerRuntime({ socketPath }).ping(), { code: 'ERR_RUNTIME_FAILED', message: 'ping: disk full' })
  })
  await withFakeSocket(answering(404, '{"message":"No such image"}'), async (socketPath) => {
    await t.rejects(new DockerContainerRuntime({ socketPath }).inspectImage('tom/none:1'), { code: 'ERR_RUNTIME_IMAGE_NOT_FOUND', message: /No such image/ })
    await t.rejects(new DockerContainerRuntime({ socketPath }).inspect('cam-1'), { code: 'ERR_RUNTIME_CONTAINER_NOT_FOUND' })
  })
  await withFakeSocket(answering(200, 'not json'), async (socketPath) => {
    await t.rejects(new DockerContainerRuntime({ socketPath }).info(), { code: 'ERR_RUNTIME_FAILED', message: /not JSON/ })
  })
  await withFakeSocket(answering(200, '{"message":"a list was due"}'), async (socketPath) => {
    await t.rejects(new DockerContainerRuntime({ socketPath }).list({ labels: { 'tom.test': 'x' } }), { code: 'ERR_RUNTIME_FAILED', message: /not a list/ })
  })
})

t.test('engineRequest cuts off an answer beyond its bound', async (t) => {
  await withFakeSocket(answering(200, 'x'.repeat(100_000)), async (socketPath) => {
    const request = { method: 'GET' as const, path: '/_ping', signal: AbortSignal.timeout(5_000) }
    const err = await engineRequest(socketPath, { ...request, bodyBytesMax: 1_000 }).then(() => undefined, (e: unknown) => e)
    t.ok(err instanceof EngineAnswerTooLargeError, `cut off: ${String(err)}`)
    t.equal((await engineRequest(socketPath, { ...request, bodyBytesMax: 100_000 })).body.length, 100_000, 'at the bound it is read whole')
  })
})

t.test('enginePath encodes each segment, so that no reference names another endpoint', async (t) => {
  t.equal(enginePath(['images', 'registry.example:5000/tom/cam@sha256:ab', 'json']), '/images/registry.example:5000/tom/cam@sha256:ab/json')
  t.equal(enginePath(['containers', 'json'], { all: true, filters: '{"label":["a=b"]}', skipped: undefined }), '/containers/json?all=true&filters=%7B%22label%22%3A%5B%22a%3Db%22%5D%7D')
  t.equal(enginePath(['images', 'a?b#c%d', 'json']), '/images/a%3Fb%23c%25d/json')
  t.throws(() => enginePath(['images', 'tom/../../containers/x/kill', 'json']), RangeError)
  await t.rejects(new DockerContainerRuntime({ socketPath: '/nonexistent.sock' }).inspectImage('tom/../x'), { code: 'ERR_RUNTIME_INVALID_ARGUMENT' })
  await t.rejects(new DockerContainerRuntime({ socketPath: '/nonexistent.sock' }).inspectImage('./x'), { code: 'ERR_RUNTIME_INVALID_ARGUMENT' })
})

t.test('a missing socket is ERR_RUNTIME_UNAVAILABLE naming it', async (t) => {
  const socketPath = join(t.testdir(), 'no-engine.sock')
  await t.rejects(new DockerContainerRuntime({ socketPath }).info(), { code: 'ERR_RUNTIME_UNAVAILABLE', socketPath, message: new RegExp(socketPath) })
})

t.test('Docker engine', async (t) => {
  await withDockerEngine(t, async ({ socketPath, runtime }) => {
    await removeTestContainers(runtime)
    t.teardown(() => removeTestContainers(runtime, { onlyThisProcess: true }))
    const imageId = await ensureTestImage(socketPath)
    t.comment(`engine at ${socketPath}: ${JSON.stringify(await runtime.info())}; image ${testImageReference} = ${imageId}`)

    runtimeSuite(t, async () => ({
      runtime,
      image: { reference: testImageReference, id: imageId },
      labels: testLabels(),
      unavailable: () => new DockerContainerRuntime({ socketPath: join(t.testdir(), 'absent', 'docker.sock') })
    }))

    t.test('the limits and env reach the process', async (t) => {
      const memoryBytes = 48 * 1024 * 1024
      const id = await runtime.run({
        image: imageId,
        command: ['sh', '-c', 'echo "device=$TOM_DEVICE"; cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes'],
        env: { TOM_DEVICE: 'camera-7' },
        labels: testLabels(),
        memoryBytes,
        networkMode: 'none'
      })
      const d = await pollUntil(() => runtime.inspect(id), (d) => d.state === 'exited')
      t.equal(d.exitCode, 0)
      t.same((await runtime.logs(id)).stdout.split('\n'), ['device=camera-7', String(memoryBytes), ''])
      await runtime.remove(id)
    })

    t.test('a stopped container that ignores SIGTERM is killed after the grace time', async (t) => {
      // sleep as PID 1 has no SIGTERM handler, so the kernel ignores SIGTERM: only SIGKILL ends it.
      const id = await runtime.run({ image: imageId, command: ['sleep', '3600'], labels: testLabels(), networkMode: 'none' })
      await runtime.stop(id, { graceS: 1 })
      const d = await runtime.inspect(id)
      t.equal(d.state, 'exited')
      t.equal(d.exitCode, 137, 'SIGKILL')
      await runtime.remove(id)
    })

    t.test('network mode none has no interface but loopback', async (t) => {
      const id = await runtime.run({ image: imageId, command: ['ls', '/sys/class/net'], labels: testLabels(), networkMode: 'none' })
      await pollUntil(() => runtime.inspect(id), (d) => d.state === 'exited')
      t.equal((await runtime.logs(id)).stdout.trim(), 'lo')
      await runtime.remove(id)
    })

  })
})
