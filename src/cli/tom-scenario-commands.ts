/**
 * The `tom` commands of the TOM scenarios: organisations' admins, nodes, devices, images, containers
 * and templates. Each write builds one tx with the SDK's TxBuilder, signs it with the session's key,
 * submits it and waits for the commit; `list` and `show` read the world state.
 */
import type { Command } from 'commander'
import { Option } from 'commander'
import { toHex } from '../crypto/index.js'
import type { Tx } from '../ledger/tx.js'
import type { TxBuilder } from '../api/client.js'
import { CliError } from './errors.js'
import { hexArg, intArg, listArg, pairArg } from './tom-args.js'
import { output } from './tom-output.js'
import { addRecordCommands, recordKinds } from './tom-records.js'
import { publicKeyArg, readJsonFile, TomSession } from './tom-session.js'

/** Runs `build` with the session's builder, submits the tx and prints where it committed. */
export async function submitAndPrint(command: Command, build: (b: TxBuilder, session: TomSession) => Promise<Tx> | Tx): Promise<void> {
  const session = TomSession.of(command)
  const tx = await build(await session.builder(), session)
  const committed = await session.submit(tx)
  output(session, { type: tx.type, ...committed }, `committed ${tx.type} tx ${committed.id} in block ${committed.height}\n`)
}

type Opts = Record<string, unknown>

const digestPattern = /^sha256:[0-9a-f]{64}$/
function digestArg(value: string): string {
  if (!digestPattern.test(value)) throw new CliError('ERR_CLI_USAGE', `an image digest is sha256:<64 lower-case hex digits>, not ${JSON.stringify(value.slice(0, 80))}`)
  return value
}

function orgCommands(program: Command): void {
  const admin = program.command('org').description("an organisation's admins").command('admin').description('add or remove an admin key of an organisation')
  for (const verb of ['add', 'remove'] as const) {
    admin
      .command(verb)
      .description(verb === 'add' ? 'make a key an admin of the organisation' : 'take a key off the admins (not the last one)')
      .requiredOption('--public-key <hex|file>', 'the admin key: hex, or a key file')
      .option('--org <name>', "default: the signing admin's organisation")
      .action(async (opts: { publicKey: string; org?: string }, command: Command) => {
        await submitAndPrint(command, async (b, session) => {
          const payload = { org: opts.org ?? (await session.signerOrg()), publicKey: await publicKeyArg(opts.publicKey, '--public-key') }
          return verb === 'add' ? b.orgAdminAdd(payload) : b.orgAdminRemove(payload)
        })
      })
  }
}

/** What `tom-node init --join --json` prints, read back for `node add --from-file`. */
interface JoinFile {
  readonly network?: unknown
  readonly nodeName?: unknown
  readonly publicKey?: unknown
  readonly addrs?: unknown
}

async function nodeFromFile(path: string, network: Uint8Array): Promise<{ name: string; publicKey: string; addrs: string[] }> {
  const info = (await readJsonFile(path, 'the join file')) as JoinFile | null
  const bad = (why: string): CliError => new CliError('ERR_CLI_BAD_FILE', `${path} is not the JSON of tom-node init --join --json: ${why}`)
  if (info === null || typeof info !== 'object') throw bad('not an object')
  if (typeof info.publicKey !== 'string' || !/^[0-9a-f]{64}$/.test(info.publicKey)) throw bad('publicKey must be 64 hex digits')
  if (typeof info.nodeName !== 'string') throw bad('nodeName is missing')
  if (!Array.isArray(info.addrs) || !info.addrs.every((a) => typeof a === 'string')) throw bad('addrs must be a list of multiaddrs')
  if (typeof info.network === 'string' && info.network !== toHex(network)) throw bad(`the node was prepared for network ${info.network}, this node serves ${toHex(network)}`)
  return { name: info.nodeName, publicKey: info.publicKey, addrs: info.addrs as string[] }
}

function nodeCommands(program: Command): void {
  const node = program.command('node').description('the nodes (edge hosts) of the network')
  node
    .command('add')
    .description('admit a node: paste what tom-node init --join printed (--from-file of its --json output, or the fields)')
    .option('--from-file <file>', 'the JSON that tom-node init --join --json printed')
    .option('--public-key <hex>', "the node's public key")
    .option('--name <name>', "the node's name")
    .option('--addr <multiaddr>', 'where its peers reach it (repeat)', listArg)
    .option('--org <name>', "default: the signing admin's organisation")
    .option('--label <name=value>', 'a placement label (repeat)', pairArg('--label'))
    .option('--capacity <n>', 'most containers placed on it', intArg('--capacity'))
    .action(async (opts: { fromFile?: string; publicKey?: string; name?: string; addr?: string[]; org?: string; label?: Record<string, string>; capacity?: number }, command: Command) => {
      await submitAndPrint(command, async (b, session) => {
        const fields = opts.fromFile !== undefined ? await nodeFromFile(opts.fromFile, b.network) : undefined
        const publicKey = opts.publicKey ?? fields?.publicKey
        const name = opts.name ?? fields?.name
        const addrs = opts.addr ?? fields?.addrs
        if (publicKey === undefined || name === undefined || addrs === undefined) throw new CliError('ERR_CLI_USAGE', 'node add needs --from-file, or --public-key, --name and --addr')
        return b.nodeAdd({
          org: opts.org ?? (await session.signerOrg()),
          publicKey: await publicKeyArg(publicKey, '--public-key'),
          name,
          addrs,
          ...(opts.label === undefined ? {} : { labels: opts.label }),
          ...(opts.capacity === undefined ? {} : { capacity: opts.capacity })
        })
      })
    })
  node
    .command('remove')
    .description('take a node out of the network (its containers move)')
    .argument('<public-key>', "the node's public key (hex)")
    .action(async (key: string, _opts: Opts, command: Command) => {
      await submitAndPrint(command, async (b) => b.nodeRemove({ publicKey: await publicKeyArg(key, 'the public key') }))
    })
  addRecordCommands(node, recordKinds.node)
}

function deviceCommands(program: Command): void {
  const device = program.command('device').description('devices: authorised by an admin, then joining with their own key')
  device
    .command('authorise')
    .alias('authorize')
    .description("admit a device's key and attributes (signed by an org admin)")
    .argument('<id>', 'the device id')
    .requiredOption('--public-key <hex|file>', "the device's key: hex, or its key file")
    .option('--attr <name=value>', 'an attribute the device must present when it joins (repeat; firmwareHash is required)', pairArg('--attr'))
    .option('--org <name>', "default: the signing admin's organisation")
    .action(async (id: string, opts: { publicKey: string; attr?: Record<string, string>; org?: string }, command: Command) => {
      await submitAndPrint(command, async (b) => b.deviceAuthorise({ id, publicKey: await publicKeyArg(opts.publicKey, '--public-key'), attributes: opts.attr ?? {}, ...(opts.org === undefined ? {} : { org: opts.org }) }))
    })
  device
    .command('join')
    .description("join the network (signed with the device's own key: --key)")
    .argument('<id>', 'the device id')
    .option('--attr <name=value>', 'an attribute, the same as authorised (repeat)', pairArg('--attr'))
    .option('--attached-to <node-key>', 'the public key (hex) of the node it is attached to', hexArg('--attached-to', 32))
    .action(async (id: string, opts: { attr?: Record<string, string>; attachedTo?: string }, command: Command) => {
      await submitAndPrint(command, (b) => b.deviceJoin({ id, attributes: opts.attr ?? {}, ...(opts.attachedTo === undefined ? {} : { node: opts.attachedTo }) }))
    })
  device
    .command('leave')
    .description('leave the network (the device, or an admin of its org)')
    .argument('<id>', 'the device id')
    .action(async (id: string, _opts: Opts, command: Command) => {
      await submitAndPrint(command, (b) => b.deviceLeave({ id }))
    })
  addRecordCommands(device, recordKinds.device)
}

function imageCommands(program: Command): void {
  const image = program.command('image').description('the allow-list of container images (by digest) that nodes may run')
  for (const verb of ['approve', 'revoke'] as const) {
    image
      .command(verb)
      .description(verb === 'approve' ? 'allow an image to run (an admin)' : 'withdraw an approved image (an admin)')
      .argument('<digest>', 'sha256:<hex>', digestArg)
      .option('--name <name>', 'a name to remember it by')
      .action(async (digest: string, opts: { name?: string }, command: Command) => {
        const payload = { digest, ...(opts.name === undefined ? {} : { name: opts.name }) }
        await submitAndPrint(command, (b) => (verb === 'approve' ? b.imageApprove(payload) : b.imageRevoke(payload)))
      })
  }
  addRecordCommands(image, recordKinds.image)
}

function containerCommands(program: Command): void {
  const container = program.command('container').description('containers: joined by the node they run on, identified with their own key')
  container
    .command('join')
    .description('record a container running on a node (signed with that node key: --key)')
    .argument('<id>', 'the container id')
    .requiredOption('--image <digest>', 'its approved image, sha256:<hex>', digestArg)
    .requiredOption('--public-key <hex|file>', "the container's own key: hex, or its key file")
    .option('--action <id>', 'the open action it fulfils')
    .action(async (id: string, opts: { image: string; publicKey: string; action?: string }, command: Command) => {
      await submitAndPrint(command, async (b) => b.containerJoin({ id, imageDigest: opts.image, publicKey: await publicKeyArg(opts.publicKey, '--public-key'), ...(opts.action === undefined ? {} : { action: opts.action }) }))
    })
  container
    .command('identify')
    .description("prove the container holds its key (signed with the container's key: --key)")
    .argument('<id>', 'the container id')
    .action(async (id: string, _opts: Opts, command: Command) => {
      await submitAndPrint(command, (b) => b.containerIdentify({ id }))
    })
  container
    .command('leave')
    .description('record that a container left (the container, its node or an admin)')
    .argument('<id>', 'the container id')
    .action(async (id: string, _opts: Opts, command: Command) => {
      await submitAndPrint(command, (b) => b.containerLeave({ id }))
    })
  addRecordCommands(container, recordKinds.container)
}

function templateCommands(program: Command): void {
  const template = program.command('template').description('templates: start a container when a device joins or data is added')
  template
    .command('set')
    .description('create or replace a template (an org admin; the image must be approved)')
    .argument('<id>', 'the template id')
    .addOption(new Option('--on <event>', 'what fires it').choices(['device.join', 'data.add']).makeOptionMandatory())
    .requiredOption('--image <digest>', 'the approved image to start, sha256:<hex>', digestArg)
    .option('--match <name=value>', 'an attribute (device.join) or field (data.add) that must match (repeat)', pairArg('--match'))
    .option('--env <NAME=value>', 'an environment variable of the container (repeat)', pairArg('--env'))
    .option('--cmd <arg>', 'an argument of its command (repeat, in order)', listArg)
    .action(async (id: string, opts: { on: 'device.join' | 'data.add'; image: string; match?: Record<string, string>; env?: Record<string, string>; cmd?: string[] }, command: Command) => {
      await submitAndPrint(command, (b) =>
        b.templateSet({ id, on: opts.on, match: opts.match ?? {}, image: opts.image, ...(opts.env === undefined ? {} : { env: opts.env }), ...(opts.cmd === undefined ? {} : { cmd: opts.cmd }) })
      )
    })
  template
    .command('remove')
    .description('remove a template (an admin of its org)')
    .argument('<id>', 'the template id')
    .action(async (id: string, _opts: Opts, command: Command) => {
      await submitAndPrint(command, (b) => b.templateRemove({ id }))
    })
}

export function addScenarioCommands(program: Command): void {
  orgCommands(program)
  nodeCommands(program)
  deviceCommands(program)
  imageCommands(program)
  containerCommands(program)
  templateCommands(program)
}

