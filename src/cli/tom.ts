/**
 * `tom`: the client CLI for admins, devices and auditors. Thin: parse, call the SDK (TomClient) or
 * src/node, print. Options every command takes, after its name: `--node URL` (TOM_NODE, else
 * node 1 of `npm start`), `--key FILE` (TOM_KEY, else .tom/admin.key), `--json`.
 */
import { Command } from 'commander'
import { generateKeyPair, saveKeyFile, toHex, peerIdOf } from '../crypto/index.js'
import { addLedgerCommands } from './tom-ledger-commands.js'
import { output } from './tom-output.js'
import { addScenarioCommands } from './tom-scenario-commands.js'
import { defaultKeyPath, defaultNodeUrl, TomSession } from './tom-session.js'
import { addVerifyCommand } from './tom-verify.js'

export function tomProgram(): Command {
  const program = new Command('tom')
    .description('TOM client: keys, transactions for the TOM scenarios, ledger and provenance queries, chain verification')
    .version('0.1.0')
    // Root options are read only before the command name, so that a command's own options (contract
    // deploy --version) are its own; the global options go on every command instead (addGlobalOptions).
    .enablePositionalOptions()
  const keys = program.command('keys').description('Ed25519 keys for users, devices and admins')
  keys
    .command('generate')
    .description('create a key file (mode 0600) and print its public key')
    .requiredOption('--out <file>', 'key file to create (refuses to overwrite)')
    .action(async (opts: { out: string }, command: Command) => {
      const pair = generateKeyPair()
      await saveKeyFile(opts.out, pair)
      const result = { publicKey: toHex(pair.publicKey), peerId: peerIdOf(pair.publicKey), file: opts.out }
      output(TomSession.of(command), result, `${result.publicKey}\n`)
    })
  addScenarioCommands(program)
  addLedgerCommands(program)
  addVerifyCommand(program)
  addGlobalOptions(program)
  return program
}

/** --node, --key and --json on every command that runs something, so they may come anywhere after it. */
function addGlobalOptions(command: Command): void {
  for (const sub of command.commands) {
    if (sub.commands.length > 0) addGlobalOptions(sub)
    else {
      sub
        .option('--node <url>', `the node's API (env TOM_NODE; default ${defaultNodeUrl}, node 1 of npm start)`)
        .option('--key <file>', `the key that signs txs (env TOM_KEY; default ${defaultKeyPath} when it exists)`)
        .option('--json', 'print JSON')
    }
  }
}
