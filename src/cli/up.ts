/**
 * `tom-node up`: a local network of N node processes on loopback with embedded defaults. Creates it
 * on first use (DIR/admin.key, DIR/node1..N), starts one `tom-node start` per node, writes each one's
 * JSON logs to DIR/nodeK/node.log, shows warnings and leader changes, and stops them all on Ctrl-C.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
// Not the node index: this process only spawns the nodes, and need not load what each of them loads.
import { dataPath } from '../node/data-dir.js'
import { initLocalNetwork, localNodeDir } from '../node/local-network.js'

const bin = fileURLToPath(new URL('../../bin/tom-node.js', import.meta.url))

export interface UpOptions {
  readonly dir: string
  readonly nodes: number
  readonly basePort: number
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false
  )
}

export async function runUp(options: UpOptions): Promise<void> {
  const { dir } = options
  let count = options.nodes
  if (await exists(dataPath(localNodeDir(dir, 1), 'genesis'))) {
    count = (await readdir(dir)).filter((name) => /^node\d+$/.test(name)).length
    process.stdout.write(`local network in ${dir}: ${count} nodes (created earlier)\nadmin key: ${join(dir, 'admin.key')}\n`)
  } else {
    const net = await initLocalNetwork({ dir, nodes: count, basePort: options.basePort })
    process.stdout.write(`local network created in ${dir}: network id ${net.network}\nadmin key: ${net.adminKeyPath}\n`)
    for (const n of net.nodes) process.stdout.write(`  ${n.name}: ${n.address}/p2p/${n.peerId}\n`)
  }
  const children: ChildProcess[] = []
  let stopping = false
  const exited: Promise<void>[] = []
  for (let k = 1; k <= count; k++) {
    const nodeDir = localNodeDir(dir, k)
    // Each node in its own process group: a terminal's Ctrl-C reaches this process alone, which stops
    // the nodes with one signal each. In the terminal's group a node would get the SIGINT and then
    // our SIGTERM, and a second signal makes tom-node exit at once, without its graceful close.
    // Its standard input is a pipe from this process that is never written: when this process ends,
    // however, the pipe closes and the node stops gracefully (--stop-with-stdin) instead of living on.
    const child = spawn(process.execPath, [bin, 'start', '--dir', nodeDir, '--stop-with-stdin'], { stdio: ['pipe', 'ignore', 'pipe'], detached: true })
    children.push(child)
    const log = createWriteStream(join(nodeDir, 'node.log'), { flags: 'a' })
    createInterface({ input: child.stderr! }).on('line', (line) => {
      log.write(line + '\n')
      showLine(`node${k}`, line)
    })
    exited.push(
      new Promise((resolve) =>
        // 'close', not 'exit': the node's last log lines (its graceful close) are read by then.
        child.on('close', (code, signal) => {
          log.end()
          if (!stopping) process.stderr.write(`node${k} exited (${signal ?? `code ${code}`}); see ${join(nodeDir, 'node.log')}\n`)
          resolve()
        })
      )
    )
  }
  process.stdout.write(`${count} nodes starting; logs in ${dir}/nodeK/node.log. Ctrl-C stops them.\n`)
  const stop = (): void => {
    if (stopping) {
      // A second Ctrl-C: passed on, and a node's second signal makes it exit at once.
      for (const c of children) c.kill('SIGINT')
      return
    }
    stopping = true
    process.stderr.write('stopping the nodes\n')
    for (const c of children) c.kill('SIGTERM')
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  await Promise.all(exited)
}

/** Shows warnings, errors and leader changes from a node's JSON log lines. */
function showLine(name: string, line: string): void {
  let entry: { level?: number; msg?: string; role?: string; [k: string]: unknown }
  try {
    entry = JSON.parse(line) as typeof entry
  } catch {
    const api = /^tom-node: API at (\S+)$/.exec(line)
    if (api !== null) process.stdout.write(`${name}: API ${api[1]}\n`)
    else process.stderr.write(`${name}: ${line}\n`)
    return
  }
  if (entry.msg === 'raft role' && entry.role === 'leader') process.stdout.write(`${name} is the leader\n`)
  else if ((entry.level ?? 0) >= 40) process.stderr.write(`${name}: ${entry.msg ?? line}\n`)
}
