/**
 * The error codes of src/prov: constraint violations found when PROV records are applied, and
 * malformed names, literals or documents. The lead lists them in src/errors.ts and docs/errors.md.
 */

/** Why PROV records were refused by the PROV-CONSTRAINTS checks (see constraints.ts). */
export const provConstraintCodes = {
  ERR_PROV_UNKNOWN_ID: 'a relation names an id that was never declared',
  ERR_PROV_WRONG_KIND: 'a relation names an id of another kind than its argument requires',
  ERR_PROV_KIND_CONFLICT: 'an id is asserted with a second, incompatible kind',
  ERR_PROV_ENTITY_ACTIVITY_DISJOINT: 'an id is asserted both as an entity and as an activity',
  ERR_PROV_DUPLICATE_RELATION: 'a relation id is asserted a second time',
  ERR_PROV_DOUBLE_GENERATION: 'an entity is generated a second time',
  ERR_PROV_DOUBLE_INVALIDATION: 'an entity is invalidated a second time',
  ERR_PROV_USE_BEFORE_GENERATION: 'an entity is generated after it was used or derived from',
  ERR_PROV_DERIVATION_BEFORE_GENERATION: 'an entity is derived from one generated after it',
  ERR_PROV_AFTER_INVALIDATION: 'an entity is generated, used or derived after its invalidation'
} as const
export type ProvConstraintCode = keyof typeof provConstraintCodes

/** Why a PROV document, name or literal was refused by a builder, serialiser or parser. */
export const provFormatCodes = {
  ERR_PROV_INVALID_NAME: 'not a qualified name, or its prefix is not declared',
  ERR_PROV_INVALID_LITERAL: 'a literal or time does not fit its type',
  ERR_PROV_INVALID_ATTRIBUTE: 'an attribute name is reserved by PROV (only prov:type, label, location, role, value are allowed)',
  ERR_PROV_DUPLICATE_ID: 'an id is declared twice in one document or bundle',
  ERR_PROV_PARSE: 'the text is not PROV-JSON, PROV-N or Turtle that this module reads',
  ERR_PROV_QUERY_LIMIT: 'a lineage query asks for a depth or result count beyond its limit'
} as const
export type ProvFormatCode = keyof typeof provFormatCodes

/** Every code of src/prov, for src/errors.ts. */
export const provErrorCodes = { ...provConstraintCodes, ...provFormatCodes } as const
export type ProvErrorCode = keyof typeof provErrorCodes

/** Records that break a PROV constraint; the tx asserting them fails with `code`. */
export class ProvConstraintError extends Error {
  override readonly name = 'ProvConstraintError'
  constructor(
    readonly code: ProvConstraintCode,
    message: string
  ) {
    super(message)
  }
}

/** A malformed name, literal, document or query. */
export class ProvFormatError extends Error {
  override readonly name = 'ProvFormatError'
  constructor(
    readonly code: ProvFormatCode,
    message: string
  ) {
    super(message)
  }
}
