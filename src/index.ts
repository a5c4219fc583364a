/**
 * tom-node as a library: `import { TomNode } from 'tom-node'`. The polyfill comes first so that
 * libp2p, loaded later by the node, finds Promise.withResolvers on Node 20.
 */
import './polyfills.js'
export * from './crypto/index.js'
export * from './ledger/index.js'
export * from './contracts/index.js'
export * from './node/index.js'
export { TomClient, TxBuilder, ApiError, createApiServer, type ApiNode, type ApiServer, type ApiServerOptions, type TomClientOptions } from './api/index.js'
export * from './errors.js'
