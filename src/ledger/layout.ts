/**
 * Where the ledger keeps what in its KvStore. One byte of prefix per record kind; heights are 8-byte
 * big-endian so that byte order is height order.
 *
 *   B height            -> block bytes
 *   H block hash        -> height
 *   R height            -> receipts of the block (CBOR array, in tx order)
 *   T tx id             -> [height, index, signer, ok] of the tx's first inclusion
 *   S key               -> current value of a world-state key
 *   V key 0x00 height   -> 0x01 value | 0x00 (deleted): the value the key took at that height
 *   P key               -> a provenance index record (see provenance.ts)
 *   M "head"            -> { height, hash, time, stateDigest } of the last applied block
 *   M "network"         -> the network id (genesis block hash)
 *   M "format"          -> ledgerFormat (CBOR integer): how everything here is laid out
 */
import { asUint8Array, concatBytes } from '../crypto/index.js'

const enc = new TextEncoder()

/** The prefix byte followed by the key's UTF-8: one Buffer.from, several times cheaper than TextEncoder plus a copy. */
function prefixed(prefixByte: number, key: string): Uint8Array {
  return asUint8Array(Buffer.from(String.fromCharCode(prefixByte) + key, 'utf8'))
}

export const prefix = {
  block: 0x42, // B
  blockHash: 0x48, // H
  receipts: 0x52, // R
  tx: 0x54, // T
  state: 0x53, // S
  version: 0x56, // V
  prov: 0x50, // P
  meta: 0x4d // M
} as const

export function heightBytes(height: number): Uint8Array {
  const b = new Uint8Array(8)
  new DataView(b.buffer).setBigUint64(0, BigInt(height))
  return b
}

export function readHeight(bytes: Uint8Array, offset = 0): number {
  return Number(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(offset))
}

export const layout = {
  block: (height: number): Uint8Array => concatBytes(Uint8Array.of(prefix.block), heightBytes(height)),
  blockHash: (hash: Uint8Array): Uint8Array => concatBytes(Uint8Array.of(prefix.blockHash), hash),
  receipts: (height: number): Uint8Array => concatBytes(Uint8Array.of(prefix.receipts), heightBytes(height)),
  tx: (id: Uint8Array): Uint8Array => concatBytes(Uint8Array.of(prefix.tx), id),
  state: (key: string): Uint8Array => prefixed(prefix.state, key),
  version: (key: string, height: number): Uint8Array =>
    concatBytes(Uint8Array.of(prefix.version), enc.encode(key), Uint8Array.of(0), heightBytes(height)),
  prov: (key: string): Uint8Array => prefixed(prefix.prov, key),
  head: concatBytes(Uint8Array.of(prefix.meta), enc.encode('head')),
  network: concatBytes(Uint8Array.of(prefix.meta), enc.encode('network')),
  format: concatBytes(Uint8Array.of(prefix.meta), enc.encode('format'))
}
