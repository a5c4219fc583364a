/** WorkerVerifier answers exactly as the inline verifier, in order, for batches and single checks. */
import t from 'tap'
import { generateKeyPair, isUsablePublicKey, Signer, WorkerVerifier, inlineVerifier, packChecks, verifyPacked } from '../../src/crypto/index.js'
import type { SignatureCheck } from '../../src/crypto/index.js'

/** The identity point as a public key (small order), and the signature (R = identity, S = 0) that OpenSSL accepts under it for any message. */
const identityKey = Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 1 : 0))
const forgedSignature = Uint8Array.from({ length: 64 }, (_, i) => (i === 0 ? 1 : 0))

function checks(count: number): SignatureCheck[] {
  const signers = [0, 1, 2].map(() => new Signer(generateKeyPair()))
  const out: SignatureCheck[] = []
  for (let i = 0; i < count; i++) {
    const signer = signers[i % 3]!
    const message = new TextEncoder().encode(`message ${i}`.repeat(1 + (i % 5)))
    const signature = signer.sign(message)
    if (i % 7 === 3) signature[i % 64]! ^= 1 // bad signature
    if (i % 17 === 8) out.push({ signature: forgedSignature, message, publicKey: identityKey }) // OpenSSL alone would accept it
    else if (i % 11 === 5) out.push({ signature, message, publicKey: signer.publicKey.subarray(0, 31) }) // wrong key length
    else if (i % 19 === 9) out.push({ signature: signature.subarray(1), message, publicKey: signer.publicKey }) // wrong signature length
    else if (i % 13 === 6) out.push({ signature, message: message.subarray(1), publicKey: signer.publicKey }) // other message
    else out.push({ signature, message, publicKey: signer.publicKey })
  }
  return out
}

t.test('batches give the same answers as inline verification, in order', async (t) => {
  const verifier = new WorkerVerifier({ workers: 2 })
  t.teardown(() => verifier.close())
  for (const n of [0, 1, 31, 32, 33, 100, 501]) {
    const c = checks(n)
    const expected = await inlineVerifier.verifyMany(c)
    t.same(await verifier.verifyMany(c), expected, `${n} checks`)
    if (n > 20) t.ok(expected.includes(false) && expected.includes(true), 'the set mixes good and bad')
  }
})

t.test('single checks gathered in one turn are answered each in turn', async (t) => {
  const verifier = new WorkerVerifier({ workers: 1 })
  t.teardown(() => verifier.close())
  const c = checks(700)
  const answers = await Promise.all(c.map((check) => verifier.verify(check)))
  t.same(answers, await inlineVerifier.verifyMany(c))
})

t.test('the packed form round-trips the checks it may carry, and refuses the others', async (t) => {
  const all = checks(100)
  const c = all.filter((check) => check.signature.length === 64 && isUsablePublicKey(check.publicKey))
  t.ok(c.length < all.length && c.length > 50, 'some checks are filtered out')
  t.same(Array.from(verifyPacked(packChecks(c)), (v) => v === 1), await inlineVerifier.verifyMany(c))
  t.throws(() => packChecks([{ signature: forgedSignature, message: new Uint8Array(1), publicKey: identityKey.subarray(1) }]), RangeError)
})

t.test('a small-order key is refused on every path, although OpenSSL alone accepts the forgery', async (t) => {
  const forged = { signature: forgedSignature, message: new TextEncoder().encode('anything'), publicKey: identityKey }
  t.equal(verifyPacked(packChecks([forged]))[0], 1, 'the worker side trusts its caller: OpenSSL accepts it')
  t.notOk(isUsablePublicKey(identityKey))
  t.same(await inlineVerifier.verifyMany([forged]), [false])
  const verifier = new WorkerVerifier({ workers: 1 })
  t.teardown(() => verifier.close())
  t.same(await verifier.verifyMany(Array.from({ length: 40 }, () => forged)), Array.from({ length: 40 }, () => false))
})
