/** `tom`: the client CLI for admins, devices and auditors. Thin: parse, call, print. */
import { Command } from 'commander'
import { generateKeyPair, saveKeyFile, toHex, peerIdOf } from '../crypto/index.js'
import { printJson } from './run.js'

export function tomProgram(): Command {
  const program = new Command('tom').description('TOM client: keys, transactions, provenance queries').version('0.1.0')
  const keys = program.command('keys').description('Ed25519 keys for users, devices and admins')
  keys
    .command('generate')
    .description('create a key file (mode 0600) and print its public key')
    .requiredOption('--out <file>', 'key file to create (refuses to overwrite)')
    .option('--json', 'print a JSON object')
    .action(async (opts: { out: string; json?: boolean }) => {
      const pair = generateKeyPair()
      await saveKeyFile(opts.out, pair)
      const result = { publicKey: toHex(pair.publicKey), peerId: peerIdOf(pair.publicKey), file: opts.out }
      if (opts.json === true) printJson(result)
      else process.stdout.write(`${result.publicKey}\n`)
    })
  return program
}
