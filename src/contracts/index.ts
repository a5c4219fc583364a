/** Contracts: what each tx type does to the world state. */
export * from './core.js'
export * from './errors.js'
export * from './prov-ids.js'
export * from './processor.js'
export * from './actions.js'
export * from './deployed.js'
export * from './acl.js'
export * from './tom/index.js'
