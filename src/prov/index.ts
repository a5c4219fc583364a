/**
 * Provenance: the PROV-DM model, the PROV-CONSTRAINTS checks applied with each tx, PROV-JSON,
 * PROV-N and PROV-O (Turtle) in both directions, and lineage queries. Pure: no I/O; the ledger
 * supplies the indexes (ProvIndex, LineageIndex) over its store.
 */
export * from './errors.js'
export * from './constants.js'
export * from './model.js'
export * from './constraints.js'
export * from './lineage.js'
export * from './prov-json.js'
export * from './prov-n.js'
export * from './turtle.js'
