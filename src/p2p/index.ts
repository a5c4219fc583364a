/**
 * The p2p module: a libp2p host (TCP + Noise + Yamux) behind the P2pNode interface, with an allow-list
 * connection gater and TOM's wire protocols. Only this folder imports libp2p.
 */
export { createP2pNode } from './p2p-node.js'
export { protocols } from './types.js'
export type { P2pNode, P2pNodeOptions, RequestProtocol } from './types.js'
export * from './errors.js'
export * as p2pLimits from './constants.js'
