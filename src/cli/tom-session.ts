/**
 * What every `tom` command that talks to a node shares: which node (`--node`, TOM_NODE, else node 1
 * of `npm start`), which key signs (`--key`, TOM_KEY, else `.tom/admin.key` when it exists), and
 * submitting a tx so that a refusal or a failed receipt becomes one error with its code.
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { decode, fromHex, KeyFileError, loadKeyFile, Signer, toHex } from '../crypto/index.js'
import type { Tx } from '../ledger/tx.js'
// The SDK's files, not the api index: a CLI run must not load the server (and LevelDB) to start.
import { TomClient } from '../api/client.js'
import type { TxBuilder } from '../api/client.js'
import { ApiError } from '../api/errors.js'
import type { CommittedTxView } from '../api/wire.js'
import { CliError } from './errors.js'

/** Node 1 of `npm start` (`tom-node up` gives node K the API port 7500 + K). */
export const defaultNodeUrl = 'http://127.0.0.1:7501'
/** The admin key `npm start` creates, relative to where `tom` runs. */
export const defaultKeyPath = '.tom/admin.key'

export interface GlobalOptions {
  readonly node?: string
  readonly key?: string
  readonly json?: boolean
}

export class TomSession {
  readonly json: boolean
  readonly nodeUrl: string
  readonly #keyOption: string | undefined
  #client: TomClient | undefined
  #signer: Promise<Signer> | undefined
  #builder: Promise<TxBuilder> | undefined

  constructor(options: GlobalOptions, env: NodeJS.ProcessEnv = process.env) {
    this.json = options.json === true
    this.nodeUrl = options.node ?? nonEmpty(env.TOM_NODE) ?? defaultNodeUrl
    this.#keyOption = options.key ?? nonEmpty(env.TOM_KEY)
  }

  /** The session of the command being run: the root program's options, wherever they were typed. */
  static of(command: Command): TomSession {
    return new TomSession(command.optsWithGlobals<GlobalOptions>())
  }

  get client(): TomClient {
    if (this.#client === undefined) {
      try {
        this.#client = new TomClient({ url: this.nodeUrl })
      } catch (err) {
        throw new CliError('ERR_CLI_USAGE', `--node: ${(err as Error).message}`)
      }
    }
    return this.#client
  }

  /** The path of the key that signs, or ERR_CLI_NO_KEY. */
  keyPath(): string {
    if (this.#keyOption !== undefined) return this.#keyOption
    if (existsSync(defaultKeyPath)) return defaultKeyPath
    throw new CliError('ERR_CLI_NO_KEY', `this command signs a tx: pass --key FILE or set TOM_KEY (no ${defaultKeyPath} here)`)
  }

  signer(): Promise<Signer> {
    this.#signer ??= loadSigner(this.keyPath())
    return this.#signer
  }

  /** A tx builder for the node's network, signing with this session's key. */
  builder(): Promise<TxBuilder> {
    this.#builder ??= this.signer().then((signer) => this.client.build(signer))
    return this.#builder
  }

  /** Submits and waits for the commit; a refused tx or a failed receipt throws with its code and the tx id. */
  async submit(tx: Tx): Promise<CommittedTxView> {
    try {
      const result = await this.client.submit(tx)
      if ('pending' in result) throw new Error('the node answered a waiting submit as pending')
      return result
    } catch (err) {
      if (err instanceof ApiError && err.details.height !== undefined) {
        throw new ApiError(err.code, err.status, `${err.message} (tx ${toHex(tx.id)} failed in block ${String(err.details.height)}; it changed nothing)`, err.details)
      }
      throw err
    }
  }

  /** The org of the signing key, as the ledger knows it (identity/<key>): the default org of admin commands. */
  async signerOrg(): Promise<string> {
    const signer = await this.signer()
    const identity = await this.client.state(`identity/${toHex(signer.publicKey)}`)
    const org = identity === undefined ? undefined : (decodeRecord(identity.value) as { org?: unknown }).org
    if (typeof org !== 'string') throw new CliError('ERR_CLI_USAGE', `the key ${toHex(signer.publicKey)} is no identity of this network: pass --org`)
    return org
  }
}

async function loadSigner(path: string): Promise<Signer> {
  try {
    return new Signer(await loadKeyFile(path))
  } catch (err) {
    if (err instanceof KeyFileError) throw err
    const e = err as NodeJS.ErrnoException
    throw new CliError('ERR_CLI_BAD_FILE', `cannot read the key file ${path}: ${e.code ?? e.message}`)
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value
}

/** A state value: deterministic CBOR, decoded. */
export function decodeRecord(value: Uint8Array): unknown {
  return decode(value)
}

/**
 * A public key given on the command line: 64 hex digits, or a key file (its public key is taken, so
 * an admin can point at the file a device's `tom keys generate` wrote without copying hex around).
 */
export async function publicKeyArg(value: string, option: string): Promise<Uint8Array> {
  if (/^[0-9a-fA-F]{64}$/.test(value)) return fromHex(value.toLowerCase())
  if (!existsSync(value)) throw new CliError('ERR_CLI_USAGE', `${option} takes a public key (64 hex digits) or a key file, not ${JSON.stringify(value.slice(0, 80))}`)
  return (await loadSigner(value)).publicKey
}

/** Reads a file given to a command (ERR_CLI_BAD_FILE when it cannot be read). */
export async function readInputFile(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path)
  } catch (err) {
    throw new CliError('ERR_CLI_BAD_FILE', `cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
}

/** A JSON file given to a command. */
export async function readJsonFile(path: string, what: string): Promise<unknown> {
  const text = (await readInputFile(path, what)).toString('utf8')
  try {
    return JSON.parse(text) as unknown
  } catch (err) {
    throw new CliError('ERR_CLI_BAD_FILE', `${what} ${path} is not JSON: ${(err as Error).message}`)
  }
}
