/**
 * The built-in contracts of the foundation: creating the network and its founding organisations,
 * adding nodes, and recording data items. Each tx type has one processor; a processor checks its
 * payload and the signer's rights, then writes world state. (The provenance issue adds ACL rules, the
 * historian and the remaining TOM scenarios on top of this registry.)
 *
 * World state written here (values are CBOR):
 *   network              { name }
 *   org/<name>           { name, admins: [publicKey] }
 *   identity/<keyHex>    { kind: 'admin' | 'node', org, name? }
 *   node/<keyHex>        { org, name, height, raftId, addrs }
 *   nodes                [keyHex]: every node, in the order they were added
 *   raft/nextId          the Raft id the next node gets (founding nodes get 1, 2, ...)
 *   data/<id>            { hash, size?, owner: publicKey, height, derivedFrom: [id] }
 */
import { encode, decode, fromHex, toHex, publicKeyBytes, hashBytes } from '../crypto/index.js'
import { TxFailedError } from '../ledger/index.js'
import type { StateReader, StateWriter, Tx, TxContext, TxExecutor } from '../ledger/index.js'
import { asPayload, bytesField, listField, nameField, onlyFields, optionalCountField } from './payload.js'
import type { Processor } from './processor.js'
import { provIds } from './prov-ids.js'
import { isQualifiedName, literal } from '../prov/index.js'

export interface Identity {
  readonly kind: 'admin' | 'node'
  readonly org: string
  readonly name?: string
}

interface Org {
  readonly name: string
  readonly admins: Uint8Array[]
}


/** Most admins an organisation lists; most parents a data item names. */
export const orgAdminsMax = 16
export const derivedFromMax = 64

export const stateKeys = {
  network: 'network',
  org: (name: string): string => `org/${name}`,
  identity: (key: Uint8Array): string => `identity/${toHex(key)}`,
  node: (key: Uint8Array): string => `node/${toHex(key)}`,
  data: (id: string): string => `data/${id}`,
  nodes: 'nodes',
  nextRaftId: 'raft/nextId'
}

/** A node of the network as the ledger records it. */
export interface NodeRecord {
  readonly org: string
  readonly name: string
  /** Height of the block that added it. */
  readonly height: number
  /** Its id in the Raft group. */
  readonly raftId: number
  /** Multiaddrs where its peers reach it (without /p2p/). */
  readonly addrs: string[]
}

/** Most addresses a node record lists; longest address. */
export const nodeAddrsMax = 8
export const nodeAddrBytesMax = 256

async function readCbor<T>(state: StateReader, key: string): Promise<T | undefined> {
  const raw = await state.get(key)
  return raw === undefined ? undefined : decode<T>(raw)
}

export async function identityOf(state: StateReader, key: Uint8Array): Promise<Identity | undefined> {
  return readCbor<Identity>(state, stateKeys.identity(key))
}

async function requireIdentity(state: StateReader, key: Uint8Array): Promise<Identity> {
  const identity = await identityOf(state, key)
  if (identity === undefined) throw new TxFailedError('ERR_TX_UNKNOWN_SIGNER', `signer ${toHex(key)} is not an identity of this network`)
  return identity
}

/** Names that become part of a PROV id (tom:data/<id>, tom:org/<name>) must fit a qualified name. */
function provSafe(field: string, value: string): string {
  if (!isQualifiedName(`tom:x/${value}`)) throw new TxFailedError('ERR_TX_INVALID_PAYLOAD', `${field} may use letters, digits and . _ - / only (it names a PROV id)`)
  return value
}

function genesisOnly(context: TxContext, type: string): void {
  if (context.height !== 0) throw new TxFailedError('ERR_GENESIS_ONLY', `${type} is only valid in the genesis block`)
}

const networkCreate: Processor = async (tx, p, state, context) => {
  genesisOnly(context, tx.type)
  onlyFields(p, ['name'])
  const name = nameField(p, 'name', 64)
  if ((await state.get(stateKeys.network)) !== undefined) throw new TxFailedError('ERR_NETWORK_EXISTS', 'the network exists')
  state.put(stateKeys.network, encode({ name }))
}

const orgCreate: Processor = async (tx, p, state, context) => {
  genesisOnly(context, tx.type)
  onlyFields(p, ['name', 'admins'])
  const name = provSafe('name', nameField(p, 'name', 64))
  const admins = listField(p, 'admins', orgAdminsMax, (v, i) => {
    if (!(v instanceof Uint8Array) || v.length !== publicKeyBytes) throw new TxFailedError('ERR_TX_INVALID_PAYLOAD', `admins[${i}] must be a 32-byte public key`)
    return v
  })
  if (!admins.some((a) => toHex(a) === toHex(tx.signer))) throw new TxFailedError('ERR_TX_UNAUTHORIZED', 'an organisation is created by one of its admins')
  if ((await state.get(stateKeys.org(name))) !== undefined) throw new TxFailedError('ERR_ORG_EXISTS', `organisation ${name} exists`)
  for (const admin of admins) {
    if ((await state.get(stateKeys.identity(admin))) !== undefined) throw new TxFailedError('ERR_IDENTITY_EXISTS', `${toHex(admin)} is already an identity`)
    state.put(stateKeys.identity(admin), encode({ kind: 'admin', org: name }))
  }
  state.put(stateKeys.org(name), encode({ name, admins }))
  const org = provIds.org(name)
  state.prov.add({ kind: 'agent', id: org, attributes: [{ name: 'prov:type', value: literal.qualifiedName('tom:Organisation') }] })
  for (const admin of admins) {
    state.prov.add({ kind: 'agent', id: provIds.key(admin), attributes: [] }, { kind: 'actedOnBehalfOf', delegate: provIds.key(admin), responsible: org, activity: provIds.tx(tx), attributes: [] })
  }
}

const nodeAdd: Processor = async (tx, p, state, context) => {
  onlyFields(p, ['org', 'publicKey', 'name', 'addrs'])
  const orgName = nameField(p, 'org', 64)
  const key = bytesField(p, 'publicKey', publicKeyBytes)
  const name = nameField(p, 'name', 64)
  const addrs = listField(p, 'addrs', nodeAddrsMax, (v, i) => {
    if (typeof v !== 'string' || !v.startsWith('/') || v.length > nodeAddrBytesMax || v.includes('/p2p/')) {
      throw new TxFailedError('ERR_TX_INVALID_PAYLOAD', `addrs[${i}] must be a multiaddr without /p2p/, at most ${nodeAddrBytesMax} characters`)
    }
    return v
  }, true)
  const org = await readCbor<Org>(state, stateKeys.org(orgName))
  if (org === undefined) throw new TxFailedError('ERR_ORG_UNKNOWN', `no organisation ${orgName}`)
  const signer = await requireIdentity(state, tx.signer)
  if (signer.kind !== 'admin' || signer.org !== orgName) throw new TxFailedError('ERR_TX_UNAUTHORIZED', `only an admin of ${orgName} adds its nodes`)
  if ((await state.get(stateKeys.identity(key))) !== undefined) throw new TxFailedError('ERR_IDENTITY_EXISTS', `${toHex(key)} is already an identity`)
  const raftId = (await readCbor<number>(state, stateKeys.nextRaftId)) ?? 1
  const nodes = (await readCbor<string[]>(state, stateKeys.nodes)) ?? []
  state.put(stateKeys.nextRaftId, encode(raftId + 1))
  state.put(stateKeys.nodes, encode([...nodes, toHex(key)]))
  state.put(stateKeys.identity(key), encode({ kind: 'node', org: orgName, name }))
  state.put(stateKeys.node(key), encode({ org: orgName, name, height: context.height, raftId, addrs }))
  const node = provIds.node(key)
  state.prov.add(
    { kind: 'entity', id: node, attributes: [{ name: 'prov:type', value: literal.qualifiedName('tom:Node') }, { name: 'prov:label', value: literal.string(name) }] },
    { kind: 'agent', id: node, attributes: [] },
    { kind: 'wasGeneratedBy', entity: node, activity: provIds.tx(tx), attributes: [] },
    { kind: 'wasAttributedTo', entity: node, agent: provIds.org(orgName), attributes: [] }
  )
}

const nodeRemove: Processor = async (tx, p, state) => {
  onlyFields(p, ['publicKey'])
  const key = bytesField(p, 'publicKey', publicKeyBytes)
  const node = await readCbor<NodeRecord>(state, stateKeys.node(key))
  if (node === undefined) throw new TxFailedError('ERR_NODE_UNKNOWN', `${toHex(key)} is not a node`)
  const signer = await requireIdentity(state, tx.signer)
  if (signer.kind !== 'admin' || signer.org !== node.org) throw new TxFailedError('ERR_TX_UNAUTHORIZED', `only an admin of ${node.org} removes its nodes`)
  const nodes = ((await readCbor<string[]>(state, stateKeys.nodes)) ?? []).filter((k) => k !== toHex(key))
  if (nodes.length === 0) throw new TxFailedError('ERR_NODE_LAST', 'the last node of the network cannot leave')
  state.put(stateKeys.nodes, encode(nodes))
  state.delete(stateKeys.node(key))
  state.delete(stateKeys.identity(key))
  state.prov.add({ kind: 'wasInvalidatedBy', entity: provIds.node(key), activity: provIds.tx(tx), attributes: [] })
}

/** Every node the state lists, with its public key. */
export async function listNodes(state: StateReader): Promise<(NodeRecord & { publicKey: Uint8Array })[]> {
  const keys = (await readCbor<string[]>(state, stateKeys.nodes)) ?? []
  const out: (NodeRecord & { publicKey: Uint8Array })[] = []
  for (const hex of keys) {
    const publicKey = fromHex(hex)
    const record = await readCbor<NodeRecord>(state, stateKeys.node(publicKey))
    if (record !== undefined) out.push({ ...record, publicKey })
  }
  return out
}

const dataAdd: Processor = async (tx, p, state, context) => {
  onlyFields(p, ['id', 'hash', 'size', 'derivedFrom'])
  await requireIdentity(state, tx.signer)
  const id = provSafe('id', nameField(p, 'id', 256))
  const hash = bytesField(p, 'hash', hashBytes)
  const size = optionalCountField(p, 'size')
  const derivedFrom = listField(p, 'derivedFrom', derivedFromMax, (v, i) => nameField({ [`derivedFrom[${i}]`]: v }, `derivedFrom[${i}]`, 256), true)
  if ((await state.get(stateKeys.data(id))) !== undefined) throw new TxFailedError('ERR_DATA_EXISTS', `data ${id} was already added`)
  for (const parent of derivedFrom) {
    if ((await state.get(stateKeys.data(parent))) === undefined) throw new TxFailedError('ERR_DATA_UNKNOWN', `derivedFrom names unknown data ${parent}`)
  }
  const record: Record<string, unknown> = { hash, owner: tx.signer, height: context.height, derivedFrom }
  if (size !== undefined) record.size = size
  state.put(stateKeys.data(id), encode(record))
  const entity = provIds.data(id)
  const activity = provIds.tx(tx)
  const attributes = [{ name: 'tom:hash', value: literal.string(toHex(hash)) }]
  if (size !== undefined) attributes.push({ name: 'tom:size', value: literal.long(size) })
  state.prov.add(
    { kind: 'entity', id: entity, attributes },
    { kind: 'wasGeneratedBy', entity, activity, attributes: [] },
    { kind: 'wasAttributedTo', entity, agent: provIds.key(tx.signer), attributes: [] }
  )
  for (const parent of derivedFrom) {
    state.prov.add(
      { kind: 'used', activity, entity: provIds.data(parent), attributes: [] },
      { kind: 'wasDerivedFrom', generatedEntity: entity, usedEntity: provIds.data(parent), activity, attributes: [] }
    )
  }
}

const processors: ReadonlyMap<string, Processor> = new Map([
  ['network.create', networkCreate],
  ['org.create', orgCreate],
  ['node.add', nodeAdd],
  ['node.remove', nodeRemove],
  ['data.add', dataAdd]
])

/** The TxExecutor of the built-in contracts. */
export class CoreContracts implements TxExecutor {

  async execute(tx: Tx, state: StateWriter, context: TxContext): Promise<void> {
    const processor = processors.get(tx.type)
    if (processor === undefined) throw new TxFailedError('ERR_TX_UNKNOWN_TYPE', `no contract handles ${tx.type}`)
    await processor(tx, asPayload(tx.payload), state, context)
  }

  async isProposer(publicKey: Uint8Array, state: StateReader): Promise<boolean> {
    return (await state.get(stateKeys.node(publicKey))) !== undefined
  }
}
