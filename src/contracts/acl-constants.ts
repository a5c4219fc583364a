/**
 * Limits of the ACL engine (src/contracts/acl.ts). They bound what one admin-signed rule set may cost
 * every node on every tx: the number of rules scanned, and the size and nesting of each condition,
 * which is parsed once when the rules are set and then walked per request.
 * (Kept beside acl.ts rather than in a shared constants file so that the ACL can land on its own.)
 */

/** Most rules one rule set may hold. */
export const aclRulesMax = 256
/** Longest condition expression (UTF-16 code units, as JavaScript counts string length). */
export const aclConditionLengthMax = 512
/**
 * Deepest condition tree: a field or literal is one level, and each `!`, comparison, `in`, and run of
 * `&&` or `||` adds one over its deepest operand (`a == 1 && b == 2 && c == 3` is 3). Parentheses add
 * nothing to the tree, but no more than this many may be open at once either.
 */
export const aclConditionDepthMax = 32
/** Most fields after the root of a path (`tx.payload.a.b` has 3). */
export const aclPathFieldsMax = 8
/** Longest rule id; longest description; longest resource pattern; longest organisation name. */
export const aclRuleIdLengthMax = 64
export const aclDescriptionLengthMax = 256
export const aclResourceLengthMax = 256
export const aclOrgLengthMax = 64
