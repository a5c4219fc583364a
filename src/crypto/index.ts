/** Keys, signatures, hashes, Merkle trees and the deterministic encoding. Imports nothing of ours. */
export * from './bytes.js'
export * from './cbor.js'
export * from './hash.js'
export * from './merkle.js'
export * from './ed25519.js'
export * from './key-file.js'
export * from './peer-id.js'
export * from './errors.js'
