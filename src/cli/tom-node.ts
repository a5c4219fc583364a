/**
 * `tom-node`: the daemon and its admin commands. Thin: each command parses its options and calls
 * src/node. Each command imports what it needs when it runs: `tom-node up` only spawns processes and
 * need not load the node stack (libp2p, the API) that each of its children loads again, which would
 * delay a local network's start by that load.
 */
import { Command, Option } from 'commander'
import { readFile } from 'node:fs/promises'
import type { InitResult, TomNode } from '../node/index.js'
import { exitCodes, printJson, progressLine } from './run.js'

function printInit(result: InitResult, json: boolean): void {
  if (json) return printJson(result)
  process.stdout.write(
    [
      `network ${result.networkName} created in ${result.dir}`,
      `  genesis hash (network id): ${result.network}`,
      `  organisation: ${result.org}, admin key ${result.adminKey}`,
      `  admin key file: ${result.adminKeyPath} (move it off this host for a real deployment)`,
      `  node ${result.nodeName}: key ${result.nodeKey}, peer id ${result.peerId}`,
      ''
    ].join('\n')
  )
}

/**
 * Runs `node` and its HTTP API until SIGINT or SIGTERM, then closes both (the API first, so that no
 * request reaches a closing node); a second signal exits at once. With `stopWithStdin`, the end of
 * standard input stops it the same way: `tom-node up` holds the other end of that pipe, so a node
 * never outlives it, however it ends (SIGKILL, a closed terminal's SIGHUP, a crash).
 */
async function runUntilSignalled(node: TomNode, options: { stopWithStdin?: boolean } = {}): Promise<void> {
  node.start()
  const { createApiServer } = await import('../api/index.js')
  const api = createApiServer(node, { host: node.config.apiHost, port: node.config.apiPort, rateLimit: node.config.apiRateLimit })
  const { url } = await api.start().catch(async (err: Error) => {
    await node.close()
    throw err
  })
  process.stderr.write(`tom-node: API at ${url}\n`)
  // Nothing else holds the event loop open until the node listens on a socket: keep the process up.
  const keepAlive = setInterval(() => {}, 1 << 30)
  await new Promise<void>((resolve, reject) => {
    let closing = false
    const onSignal = (signal: string): void => {
      if (closing) process.exit(130)
      closing = true
      process.stderr.write(`tom-node: ${signal}: shutting down\n`)
      api.stop().then(() => node.close()).then(resolve, reject)
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    if (options.stopWithStdin === true) {
      // Not a second signal when already closing: the parent may end before this node has closed.
      process.stdin.once('end', () => {
        if (!closing) onSignal('standard input closed')
      })
      process.stdin.resume()
      // Watching stdin must not keep the process up once the node has closed.
      ;(process.stdin as { unref?: () => void }).unref?.()
      // The parent read our stderr (the logs); once it is gone, a write fails with EPIPE, which must
      // not turn the graceful close into a crash: the logs of the close are lost, the close is not.
      process.stderr.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EPIPE') throw err
      })
    }
    node.once('fatal', (err) => {
      closing = true
      api.stop().then(() => node.close()).then(() => reject(err), reject)
    })
  }).finally(() => clearInterval(keepAlive))
}

export function tomNodeProgram(): Command {
  const program = new Command('tom-node').description('TOM edge node: a permissioned provenance ledger and orchestrator').version('0.1.0')

  program
    .command('init')
    .description('create a new network in a data folder (org admin key, node key, genesis block), or with --join prepare a node to join one')
    .requiredOption('--dir <dir>', 'data folder to create')
    .option('--network <name>', 'network name', 'tom')
    .option('--org <name>', 'founding organisation', 'org1')
    .option('--name <name>', 'this node', 'node1')
    .option('--join <genesis.block>', "join the network of this genesis block (copy it from any node's data folder)")
    .option('--listen <multiaddr...>', 'with --join: where this node listens and is reached', ['/ip4/127.0.0.1/tcp/7401'])
    .option('--json', 'print a JSON object')
    .action(async (opts: { dir: string; network: string; org: string; name: string; join?: string; listen: string[]; json?: boolean }) => {
      const { initJoiningNode, initNetwork } = await import('../node/index.js')
      if (opts.join !== undefined) {
        const info = await initJoiningNode({ dir: opts.dir, genesis: new Uint8Array(await readFile(opts.join)), nodeName: opts.name, listen: opts.listen })
        if (opts.json === true) return printJson(info)
        process.stdout.write(
          [
            `node ${info.nodeName} prepared in ${info.dir} for network ${info.network}`,
            `  public key ${info.publicKey}, peer id ${info.peerId}, reached at ${info.addrs.join(' ')}`,
            `An admin of your organisation admits it with a node.add tx: { org, publicKey: ${info.publicKey}, name: ${info.nodeName}, addrs: [${info.addrs.join(', ')}] }.`,
            `Then run: tom-node start --dir ${info.dir} (it waits to be admitted, syncs, and joins as a learner, then a voter).`,
            ''
          ].join('\n')
        )
        return
      }
      const result = await initNetwork({ dir: opts.dir, networkName: opts.network, orgName: opts.org, nodeName: opts.name })
      printInit(result, opts.json === true)
    })

  program
    .command('start')
    .description('run a node from its data folder until SIGINT or SIGTERM')
    .requiredOption('--dir <dir>', 'data folder')
    .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'silent']))
    .option('--stop-with-stdin', 'also stop gracefully when standard input ends (how tom-node up ties its nodes to itself)')
    .action(async (opts: { dir: string; logLevel?: 'info'; stopWithStdin?: boolean }) => {
      const { TomNode } = await import('../node/index.js')
      const node = await TomNode.open({ dir: opts.dir, ...(opts.logLevel ? { config: { logLevel: opts.logLevel } } : {}) })
      await runUntilSignalled(node, { stopWithStdin: opts.stopWithStdin === true })
    })

  program
    .command('up')
    .description('run a local network of node processes on loopback with embedded defaults (created on first run)')
    .option('--dir <dir>', 'where the network lives', '.tom')
    .option('--nodes <n>', 'how many nodes (first run only)', (v) => Number.parseInt(v, 10), 3)
    .option('--base-port <port>', 'node K listens on 127.0.0.1, this port + K - 1 (first run only)', (v) => Number.parseInt(v, 10), 7401)
    .action(async (opts: { dir: string; nodes: number; basePort: number }) => {
      const { runUp } = await import('./up.js')
      await runUp({ dir: opts.dir, nodes: opts.nodes, basePort: opts.basePort })
    })

  program
    .command('verify')
    .description('re-check the whole chain: hashes, links, Merkle roots, signatures, state roots')
    .requiredOption('--dir <dir>', 'data folder (the node must be stopped)')
    .option('--json', 'print a JSON report')
    .action(async (opts: { dir: string; json?: boolean }) => {
      const progress = progressLine('verifying block')
      const { verifyDataDir } = await import('../node/index.js')
      const report = await verifyDataDir(opts.dir, { onProgress: (h, head) => progress.update(h + 1, head + 1) })
      progress.end()
      if (opts.json === true) printJson(report)
      else if (report.ok) process.stdout.write(`chain sound: height ${report.height}, head ${report.hash}, ${report.txs} txs, ${report.ms} ms\n`)
      else process.stdout.write(`chain UNSOUND at height ${report.height}: ${report.code}: ${report.reason}\n`)
      if (!report.ok) process.exitCode = exitCodes.negative
    })

  return program
}
