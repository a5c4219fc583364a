/** The HTTP API server and the TomClient SDK. */
export * from './constants.js'
export * from './errors.js'
export * from './wire.js'
export * from './openapi.js'
export * from './server.js'
export * from './client.js'
export type { NodeEvent } from './event-reader.js'
