/**
 * A node's options: from `config.json` in its data folder, overridden by what the embedding program
 * passes. Validated once at start-up and frozen; every option is documented here with its default.
 */
import { readFile } from 'node:fs/promises'
import { defaultBlockTxMax, mempoolTxMax } from './constants.js'
import { blockTxMax as blockTxLimit } from '../ledger/index.js'
import { NodeError } from './errors.js'
import { rateLimitBurstDefault, rateLimitPerSecondDefault } from '../api/index.js'

export interface NodeConfig {
  /** A name for logs and the node registry. Default: `node`. */
  readonly name: string
  /** Most txs per block. Default 500; at most the ledger's blockTxMax (2000). */
  readonly blockTxMax: number
  /** Most txs waiting for a block. Default 50,000. */
  readonly mempoolTxMax: number
  /** `fatal`, `error`, `warn`, `info`, `debug` or `silent`. Default `info`. */
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'silent'
  /** Multiaddrs the p2p host listens on. Default `/ip4/127.0.0.1/tcp/0` (loopback, any port). */
  readonly listen: readonly string[]
  /** Milliseconds per Raft tick. Default 50. */
  readonly tickMs: number
  /** Ticks without a leader before a follower campaigns (randomised up to twice this). Default 10. */
  readonly electionTimeoutTicks: number
  /** The Raft log is snapshotted (at the ledger head) every this many applied entries. Default 1024. */
  readonly snapshotEveryEntries: number
  /** Entries kept behind a snapshot, so a follower slightly behind still gets entries. Default 256. */
  readonly logEntriesKept: number
  /**
   * The leader says on chain that a node is unreachable (`node.unreachable`, which moves its
   * containers to healthy nodes) when it has heard nothing from it for this long. Default 3000.
   */
  readonly nodeUnreachableMs: number
  /** Whether this node carries out the container actions addressed to it. Default true. */
  readonly orchestrator: boolean
  /**
   * The container engine's socket (Docker, or Podman's Docker-compatible one). Default: found from
   * DOCKER_HOST, /var/run/docker.sock, /run/podman/podman.sock.
   */
  readonly containerSocket: string | null
  /** How often the orchestrator compares what should run here with what runs. Default 5000. */
  readonly reconcileIntervalMs: number
  /** Where `tom-node start` serves the HTTP API. Default 127.0.0.1 (this host only). */
  readonly apiHost: string
  /** Its port. Default 7070; 0 picks a free one. */
  readonly apiPort: number
  /**
   * The API's token bucket per client address: `burst` requests at once, `perSecond` sustained; `false`
   * turns it off (e.g. behind a proxy that limits, where every request comes from the proxy's
   * address). Default { burst: 200, perSecond: 100 }.
   */
  readonly apiRateLimit: { readonly burst: number; readonly perSecond: number } | false
}

export const defaultConfig: NodeConfig = Object.freeze({
  name: 'node',
  blockTxMax: defaultBlockTxMax,
  mempoolTxMax,
  logLevel: 'info',
  listen: Object.freeze(['/ip4/127.0.0.1/tcp/0']),
  tickMs: 50,
  electionTimeoutTicks: 10,
  snapshotEveryEntries: 1024,
  logEntriesKept: 256,
  nodeUnreachableMs: 3000,
  orchestrator: true,
  containerSocket: null,
  reconcileIntervalMs: 5000,
  apiHost: '127.0.0.1',
  apiPort: 7070,
  apiRateLimit: Object.freeze({ burst: rateLimitBurstDefault, perSecond: rateLimitPerSecondDefault })
})

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'silent']

function invalid(message: string): NodeError {
  return new NodeError('ERR_CONFIG_INVALID', message)
}

function integer(value: unknown, name: string, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) throw invalid(`${name} must be an integer from ${min} to ${max}`)
  return value as number
}

function host(value: unknown): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9.:-]{1,253}$/.test(value)) throw invalid('apiHost must be an IP address or host name, e.g. 127.0.0.1')
  return value
}

function boolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw invalid(`${name} must be true or false`)
  return value
}

function socketPath(value: unknown): string | null {
  if (value === null) return null
  if (typeof value !== 'string' || !value.startsWith('/') || value.length > 1024) throw invalid('containerSocket must be an absolute path to a unix socket, or null')
  return value
}

function rateLimit(value: unknown): NodeConfig['apiRateLimit'] {
  if (value === false) return false
  const { burst, perSecond, ...rest } = (value ?? {}) as Record<string, unknown>
  const ok = typeof value === 'object' && !Array.isArray(value) && Object.keys(rest).length === 0
  if (!ok || !Number.isSafeInteger(burst) || (burst as number) < 1 || !Number.isSafeInteger(perSecond) || (perSecond as number) < 0) {
    throw invalid('apiRateLimit must be false or { "burst": integer >= 1, "perSecond": integer >= 0 }')
  }
  return Object.freeze({ burst: burst as number, perSecond: perSecond as number })
}

function addresses(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > 8 || !value.every((a) => typeof a === 'string' && a.startsWith('/'))) {
    throw invalid('listen must be a list of 1 to 8 multiaddrs, e.g. ["/ip4/127.0.0.1/tcp/7401"]')
  }
  return [...value]
}

/** Checks `input` (parsed JSON or options) over the defaults. Unknown keys are refused. */
export function validateConfig(input: Record<string, unknown>, base: NodeConfig = defaultConfig): NodeConfig {
  for (const key of Object.keys(input)) if (!(key in defaultConfig)) throw invalid(`unknown option ${key}`)
  const merged = { ...base, ...input }
  if (typeof merged.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(merged.name)) throw invalid('name must be 1 to 64 letters, digits, . _ -')
  if (!logLevels.includes(merged.logLevel as string)) throw invalid(`logLevel must be one of ${logLevels.join(', ')}`)
  return Object.freeze({
    name: merged.name,
    blockTxMax: integer(merged.blockTxMax, 'blockTxMax', 1, blockTxLimit),
    mempoolTxMax: integer(merged.mempoolTxMax, 'mempoolTxMax', 1, 1_000_000),
    logLevel: merged.logLevel as NodeConfig['logLevel'],
    listen: Object.freeze(addresses(merged.listen)),
    tickMs: integer(merged.tickMs, 'tickMs', 1, 10_000),
    electionTimeoutTicks: integer(merged.electionTimeoutTicks, 'electionTimeoutTicks', 2, 1000),
    snapshotEveryEntries: integer(merged.snapshotEveryEntries, 'snapshotEveryEntries', 2, 1_000_000),
    logEntriesKept: integer(merged.logEntriesKept, 'logEntriesKept', 0, 1_000_000),
    nodeUnreachableMs: integer(merged.nodeUnreachableMs, 'nodeUnreachableMs', 100, 3_600_000),
    orchestrator: boolean(merged.orchestrator, 'orchestrator'),
    containerSocket: socketPath(merged.containerSocket),
    reconcileIntervalMs: integer(merged.reconcileIntervalMs, 'reconcileIntervalMs', 100, 3_600_000),
    apiHost: host(merged.apiHost),
    apiPort: integer(merged.apiPort, 'apiPort', 0, 65_535),
    apiRateLimit: rateLimit(merged.apiRateLimit)
  })
}

export async function readConfigFile(path: string): Promise<NodeConfig> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return defaultConfig
    throw err
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw invalid(`${path} is not JSON: ${(err as Error).message}`)
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalid(`${path} must hold a JSON object`)
  try {
    return validateConfig(parsed as Record<string, unknown>)
  } catch (err) {
    if (err instanceof NodeError) throw invalid(`${path}: ${err.message}`)
    throw err
  }
}
