/** The /proc readers of the cluster benchmark, against real processes (this one and a child). */
import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { childProcesses, readProcCpuSeconds, readProcMemory } from '../../src/bench/proc-stats.js'

t.test('memory: resident now and its peak, in MiB, as process.memoryUsage sees them', async (t) => {
  const m = await readProcMemory(process.pid)
  const rssMb = process.memoryUsage().rss / 1024 / 1024
  t.ok(Math.abs(m.rssMb - rssMb) < 32, `VmRSS ${m.rssMb} near rss ${rssMb}`)
  t.ok(m.hwmMb >= m.rssMb, 'the peak is at least what is resident now')
})

t.test('cpu seconds grow with work', async (t) => {
  const before = await readProcCpuSeconds(process.pid)
  const until = performance.now() + 300
  let x = 0
  while (performance.now() < until) x += Math.sqrt(x + 1)
  t.ok(x > 0)
  const after = await readProcCpuSeconds(process.pid)
  t.ok(after - before >= 0.1, `${after - before} s used by 300 ms of busy work`)
})

t.test('children: a spawned child, with its arguments', async (t) => {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', 'marker-arg'], { stdio: 'ignore' })
  t.teardown(() => child.kill('SIGKILL'))
  await once(child, 'spawn')
  const found = (await childProcesses(process.pid)).find((c) => c.pid === child.pid)
  t.ok(found, 'listed under this process')
  t.ok(found?.argv.includes('marker-arg'), 'with its command line')
})

t.test('a process that does not exist is an error', async (t) => {
  await t.rejects(readProcMemory(2 ** 22 + 1))
})
