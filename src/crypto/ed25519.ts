/**
 * Ed25519 signatures, two implementations with identical output:
 * - native (`node:crypto`, OpenSSL): about 13x faster here; the path every node uses, so that all
 *   nodes apply one verification rule (consensus must never depend on which library a node has);
 * - portable (`@noble/curves`, pure JS, RFC 8032 strict mode rather than ZIP-215), for tools and
 *   runtimes without OpenSSL's Ed25519, and as a cross-check in tests.
 * Keys are the 32-byte seed (private) and the 32-byte encoded point (public), as in RFC 8032 and libp2p.
 */
import { createPublicKey, randomBytes, sign as nodeSign, verify as nodeVerify } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { ed25519 } from '@noble/curves/ed25519.js'
import { NativePublicKeys, nativePrivateKey } from './native-keys.js'

export const publicKeyBytes = 32
export const privateKeyBytes = 32
export const signatureBytes = 64

export interface KeyPair {
  /** The 32-byte seed. Never log it. */
  readonly privateKey: Uint8Array
  readonly publicKey: Uint8Array
}

export function generateKeyPair(): KeyPair {
  return keyPairFromSeed(new Uint8Array(randomBytes(privateKeyBytes)))
}

export function keyPairFromSeed(seed: Uint8Array): KeyPair {
  if (seed.length !== privateKeyBytes) throw new TypeError(`an Ed25519 seed is ${privateKeyBytes} bytes`)
  const jwk = createPublicKey(nativePrivateKey(seed)).export({ format: 'jwk' })
  return { privateKey: Uint8Array.from(seed), publicKey: new Uint8Array(Buffer.from(jwk.x as string, 'base64url')) }
}

/**
 * A public key that no seed produces: a non-canonical encoding or a point of small order. OpenSSL
 * accepts such keys (RFC 8032 allows it), and with a small-order key anyone can forge a signature
 * (R a small-order point, S = 0). noble's strict mode (the portable path) refuses them; so does the
 * native path, here.
 */
function isWeakPublicKey(publicKey: Uint8Array): boolean {
  try {
    return ed25519.Point.fromBytes(publicKey, false).isSmallOrder()
  } catch {
    return true
  }
}

/**
 * Strong public keys: checked once per key, on a cache miss; `get` throws for a weak or malformed
 * key, which so never enters the cache.
 */
const strongKeys = new NativePublicKeys((publicKey) => {
  if (isWeakPublicKey(publicKey)) throw new TypeError('weak Ed25519 public key')
})

/**
 * Whether `verify` could ever accept a signature under this key: 32 bytes, not weak, parsed by
 * OpenSSL. Cached with the parsed key. The signature workers verify only checks that pass it.
 */
export function isUsablePublicKey(publicKey: Uint8Array): boolean {
  if (publicKey.length !== publicKeyBytes) return false
  try {
    strongKeys.get(publicKey)
    return true
  } catch {
    return false
  }
}

/** Signs with a key parsed once; use it for a node or client that signs many messages. */
export class Signer {
  readonly publicKey: Uint8Array
  readonly #key: KeyObject

  constructor(keys: KeyPair) {
    this.publicKey = keys.publicKey
    this.#key = nativePrivateKey(keys.privateKey)
  }

  sign(message: Uint8Array): Uint8Array {
    return new Uint8Array(nodeSign(null, message, this.#key))
  }
}

export function sign(message: Uint8Array, privateKey: Uint8Array): Uint8Array {
  return new Uint8Array(nodeSign(null, message, nativePrivateKey(privateKey)))
}

/**
 * Native verification. Returns false (never throws) for a malformed or weak key or signature.
 * OpenSSL checks [S]B = R + [k]A (cofactorless) where noble checks it multiplied by 8, so the two
 * can disagree on a signature that a key's holder crafts with a torsion component (RFC 8032 allows
 * both); native is never the more lenient. Consensus must use this function only.
 */
export function verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== signatureBytes || publicKey.length !== publicKeyBytes) return false
  try {
    return nodeVerify(null, message, strongKeys.get(publicKey), signature)
  } catch {
    return false // a weak key, or one OpenSSL refuses to parse
  }
}

/** The portable implementation (`@noble/curves`). */
export const portable = {
  publicKey(seed: Uint8Array): Uint8Array {
    return ed25519.getPublicKey(seed)
  },
  sign(message: Uint8Array, privateKey: Uint8Array): Uint8Array {
    return ed25519.sign(message, privateKey)
  },
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
    if (signature.length !== signatureBytes || publicKey.length !== publicKeyBytes) return false
    try {
      return ed25519.verify(signature, message, publicKey, { zip215: false })
    } catch {
      return false
    }
  }
}
