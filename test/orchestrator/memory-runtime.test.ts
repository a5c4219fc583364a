/**
 * The memory runtime passes the same suite as the Docker driver. It runs no process, so the
 * ProcessModel below says what each of the suite's busybox commands does, as busybox would.
 */
import t from 'tap'
import { MemoryContainerRuntime, type MemoryProcess, type MemoryProcessInput } from '../../src/orchestrator/index.js'
import { runtimeSuite, suiteCommands } from './runtime-suite.js'

function busyboxModel({ command, files }: MemoryProcessInput): MemoryProcess {
  const same = (a: readonly string[]): boolean => a.length === command.length && a.every((x, i) => x === command[i])
  if (same(suiteCommands.serve)) return { stoppedExitCode: 0 }
  const exit = /^exit (\d+)$/.exec(command[2] ?? '')
  if (exit !== null && same(suiteCommands.exitWith(Number(exit[1])))) return { exitCode: Number(exit[1]) }
  if (command[0] === 'cat' && same(suiteCommands.cat(command[1]!))) {
    const content = files.get(command[1]!)
    return content === undefined
      ? { exitCode: 1, stderr: `cat: can't open '${command[1]}': No such file or directory\n` }
      : { exitCode: 0, stdout: Buffer.from(content).toString('utf8') }
  }
  const path = / > (\S+)$/.exec(command[2] ?? '')?.[1]
  if (path !== undefined && same(suiteCommands.overwrite(path))) {
    return files.has(path) ? { exitCode: 1, stderr: `sh: can't create ${path}: Read-only file system\n` } : { exitCode: 0 }
  }
  throw new Error(`the memory test's process model does not know ${JSON.stringify(command)}`)
}

runtimeSuite(t, async () => {
  const reference = 'tom-test/busybox:1'
  const runtime = new MemoryContainerRuntime({ processModel: busyboxModel })
  const { id } = runtime.addImage(reference, { env: { PATH: '/bin' } })
  return {
    runtime,
    image: { reference, id },
    labels: { 'tom.test': 'memory-runtime' },
    unavailable: () => {
      const down = new MemoryContainerRuntime()
      down.setAvailable(false)
      return down
    }
  }
})

t.test('memory runtime: exit() makes a running container die, as a crash would', async (t) => {
  const runtime = new MemoryContainerRuntime()
  const { id: image } = runtime.addImage('x:1')
  const id = await runtime.run({ image, labels: { k: 'v' } })
  runtime.exit(id, 139)
  const d = await runtime.inspect(id)
  t.equal(d.state, 'exited')
  t.equal(d.exitCode, 139)
  t.same((await runtime.list({ labels: { k: 'v' } })).map((c) => c.state), ['exited'])
})
