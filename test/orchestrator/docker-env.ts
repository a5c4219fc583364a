/**
 * The real Docker engine for tests: finds it, makes sure the local test image exists (built with
 * `docker import` from busybox-static, since no registry is reachable), and labels and removes
 * what the tests create. Without an engine the Docker tests are skipped with a message naming the
 * socket, except under CI=true, where a missing engine fails them: CI must test the real thing.
 */
import type { Test } from 'tap'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm, copyFile, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DockerContainerRuntime, findEngineSocket } from '../../src/orchestrator/index.js'

/** The test image: busybox and its applet links, PATH=/bin. `.ci/run` builds the same with the docker CLI. */
export const testImageReference = 'tom-test/busybox:1'
/** Every container a test creates carries this label (and tom.test.pid, the creating process). */
export const testLabel = 'tom.test'
const pidLabel = 'tom.test.pid'

export type DockerEngine =
  | { readonly found: true; readonly socketPath: string; readonly runtime: DockerContainerRuntime }
  | { readonly found: false; readonly socketPath: string; readonly reason: string }

/** Asks the engine at the default socket (DOCKER_HOST, Docker's, then Podman's) whether it answers. */
export async function findDockerEngine(): Promise<DockerEngine> {
  let socketPath = '(DOCKER_HOST)'
  try {
    socketPath = findEngineSocket().socketPath
    const runtime = new DockerContainerRuntime({ socketPath })
    await runtime.ping()
    return { found: true, socketPath, runtime }
  } catch (err) {
    return { found: false, socketPath, reason: (err as Error).message }
  }
}

/**
 * Runs `body` with the engine, or, when there is none, skips (outside CI) or fails (CI=true) with
 * a message naming the socket.
 */
export async function withDockerEngine(t: Test, body: (engine: DockerEngine & { found: true }) => Promise<void>): Promise<void> {
  const engine = await findDockerEngine()
  if (!engine.found) {
    const message = `Docker engine not found at ${engine.socketPath}`
    if (process.env.CI === 'true') t.fail(`${message} (${engine.reason}); CI=true requires the engine: run .ci/run or start dockerd`)
    else t.test(`${message}: skipped`, { skip: engine.reason }, async () => undefined)
    return
  }
  await body(engine)
}

/** A static busybox on this host, or an error saying what to install. */
function staticBusybox(): string {
  for (const path of ['/bin/busybox', '/usr/bin/busybox']) {
    let bytes: Buffer
    try {
      bytes = readFileSync(path)
    } catch {
      continue
    }
    // A dynamically linked busybox names its ELF interpreter; it would not run in an empty image.
    if (!bytes.includes('/lib64/ld-linux') && !bytes.includes('/lib/ld-linux')) return path
  }
  throw new Error('no static busybox found: apt-get install busybox-static (the Docker tests build their image from it)')
}

/** The test image's ID, importing the image first if this host does not have it. */
export async function ensureTestImage(socketPath: string): Promise<string> {
  const runtime = new DockerContainerRuntime({ socketPath })
  try {
    return (await runtime.inspectImage(testImageReference)).id
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_RUNTIME_IMAGE_NOT_FOUND') throw err
  }
  const busybox = staticBusybox()
  const root = await mkdtemp(join(tmpdir(), 'tom-test-image-'))
  try {
    await mkdir(join(root, 'bin'))
    await copyFile(busybox, join(root, 'bin', 'busybox'))
    const applets = await output(busybox, ['--list'])
    for (const applet of applets.split('\n')) {
      if (applet !== '' && applet !== 'busybox') await symlink('busybox', join(root, 'bin', applet))
    }
    // The docker CLI comes with the engine (docker.io); it streams the tar to the engine's import.
    const tar = join(root, 'image.tar')
    await output('tar', ['-C', root, '--exclude', './image.tar', '-cf', tar, '.'])
    await output('docker', ['-H', `unix://${socketPath}`, 'import', '--change', 'ENV PATH=/bin', '--change', 'CMD ["/bin/sh"]', tar, testImageReference])
  } finally {
    await rm(root, { recursive: true, force: true })
  }
  return (await runtime.inspectImage(testImageReference)).id
}

function output(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk))
    child.on('error', reject)
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${command} ${args.join(' ')} exited ${code}`))))
  })
}

/** Labels for the containers of this test process: the cleanup below finds them by these. */
export function testLabels(): Record<string, string> {
  return { [testLabel]: 'orchestrator', [pidLabel]: String(process.pid) }
}

/**
 * Removes the containers of this process, and those left by test processes that no longer run
 * (a killed run); never those of a test running concurrently.
 */
export async function removeTestContainers(runtime: DockerContainerRuntime, options: { onlyThisProcess?: boolean } = {}): Promise<void> {
  for (const c of await runtime.list({ labels: { [testLabel]: 'orchestrator' } })) {
    const pid = Number(c.labels[pidLabel])
    const mine = pid === process.pid
    if (mine || (options.onlyThisProcess !== true && !processRuns(pid))) {
      await runtime.remove(c.id, { force: true }).catch((err: { code?: string }) => {
        if (err.code !== 'ERR_RUNTIME_CONTAINER_NOT_FOUND') throw err
      })
    }
  }
}

function processRuns(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM'
  }
}
