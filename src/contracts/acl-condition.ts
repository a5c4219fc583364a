/**
 * The condition language of ACL rules: a small, total, deterministic expression language, parsed
 * once when rules are set and walked per request. It is NOT JavaScript and never reaches `eval`: a
 * condition can only read fields of the request (`participant.*`, `resource.*`, `tx.*`), compare them
 * and combine the results, so a rule cannot loop, allocate without end, or see anything else.
 *
 * Grammar (whitespace between tokens is ignored):
 *   condition  := or
 *   or         := and ( '||' and )*
 *   and        := unary ( '&&' unary )*
 *   unary      := '!' unary | comparison
 *   comparison := operand ( ( '==' | '!=' | '<' | '<=' | '>' | '>=' ) operand | 'in' ( list | path ) )?
 *   operand    := literal | path | '(' or ')'
 *   list       := '[' ( literal ( ',' literal )* )? ']'
 *   path       := ( 'participant' | 'resource' | 'tx' ) ( '.' field )+
 *   literal    := string ('...' or "..." with \\ \' \" escapes) | number (-?digits(.digits)?) | 'true' | 'false'
 *   field      := [A-Za-z_][A-Za-z0-9_]*, except names starting with '__' and 'constructor', 'prototype'
 *
 * Meaning, chosen so that a missing field can never make a rule match by accident:
 * - A path whose field is missing (or not an own field of a plain object) is undefined; byte strings
 *   read as lowercase hex, so `tx.payload.publicKey == participant.key` compares keys.
 * - Every comparison with undefined is false, `!=` included; `!(a == b)` is the way to say "not equal
 *   or missing".
 * - `==`/`!=` compare strings, numbers and booleans strictly (1 == '1' is false); ordering compares
 *   two numbers or two strings (by UTF-16 code units), anything else is false.
 * - `in` is true when the left value equals an item of the list (a literal list, or an array field).
 * - `&&`, `||` and `!` treat exactly `true` as true; anything else (a string, a missing field) is false.
 */
import { toHex } from '../crypto/index.js'
import { aclConditionDepthMax, aclConditionLengthMax, aclPathFieldsMax } from './acl-constants.js'
import { AclInvalidError } from './acl-errors.js'

export type AclLiteral = string | number | boolean
export type AclPathRoot = 'participant' | 'resource' | 'tx'
export type AclComparison = '==' | '!=' | '<' | '<=' | '>' | '>='

/** A parsed condition. Plain data: it can be inspected, printed back, or compared in tests. */
export type AclExpression =
  | { readonly kind: 'literal', readonly value: AclLiteral }
  | { readonly kind: 'path', readonly root: AclPathRoot, readonly fields: readonly string[] }
  | { readonly kind: 'list', readonly items: readonly AclLiteral[] }
  | { readonly kind: 'not', readonly operand: AclExpression }
  | { readonly kind: 'and' | 'or', readonly operands: readonly AclExpression[] }
  | { readonly kind: 'compare', readonly op: AclComparison, readonly left: AclExpression, readonly right: AclExpression }
  | { readonly kind: 'in', readonly left: AclExpression, readonly right: AclExpression }

/** What a condition reads: the three roots of a request. */
export interface AclScope {
  readonly participant: unknown
  readonly resource: unknown
  readonly tx: unknown
}

type Token =
  | { readonly kind: 'op', readonly text: string, readonly at: number }
  | { readonly kind: 'name', readonly text: string, readonly at: number }
  | { readonly kind: 'string', readonly value: string, readonly at: number }
  | { readonly kind: 'number', readonly value: number, readonly at: number }
  | { readonly kind: 'end', readonly at: number }

const roots: ReadonlySet<string> = new Set(['participant', 'resource', 'tx'])
const comparisons: ReadonlySet<string> = new Set(['==', '!=', '<', '<=', '>', '>='])
/** Two-character operators first, so that `<=` is not read as `<` then `=`. */
const operators = ['==', '!=', '<=', '>=', '&&', '||', '<', '>', '!', '(', ')', '[', ']', ',', '.']
const fieldPattern = /^[A-Za-z_][A-Za-z0-9_]*$/
/** Names that reach the prototype machinery of JavaScript objects; refused even though reads are own-only. */
const forbiddenFields: ReadonlySet<string> = new Set(['constructor', 'prototype'])

function isNameStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_'
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9'
}

/** Splits a condition into tokens; `where` prefixes every error message (the rule id and field). */
function tokenize(source: string, where: string): Token[] {
  const tokens: Token[] = []
  let i = 0
  while (i < source.length) {
    const c = source[i] as string
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') { i++; continue }
    const at = i
    if (isNameStart(c)) {
      while (i < source.length && (isNameStart(source[i] as string) || isDigit(source[i]))) i++
      tokens.push({ kind: 'name', text: source.slice(at, i), at })
    } else if (isDigit(c) || (c === '-' && isDigit(source[i + 1]))) {
      i++
      while (isDigit(source[i])) i++
      if (source[i] === '.' && isDigit(source[i + 1])) { i++; while (isDigit(source[i])) i++ }
      if (isNameStart(source[i] ?? ' ')) throw new AclInvalidError(`${where}: bad number at ${at}`)
      const value = Number(source.slice(at, i))
      if (!Number.isFinite(value)) throw new AclInvalidError(`${where}: number out of range at ${at}`)
      tokens.push({ kind: 'number', value, at })
    } else if (c === '"' || c === "'") {
      let value = ''
      i++
      for (;;) {
        const d = source[i]
        if (d === undefined) throw new AclInvalidError(`${where}: unterminated string at ${at}`)
        i++
        if (d === c) break
        if (d === '\\') {
          const e = source[i]
          if (e !== '\\' && e !== '"' && e !== "'") throw new AclInvalidError(`${where}: bad escape in string at ${i - 1}`)
          value += e
          i++
        } else {
          value += d
        }
      }
      tokens.push({ kind: 'string', value, at })
    } else {
      const op = operators.find((o) => source.startsWith(o, i))
      if (op === undefined) throw new AclInvalidError(`${where}: unexpected character ${JSON.stringify(c)} at ${at}`)
      tokens.push({ kind: 'op', text: op, at })
      i += op.length
    }
  }
  tokens.push({ kind: 'end', at: source.length })
  return tokens
}

/** Levels of a parsed condition: a leaf is 1; each operator adds one over its deepest operand. */
function treeDepth(expression: AclExpression): number {
  switch (expression.kind) {
    case 'literal': case 'path': case 'list': return 1
    case 'not': return 1 + treeDepth(expression.operand)
    case 'and': case 'or': return 1 + Math.max(...expression.operands.map(treeDepth))
    case 'compare': case 'in': return 1 + Math.max(treeDepth(expression.left), treeDepth(expression.right))
  }
}

/** Recursive descent over the tokens; `depth` counts nesting so that no input can exhaust the stack. */
class Parser {
  readonly #tokens: Token[]
  readonly #where: string
  #next = 0

  constructor(tokens: Token[], where: string) {
    this.#tokens = tokens
    this.#where = where
  }

  parse(): AclExpression {
    const expression = this.#or(0)
    const rest = this.#peek()
    if (rest.kind !== 'end') this.#fail(`unexpected ${this.#describe(rest)}`, rest)
    if (treeDepth(expression) > aclConditionDepthMax) this.#fail(`nested deeper than ${aclConditionDepthMax}`, rest)
    return expression
  }

  #peek(): Token {
    return this.#tokens[this.#next] as Token
  }

  #take(): Token {
    const token = this.#peek()
    if (token.kind !== 'end') this.#next++
    return token
  }

  #isOp(text: string): boolean {
    const token = this.#peek()
    return token.kind === 'op' && token.text === text
  }

  #expectOp(text: string): void {
    const token = this.#take()
    if (token.kind !== 'op' || token.text !== text) this.#fail(`expected '${text}' but found ${this.#describe(token)}`, token)
  }

  #describe(token: Token): string {
    switch (token.kind) {
      case 'end': return 'the end'
      case 'op': case 'name': return `'${token.text}'`
      case 'string': return 'a string'
      case 'number': return 'a number'
    }
  }

  #fail(message: string, token: Token): never {
    throw new AclInvalidError(`${this.#where}: ${message} at ${token.at}`)
  }

  /**
   * Bounds the recursion while parsing: `depth` counts open parentheses and `!`s, the only ways to
   * recurse. The tree's own depth (which `&&` chains and comparisons also add to) is checked after.
   */
  #enter(depth: number): void {
    if (depth > aclConditionDepthMax) this.#fail(`nested deeper than ${aclConditionDepthMax}`, this.#peek())
  }

  #or(depth: number): AclExpression {
    const operands = [this.#and(depth)]
    while (this.#isOp('||')) { this.#take(); operands.push(this.#and(depth)) }
    return operands.length === 1 ? operands[0] as AclExpression : { kind: 'or', operands }
  }

  #and(depth: number): AclExpression {
    const operands = [this.#unary(depth)]
    while (this.#isOp('&&')) { this.#take(); operands.push(this.#unary(depth)) }
    return operands.length === 1 ? operands[0] as AclExpression : { kind: 'and', operands }
  }

  #unary(depth: number): AclExpression {
    if (this.#isOp('!')) {
      this.#take()
      this.#enter(depth + 1)
      return { kind: 'not', operand: this.#unary(depth + 1) }
    }
    return this.#comparison(depth)
  }

  #comparison(depth: number): AclExpression {
    const left = this.#operand(depth)
    const token = this.#peek()
    if (token.kind === 'op' && comparisons.has(token.text)) {
      this.#take()
      return { kind: 'compare', op: token.text as AclComparison, left, right: this.#operand(depth) }
    }
    if (token.kind === 'name' && token.text === 'in') {
      this.#take()
      const right = this.#isOp('[') ? this.#list() : this.#operand(depth)
      if (right.kind !== 'list' && right.kind !== 'path') this.#fail("'in' takes a list or a path", token)
      return { kind: 'in', left, right }
    }
    return left
  }

  #operand(depth: number): AclExpression {
    const token = this.#take()
    switch (token.kind) {
      case 'string': case 'number': return { kind: 'literal', value: token.value }
      case 'name':
        if (token.text === 'true' || token.text === 'false') return { kind: 'literal', value: token.text === 'true' }
        if (roots.has(token.text)) return this.#path(token.text as AclPathRoot)
        return this.#fail(`unknown name '${token.text}' (a path starts with participant, resource or tx)`, token)
      case 'op':
        if (token.text === '(') {
          this.#enter(depth + 1)
          const inner = this.#or(depth + 1)
          this.#expectOp(')')
          return inner
        }
        return this.#fail(`unexpected '${token.text}'`, token)
      case 'end': return this.#fail('unexpected end of the condition', token)
    }
  }

  #path(root: AclPathRoot): AclExpression {
    const fields: string[] = []
    while (this.#isOp('.')) {
      this.#take()
      const token = this.#take()
      if (token.kind !== 'name' || !fieldPattern.test(token.text)) this.#fail(`expected a field name after '.' but found ${this.#describe(token)}`, token)
      if (token.text.startsWith('__') || forbiddenFields.has(token.text)) this.#fail(`field name '${token.text}' is not allowed`, token)
      fields.push(token.text)
    }
    if (fields.length === 0) this.#fail(`'${root}' must be followed by a field`, this.#peek())
    if (fields.length > aclPathFieldsMax) this.#fail(`path longer than ${aclPathFieldsMax} fields`, this.#peek())
    return { kind: 'path', root, fields }
  }

  #list(): AclExpression {
    this.#expectOp('[')
    const items: AclLiteral[] = []
    if (this.#isOp(']')) { this.#take(); return { kind: 'list', items } }
    for (;;) {
      const token = this.#take()
      if (token.kind === 'string' || token.kind === 'number') items.push(token.value)
      else if (token.kind === 'name' && (token.text === 'true' || token.text === 'false')) items.push(token.text === 'true')
      else this.#fail(`a list holds literals only, found ${this.#describe(token)}`, token)
      if (this.#isOp(']')) { this.#take(); return { kind: 'list', items } }
      this.#expectOp(',')
    }
  }
}

/**
 * Parses a condition, refusing with AclInvalidError anything outside the grammar or over a limit.
 * `where` names the rule in messages (e.g. "rule admins-own-org: condition").
 */
export function parseAclCondition(source: string, where = 'condition'): AclExpression {
  if (typeof source !== 'string') throw new AclInvalidError(`${where}: must be a string`)
  if (source.length === 0) throw new AclInvalidError(`${where}: must not be empty`)
  if (source.length > aclConditionLengthMax) throw new AclInvalidError(`${where}: longer than ${aclConditionLengthMax} characters`)
  return new Parser(tokenize(source, where), where).parse()
}

/** What a path can read: primitives as they are, byte strings as hex, arrays for `in`; anything else is opaque. */
type AclValue = string | number | bigint | boolean | readonly unknown[] | { readonly opaque: true } | undefined
const opaque = Object.freeze({ opaque: true as const })

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

function normalize(value: unknown): AclValue {
  switch (typeof value) {
    case 'string': case 'number': case 'bigint': case 'boolean': return value
    case 'object':
      if (value instanceof Uint8Array) return toHex(value)
      if (Array.isArray(value)) return value
      return value === null ? undefined : opaque
    default: return undefined
  }
}

/** Reads own fields of plain objects (or entries of Maps) only: no prototype, getter or array length is reachable. */
function readPath(scope: AclScope, root: AclPathRoot, fields: readonly string[]): AclValue {
  let current: unknown = scope[root]
  for (const field of fields) {
    if (current instanceof Map) {
      current = current.get(field)
    } else if (isPlainObject(current)) {
      const descriptor = Object.getOwnPropertyDescriptor(current, field)
      current = descriptor !== undefined && 'value' in descriptor ? descriptor.value : undefined
    } else {
      return undefined
    }
  }
  return normalize(current)
}

function isNumeric(value: AclValue): value is number | bigint {
  return typeof value === 'number' || typeof value === 'bigint'
}

function isScalar(value: AclValue): value is string | number | bigint | boolean {
  return isNumeric(value) || typeof value === 'string' || typeof value === 'boolean'
}

/** Strict equality of scalars; a number and a bigint compare by value. */
function scalarEquals(a: string | number | bigint | boolean, b: string | number | bigint | boolean): boolean {
  // Loose equality is exact between a number and a bigint (5 == 5n), which is what CBOR integers need.
  if (isNumeric(a) && isNumeric(b)) return a == b
  return a === b
}

function compare(op: AclComparison, a: AclValue, b: AclValue): boolean {
  if (!isScalar(a) || !isScalar(b)) return false
  switch (op) {
    case '==': return scalarEquals(a, b)
    case '!=': return !scalarEquals(a, b)
    default: {
      const ordered = (isNumeric(a) && isNumeric(b)) || (typeof a === 'string' && typeof b === 'string')
      if (!ordered) return false
      if (op === '<') return a < b
      if (op === '<=') return a <= b
      if (op === '>') return a > b
      return a >= b
    }
  }
}

function value(expression: AclExpression, scope: AclScope): AclValue {
  switch (expression.kind) {
    case 'literal': return expression.value
    case 'path': return readPath(scope, expression.root, expression.fields)
    case 'list': return expression.items
    default: return holds(expression, scope)
  }
}

/** Evaluates a parsed condition against a request. Total: never throws, always terminates. */
export function holds(expression: AclExpression, scope: AclScope): boolean {
  switch (expression.kind) {
    case 'and': return expression.operands.every((e) => holds(e, scope))
    case 'or': return expression.operands.some((e) => holds(e, scope))
    case 'not': return !holds(expression.operand, scope)
    case 'compare': return compare(expression.op, value(expression.left, scope), value(expression.right, scope))
    case 'in': {
      const left = value(expression.left, scope)
      const right = value(expression.right, scope)
      if (!isScalar(left) || !Array.isArray(right)) return false
      return right.some((item) => { const v = normalize(item); return isScalar(v) && scalarEquals(left, v) })
    }
    default: return value(expression, scope) === true
  }
}
