/**
 * The ACL engine: Composer's semantics (first match decides, no match denies), every participant,
 * operation and resource form, the condition language operator by operator, refusal of malformed
 * rules and conditions with ERR_ACL_INVALID, the limits, the default rules, and seeded property tests
 * against a reference evaluator written independently of the engine.
 */
import t from 'tap'
import type { Test } from 'tap'
import {
  AclDeniedError, AclInvalidError, aclConditionDepthMax, aclConditionLengthMax, aclErrorCodes, aclRulesMax,
  aclTxRequest, defaultAclRules, evaluateAcl, parseAclCondition, requireAclAllowed, validateAclRules
} from '../../src/contracts/acl.js'
import type { AclOperation, AclRequest, AclRule } from '../../src/contracts/acl.js'
import { SeededRandom } from '../crypto/seeded-random.js'

const keyA = 'a1'.repeat(32)
const keyB = 'b2'.repeat(32)
const keyNever = 'ff'.repeat(32)

type RawRule = Record<string, unknown>

function rule(id: string, fields: Partial<AclRule> = {}): RawRule {
  return { id, participant: 'ANY', operation: 'ALL', resource: 'ANY', action: 'ALLOW', ...fields }
}

function request(fields: {
  key?: string, type?: string, org?: string, attrs?: Record<string, unknown>,
  operation?: AclOperation, resource?: string, resourceFields?: Record<string, unknown>, tx?: Record<string, unknown>
} = {}): AclRequest {
  const participant = { key: fields.key ?? keyA, type: fields.type ?? 'admin', ...(fields.org === undefined ? {} : { org: fields.org }), ...fields.attrs }
  return {
    participant,
    operation: fields.operation ?? 'CREATE',
    resource: { name: fields.resource ?? 'tx:data.add', ...fields.resourceFields },
    ...(fields.tx === undefined ? {} : { tx: fields.tx })
  }
}

function decide(rules: RawRule[], req: AclRequest): { allowed: boolean, ruleId?: string } {
  return evaluateAcl(validateAclRules(rules), req)
}

/** Whether `condition` holds for `req`, under a single ALLOW rule that matches everything else. */
function cond(condition: string, req: AclRequest = request()): boolean {
  return decide([rule('c', { condition })], req).allowed
}

function expectInvalid(t: Test, fn: () => unknown, fragment: string, what = fragment): void {
  try {
    fn()
    t.fail(`${what}: expected ERR_ACL_INVALID, it was accepted`)
  } catch (err) {
    t.ok(err instanceof AclInvalidError, `${what}: an AclInvalidError (${String(err)})`)
    t.equal((err as AclInvalidError).code, 'ERR_ACL_INVALID', `${what}: code`)
    t.match((err as Error).message, fragment, `${what}: message names ${fragment}`)
  }
}

t.test('allow, deny, and no match denies', async (t) => {
  t.same(decide([rule('yes')], request()), { allowed: true, ruleId: 'yes' })
  t.same(decide([rule('no', { action: 'DENY' })], request()), { allowed: false, ruleId: 'no' })
  t.same(decide([], request()), { allowed: false }, 'an empty rule set denies everything')
  t.same(decide([rule('nodes', { participant: 'node' })], request({ type: 'admin' })), { allowed: false }, 'no rule matches: denied, no rule id')
})

t.test('the first matching rule decides, whatever follows', async (t) => {
  const deny = rule('deny-data', { resource: 'tx:data.add', action: 'DENY' })
  const allow = rule('allow-all')
  t.same(decide([deny, allow], request()), { allowed: false, ruleId: 'deny-data' }, 'DENY before ALLOW wins')
  t.same(decide([allow, deny], request()), { allowed: true, ruleId: 'allow-all' }, 'ALLOW before DENY wins')
  t.same(decide([deny, allow], request({ resource: 'tx:node.add' })), { allowed: true, ruleId: 'allow-all' }, 'a non-matching DENY is skipped')
  const conditional = rule('deny-low', { condition: 'tx.payload.level < 2', action: 'DENY' })
  t.same(decide([conditional, allow], request({ tx: { payload: { level: 1 } } })), { allowed: false, ruleId: 'deny-low' })
  t.same(decide([conditional, allow], request({ tx: { payload: { level: 3 } } })), { allowed: true, ruleId: 'allow-all' }, 'a rule whose condition fails does not match')
})

t.test('participant forms: ANY, type, type@org, ANY@org, key', async (t) => {
  const cases: [string, AclRequest, boolean][] = [
    ['ANY', request({ type: 'device' }), true],
    ['admin', request({ type: 'admin', org: 'org1' }), true],
    ['admin', request({ type: 'node', org: 'org1' }), false],
    ['admin@org1', request({ type: 'admin', org: 'org1' }), true],
    ['admin@org1', request({ type: 'admin', org: 'org2' }), false],
    ['admin@org1', request({ type: 'admin' }), false],
    ['admin@org1', request({ type: 'node', org: 'org1' }), false],
    ['ANY@org2', request({ type: 'device', org: 'org2' }), true],
    ['ANY@org2', request({ type: 'device', org: 'org1' }), false],
    [`key:${keyA}`, request({ key: keyA, type: 'container' }), true],
    [`key:${keyA}`, request({ key: keyB, type: 'container' }), false],
    ['user', request({ type: 'user' }), true],
    ['container', request({ type: 'container' }), true]
  ]
  for (const [participant, req, expected] of cases) {
    t.equal(decide([rule('r', { participant })], req).allowed, expected, `${participant} vs ${JSON.stringify(req.participant)}`)
  }
})

t.test('operations: ALL or a list', async (t) => {
  for (const op of ['CREATE', 'READ', 'UPDATE', 'DELETE'] as const) {
    t.ok(decide([rule('all', { operation: 'ALL' })], request({ operation: op })).allowed, `ALL covers ${op}`)
    t.ok(decide([rule('one', { operation: [op] })], request({ operation: op })).allowed, `[${op}] covers ${op}`)
  }
  const readUpdate = [rule('ru', { operation: ['READ', 'UPDATE'] })]
  t.ok(decide(readUpdate, request({ operation: 'READ' })).allowed)
  t.ok(decide(readUpdate, request({ operation: 'UPDATE' })).allowed)
  t.notOk(decide(readUpdate, request({ operation: 'CREATE' })).allowed)
  t.notOk(decide(readUpdate, request({ operation: 'DELETE' })).allowed)
})

t.test('resource patterns: ANY, exact, * (one segment), ** (anything below)', async (t) => {
  const cases: [string, string, boolean][] = [
    ['ANY', 'data/x/y', true],
    ['ANY', 'tx:node.add', true],
    ['tx:data.add', 'tx:data.add', true],
    ['tx:data.add', 'tx:data.addx', false],
    ['tx:data.add', 'tx:data', false],
    ['image/sha256:ab12', 'image/sha256:ab12', true],
    ['image/sha256:ab12', 'image/sha256:ab1', false],
    ['data/*', 'data/a', true],
    ['data/*', 'data/a.b:c', true],
    ['data/*', 'data/a/b', false],
    ['data/*', 'data/', false],
    ['data/*', 'data', false],
    ['data/*', 'database/a', false],
    ['data/**', 'data/a', true],
    ['data/**', 'data/a/b/c', true],
    ['data/**', 'data/', false],
    ['data/**', 'data', false],
    ['tx:*', 'tx:data.add', true],
    ['tx:*', 'tx:', false],
    ['tx:*', 'data/a', false],
    ['tx:container.*', 'tx:container.join', true],
    ['tx:container.*', 'tx:container.join.x', false],
    ['tx:container.**', 'tx:container.join.x', true],
    ['tx:container.*', 'tx:containers.join', false]
  ]
  for (const [resource, name, expected] of cases) {
    t.equal(decide([rule('r', { resource })], request({ resource: name })).allowed, expected, `${resource} vs ${name}`)
  }
})

t.test('conditions: comparisons on strings, numbers and booleans', async (t) => {
  const req = request({
    org: 'org1',
    attrs: { level: 2, trusted: true, fw: 'abc' },
    resourceFields: { org: 'org1', size: 10 },
    tx: { type: 'data.add', payload: { level: 2, name: 'b', flag: false } }
  })
  const cases: [string, boolean][] = [
    ['participant.org == resource.org', true],
    ["participant.org == 'org1'", true],
    ['participant.org == "org2"', false],
    ["participant.org != 'org2'", true],
    ["participant.org != 'org1'", false],
    ['tx.payload.level == 2', true],
    ['tx.payload.level == 2.0', true],
    ['tx.payload.level != 3', true],
    ['tx.payload.level < 3', true],
    ['tx.payload.level < 2', false],
    ['tx.payload.level <= 2', true],
    ['tx.payload.level <= 1.5', false],
    ['tx.payload.level > 1', true],
    ['tx.payload.level > 2', false],
    ['tx.payload.level >= 2', true],
    ['tx.payload.level >= -1', true],
    ['tx.payload.level >= 3', false],
    ["tx.payload.name > 'a'", true],
    ["tx.payload.name < 'a'", false],
    ["tx.payload.name >= 'b'", true],
    ['participant.trusted == true', true],
    ['participant.trusted', true],
    ['tx.payload.flag == false', true],
    ['tx.payload.flag', false],
    ['!tx.payload.flag', true],
    ['true', true],
    ['false', false],
    ["'x' == 'x'", true],
    ["tx.payload.level == '2'", false],
    ["tx.payload.level < '3'", false],
    ['participant.trusted > false', false],
    ['resource.size >= tx.payload.level', true],
    ["tx.type == 'data.add'", true],
    ["participant.fw == 'a\\'bc'", false],
    ["'it\\'s' == \"it's\"", true],
    ["'a\\\\b' == 'a\\\\b'", true]
  ]
  for (const [condition, expected] of cases) t.equal(cond(condition, req), expected, condition)
})

t.test('conditions: missing fields are undefined and every comparison with undefined is false', async (t) => {
  const req = request({ org: 'org1', tx: { payload: { level: 2, nested: { a: 1 } } } })
  const cases: [string, boolean][] = [
    ['resource.org == participant.org', false],
    ['resource.org != participant.org', false],
    ["resource.org != 'x'", false],
    ['resource.org < 1', false],
    ['resource.org >= 1', false],
    ['!(resource.org == participant.org)', true],
    ['tx.payload.missing.deeper == 1', false],
    ['tx.payload.level.deeper == 1', false],
    ['tx.payload.nested.a == 1', true],
    ['tx.payload.nested == 1', false],
    ['tx.payload.nested != 1', false],
    ["resource.org in ['org1']", false],
    ['resource.org', false]
  ]
  for (const [condition, expected] of cases) t.equal(cond(condition, req), expected, condition)
  t.notOk(cond('tx.payload.level == 2', request()), 'no tx at all: tx.* is undefined')
})

t.test('conditions: && binds tighter than ||, ! tighter than both; parentheses regroup', async (t) => {
  const cases: [string, boolean][] = [
    ['true || false && false', true],
    ['(true || false) && false', false],
    ['false && false || true', true],
    ['false && (false || true)', false],
    ['!false && false', false],
    ['!(false && false)', true],
    ['!!true', true],
    ['!true || true', true],
    ['!(true || true)', false],
    ['((((true))))', true],
    ['true && true && true && false', false],
    ['false || false || false || true', true],
    ['1 < 2 && 2 < 3 || 3 < 1', true],
    ['!(1 == 1) || 2 == 3', false]
  ]
  for (const [condition, expected] of cases) t.equal(cond(condition), expected, condition)
})

t.test('conditions: in over literal lists and array fields', async (t) => {
  const req = request({ type: 'device', resourceFields: { orgs: ['org1', 'org2'], levels: [1, 2] }, org: 'org2', tx: { payload: { tags: [] } } })
  const cases: [string, boolean][] = [
    ["participant.type in ['device', 'container']", true],
    ["participant.type in ['admin']", false],
    ['participant.type in []', false],
    ['2 in [1, 2, 3]', true],
    ["2 in ['2']", false],
    ['true in [false, true]', true],
    ['participant.org in resource.orgs', true],
    ["'org3' in resource.orgs", false],
    ['2 in resource.levels', true],
    ["'x' in tx.payload.tags", false],
    ["'x' in resource.missing", false],
    ["resource.orgs in ['org1']", false],
    ["!(participant.type in ['admin'])", true],
    ["participant.type in ['device'] && participant.org == 'org2'", true]
  ]
  for (const [condition, expected] of cases) t.equal(cond(condition, req), expected, condition)
})

t.test('conditions: byte strings read as hex, bigints compare by value, Maps are read', async (t) => {
  const bytes = Uint8Array.from(Buffer.from(keyA, 'hex'))
  const req = request({ key: keyA, tx: { payload: { producedBy: bytes, big: 5n, map: new Map([['k', 'v']]) } } })
  t.ok(cond('tx.payload.producedBy == participant.key', req))
  t.notOk(cond('tx.payload.producedBy != participant.key', req))
  t.ok(cond('tx.payload.big == 5', req))
  t.ok(cond('tx.payload.big > 4 && tx.payload.big < 6', req))
  t.ok(cond("tx.payload.map.k == 'v'", req))
})

t.test('conditions read own data fields only: no prototype, getter or function is reachable', async (t) => {
  const proto = { inherited: 1 }
  const child: Record<string, unknown> = Object.create(proto)
  child.own = 1
  let getterCalls = 0
  const withGetter = { get level (): number { getterCalls++; return 9 } }
  class Custom { level = 3 }
  const req = request({
    tx: { payload: { child, withGetter, custom: new Custom(), fn: () => 1, list: [1, 2], nothing: null } },
    resourceFields: { plain: Object.assign(Object.create(null), { level: 4 }) }
  })
  t.notOk(cond('tx.payload.child.own == 1', req), 'an object with a custom prototype is opaque')
  t.notOk(cond('tx.payload.withGetter.level == 9', req), 'a getter is not called')
  t.equal(getterCalls, 0)
  t.notOk(cond('tx.payload.custom.level == 3', req), 'a class instance is opaque')
  t.notOk(cond('tx.payload.fn == 1', req))
  t.notOk(cond('tx.payload.list.length == 2', req), 'array length is not a field')
  t.notOk(cond('tx.payload.nothing == 1', req))
  t.ok(cond('resource.plain.level == 4', req), 'null-prototype objects are plain data')
  t.notOk(cond('tx.payload.toString == 1', request({ tx: { payload: {} } })), 'inherited Object.prototype members are not fields')
  t.notOk(cond('tx.payload.hasOwnProperty == 1', request({ tx: { payload: {} } })))
})

t.test('malformed conditions are refused with ERR_ACL_INVALID naming the rule', async (t) => {
  const bad: [string, string][] = [
    ['', 'empty'],
    ['constructor.constructor', "unknown name 'constructor'"],
    ["tx.constructor.constructor('return process')()", "'constructor' is not allowed"],
    ['tx.payload.__proto__.polluted == 1', "'__proto__' is not allowed"],
    ['participant.__defineGetter__', "'__defineGetter__' is not allowed"],
    ['resource.prototype == 1', "'prototype' is not allowed"],
    ['process.exit(1)', "unknown name 'process'"],
    ['globalThis.x == 1', "unknown name 'globalThis'"],
    ['this.x == 1', "unknown name 'this'"],
    ['participant', "'participant' must be followed by a field"],
    ['participant.', 'expected a field name'],
    ['participant.1x == 1', 'bad number'],
    ['participant.-x == 1', 'unexpected character'],
    ['participant.org ==', 'unexpected end'],
    ['== 1', "unexpected '=='"],
    ['participant.org = 1', "unexpected character \"=\""],
    ['participant.org === 1', 'unexpected character "="'],
    ['1 == 1 == 1', "unexpected '=='"],
    ['(true', "expected ')'"],
    ['true)', "unexpected ')'"],
    ['true &&', 'unexpected end'],
    ['true & false', 'unexpected character "&"'],
    ['true | false', 'unexpected character "|"'],
    ["'open", 'unterminated string'],
    ["'bad \\n escape'", 'bad escape'],
    ['1 in 2', "'in' takes a list or a path"],
    ['1 in [participant.org]', 'a list holds literals only'],
    ['1 in [1,]', 'a list holds literals only'],
    ['1 in [1 2]', "expected ','"],
    ['12abc == 1', 'bad number'],
    ['1e400 == 1', 'bad number'],
    ['tx.payload.x + 1', 'unexpected character "+"'],
    ['`x`', 'unexpected character'],
    ['tx.payload[0] == 1', "unexpected '['"],
    ['tx.a.b.c.d.e.f.g.h.i == 1', 'path longer than 8'],
    ['true ; false', 'unexpected character ";"'],
    ['null == null', "unknown name 'null'"]
  ]
  for (const [condition, fragment] of bad) {
    expectInvalid(t, () => validateAclRules([rule('bad-cond', { condition })]), fragment, JSON.stringify(condition))
    expectInvalid(t, () => validateAclRules([rule('bad-cond', { condition })]), 'rule bad-cond: condition', `${JSON.stringify(condition)} names the rule`)
  }
  t.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false, 'nothing was polluted')
})

t.test('condition limits: length, tree depth, open parentheses', async (t) => {
  const atLength = `tx.x == '${'a'.repeat(aclConditionLengthMax - 10)}'`
  t.equal(atLength.length, aclConditionLengthMax)
  t.doesNotThrow(() => parseAclCondition(atLength), 'a condition of the maximum length')
  expectInvalid(t, () => parseAclCondition(atLength + ' '), `longer than ${aclConditionLengthMax}`)

  const nots = (n: number): string => `${'!'.repeat(n)}true`
  t.doesNotThrow(() => parseAclCondition(nots(aclConditionDepthMax - 1)), 'depth exactly at the limit')
  expectInvalid(t, () => parseAclCondition(nots(aclConditionDepthMax)), `nested deeper than ${aclConditionDepthMax}`, 'one ! too many')
  expectInvalid(t, () => parseAclCondition(nots(400)), 'nested deeper', '400 nested !')

  const parens = (n: number): string => `${'('.repeat(n)}true${')'.repeat(n)}`
  t.doesNotThrow(() => parseAclCondition(parens(aclConditionDepthMax)))
  expectInvalid(t, () => parseAclCondition(parens(aclConditionDepthMax + 1)), 'nested deeper', 'too many open parentheses')
  expectInvalid(t, () => parseAclCondition('('.repeat(500)), 'nested deeper', '500 open parentheses')

  // a && (a && (a && ...)): each group adds a level (and, then the comparison inside it).
  const nested = (n: number): string => n === 0 ? 'true' : `true && (${nested(n - 1)})`
  t.doesNotThrow(() => parseAclCondition(nested(aclConditionDepthMax - 2)))
  expectInvalid(t, () => parseAclCondition(nested(aclConditionDepthMax)), 'nested deeper', 'nested && groups')

  const chain = Array.from({ length: 40 }, (_, i) => `tx.a==${i}`).join('||')
  t.ok(chain.length <= aclConditionLengthMax)
  t.doesNotThrow(() => parseAclCondition(chain), 'a long flat || chain is shallow')
  t.ok(cond(chain, request({ tx: { a: 39 } })))
  t.notOk(cond(chain, request({ tx: { a: 40 } })))
})

t.test('malformed rules are refused with ERR_ACL_INVALID naming the rule and field', async (t) => {
  const bad: [unknown, string][] = [
    [{}, 'rules: must be a list'],
    ['rules', 'rules: must be a list'],
    [[null], 'rules[0]: must be a map'],
    [[[rule('x')]], 'rules[0]: must be a map'],
    [[rule('ok'), 'str'], 'rules[1]: must be a map'],
    [[{ ...rule('x'), id: undefined }], 'rules[0].id'],
    [[{ ...rule('x'), id: '' }], 'rules[0].id'],
    [[{ ...rule('x'), id: 'has space' }], 'rules[0].id'],
    [[{ ...rule('x'), id: 'x'.repeat(65) }], 'rules[0].id'],
    [[rule('dup'), rule('dup')], 'rule dup: id used twice'],
    [[{ ...rule('x'), extra: 1 }], 'rule x: unknown field "extra"'],
    [[{ ...rule('x'), __proto__: { action: 'ALLOW' } }], 'rules[0]: must be a map'],
    [[JSON.parse('{"id":"x","participant":"ANY","operation":"ALL","resource":"ANY","action":"DENY","__proto__":{"action":"ALLOW"}}')], 'rule x: unknown field "__proto__"'],
    [[Object.assign(new (class Rule {})(), rule('x'))], 'rules[0]: must be a map'],
    [[{ ...rule('x'), description: 5 }], 'rule x: description'],
    [[{ ...rule('x'), description: 'd'.repeat(257) }], 'rule x: description'],
    [[{ ...rule('x'), participant: undefined }], 'rule x: participant'],
    [[{ ...rule('x'), participant: 'admn' }], "rule x: participant: 'admn' is not"],
    [[{ ...rule('x'), participant: 'any' }], 'rule x: participant'],
    [[{ ...rule('x'), participant: 'admin@' }], 'rule x: participant: the organisation'],
    [[{ ...rule('x'), participant: 'admin@org 1' }], 'rule x: participant: the organisation'],
    [[{ ...rule('x'), participant: '@org1' }], 'rule x: participant'],
    [[{ ...rule('x'), participant: 'key:abc' }], 'rule x: participant'],
    [[{ ...rule('x'), participant: `key:${keyA.toUpperCase()}` }], 'rule x: participant'],
    [[{ ...rule('x'), operation: 'CREATE' }], 'rule x: operation'],
    [[{ ...rule('x'), operation: [] }], 'rule x: operation'],
    [[{ ...rule('x'), operation: ['CREATE', 'EXECUTE'] }], 'rule x: operation[1]'],
    [[{ ...rule('x'), operation: ['READ', 'READ'] }], 'rule x: operation[1]: READ is listed twice'],
    [[{ ...rule('x'), operation: 'all' }], 'rule x: operation'],
    [[{ ...rule('x'), resource: '' }], 'rule x: resource'],
    [[{ ...rule('x'), resource: 5 }], 'rule x: resource'],
    [[{ ...rule('x'), resource: 'data/*/x' }], 'rule x: resource'],
    [[{ ...rule('x'), resource: 'data*' }], 'rule x: resource'],
    [[{ ...rule('x'), resource: '*' }], 'rule x: resource'],
    [[{ ...rule('x'), resource: 'data/***' }], 'rule x: resource'],
    [[{ ...rule('x'), resource: 'data/a b' }], 'rule x: resource'],
    [[{ ...rule('x'), resource: 'r'.repeat(257) }], 'rule x: resource'],
    [[{ ...rule('x'), condition: 5 }], 'rule x: condition: must be a string'],
    [[{ ...rule('x'), action: 'allow' }], 'rule x: action'],
    [[{ ...rule('x'), action: undefined }], 'rule x: action']
  ]
  for (const [raw, fragment] of bad) expectInvalid(t, () => validateAclRules(raw), fragment, `${fragment} (${JSON.stringify(raw)?.slice(0, 80)})`)
})

t.test('rule set limit: at most aclRulesMax rules', async (t) => {
  const many = (n: number): RawRule[] => Array.from({ length: n }, (_, i) => rule(`r${i}`, { participant: `key:${keyNever}` }))
  t.equal(validateAclRules(many(aclRulesMax)).length, aclRulesMax)
  expectInvalid(t, () => validateAclRules(many(aclRulesMax + 1)), `more than ${aclRulesMax}`)
})

t.test('validated rules are frozen copies in a fixed field order', async (t) => {
  const raw = [{ action: 'DENY', condition: 'true', resource: 'data/*', operation: ['READ'], participant: 'node', description: 'd', id: 'x' }]
  const rules = validateAclRules(raw)
  t.same(Object.keys(rules[0] as object), ['id', 'description', 'participant', 'operation', 'resource', 'condition', 'action'])
  t.ok(Object.isFrozen(rules) && Object.isFrozen(rules[0]) && Object.isFrozen(rules[0]?.operation))
  ;(raw[0] as { action: string }).action = 'ALLOW'
  t.same(evaluateAcl(rules, request({ type: 'node', operation: 'READ', resource: 'data/a' })), { allowed: false, ruleId: 'x' }, 'changing the input afterwards changes nothing')
  t.same(validateAclRules(JSON.parse(JSON.stringify(rules))), rules, 'rules survive a JSON round trip')
})

t.test('evaluateAcl validates rule arrays that did not come from validateAclRules', async (t) => {
  const plain = [rule('p')] as unknown as AclRule[]
  t.same(evaluateAcl(plain, request()), { allowed: true, ruleId: 'p' })
  expectInvalid(t, () => evaluateAcl([rule('q', { condition: 'tx..x' })] as unknown as AclRule[], request()), 'rule q: condition')
  t.throws(() => evaluateAcl(validateAclRules([]), { ...request(), operation: 'EXECUTE' as AclOperation }), TypeError, 'a malformed request is a bug: TypeError')
  t.throws(() => evaluateAcl(validateAclRules([]), { ...request(), participant: { type: 'admin' } as never }), TypeError)
})

t.test('requireAclAllowed throws AclDeniedError (ERR_ACL_DENIED) with the deciding rule', async (t) => {
  const rules = validateAclRules([rule('no-nodes', { participant: 'node', action: 'DENY' }), rule('admins', { participant: 'admin' })])
  t.doesNotThrow(() => requireAclAllowed(rules, request({ type: 'admin' })))
  for (const [type, ruleId] of [['node', 'no-nodes'], ['device', undefined]] as const) {
    try {
      requireAclAllowed(rules, request({ type }))
      t.fail('expected a denial')
    } catch (err) {
      t.ok(err instanceof AclDeniedError)
      t.equal((err as AclDeniedError).code, 'ERR_ACL_DENIED')
      t.equal((err as AclDeniedError).name, 'AclDeniedError')
      t.equal((err as AclDeniedError).ruleId, ruleId)
      t.match((err as Error).message, ruleId === undefined ? 'no ACL rule allows it' : `denied by ACL rule ${ruleId}`)
    }
  }
})

t.test('aclErrorCodes lists exactly the codes of the error classes', async (t) => {
  const codes = [new AclInvalidError('x').code, new AclDeniedError(undefined, 'x').code]
  t.same(Object.keys(aclErrorCodes).sort(), codes.sort())
  t.equal(new AclInvalidError('x').name, 'AclInvalidError')
})

t.test('aclTxRequest: submitting a tx is CREATE on tx:<type>', async (t) => {
  const signer = Uint8Array.from(Buffer.from(keyA, 'hex'))
  const req = aclTxRequest({ type: 'data.add', signer, payload: { id: 'd1' } }, { kind: 'device', org: 'org1' })
  t.same(req, {
    participant: { key: keyA, type: 'device', org: 'org1' },
    operation: 'CREATE',
    resource: { name: 'tx:data.add' },
    tx: { type: 'data.add', signer: keyA, payload: { id: 'd1' } }
  })
})

t.test('default rules for the built-in contracts', async (t) => {
  const signerA = Uint8Array.from(Buffer.from(keyA, 'hex'))
  const signerB = Uint8Array.from(Buffer.from(keyB, 'hex'))
  const txReq = (type: string, kind: string, payload: unknown = {}, signer = signerA): AclRequest =>
    aclTxRequest({ type, signer, payload }, { kind, org: 'org1' })
  t.same(validateAclRules(JSON.parse(JSON.stringify(defaultAclRules))), defaultAclRules, 'the defaults are a valid rule set')
  t.same(evaluateAcl(defaultAclRules, txReq('node.add', 'admin')), { allowed: true, ruleId: 'admins-submit-txs' })
  t.same(evaluateAcl(defaultAclRules, txReq('acl.set', 'admin')), { allowed: true, ruleId: 'admins-submit-txs' })
  t.same(evaluateAcl(defaultAclRules, request({ type: 'admin', org: 'org1', operation: 'DELETE', resource: 'data/x', resourceFields: { org: 'org1' } })), { allowed: true, ruleId: 'admins-own-org' })
  t.same(evaluateAcl(defaultAclRules, request({ type: 'admin', org: 'org1', operation: 'DELETE', resource: 'data/x', resourceFields: { org: 'org2' } })), { allowed: false }, 'not in another org')
  t.same(evaluateAcl(defaultAclRules, txReq('container.join', 'node')), { allowed: true, ruleId: 'nodes-report-containers' })
  t.same(evaluateAcl(defaultAclRules, txReq('action.status', 'node')), { allowed: true, ruleId: 'nodes-report-actions' })
  t.same(evaluateAcl(defaultAclRules, txReq('node.add', 'node')), { allowed: false }, 'a node does not admit nodes')
  t.same(evaluateAcl(defaultAclRules, txReq('data.add', 'node')), { allowed: true, ruleId: 'nodes-add-data' }, 'a node adds data (its own, or its containers\')')
  // Devices and containers are participants with an id (aclParticipant); producedBy names a producer id.
  const producerReq = (type: string, kind: string, id: string, payload: unknown = {}): AclRequest =>
    aclTxRequest({ type, signer: signerA, payload }, { kind, org: 'org1', id })
  t.same(evaluateAcl(defaultAclRules, producerReq('data.add', 'device', 'cam1', { id: 'd' })), { allowed: true, ruleId: 'devices-add-data' })
  t.same(evaluateAcl(defaultAclRules, producerReq('data.add', 'device', 'cam1', { id: 'd', producedBy: 'cam1' })), { allowed: true, ruleId: 'devices-add-data' }, 'attributed to itself')
  t.same(evaluateAcl(defaultAclRules, producerReq('data.add', 'device', 'cam1', { id: 'd', producedBy: 'cam2' })), { allowed: false, ruleId: 'producers-add-own-data-only' }, 'attributed to another device')
  t.same(evaluateAcl(defaultAclRules, producerReq('data.add', 'container', 'c1', { id: 'd', producedBy: 'c1' })), { allowed: true, ruleId: 'containers-add-data' })
  t.same(evaluateAcl(defaultAclRules, producerReq('data.add', 'container', 'c1', { id: 'd', producedBy: 'cam1' })), { allowed: false, ruleId: 'producers-add-own-data-only' })
  t.same(evaluateAcl(defaultAclRules, producerReq('device.join', 'device', 'cam1', { id: 'cam1' })), { allowed: true, ruleId: 'devices-join-leave-as-themselves' })
  t.same(evaluateAcl(defaultAclRules, producerReq('device.join', 'device', 'cam1', { id: 'cam2' })), { allowed: false }, 'not as another device')
  t.same(evaluateAcl(defaultAclRules, producerReq('device.authorise', 'device', 'cam1', { id: 'cam1' })), { allowed: false }, 'a device does not authorise devices')
  t.same(evaluateAcl(defaultAclRules, producerReq('container.identify', 'container', 'c1', { id: 'c1' })), { allowed: true, ruleId: 'containers-identify-leave-as-themselves' })
  t.same(evaluateAcl(defaultAclRules, producerReq('container.join', 'container', 'c1', { id: 'c1' })), { allowed: false }, 'a container does not start containers')
  t.same(evaluateAcl(defaultAclRules, producerReq('node.add', 'device', 'cam1')), { allowed: false }, 'nothing else for devices')
  t.same(evaluateAcl(defaultAclRules, txReq('data.add', 'user')), { allowed: false })
})

// --- Property tests -------------------------------------------------------------------------------

/** A condition with its meaning written directly in JavaScript, for the reference evaluator. */
interface ConditionCase { readonly text: string | undefined, readonly holds: (req: AclRequest) => boolean }

const num = (v: unknown): v is number => typeof v === 'number'
const level = (req: AclRequest): unknown => (req.tx?.payload as Record<string, unknown> | undefined)?.level
const conditionCases: readonly ConditionCase[] = [
  { text: undefined, holds: () => true },
  { text: 'participant.org == resource.org', holds: (r) => typeof r.participant.org === 'string' && r.participant.org === r.resource.org },
  { text: 'tx.payload.level >= 2', holds: (r) => { const l = level(r); return num(l) && l >= 2 } },
  { text: "!(resource.org == 'org1')", holds: (r) => r.resource.org !== 'org1' },
  { text: "participant.type in ['admin', 'node'] || tx.payload.level < 1", holds: (r) => ['admin', 'node'].includes(r.participant.type) || (num(level(r)) && (level(r) as number) < 1) },
  // level may be the string '2': a string and a number are never equal, so != holds.
  { text: "tx.payload.level != 2 && participant.org != 'org2'", holds: (r) => { const l = level(r); return l !== undefined && l !== 2 && r.participant.org !== undefined && r.participant.org !== 'org2' } },
  { text: 'false', holds: () => false }
]

const participantPool = ['ANY', 'admin', 'node', 'device', 'container', 'user', 'admin@org1', 'node@org2', 'ANY@org1', `key:${keyA}`, `key:${keyB}`]
const resourcePool = ['ANY', 'tx:*', 'tx:data.add', 'tx:container.*', 'tx:container.**', 'data/*', 'data/**', 'data/a', 'image/x']
const operationPool: readonly ('ALL' | AclOperation[])[] = ['ALL', ['CREATE'], ['READ', 'UPDATE'], ['DELETE'], ['CREATE', 'DELETE']]
const namePool = ['tx:data.add', 'tx:node.add', 'tx:container.join', 'tx:container.a.b', 'data/a', 'data/b', 'data/a/b', 'data', 'image/x', 'image/y']
const typePool = ['admin', 'node', 'device', 'container', 'user']
const orgPool = ['org1', 'org2', undefined]
const opPool: readonly AclOperation[] = ['CREATE', 'READ', 'UPDATE', 'DELETE']
const levelPool = [undefined, 0, 1, 2, 3, '2']

interface RandomRule { readonly raw: RawRule, readonly condition: ConditionCase }

function randomRule(random: SeededRandom, id: string): RandomRule {
  const condition = random.pick(conditionCases)
  const raw = {
    id,
    participant: random.pick(participantPool),
    operation: random.pick(operationPool),
    resource: random.pick(resourcePool),
    ...(condition.text === undefined ? {} : { condition: condition.text }),
    action: random.bool() ? 'ALLOW' : 'DENY'
  }
  return { raw, condition }
}

function randomRequest(random: SeededRandom): AclRequest {
  const org = random.pick(orgPool)
  const resourceOrg = random.pick(orgPool)
  const lvl = random.pick(levelPool)
  return {
    participant: { key: random.bool() ? keyA : keyB, type: random.pick(typePool), ...(org === undefined ? {} : { org }) },
    operation: random.pick(opPool),
    resource: { name: random.pick(namePool), ...(resourceOrg === undefined ? {} : { org: resourceOrg }) },
    ...(random.below(4) === 0 ? {} : { tx: { payload: lvl === undefined ? {} : { level: lvl } } })
  }
}

/** Composer's decision, written the obvious way: patterns become regular expressions. */
function referenceDecision(rules: readonly RandomRule[], req: AclRequest): { allowed: boolean, ruleId?: string } {
  for (const { raw, condition } of rules) {
    const p = raw.participant as string
    const [pType, pOrg] = p.split('@') as [string, string | undefined]
    const participantOk = p.startsWith('key:')
      ? req.participant.key === p.slice(4)
      : (pType === 'ANY' || pType === req.participant.type) && (pOrg === undefined || pOrg === req.participant.org)
    const ops = raw.operation as 'ALL' | AclOperation[]
    const operationOk = ops === 'ALL' || ops.includes(req.operation)
    const pattern = raw.resource as string
    const escaped = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
    let regex: RegExp
    if (pattern === 'ANY') regex = /^/
    else if (pattern.endsWith('**')) regex = new RegExp(`^${escaped(pattern.slice(0, -2))}.+$`)
    else if (pattern.endsWith('*')) regex = new RegExp(`^${escaped(pattern.slice(0, -1))}[^${escaped(pattern.at(-2) as string)}]+$`)
    else regex = new RegExp(`^${escaped(pattern)}$`)
    if (participantOk && operationOk && regex.test(req.resource.name) && condition.holds(req)) {
      return { allowed: raw.action === 'ALLOW', ruleId: raw.id as string }
    }
  }
  return { allowed: false }
}

t.test('property: the decision equals a reference evaluator on random rule sets and requests', async (t) => {
  const seed = 0xac1001
  const random = new SeededRandom(seed)
  let mismatches = 0
  let allowed = 0
  const runs = 3000
  for (let run = 0; run < runs; run++) {
    const rules = Array.from({ length: random.intBetween(0, 12) }, (_, i) => randomRule(random, `r${i}`))
    const validated = validateAclRules(rules.map((r) => r.raw))
    for (let k = 0; k < 4; k++) {
      const req = randomRequest(random)
      const got = evaluateAcl(validated, req)
      const want = referenceDecision(rules, req)
      if (got.allowed) allowed++
      if (got.allowed !== want.allowed || got.ruleId !== want.ruleId) {
        if (mismatches++ < 5) t.fail(`seed ${seed} run ${run}: got ${JSON.stringify(got)}, reference ${JSON.stringify(want)} for ${JSON.stringify(req)} under ${JSON.stringify(rules.map((r) => r.raw))}`)
      }
    }
  }
  t.equal(mismatches, 0, `seed ${seed}: ${runs * 4} decisions agree with the reference`)
  t.ok(allowed > runs / 10 && allowed < runs * 4 - runs / 10, `both outcomes occur (${allowed} allowed of ${runs * 4})`)
})

t.test('property: inserting a rule that never matches, or appending rules, never changes a decision', async (t) => {
  const seed = 0xac1002
  const random = new SeededRandom(seed)
  const neverMatching = (id: string): RawRule => random.pick([
    rule(id, { participant: `key:${keyNever}`, action: random.bool() ? 'ALLOW' : 'DENY' }),
    rule(id, { condition: 'false', action: random.bool() ? 'ALLOW' : 'DENY' }),
    rule(id, { resource: 'never/**', action: random.bool() ? 'ALLOW' : 'DENY' }),
    rule(id, { condition: 'resource.nothing == 1 || resource.nothing != 1', action: random.bool() ? 'ALLOW' : 'DENY' })
  ])
  let failures = 0
  for (let run = 0; run < 2000; run++) {
    const raw = Array.from({ length: random.intBetween(0, 10) }, (_, i) => randomRule(random, `r${i}`).raw)
    const req = randomRequest(random)
    const before = evaluateAcl(validateAclRules(raw), req)
    const withNever = [...raw]
    withNever.splice(random.intBetween(0, raw.length), 0, neverMatching('never'))
    const afterInsert = evaluateAcl(validateAclRules(withNever), req)
    const appended = [...raw, ...Array.from({ length: 3 }, (_, i) => randomRule(random, `extra${i}`).raw)]
    const afterAppend = evaluateAcl(validateAclRules(appended), req)
    const ok = before.allowed === afterInsert.allowed && before.ruleId === afterInsert.ruleId &&
      (before.ruleId === undefined || (afterAppend.allowed === before.allowed && afterAppend.ruleId === before.ruleId))
    if (!ok && failures++ < 5) t.fail(`seed ${seed} run ${run}: ${JSON.stringify({ before, afterInsert, afterAppend, req, withNever })}`)
  }
  t.equal(failures, 0, `seed ${seed}: a never-matching rule is inert, and a decided request stays decided`)
})
