/** Finding free TCP ports on loopback, for local networks, tests and benchmarks. */
import { createServer } from 'node:net'

/** Whether `port` is free on 127.0.0.1 now. */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

function anyPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** The first of `count` consecutive ports that are free on 127.0.0.1 now (another process may take them later). */
export async function findFreePorts(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = await anyPort()
    if (base + count > 65535) continue
    let ok = true
    for (let i = 1; i < count && ok; i++) ok = await portFree(base + i)
    if (ok) return base
  }
  throw new Error(`no ${count} consecutive free ports on 127.0.0.1`)
}
