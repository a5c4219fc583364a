/**
 * The built-in contracts: the foundation's (creating the network and its founding organisations,
 * adding and removing nodes) here, the TOM scenarios in ./tom (organisations' admins, devices,
 * images, containers, data added, ACL rules, traceability levels). Each tx type has one processor; a
 * processor checks its payload and the signer's rights, writes world state and adds PROV records.
 *
 * Every tx first passes the ACL (Composer semantics, acl.ts): its signer's identity must be allowed
 * CREATE on `tx:<type>` by the rules in force (`acl/rules`, else defaultAclRules), or the tx fails
 * with ERR_ACL_DENIED. The genesis-only txs network.create and org.create skip it: they run before any
 * identity exists, and the genesis block every node is configured with is their authority.
 * The processor then runs over a ContractState that applies the tx type's traceability level
 * (trace.set; tom/trace-levels.ts) to its PROV records.
 *
 * World state written here (values are CBOR; the tom/ files list theirs):
 *   network              { name }
 *   org/<name>           { name, admins: [publicKey] }
 *   identity/<keyHex>    { kind: 'admin' | 'node' | 'device' | 'container', org, name?, id? }
 *   node/<keyHex>        { org, name, height, raftId, addrs, labels?, capacity? } (labels and capacity only
 *                        when node.add gave them: placement reads them, tom/placement.ts)
 *   nodes                [keyHex]: every node, in the order they were added
 *   raft/nextId          the Raft id the next node gets (founding nodes get 1, 2, ...)
 *   acl/rules            the ACL rule set (tom/access.ts); trace/<type> a level (tom/trace.ts)
 */
import { encode, fromHex, toHex, publicKeyBytes } from '../crypto/index.js'
import { TxFailedError } from '../ledger/index.js'
import type { StateReader, StateWriter, Tx, TxContext, TxExecutor } from '../ledger/index.js'
import { asPayload, bytesField, listField, nameField, onlyFields, optionalCountField, textMapField } from './payload.js'
import type { Processor } from './processor.js'
import { provIds } from './prov-ids.js'
import { literal } from '../prov/index.js'
import {
  AclRulesReader, ContractState, moveContainersOff, nodeCapacityMax, nodeHealthKey, nodeLabelNameLengthMax, nodeLabelsMax,
  nodeLabelValueLengthMax, orgAdminsMax, provSafe, readCbor, requireIdentity, requireTxAllowed, stateKeys, tomProcessors,
  traceLevelOf, traceSetProcessor
} from './tom/index.js'
import type { ContractProcessor, OrgRecord as Org } from './tom/index.js'
// Deployed contracts and orchestration actions (contract.deploy, action.report).
import { deployProcessors, executeDeployed } from './deployed.js'

export { derivedFromMax, identityOf, orgAdminsMax, stateKeys } from './tom/index.js'
export type { Identity } from './tom/index.js'

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
  /** Labels the placement rule matches a container's required labels against. */
  readonly labels?: Readonly<Record<string, string>>
  /** Most containers the placement rule puts on it (nodeCapacityDefault when absent). */
  readonly capacity?: number
}

/** Most addresses a node record lists; longest address. */
export const nodeAddrsMax = 8
export const nodeAddrBytesMax = 256

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
  onlyFields(p, ['org', 'publicKey', 'name', 'addrs', 'labels', 'capacity'])
  const orgName = nameField(p, 'org', 64)
  const key = bytesField(p, 'publicKey', publicKeyBytes)
  const name = nameField(p, 'name', 64)
  const addrs = listField(p, 'addrs', nodeAddrsMax, (v, i) => {
    if (typeof v !== 'string' || !v.startsWith('/') || v.length > nodeAddrBytesMax || v.includes('/p2p/')) {
      throw new TxFailedError('ERR_TX_INVALID_PAYLOAD', `addrs[${i}] must be a multiaddr without /p2p/, at most ${nodeAddrBytesMax} characters`)
    }
    return v
  }, true)
  const labels = p.labels === undefined ? undefined : textMapField(p, 'labels', { maxEntries: nodeLabelsMax, nameMax: nodeLabelNameLengthMax, valueMax: nodeLabelValueLengthMax })
  const capacity = optionalCountField(p, 'capacity')
  if (capacity !== undefined && capacity > nodeCapacityMax) throw new TxFailedError('ERR_TX_INVALID_PAYLOAD', `capacity must be at most ${nodeCapacityMax}`)
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
  // Labels and capacity only when given, so that records of nodes added without them keep their form.
  state.put(stateKeys.node(key), encode({
    org: orgName, name, height: context.height, raftId, addrs,
    ...(labels === undefined ? {} : { labels }), ...(capacity === undefined ? {} : { capacity })
  }))
  // A key that was a node before, and was removed, gets a new entity for its new membership: an
  // entity is generated once. Its agent (tom:node/<hex>, the node's identity) stays the same.
  const past = (await readCbor<number>(state, stateKeys.nodeMemberships(key))) ?? 0
  const agent = provIds.node(key)
  const entity = nodeEntity(key, past)
  state.prov.add(
    { kind: 'entity', id: entity, attributes: [{ name: 'prov:type', value: literal.qualifiedName('tom:Node') }, { name: 'prov:label', value: literal.string(name) }] },
    { kind: 'agent', id: agent, attributes: [] },
    { kind: 'wasGeneratedBy', entity, activity: provIds.tx(tx), attributes: [] },
    { kind: 'wasAttributedTo', entity, agent: provIds.org(orgName), attributes: [] }
  )
  if (past > 0) state.prov.add({ kind: 'entity', id: agent, attributes: [] }, { kind: 'alternateOf', alternate1: entity, alternate2: agent })
}

/** The PROV entity of a node's membership: tom:node/<hex> the first time, then tom:node/<hex>/<n>. */
function nodeEntity(key: Uint8Array, pastMemberships: number): string {
  return pastMemberships === 0 ? provIds.node(key) : `${provIds.node(key)}/${pastMemberships}`
}

const nodeRemove: Processor = async (tx, p, state, context) => {
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
  state.delete(nodeHealthKey(toHex(key)))
  // A graceful leave: its containers go to the remaining nodes (service continuity), in this tx.
  await moveContainersOff(tx, state as ContractState, context, toHex(key))
  const past = (await readCbor<number>(state, stateKeys.nodeMemberships(key))) ?? 0
  state.put(stateKeys.nodeMemberships(key), encode(past + 1))
  // Declared again because node.add may have run at the minimal traceability level (a no-op otherwise).
  const entity = nodeEntity(key, past)
  state.prov.add(
    { kind: 'entity', id: entity, attributes: [] },
    { kind: 'wasInvalidatedBy', entity, activity: provIds.tx(tx), attributes: [] }
  )
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

const processors: ReadonlyMap<string, Processor | ContractProcessor> = new Map<string, Processor | ContractProcessor>([
  ['network.create', networkCreate],
  ['org.create', orgCreate],
  ['node.add', nodeAdd],
  ['node.remove', nodeRemove],
  ...tomProcessors,
  ...deployProcessors,
  ['trace.set', traceSetProcessor(() => processors.keys())]
])

/** Valid only in genesis, where they run before any identity exists: they skip the ACL gate. */
const genesisTypes: ReadonlySet<string> = new Set(['network.create', 'org.create'])

/** The TxExecutor of the built-in contracts. */
export class CoreContracts implements TxExecutor {
  readonly #aclRules = new AclRulesReader()

  async execute(tx: Tx, state: StateWriter, context: TxContext): Promise<void> {
    const rules = await this.#aclRules.read(state)
    if (!(context.height === 0 && genesisTypes.has(tx.type))) requireTxAllowed(rules, tx, await requireIdentity(state, tx.signer))
    const processor = processors.get(tx.type)
    if (processor === undefined) {
      // A type no built-in takes may be `<name>.<fn>` of a deployed contract. Its author chose its PROV
      // records (trace levels are for the built-in types), but resource-level ACL checks apply as well.
      if (await executeDeployed(tx, tx.payload, new ContractState(state, 'full', rules), context)) return
      throw new TxFailedError('ERR_TX_UNKNOWN_TYPE', `no contract handles ${tx.type}`)
    }
    await processor(tx, asPayload(tx.payload), new ContractState(state, await traceLevelOf(state, tx.type), rules), context)
  }

  async isProposer(publicKey: Uint8Array, state: StateReader): Promise<boolean> {
    return (await state.get(stateKeys.node(publicKey))) !== undefined
  }
}
