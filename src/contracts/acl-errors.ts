/**
 * The errors of the ACL engine: one class per condition, each with a stable name and code.
 * `aclErrorCodes` is the registry for docs/errors.md. ERR_ACL_INVALID refuses a rule set (when it is
 * set, or when unvalidated rules reach the evaluator); ERR_ACL_DENIED is the receipt code of a tx
 * that the rules refused.
 */

export const aclErrorCodes = {
  ERR_ACL_INVALID: 'an ACL rule set is malformed or over a limit; the message names the rule and the field',
  ERR_ACL_DENIED: 'the ACL refused the tx: the first matching rule denies it, or no rule matches'
} as const

export type AclErrorCode = keyof typeof aclErrorCodes

/** Base of the ACL errors: `code` is what a tx's receipt records. */
export abstract class AclError extends Error {
  abstract readonly code: AclErrorCode
}

export class AclInvalidError extends AclError {
  override readonly name = 'AclInvalidError'
  readonly code = 'ERR_ACL_INVALID'
}

export class AclDeniedError extends AclError {
  override readonly name = 'AclDeniedError'
  readonly code = 'ERR_ACL_DENIED'
  /** The DENY rule that decided, or undefined when no rule matched. */
  readonly ruleId: string | undefined

  constructor(ruleId: string | undefined, message: string) {
    super(message)
    this.ruleId = ruleId
  }
}
