/**
 * `tom` commands for data, contracts and ACL rules (writes), and for reading the ledger: status, a
 * tx, a block, and the provenance queries and exports.
 */
import { createReadStream } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import type { Command } from 'commander'
import { Option } from 'commander'
import { fromHex } from '../crypto/index.js'
import type { ProvFormat } from '../ledger/index.js'
import { CliError } from './errors.js'
import { hexArg, intArg, listArg } from './tom-args.js'
import { output } from './tom-output.js'
import { submitAndPrint } from './tom-scenario-commands.js'
import { readInputFile, readJsonFile, TomSession } from './tom-session.js'

/** SHA-256 and size of a file, streamed: the data itself never goes on the ledger. */
async function fileDigest(path: string): Promise<{ hash: Uint8Array; size: number }> {
  const hash = createHash('sha256')
  let size = 0
  try {
    for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
      hash.update(chunk)
      size += chunk.length
    }
  } catch (err) {
    throw new CliError('ERR_CLI_BAD_FILE', `cannot read the data file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  return { hash: new Uint8Array(hash.digest()), size }
}

function writeCommands(program: Command): void {
  program
    .command('data')
    .description('data items: their hash, origin and derivation go on the ledger, never the data')
    .command('add')
    .description('record a data item (its SHA-256: from --file, or --hash)')
    .argument('<id>', 'the data id (its PROV entity is tom:data/<id>)')
    .option('--file <file>', 'hash this file (and record its size)')
    .option('--hash <hex>', 'the SHA-256 of the data, 64 hex digits', hexArg('--hash', 32))
    .option('--type <type>', 'its data type (fires data.add templates)')
    .option('--derived-from <id>', 'a data id it was derived from (repeat)', listArg)
    .option('--location <where>', 'where the data is kept')
    .option('--produced-by <id>', 'the device or container that produced it')
    .action(async (id: string, opts: { file?: string; hash?: string; type?: string; derivedFrom?: string[]; location?: string; producedBy?: string }, command: Command) => {
      if ((opts.file === undefined) === (opts.hash === undefined)) throw new CliError('ERR_CLI_USAGE', 'data add takes one of --file and --hash')
      const digest = opts.file !== undefined ? await fileDigest(opts.file) : { hash: fromHex(opts.hash!) }
      await submitAndPrint(command, (b) =>
        b.dataAdd({
          id,
          ...digest,
          ...(opts.type === undefined ? {} : { dataType: opts.type }),
          ...(opts.derivedFrom === undefined ? {} : { derivedFrom: opts.derivedFrom }),
          ...(opts.location === undefined ? {} : { location: opts.location }),
          ...(opts.producedBy === undefined ? {} : { producedBy: opts.producedBy })
        })
      )
    })

  program
    .command('contract')
    .description('contracts deployed as JavaScript into the sandbox')
    .command('deploy')
    .description('deploy the next version of a contract (an org admin); its handlers run as tx types <name>.<fn>')
    .argument('<name>', 'the contract name')
    .requiredOption('--source <file>', 'the JavaScript source')
    .option('--version <n>', 'the version this deploy must become (the next one); refused otherwise', intArg('--version'))
    .action(async (name: string, opts: { source: string; version?: number }, command: Command) => {
      const source = (await readInputFile(opts.source, 'the contract source')).toString('utf8')
      await submitAndPrint(command, (b) => b.contractDeploy({ name, source, ...(opts.version === undefined ? {} : { version: opts.version }) }))
    })

  program
    .command('acl')
    .description('the ACL rules every tx is checked against')
    .command('set')
    .description('replace the ACL rules (an admin): first match wins, no match denies')
    .requiredOption('--file <rules.json>', 'a JSON list of rules, or { "rules": [...] }')
    .action(async (opts: { file: string }, command: Command) => {
      const parsed = await readJsonFile(opts.file, 'the ACL rules')
      const rules = Array.isArray(parsed) ? parsed : (parsed as { rules?: unknown } | null)?.rules
      if (!Array.isArray(rules) || !rules.every((r) => r !== null && typeof r === 'object' && !Array.isArray(r))) {
        throw new CliError('ERR_CLI_BAD_FILE', `${opts.file} must hold a list of rule objects, or { "rules": [...] }`)
      }
      await submitAndPrint(command, (b) => b.aclSet({ rules: rules as object[] }))
    })
}

/** The CLI's names of the export formats and the API's. */
const exportFormats: Readonly<Record<string, ProvFormat>> = { json: 'prov-json', provn: 'prov-n', ttl: 'turtle' }

function readCommands(program: Command): void {
  program
    .command('status')
    .description("the node's role, the leader it knows, the network and its head")
    .action(async (_opts: object, command: Command) => {
      const session = TomSession.of(command)
      // `api`: the URL asked, beside what the node says of itself (its `node` is its name and keys).
      output(session, { api: session.client.url, ...(await session.client.status()) })
    })

  program
    .command('tx')
    .description('committed txs')
    .command('show')
    .description('a committed tx: where it is, its receipt and its payload')
    .argument('<id>', 'the tx id (64 hex digits)', hexArg('the tx id', 32))
    .action(async (id: string, _opts: object, command: Command) => {
      const session = TomSession.of(command)
      output(session, await session.client.tx(id))
    })

  program
    .command('block')
    .description('blocks')
    .command('show')
    .description('a block: header, hash, signature and its txs with their receipts')
    .argument('<height>', 'the block height', intArg('the height'))
    .option('--bytes', 'also print the block exact CBOR (hex)')
    .action(async (height: number, opts: { bytes?: boolean }, command: Command) => {
      const session = TomSession.of(command)
      const { bytes, ...block } = await session.client.block(height)
      const shown = { ...block, txs: block.txs.map(({ bytes: _txBytes, ...tx }) => tx) }
      output(session, opts.bytes === true ? { ...shown, bytes } : shown)
    })

  const prov = program.command('prov').description('provenance: lineage, who touched what, history, PROV exports')
  prov
    .command('lineage')
    .description('what an id came from (back) or what came from it (forward)')
    .argument('<id>', 'a qualified name, e.g. tom:data/frame-1')
    .addOption(new Option('--direction <way>', 'which way').choices(['back', 'forward']).default('back'))
    .option('--depth <n>', 'entity-to-entity steps', intArg('--depth'))
    .option('--limit <n>', 'most nodes returned', intArg('--limit'))
    .action(async (id: string, opts: { direction: 'back' | 'forward'; depth?: number; limit?: number }, command: Command) => {
      const session = TomSession.of(command)
      const result = await session.client.lineage(id, { direction: opts.direction === 'back' ? 'backward' : 'forward', ...(opts.depth === undefined ? {} : { depth: opts.depth }), ...(opts.limit === undefined ? {} : { limit: opts.limit }) })
      output(session, result)
    })
  prov
    .command('who-touched')
    .description('the activities that generated, used or invalidated an id, and the agents behind them')
    .argument('<id>', 'a qualified name, e.g. tom:data/frame-1')
    .option('--limit <n>', 'most results', intArg('--limit'))
    .action(async (id: string, opts: { limit?: number }, command: Command) => {
      const session = TomSession.of(command)
      output(session, await session.client.whoTouched(id, opts.limit === undefined ? {} : { limit: opts.limit }))
    })
  prov
    .command('history')
    .description('every relation that touches an id, in chain order (one page; --cursor for the next)')
    .argument('<id>', 'a qualified name, e.g. tom:device/cam-1')
    .option('--limit <n>', 'most events', intArg('--limit'))
    .option('--cursor <next>', 'the next of the previous page')
    .action(async (id: string, opts: { limit?: number; cursor?: string }, command: Command) => {
      const session = TomSession.of(command)
      output(session, await session.client.history(id, { ...(opts.limit === undefined ? {} : { limit: opts.limit }), ...(opts.cursor === undefined ? {} : { cursor: opts.cursor }) }))
    })
  prov
    .command('export')
    .description('PROV as PROV-JSON, PROV-N or Turtle: the whole ledger, a range of blocks, or the lineage of one id')
    .addOption(new Option('--format <format>', 'json (PROV-JSON), provn (PROV-N), ttl (PROV-O Turtle)').choices(Object.keys(exportFormats)).default('json'))
    .option('--entity <id>', 'only the lineage of this id (a qualified name)')
    .addOption(new Option('--direction <way>', 'with --entity').choices(['back', 'forward']).default('back'))
    .option('--from <height>', 'first block', intArg('--from'))
    .option('--to <height>', 'last block', intArg('--to'))
    .option('--out <file>', 'write to this file instead of stdout')
    .action(async (opts: { format: string; entity?: string; direction: 'back' | 'forward'; from?: number; to?: number; out?: string }, command: Command) => {
      const session = TomSession.of(command)
      if (opts.entity !== undefined && (opts.from !== undefined || opts.to !== undefined)) throw new CliError('ERR_CLI_USAGE', 'export either --entity or a range --from/--to, not both')
      const what =
        opts.entity !== undefined
          ? { lineage: opts.entity, direction: opts.direction === 'back' ? ('backward' as const) : ('forward' as const) }
          : { ...(opts.from === undefined ? {} : { from: opts.from }), ...(opts.to === undefined ? {} : { to: opts.to }) }
      const text = await session.client.exportProv(what, exportFormats[opts.format]!)
      if (opts.out === undefined) {
        process.stdout.write(text.endsWith('\n') ? text : `${text}\n`)
        return
      }
      await writeFile(opts.out, text)
      output(session, { file: opts.out, format: exportFormats[opts.format], bytes: Buffer.byteLength(text) }, `wrote ${Buffer.byteLength(text)} bytes of ${exportFormats[opts.format]} to ${opts.out}\n`)
    })
}

export function addLedgerCommands(program: Command): void {
  writeCommands(program)
  readCommands(program)
}
