/** Contracts: what each tx type does to the world state. */
export * from './core.js'
export * from './errors.js'
