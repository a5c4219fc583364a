/**
 * Contracts that organisations deploy as JavaScript source, run in the QuickJS sandbox
 * (sandbox/sandbox.ts) under its instruction, memory, stack and output limits.
 *
 * Deploying: `contract.deploy { name, source, version? }`, signed by an org admin. Each deploy of a
 * name gets the next version (1, 2, ...); `version`, when given, must be that next version, so that
 * two admins who upgrade at once do not overwrite each other unknowingly. The first deploy makes the
 * contract its admin's organisation's: only admins of that organisation deploy later versions. The
 * source is compiled at deploy time; a syntax error, a throwing top level or no handler fails the
 * deploy with ERR_CONTRACT_COMPILE. A name is 1 to 32 of a-z 0-9 -, starting with a letter, and may
 * not be a namespace of the built-in contracts (reservedContractNames).
 *
 * Calling: a tx of type `<name>.<fn>` that no built-in contract handles runs the handler
 * `handlers['<name>.<fn>']` of the latest version of contract `<name>`. A contract registers only
 * handlers under its own name (checked at deploy). Built-in tx types always win, so a built-in type
 * added later is never shadowed by a contract. The signer must be an identity of the network. Older
 * versions stay readable in state but no longer run.
 *
 * What a call may do, and how it is confined:
 * - state: its keys are under `contract/<name>/state/` (the sandbox's statePrefix), shared by all
 *   versions of the contract so that an upgrade keeps its data; string values, stored as UTF-8;
 * - PROV (api.prov.*): the activity is always the tx itself. The ids a contract creates (declares,
 *   generates, invalidates, derives, attributes, collects into) are its own: a bare name `x` stands for
 *   `tom:contract/<name>/data/x`, and a full `tom:` name must lie there too. The ids it refers to
 *   (used, derived from, members, agents) may also be ledger ids of these kinds: tom:data/, tom:contract/,
 *   tom:action/, tom:container/, tom:device/, tom:image/, tom:node/, tom:org/, tom:key/. The ledger then
 *   checks PROV-CONSTRAINTS as for any contract. Every call also records that its tx used the
 *   contract version (tom:contract/<name>/<version>);
 * - actions (api.action({ type, node, params })): recorded through actions.ts like a built-in's;
 * - events (api.emit) and the handler's result: kept at `contract/<name>/out/<tx id hex>` when there
 *   are any, so that the submitter and auditors can read what the call said.
 * A sandbox verdict (loop, allocation, recursion, throw, bad output) fails the tx with its code
 * (ERR_CONTRACT_*), and the node goes on with the next tx.
 *
 * World state written here (values CBOR unless said):
 *   contract/<name>                    { name, org, version (latest), hash (hex), types }
 *   contract/<name>/<version>          { name, version, org, hash, types, deployer (key), tx (id), height }
 *   contract/<name>/<version>/source   the source, UTF-8 (not CBOR)
 *   contract/<name>/state/<key>        the contract's own state, UTF-8 strings
 *   contract/<name>/out/<tx id hex>    { events: [json], result?: json }
 */
import { createHash } from 'node:crypto'
import { decode, encode, toHex } from '../crypto/index.js'
import type { CborValue } from '../crypto/index.js'
import { TxFailedError, txTypeBytesMax } from '../ledger/index.js'
import type { StateReader, StateWriter, Tx, TxContext } from '../ledger/index.js'
import { isQualifiedName, literal, toLiteral } from '../prov/index.js'
import type { Attribute, ProvRecord, QualifiedName } from '../prov/index.js'
import { actionProcessors, emitAction } from './actions.js'
import {
  contractHandlerTypesMax, contractNameCharsMax, contractProvAttributesMax, contractProvIdCharsMax,
  contractProvStringCharsMax, deployedSandboxesMax
} from './deployed-constants.js'
import { onlyFields } from './payload.js'
import type { Payload } from './payload.js'
import type { Processor } from './processor.js'
import { provIds } from './prov-ids.js'
import { applyContractWrites, ContractSandbox, ContractSandboxError } from './sandbox/index.js'
import type { ContractOutcome, Json } from './sandbox/index.js'

/** The latest version of a contract, at `contract/<name>`. */
export interface DeployedContract {
  readonly name: string
  readonly org: string
  readonly version: number
  /** SHA-256 of the source's UTF-8, hex. */
  readonly hash: string
  /** The tx types its handlers take, sorted. */
  readonly types: readonly string[]
}

/** One version of a contract, at `contract/<name>/<version>`. */
export interface DeployedContractVersion extends DeployedContract {
  readonly deployer: Uint8Array
  readonly tx: Uint8Array
  readonly height: number
}

/**
 * Namespaces of the built-in contracts (and of the ledger's own ids): no deployed contract takes
 * these names, so `<name>.<fn>` never looks like a built-in type and state keys never meet.
 */
export const reservedContractNames: readonly string[] = Object.freeze([
  'network', 'org', 'node', 'nodes', 'data', 'device', 'container', 'image', 'identity', 'acl', 'contract', 'action', 'actions',
  'historian', 'raft', 'tx', 'block', 'key', 'prov', 'tom', 'system', 'admin', 'template', 'templates', 'continuity'
])

const contractNamePattern = new RegExp(`^[a-z][a-z0-9-]{0,${contractNameCharsMax - 1}}$`)
/** The ledger's tx type syntax (tx.ts): a handler under any other name could never be called. */
const txTypePattern = /^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*$/

export const deployedStateKeys = {
  contract: (name: string): string => `contract/${name}`,
  version: (name: string, version: number): string => `contract/${name}/${version}`,
  source: (name: string, version: number): string => `contract/${name}/${version}/source`,
  statePrefix: (name: string): string => `contract/${name}/state/`,
  output: (name: string, txIdHex: string): string => `contract/${name}/out/${txIdHex}`
}

/** The PROV namespace of the ids a contract creates. */
export function contractProvPrefix(name: string): string {
  return `tom:contract/${name}/data/`
}

/** Ledger ids a contract may refer to (but not create). */
const referablePrefixes = ['tom:data/', 'tom:contract/', 'tom:action/', 'tom:container/', 'tom:device/', 'tom:image/', 'tom:node/', 'tom:org/', 'tom:key/']

const utf8 = new TextEncoder()
const fromUtf8 = new TextDecoder()

async function readCbor<T>(state: StateReader, key: string): Promise<T | undefined> {
  const raw = await state.get(key)
  return raw === undefined ? undefined : decode<T>(raw)
}

/** The signer's identity record (core.ts writes `identity/<hex>`; read here directly, as core.ts imports this module). */
async function signerIdentity(state: StateReader, tx: Tx): Promise<{ kind: string; org: string }> {
  const identity = await readCbor<{ kind: string; org: string }>(state, `identity/${toHex(tx.signer)}`)
  if (identity === undefined) throw new TxFailedError('ERR_TX_UNKNOWN_SIGNER', `signer ${toHex(tx.signer)} is not an identity of this network`)
  return identity
}

function sandboxFailure(err: unknown): never {
  if (err instanceof ContractSandboxError) throw new TxFailedError(err.code, err.message)
  throw err
}

/**
 * Compiled contracts of this process, least recently used first, by name, version and source hash:
 * the hash makes an entry right for any ledger of the process that holds that source under that name.
 */
const sandboxes = new Map<string, Promise<ContractSandbox>>()

function sandboxKey(name: string, version: number, hash: string): string {
  return `${name}/${version}/${hash}`
}

function sandboxFor(name: string, version: number, hash: string, source: () => Promise<string>): Promise<ContractSandbox> {
  const key = sandboxKey(name, version, hash)
  const cached = sandboxes.get(key)
  if (cached !== undefined) {
    sandboxes.delete(key)
    sandboxes.set(key, cached)
    return cached
  }
  const made = source().then((text) => ContractSandbox.compile(text, { statePrefix: deployedStateKeys.statePrefix(name) }))
  sandboxes.set(key, made)
  // A failed compile is not kept: the deploy fails, and nothing refers to that hash afterwards.
  made.catch(() => { if (sandboxes.get(key) === made) sandboxes.delete(key) })
  while (sandboxes.size > deployedSandboxesMax) {
    const [oldest, evicted] = sandboxes.entries().next().value as [string, Promise<ContractSandbox>]
    sandboxes.delete(oldest)
    evicted.then((s) => s.close(), () => {})
  }
  return made
}

/** Closes every cached sandbox (tests, and a process that shuts its ledgers down). */
export function closeDeployedSandboxes(): void {
  for (const made of sandboxes.values()) made.then((s) => s.close(), () => {})
  sandboxes.clear()
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

const contractDeploy: Processor = async (tx, p, state, context) => {
  onlyFields(p, ['name', 'source', 'version'])
  const name = p.name
  if (typeof name !== 'string' || !contractNamePattern.test(name)) {
    throw new TxFailedError('ERR_TX_INVALID_PAYLOAD', `name must be 1 to ${contractNameCharsMax} of a-z 0-9 -, starting with a letter`)
  }
  if (reservedContractNames.includes(name)) throw new TxFailedError('ERR_CONTRACT_NAME_RESERVED', `${name} is a namespace of the built-in contracts`)
  const source = p.source
  if (typeof source !== 'string' || source.length === 0) throw new TxFailedError('ERR_TX_INVALID_PAYLOAD', 'source must be a non-empty string')
  const asked = p.version
  if (asked !== undefined && (!Number.isSafeInteger(asked) || (asked as number) < 1)) throw new TxFailedError('ERR_TX_INVALID_PAYLOAD', 'version must be a positive integer')
  const signer = await signerIdentity(state, tx)
  if (signer.kind !== 'admin') throw new TxFailedError('ERR_TX_UNAUTHORIZED', 'only an org admin deploys contracts')
  const current = await readCbor<DeployedContract>(state, deployedStateKeys.contract(name))
  if (current !== undefined && current.org !== signer.org) throw new TxFailedError('ERR_TX_UNAUTHORIZED', `contract ${name} belongs to ${current.org}: only its admins deploy new versions`)
  const version = (current?.version ?? 0) + 1
  if (asked !== undefined && asked !== version) throw new TxFailedError('ERR_CONTRACT_VERSION', `the next version of ${name} is ${version}, not ${String(asked)}`)
  const bytes = utf8.encode(source)
  const hash = sha256Hex(bytes)
  let sandbox: ContractSandbox
  try {
    sandbox = await sandboxFor(name, version, hash, async () => source)
  } catch (err) {
    sandboxFailure(err)
  }
  const types = sandbox.types
  const foreign = types.find((t) => !t.startsWith(`${name}.`) || !txTypePattern.test(t) || utf8.encode(t).length > txTypeBytesMax)
  if (foreign !== undefined || types.length > contractHandlerTypesMax) {
    // Refused: nothing will run this compiled source, so do not keep its realm.
    const key = sandboxKey(name, version, hash)
    if (sandboxes.get(key) !== undefined) void sandboxes.get(key)!.then((s) => s.close())
    sandboxes.delete(key)
  }
  if (foreign !== undefined) {
    throw new TxFailedError('ERR_CONTRACT_HANDLER_TYPES', `handler ${JSON.stringify(foreign.slice(0, 80))}: contract ${name} registers only tx types ${name}.<fn> (dotted lower-case words, a-z 0-9 -) of at most ${txTypeBytesMax} bytes`)
  }
  if (types.length > contractHandlerTypesMax) throw new TxFailedError('ERR_CONTRACT_HANDLER_TYPES', `a contract registers at most ${contractHandlerTypesMax} handlers`)
  const latest: DeployedContract = { name, org: signer.org, version, hash, types: [...types] }
  state.put(deployedStateKeys.contract(name), encode(latest as unknown as Record<string, CborValue>))
  state.put(deployedStateKeys.version(name, version), encode({ ...latest, deployer: tx.signer, tx: tx.id, height: context.height } as unknown as Record<string, CborValue>))
  state.put(deployedStateKeys.source(name, version), bytes)
  const entity = provIds.contract(name, version)
  const activity = provIds.tx(tx)
  state.prov.add(
    {
      kind: 'entity',
      id: entity,
      attributes: [
        { name: 'prov:type', value: literal.qualifiedName('tom:Contract') },
        { name: 'prov:label', value: literal.string(name) },
        { name: 'tom:version', value: literal.int(version) },
        { name: 'tom:hash', value: literal.string(hash) }
      ]
    },
    { kind: 'wasGeneratedBy', entity, activity, attributes: [] },
    { kind: 'wasAttributedTo', entity, agent: provIds.org(signer.org), attributes: [] }
  )
  if (version > 1) {
    const previous = provIds.contract(name, version - 1)
    state.prov.add({ kind: 'wasDerivedFrom', generatedEntity: entity, usedEntity: previous, activity, attributes: [{ name: 'prov:type', value: literal.qualifiedName('prov:Revision') }] })
  }
}

/** The processors of this module and actions.ts, by tx type: merge them into the built-in registry. */
export const deployProcessors: ReadonlyMap<string, Processor> = new Map([['contract.deploy', contractDeploy], ...actionProcessors])

/** The latest version of contract `name`, if deployed. */
export async function readDeployedContract(state: StateReader, name: string): Promise<DeployedContract | undefined> {
  return readCbor<DeployedContract>(state, deployedStateKeys.contract(name))
}

/** Version `version` of contract `name` with its source, if deployed. */
export async function readDeployedVersion(state: StateReader, name: string, version: number): Promise<(DeployedContractVersion & { source: string }) | undefined> {
  const meta = await readCbor<DeployedContractVersion>(state, deployedStateKeys.version(name, version))
  const source = await state.get(deployedStateKeys.source(name, version))
  return meta === undefined || source === undefined ? undefined : { ...meta, source: fromUtf8.decode(source) }
}

/**
 * Runs `tx` through the deployed contract that handles its type. Returns false, having done nothing,
 * when no deployed contract takes `tx.type` (the caller then fails it with ERR_TX_UNKNOWN_TYPE).
 * Throws TxFailedError for every failure of the call.
 */
export async function executeDeployed(tx: Tx, payload: CborValue | Payload, state: StateWriter, context: TxContext): Promise<boolean> {
  const dot = tx.type.indexOf('.')
  if (dot <= 0) return false
  const name = tx.type.slice(0, dot)
  if (!contractNamePattern.test(name) || reservedContractNames.includes(name)) return false
  const contract = await readDeployedContract(state, name)
  if (contract === undefined) return false
  await signerIdentity(state, tx)
  if (!contract.types.includes(tx.type)) throw new TxFailedError('ERR_CONTRACT_NO_HANDLER', `contract ${name} v${contract.version} has no handler for ${tx.type}`)
  let outcome: ContractOutcome
  try {
    const sandbox = await sandboxFor(name, contract.version, contract.hash, async () => {
      const raw = await state.get(deployedStateKeys.source(name, contract.version))
      if (raw === undefined) throw new Error(`assertion: contract ${name} v${contract.version} has no source in state`)
      return fromUtf8.decode(raw)
    })
    outcome = await sandbox.run({ type: tx.type, signer: toHex(tx.signer), id: toHex(tx.id), payload }, { height: context.height, time: context.time }, state)
  } catch (err) {
    sandboxFailure(err)
  }
  // Everything that came out of the sandbox is checked before the first write: a refusal leaves nothing.
  const records: ProvRecord[] = [{ kind: 'used', activity: provIds.tx(tx), entity: provIds.contract(name, contract.version), attributes: [] }]
  for (const statement of outcome.prov) records.push(contractProvRecord(name, tx, statement))
  applyContractWrites(state, outcome)
  state.prov.add(...records)
  for (const spec of outcome.actions) await emitAction(tx, state, context, spec, `contract:${name}/${contract.version}`)
  if (outcome.events.length > 0 || outcome.result !== undefined) {
    const out: Record<string, Json> = { events: [...outcome.events] }
    if (outcome.result !== undefined) out.result = outcome.result
    state.put(deployedStateKeys.output(name, toHex(tx.id)), encode(out as unknown as Record<string, CborValue>))
  }
  return true
}

function badProv(message: string): TxFailedError {
  return new TxFailedError('ERR_CONTRACT_BAD_PROV', message)
}

/** Statement kinds of api.prov, each with its id fields: `own` ids the contract creates, `ref` ids it may only refer to. */
const statementFields: Readonly<Record<string, { own: readonly string[]; ref: readonly string[]; attributes: boolean }>> = {
  entity: { own: ['id'], ref: [], attributes: true },
  wasGeneratedBy: { own: ['entity'], ref: [], attributes: true },
  used: { own: [], ref: ['entity'], attributes: true },
  wasInvalidatedBy: { own: ['entity'], ref: [], attributes: true },
  wasDerivedFrom: { own: ['generatedEntity'], ref: ['usedEntity'], attributes: true },
  wasAttributedTo: { own: ['entity'], ref: ['agent'], attributes: true },
  hadMember: { own: ['collection'], ref: ['entity'], attributes: false },
  specializationOf: { own: ['specificEntity'], ref: ['generalEntity'], attributes: false }
}

/** Turns one api.prov statement into a ProvRecord, confining its ids; throws ERR_CONTRACT_BAD_PROV. */
export function contractProvRecord(name: string, tx: Tx, statement: Json): ProvRecord {
  if (statement === null || typeof statement !== 'object' || Array.isArray(statement)) throw badProv('a PROV statement must be an object')
  const kind = statement.kind
  const spec = typeof kind === 'string' && Object.hasOwn(statementFields, kind) ? statementFields[kind] : undefined
  if (spec === undefined) throw badProv(`unknown PROV statement kind ${JSON.stringify(String(kind).slice(0, 40))}`)
  const own = contractProvPrefix(name)
  const resolve = (field: string, mayRefer: boolean): QualifiedName => {
    const raw = statement[field]
    if (typeof raw !== 'string' || raw.length === 0 || raw.length > contractProvIdCharsMax) throw badProv(`${kind}: ${field} must be an id of 1 to ${contractProvIdCharsMax} characters`)
    const id = raw.includes(':') ? raw : own + raw
    if (!isQualifiedName(id)) throw badProv(`${kind}: ${field} ${JSON.stringify(raw.slice(0, 80))} is not a valid id (letters, digits, _ . - /)`)
    if (id.startsWith(own)) return id
    if (mayRefer && referablePrefixes.some((prefix) => id.startsWith(prefix))) return id
    throw badProv(`${kind}: ${field} ${id} is outside what contract ${name} may ${mayRefer ? 'refer to' : 'create'} (${own}...)`)
  }
  const allowed = ['kind', ...spec.own, ...spec.ref, ...(spec.attributes ? ['attributes'] : [])]
  for (const key of Object.keys(statement)) if (!allowed.includes(key)) throw badProv(`${kind}: unknown field ${key}`)
  const record: Record<string, unknown> = { kind }
  for (const field of spec.own) record[field] = resolve(field, false)
  for (const field of spec.ref) record[field] = resolve(field, true)
  // The activity of every relation that has one is the tx itself: a contract acts only through its tx.
  if (kind === 'wasGeneratedBy' || kind === 'used' || kind === 'wasInvalidatedBy' || kind === 'wasDerivedFrom') record.activity = provIds.tx(tx)
  if (spec.attributes) record.attributes = contractAttributes(kind as string, statement.attributes)
  return record as unknown as ProvRecord
}

function contractAttributes(kind: string, input: Json | undefined): Attribute[] {
  if (input === undefined) return []
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw badProv(`${kind}: attributes must be an object of name: value`)
  const out: Attribute[] = []
  for (const [name, values] of Object.entries(input)) {
    const isProv = name === 'prov:type' || name === 'prov:label' || name === 'prov:value'
    if (!isProv && !(name.startsWith('tom:') && isQualifiedName(name))) throw badProv(`${kind}: attribute ${JSON.stringify(name.slice(0, 80))}: names are prov:type, prov:label, prov:value or tom:<name>`)
    for (const value of Array.isArray(values) ? values : [values]) {
      if (out.length >= contractProvAttributesMax) throw badProv(`${kind}: at most ${contractProvAttributesMax} attribute values`)
      if (typeof value === 'string') {
        if (value.length > contractProvStringCharsMax) throw badProv(`${kind}: attribute ${name} is over ${contractProvStringCharsMax} characters`)
        // A prov:type that is a qualified name is a type, as PROV-DM has it; any other string stays a string.
        out.push({ name, value: name === 'prov:type' && isQualifiedName(value) && value.startsWith('tom:') ? literal.qualifiedName(value) : literal.string(value) })
      } else if (typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) {
        out.push({ name, value: toLiteral(value) })
      } else {
        throw badProv(`${kind}: attribute ${name} must be a string, a finite number or a boolean`)
      }
    }
  }
  return out
}
