/**
 * Access control with Hyperledger Composer's semantics, as a pure engine: the rule model, its
 * validation, and the decision for one request. No state, I/O or clock: the executor reads the rule
 * set from the world state, validates it once, and asks `evaluateAcl` before running a processor.
 *
 * A rule is plain CBOR/JSON data:
 *   { id, description?, participant, operation, resource, condition?, action: 'ALLOW' | 'DENY' }
 * - participant: 'ANY'; a participant type ('admin', 'node', 'device', 'container', 'user');
 *   a type in one organisation ('admin@org1', or 'ANY@org1' for anyone of org1); or one identity
 *   ('key:<64 lowercase hex>').
 * - operation: 'ALL', or a list of 'CREATE' | 'READ' | 'UPDATE' | 'DELETE'.
 * - resource: 'ANY'; an exact name ('image/sha256:ab..', 'tx:data.add'); or a name prefix that ends in
 *   a separator ('/', ':' or '.') followed by '*' (one more segment: 'data/*' matches 'data/a' but not
 *   'data/a/b') or '**' (anything below: 'data/**' matches both).
 * - condition: an expression over participant.*, resource.* and tx.* (see acl-condition.ts).
 *
 * Submitting a tx is, as in Composer, CREATE on the resource `tx:<type>`: a rule
 * `{ participant: 'node', operation: ['CREATE'], resource: 'tx:container.*', action: 'ALLOW' }` lets
 * nodes submit container txs. `aclTxRequest` builds that request from a tx and its signer's identity.
 *
 * Decision: the rules are tried in order; the FIRST whose participant, operation, resource and
 * condition all match decides, ALLOW or DENY. When none matches, the request is denied.
 */
import { toHex } from '../crypto/index.js'
import {
  aclDescriptionLengthMax, aclOrgLengthMax, aclResourceLengthMax, aclRuleIdLengthMax, aclRulesMax
} from './acl-constants.js'
import { holds, parseAclCondition } from './acl-condition.js'
import type { AclExpression } from './acl-condition.js'
import { AclDeniedError, AclInvalidError } from './acl-errors.js'

export * from './acl-constants.js'
export * from './acl-errors.js'
export { parseAclCondition } from './acl-condition.js'
export type { AclExpression, AclLiteral, AclComparison, AclPathRoot } from './acl-condition.js'

export const aclOperations = ['CREATE', 'READ', 'UPDATE', 'DELETE'] as const
export type AclOperation = typeof aclOperations[number]
export type AclAction = 'ALLOW' | 'DENY'

/**
 * Participant types a rule may name. A closed list on purpose: a typo in a DENY rule ('admn') would
 * otherwise never match and silently let requests through to a later ALLOW.
 */
export const aclParticipantTypes = ['admin', 'node', 'device', 'container', 'user'] as const

export interface AclRule {
  readonly id: string
  readonly description?: string
  readonly participant: string
  readonly operation: 'ALL' | readonly AclOperation[]
  readonly resource: string
  readonly condition?: string
  readonly action: AclAction
}

/** Who asks: `key` is the signer's public key in lowercase hex, `type` its identity kind. */
export interface AclParticipant {
  readonly key: string
  readonly type: string
  readonly org?: string
  readonly [attribute: string]: unknown
}

/** What is asked for: `name` is what resource patterns match (`tx:<type>`, `data/<id>`, ...). */
export interface AclResource {
  readonly name: string
  readonly [field: string]: unknown
}

export interface AclRequest {
  readonly participant: AclParticipant
  readonly operation: AclOperation
  readonly resource: AclResource
  /** The tx being submitted, for conditions on `tx.*` (see aclTxRequest for its fields). */
  readonly tx?: Readonly<Record<string, unknown>>
}

export interface AclDecision {
  readonly allowed: boolean
  /** The rule that decided; absent when no rule matched (and so the request was denied). */
  readonly ruleId?: string
}

type ParticipantMatcher =
  | { readonly kind: 'any', readonly org?: string }
  | { readonly kind: 'type', readonly type: string, readonly org?: string }
  | { readonly kind: 'key', readonly key: string }

type ResourceMatcher =
  | { readonly kind: 'any' }
  | { readonly kind: 'exact', readonly name: string }
  /** `prefix` then at least one character, none of them `separator` ('*'); or anything ('**'). */
  | { readonly kind: 'prefix', readonly prefix: string, readonly separator: string | undefined }

interface CompiledRule {
  readonly rule: AclRule
  readonly participant: ParticipantMatcher
  readonly operations: ReadonlySet<AclOperation> | 'ALL'
  readonly resource: ResourceMatcher
  readonly condition: AclExpression | undefined
}

const ruleFields: ReadonlySet<string> = new Set(['id', 'description', 'participant', 'operation', 'resource', 'condition', 'action'])
/** Same alphabet as payload names (payload.ts), so that a rule id can be written anywhere a name can. */
const idPattern = /^[A-Za-z0-9][A-Za-z0-9._:\/-]*$/
const orgPattern = /^[A-Za-z0-9][A-Za-z0-9._:\/-]*$/
const keyPattern = /^key:[0-9a-f]{64}$/
const resourceNamePattern = /^[A-Za-z0-9][A-Za-z0-9._:\/-]*$/
const separators = ['/', ':', '.']

/** Validated rule sets and their compiled form; only frozen arrays are cached, so none can go stale. */
const compiledSets = new WeakMap<readonly AclRule[], readonly CompiledRule[]>()

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

function invalid(where: string, message: string): AclInvalidError {
  return new AclInvalidError(`${where}: ${message}`)
}

function compileParticipant(raw: unknown, where: string): ParticipantMatcher {
  if (typeof raw !== 'string') throw invalid(where, 'must be a string')
  if (raw === 'ANY') return { kind: 'any' }
  if (raw.startsWith('key:')) {
    if (!keyPattern.test(raw)) throw invalid(where, "'key:' must be followed by a 32-byte public key in 64 lowercase hex digits")
    return { kind: 'key', key: raw.slice(4) }
  }
  const at = raw.indexOf('@')
  const type = at === -1 ? raw : raw.slice(0, at)
  const org = at === -1 ? undefined : raw.slice(at + 1)
  if (org !== undefined && (org.length === 0 || org.length > aclOrgLengthMax || !orgPattern.test(org))) {
    throw invalid(where, `the organisation after '@' must be a name of 1 to ${aclOrgLengthMax} characters`)
  }
  if (type === 'ANY') return org === undefined ? { kind: 'any' } : { kind: 'any', org }
  if (!(aclParticipantTypes as readonly string[]).includes(type)) {
    throw invalid(where, `'${type}' is not ANY, key:<hex>, or a participant type (${aclParticipantTypes.join(', ')})`)
  }
  return org === undefined ? { kind: 'type', type } : { kind: 'type', type, org }
}

function compileOperations(raw: unknown, where: string): ReadonlySet<AclOperation> | 'ALL' {
  if (raw === 'ALL') return 'ALL'
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > aclOperations.length) {
    throw invalid(where, `must be 'ALL' or a list of 1 to ${aclOperations.length} of ${aclOperations.join(', ')}`)
  }
  const operations = new Set<AclOperation>()
  for (const [i, op] of raw.entries()) {
    if (!(aclOperations as readonly unknown[]).includes(op)) throw invalid(`${where}[${i}]`, `must be one of ${aclOperations.join(', ')}`)
    if (operations.has(op as AclOperation)) throw invalid(`${where}[${i}]`, `${String(op)} is listed twice`)
    operations.add(op as AclOperation)
  }
  return operations
}

function compileResource(raw: unknown, where: string): ResourceMatcher {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > aclResourceLengthMax) {
    throw invalid(where, `must be a pattern of 1 to ${aclResourceLengthMax} characters`)
  }
  if (raw === 'ANY') return { kind: 'any' }
  const deep = raw.endsWith('**')
  const wild = deep || raw.endsWith('*')
  const prefix = wild ? raw.slice(0, deep ? -2 : -1) : raw
  const separator = prefix.at(-1)
  if (!resourceNamePattern.test(prefix) || (wild && !separators.includes(separator ?? ''))) {
    throw invalid(where, "must be ANY, a name (letters, digits, . _ : / -), or a name ending in '/', ':' or '.' then '*' or '**'")
  }
  if (!wild) return { kind: 'exact', name: raw }
  return { kind: 'prefix', prefix, separator: deep ? undefined : separator }
}

function optionalText(raw: unknown, where: string, max: number): void {
  if (raw !== undefined && (typeof raw !== 'string' || raw.length > max)) throw invalid(where, `must be a string of at most ${max} characters`)
}

function compileRule(raw: unknown, index: number): CompiledRule {
  if (!isPlainObject(raw)) throw new AclInvalidError(`rules[${index}]: must be a map`)
  const id = raw.id
  if (typeof id !== 'string' || id.length === 0 || id.length > aclRuleIdLengthMax || !idPattern.test(id)) {
    throw new AclInvalidError(`rules[${index}].id: must be a name of 1 to ${aclRuleIdLengthMax} characters (letters, digits, . _ : / -)`)
  }
  const where = `rule ${id}`
  for (const field of Object.keys(raw)) if (!ruleFields.has(field)) throw invalid(where, `unknown field ${JSON.stringify(field)}`)
  optionalText(raw.description, `${where}: description`, aclDescriptionLengthMax)
  const participant = compileParticipant(raw.participant, `${where}: participant`)
  const operations = compileOperations(raw.operation, `${where}: operation`)
  const resource = compileResource(raw.resource, `${where}: resource`)
  const condition = raw.condition === undefined ? undefined : parseAclCondition(raw.condition as string, `${where}: condition`)
  if (raw.action !== 'ALLOW' && raw.action !== 'DENY') throw invalid(`${where}: action`, "must be 'ALLOW' or 'DENY'")
  // A fresh frozen copy in a fixed field order, so that what is stored or hashed does not depend on the input's order.
  const rule: AclRule = Object.freeze({
    id,
    ...(raw.description === undefined ? {} : { description: raw.description as string }),
    participant: raw.participant as string,
    operation: operations === 'ALL' ? 'ALL' : Object.freeze([...(raw.operation as AclOperation[])]),
    resource: raw.resource as string,
    ...(raw.condition === undefined ? {} : { condition: raw.condition as string }),
    action: raw.action
  })
  return { rule, participant, operations, resource, condition }
}

function compileRules(raw: unknown): readonly CompiledRule[] {
  if (!Array.isArray(raw)) throw new AclInvalidError('rules: must be a list')
  if (raw.length > aclRulesMax) throw new AclInvalidError(`rules: more than ${aclRulesMax}`)
  const ids = new Set<string>()
  return raw.map((item, index) => {
    const compiled = compileRule(item, index)
    if (ids.has(compiled.rule.id)) throw new AclInvalidError(`rule ${compiled.rule.id}: id used twice`)
    ids.add(compiled.rule.id)
    return compiled
  })
}

/**
 * Checks a rule set (from a tx payload or the world state) and returns it as frozen rules, with each
 * condition parsed once. Throws AclInvalidError naming the rule and field of the first problem.
 * Pass the returned array to evaluateAcl: it is recognised and not checked again.
 */
export function validateAclRules(raw: unknown): readonly AclRule[] {
  const compiled = compileRules(raw)
  const rules = Object.freeze(compiled.map((c) => c.rule))
  compiledSets.set(rules, compiled)
  return rules
}

function participantMatches(matcher: ParticipantMatcher, participant: AclParticipant): boolean {
  switch (matcher.kind) {
    case 'any': return matcher.org === undefined || participant.org === matcher.org
    case 'type': return participant.type === matcher.type && (matcher.org === undefined || participant.org === matcher.org)
    case 'key': return participant.key === matcher.key
  }
}

function resourceMatches(matcher: ResourceMatcher, name: string): boolean {
  switch (matcher.kind) {
    case 'any': return true
    case 'exact': return name === matcher.name
    case 'prefix': {
      if (name.length <= matcher.prefix.length || !name.startsWith(matcher.prefix)) return false
      return matcher.separator === undefined || !name.includes(matcher.separator, matcher.prefix.length)
    }
  }
}

function checkRequest(request: AclRequest): void {
  // A malformed request is a bug in the caller, not bad input from a tx: fail loudly.
  const { participant, operation, resource } = request
  if (!isPlainObject(participant) || typeof participant.key !== 'string' || typeof participant.type !== 'string') {
    throw new TypeError('ACL request: participant must have a string key and type')
  }
  if (participant.org !== undefined && typeof participant.org !== 'string') throw new TypeError('ACL request: participant.org must be a string')
  if (!(aclOperations as readonly string[]).includes(operation)) throw new TypeError(`ACL request: bad operation ${String(operation)}`)
  if (!isPlainObject(resource) || typeof resource.name !== 'string') throw new TypeError('ACL request: resource must have a string name')
}

/**
 * The decision for one request: the first rule that matches it decides; no match denies.
 * `rules` should come from validateAclRules; other arrays are validated on every call (and throw
 * AclInvalidError when malformed).
 */
export function evaluateAcl(rules: readonly AclRule[], request: AclRequest): AclDecision {
  checkRequest(request)
  const compiled = compiledSets.get(rules) ?? compileRules(rules)
  const scope = { participant: request.participant, resource: request.resource, tx: request.tx }
  for (const c of compiled) {
    if (!participantMatches(c.participant, request.participant)) continue
    if (c.operations !== 'ALL' && !c.operations.has(request.operation)) continue
    if (!resourceMatches(c.resource, request.resource.name)) continue
    if (c.condition !== undefined && !holds(c.condition, scope)) continue
    return { allowed: c.rule.action === 'ALLOW', ruleId: c.rule.id }
  }
  return { allowed: false }
}

/** evaluateAcl for the executor: returns when allowed, throws AclDeniedError (ERR_ACL_DENIED) when not. */
export function requireAclAllowed(rules: readonly AclRule[], request: AclRequest): void {
  const decision = evaluateAcl(rules, request)
  if (decision.allowed) return
  const what = `${request.participant.type} ${request.participant.key} may not ${request.operation} ${request.resource.name}`
  throw new AclDeniedError(decision.ruleId, decision.ruleId === undefined ? `${what}: no ACL rule allows it` : `${what}: denied by ACL rule ${decision.ruleId}`)
}

/**
 * The participant an identity is to the ACL: its key (hex), its kind as the type, its organisation,
 * and for devices and containers their id (so that a rule can say "its own": `resource.id == participant.id`).
 */
export function aclParticipant(
  signer: Uint8Array,
  identity: { readonly kind: string, readonly org?: string, readonly id?: string }
): AclParticipant {
  return {
    key: toHex(signer),
    type: identity.kind,
    ...(identity.org === undefined ? {} : { org: identity.org }),
    ...(identity.id === undefined ? {} : { id: identity.id })
  }
}

/**
 * The request for submitting `tx`, signed by an identity of the given kind and organisation:
 * CREATE on `tx:<type>`. Conditions see `tx.type`, `tx.signer` (hex) and `tx.payload`.
 */
export function aclTxRequest(
  tx: { readonly type: string, readonly signer: Uint8Array, readonly payload: unknown },
  identity: { readonly kind: string, readonly org?: string, readonly id?: string }
): AclRequest {
  const participant = aclParticipant(tx.signer, identity)
  return {
    participant,
    operation: 'CREATE',
    resource: { name: `tx:${tx.type}` },
    tx: { type: tx.type, signer: participant.key, payload: tx.payload }
  }
}

/**
 * The rules in force until an admin sets others (acl.set). Deliberately coarse: the processors still
 * check the finer rights (an admin acts only in its own organisation, a node reports only its own
 * containers, a device joins only as itself), and the ACL is the gate in front of them that a network
 * can narrow. Order matters (first match wins); anything not allowed here is denied.
 *
 * Txs (CREATE on tx:<type>): admins submit any; nodes submit data.add, container.* and action.*;
 * devices submit data.add, device.join and device.leave; containers submit data.add,
 * container.identify and container.leave; a device or container names only itself (payload `id`, and
 * data.add's `producedBy` when given).
 * Resources (the checks processors make): admins do anything to their own organisation's resources; a
 * node creates and deletes the containers it runs; a device or container deletes itself (leaves).
 */
export const defaultAclRules: readonly AclRule[] = validateAclRules([
  {
    id: 'admins-submit-txs',
    description: 'org admins may submit any tx; each processor checks that the admin acts within its own organisation',
    participant: 'admin',
    operation: ['CREATE'],
    resource: 'tx:*',
    action: 'ALLOW'
  },
  {
    id: 'admins-own-org',
    description: 'org admins may do everything to the resources of their own organisation',
    participant: 'admin',
    operation: 'ALL',
    resource: 'ANY',
    condition: 'resource.org == participant.org',
    action: 'ALLOW'
  },
  {
    id: 'nodes-report-containers',
    description: 'nodes submit the outcomes of orchestration: containers joining, identified, leaving or failed',
    participant: 'node',
    operation: ['CREATE'],
    resource: 'tx:container.*',
    action: 'ALLOW'
  },
  {
    id: 'nodes-report-actions',
    description: 'nodes update the status of the orchestration actions addressed to them',
    participant: 'node',
    operation: ['CREATE'],
    resource: 'tx:action.*',
    action: 'ALLOW'
  },
  {
    id: 'nodes-report-health',
    description: 'nodes declare a node unreachable or reachable again (the Raft leader watches its peers)',
    participant: 'node',
    operation: ['CREATE'],
    resource: 'tx:node.*',
    condition: "tx.type in ['node.unreachable', 'node.reachable']",
    action: 'ALLOW'
  },
  {
    id: 'nodes-add-data',
    description: 'nodes add data: their own, or on behalf of a container they run (data.add checks which)',
    participant: 'node',
    operation: ['CREATE'],
    resource: 'tx:data.add',
    action: 'ALLOW'
  },
  {
    id: 'nodes-run-containers',
    description: 'a node creates, updates (container.status) and deletes the containers that run on it',
    participant: 'node',
    operation: ['CREATE', 'UPDATE', 'DELETE'],
    resource: 'container/*',
    condition: 'resource.node == participant.key',
    action: 'ALLOW'
  },
  {
    id: 'producers-add-own-data-only',
    description: 'a device or container may not attribute the data it adds to another producer',
    participant: 'ANY',
    operation: ['CREATE'],
    resource: 'tx:data.add',
    condition: "participant.type in ['device', 'container'] && tx.payload.producedBy != participant.id",
    action: 'DENY'
  },
  {
    id: 'devices-add-data',
    description: 'devices add the data they produce (data.add records the signer as its owner)',
    participant: 'device',
    operation: ['CREATE'],
    resource: 'tx:data.add',
    action: 'ALLOW'
  },
  {
    id: 'containers-add-data',
    description: 'containers add the data they produce (data.add records the signer as its owner)',
    participant: 'container',
    operation: ['CREATE'],
    resource: 'tx:data.add',
    action: 'ALLOW'
  },
  {
    id: 'devices-join-leave-as-themselves',
    description: 'a device joins (proving it holds its key) and leaves, naming itself',
    participant: 'device',
    operation: ['CREATE'],
    resource: 'tx:device.*',
    condition: "tx.type in ['device.join', 'device.leave'] && tx.payload.id == participant.id",
    action: 'ALLOW'
  },
  {
    id: 'containers-identify-leave-as-themselves',
    description: 'a container identifies itself (proving it holds its key) and leaves, naming itself',
    participant: 'container',
    operation: ['CREATE'],
    resource: 'tx:container.*',
    condition: "tx.type in ['container.identify', 'container.leave'] && tx.payload.id == participant.id",
    action: 'ALLOW'
  },
  {
    id: 'producers-leave-themselves',
    description: 'a device or container deletes (leaves as) itself',
    participant: 'ANY',
    operation: ['DELETE'],
    resource: 'ANY',
    condition: "participant.type in ['device', 'container'] && resource.id == participant.id && resource.kind == participant.type",
    action: 'ALLOW'
  }
])
