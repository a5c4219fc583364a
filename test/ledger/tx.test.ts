/** The tx format: signing, ids, the canonical encoding, every refusal of decodeTx, expiry and network checks. */
import t from 'tap'
import { concatBytes, decode, encode, keyPairFromSeed, portable, sha256, Signer, verify } from '../../src/crypto/index.js'
import type { CborValue } from '../../src/crypto/index.js'
import {
  checkTxExpiry,
  checkTxNetwork,
  decodeTx,
  genesisNetwork,
  signTx,
  txBytesMax,
  txId,
  txTtlMaxMs,
  txTypeBytesMax,
  verifyTxSignature
} from '../../src/ledger/index.js'
import type { Tx, TxBody } from '../../src/ledger/index.js'
import { makeNetwork } from './chain-fixture.js'

const alice = new Signer(keyPairFromSeed(new Uint8Array(32).fill(1)))
const bob = new Signer(keyPairFromSeed(new Uint8Array(32).fill(2)))
const network = new Uint8Array(32).fill(0x5a)
const now = 1_700_000_000_000

function body(fields: Partial<TxBody> = {}): TxBody {
  return { network, type: 'data.add', signer: alice.publicKey, nonce: 1, expiresAt: now + 60_000, payload: { id: 'd1', hash: new Uint8Array(32).fill(7) }, ...fields }
}

/** mulberry32: a seeded generator, so that a failure replays from its seed. */
function seeded(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 15), z | 1)
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61)
    return (z ^ (z >>> 14)) >>> 0
  }
}

function randomValue(next: () => number, depth: number): CborValue {
  const below = (n: number): number => next() % n
  switch (below(depth > 2 ? 7 : 9)) {
    case 0:
      return null
    case 1:
      return below(2) === 0
    case 2: {
      const magnitudes = [24, 256, 65_536, 2 ** 32, Number.MAX_SAFE_INTEGER]
      const n = Math.floor((next() / 2 ** 32) * magnitudes[below(magnitudes.length)]!)
      return below(3) === 0 ? -n - 1 : n
    }
    case 3:
      return [0.5, 1.5, -2.25, 3.14159, 1e300, 65504.0, 100000.5][below(7)]!
    case 4: {
      const alphabet = ['a', 'Z', '0', ' ', 'é', '漢', '😀', '\n', 'ß']
      let s = ''
      for (let i = below(40); i > 0; i--) s += alphabet[below(alphabet.length)]
      return s
    }
    case 5: {
      const b = new Uint8Array([0, 1, 23, 24, 255, 256, 1000][below(7)]!)
      for (let i = 0; i < b.length; i++) b[i] = next() & 0xff
      return b
    }
    case 6:
      return BigInt(Number.MAX_SAFE_INTEGER) + BigInt(1 + below(1_000_000)) * (below(2) === 0 ? 1n : 1000n)
    case 7: {
      const out: CborValue[] = []
      for (let i = below(6); i > 0; i--) out.push(randomValue(next, depth + 1))
      return out
    }
    default: {
      const out: Record<string, CborValue> = {}
      for (let i = below(6); i > 0; i--) out[`k${below(30)}${'x'.repeat(below(3))}`] = randomValue(next, depth + 1)
      return out
    }
  }
}

/** The 7 fields of a tx as decoded CBOR, to edit and re-encode. */
function rawFields(tx: Tx): Record<string, unknown> {
  return decode<Record<string, unknown>>(tx.bytes)
}

/** A CBOR map written by hand with its entries in the given order (no sorting). */
function handMap(entries: [string, unknown][]): Uint8Array {
  if (entries.length > 23) throw new RangeError('short maps only')
  return concatBytes(Uint8Array.of(0xa0 + entries.length), ...entries.flatMap(([k, v]) => [encode(k), encode(v)]))
}

t.test('signTx and decodeTx round trip', async (t) => {
  const signed = signTx(body(), alice)
  const again = decodeTx(signed.bytes)
  t.same(again.id, signed.id)
  t.same(again.bytes, signed.bytes)
  t.same(again.sig, signed.sig)
  for (const k of ['network', 'type', 'signer', 'nonce', 'expiresAt', 'payload'] as const) t.same(again[k], body()[k], k)
  t.ok(Object.isFrozen(again), 'a decoded tx is frozen')
  t.same(encode(again.payload), encode(body().payload))
  t.doesNotThrow(() => verifyTxSignature(again))
})

t.test('the id is SHA-256 of the body encoding and the signature covers the id', async (t) => {
  const b = body({ nonce: 42 })
  const signed = signTx(b, alice)
  const bodyBytes = encode({ network: b.network, type: b.type, signer: b.signer, nonce: b.nonce, expiresAt: b.expiresAt, payload: b.payload })
  t.same(signed.id, sha256(bodyBytes))
  t.same(txId(b), signed.id)
  t.ok(verify(signed.sig, signed.id, alice.publicKey), 'native verify over the id')
  t.ok(portable.verify(signed.sig, signed.id, alice.publicKey), 'portable verify over the id')
  t.notOk(verify(signed.sig, bodyBytes, alice.publicKey), 'the signature is over the id, not the body bytes')
  t.notOk(verify(signed.sig, signed.id, bob.publicKey))
  const decodedWhole = decode<Record<string, unknown>>(signed.bytes)
  t.same(Object.keys(decodedWhole).sort(), ['expiresAt', 'network', 'nonce', 'payload', 'sig', 'signer', 'type'])
  t.same(signed.bytes, encode({ ...b, sig: signed.sig }), 'the stored form is the canonical encoding of body and sig')
  t.notSame(signTx(body({ nonce: 43 }), alice).id, signed.id, 'the nonce makes equal txs distinct')
})

t.test('the fast body-bytes path agrees with encoding the body, for varied txs', async (t) => {
  const seed = 0x7a11e5
  const next = seeded(seed)
  const types = ['data.add', 'a', 'node.add', 'x-y.z-1.w', 'org.create']
  let checked = 0
  for (let i = 0; i < 400; i++) {
    const b: TxBody = {
      network: i % 7 === 0 ? genesisNetwork : sha256(Uint8Array.of(i & 0xff, i >> 8)),
      type: types[next() % types.length]!,
      signer: i % 2 === 0 ? alice.publicKey : bob.publicKey,
      nonce: [0, 23, 24, 255, 256, 65_535, 65_536, 2 ** 32, Number.MAX_SAFE_INTEGER][next() % 9]!,
      expiresAt: 1 + (next() % 2 ** 31) * 1000,
      payload: randomValue(next, 0)
    }
    let signed: Tx
    try {
      signed = signTx(b, i % 2 === 0 ? alice : bob)
    } catch (err) {
      t.fail(`seed ${seed} tx ${i}: signTx threw ${(err as Error).message}`)
      continue
    }
    const { network: n, type, signer, nonce, expiresAt, payload } = b
    const expected = sha256(encode({ network: n, type, signer, nonce, expiresAt, payload }))
    if (!Buffer.from(signed.id).equals(expected) || !Buffer.from(decodeTx(signed.bytes).id).equals(expected)) {
      t.fail(`seed ${seed} tx ${i}: id from the fast path differs from SHA-256 of the body encoding`)
    } else checked++
  }
  t.equal(checked, 400, `all ids agree (seed ${seed})`)
})

t.test('ERR_TX_TOO_LARGE above 64 KiB, and exactly 64 KiB is fine', async (t) => {
  t.equal(txBytesMax, 64 * 1024)
  const sized = (payloadBytes: number): Tx | Error => {
    try {
      return signTx(body({ payload: new Uint8Array(payloadBytes) }), alice)
    } catch (err) {
      return err as Error
    }
  }
  const small = sized(0) as Tx
  let n = txBytesMax - small.bytes.length - 2 // the byte string header grows by 2 bytes past 255
  let exact = sized(n)
  if (!(exact instanceof Error) && exact.bytes.length !== txBytesMax) n += txBytesMax - exact.bytes.length
  exact = sized(n)
  t.notOk(exact instanceof Error, 'a tx of exactly txBytesMax bytes is accepted')
  if (!(exact instanceof Error)) {
    t.equal(exact.bytes.length, txBytesMax)
    t.equal(decodeTx(exact.bytes).bytes.length, txBytesMax)
  }
  t.throws(() => signTx(body({ payload: new Uint8Array(n + 1) }), alice), { name: 'TxRejectedError', code: 'ERR_TX_TOO_LARGE' }, 'signTx refuses it')
  t.throws(() => decodeTx(new Uint8Array(txBytesMax + 1)), { code: 'ERR_TX_TOO_LARGE' }, 'size is checked before parsing')
  const big = encode({ ...rawFields(small), payload: new Uint8Array(txBytesMax) })
  t.throws(() => decodeTx(big), { code: 'ERR_TX_TOO_LARGE' })
})

t.test('ERR_TX_MALFORMED for bad encodings', async (t) => {
  const good = signTx(body(), alice)
  const raw = rawFields(good)
  const sorted = Object.entries(raw).sort(([a], [b]) => a.length - b.length || (a < b ? -1 : 1))
  t.same(handMap(sorted), good.bytes, 'control: the hand-built map in canonical order is the tx')
  const cases: [string, Uint8Array][] = [
    ['empty input', new Uint8Array(0)],
    ['not CBOR (reserved initial byte)', Uint8Array.of(0xfc)],
    ['not CBOR (truncated)', good.bytes.subarray(0, good.bytes.length - 1)],
    ['not CBOR (text)', new TextEncoder().encode('{"type":"data.add"}')],
    ['trailing bytes', concatBytes(good.bytes, Uint8Array.of(0))],
    ['two txs back to back', concatBytes(good.bytes, good.bytes)],
    ['map keys out of order', handMap([...sorted].reverse())],
    ['sig last instead of first', handMap([...sorted.slice(1), sorted[0]!])],
    ['indefinite-length map', concatBytes(Uint8Array.of(0xbf), ...sorted.flatMap(([k, v]) => [encode(k), encode(v)]), Uint8Array.of(0xff))],
    ['duplicate key', concatBytes(Uint8Array.of(0xa8), ...sorted.flatMap(([k, v]) => [encode(k), encode(v)]), encode('sig'), encode(raw.sig))]
  ]
  // nonce 1 written as a 9-byte integer: valid CBOR, not the shortest form.
  const nonceIndex = sorted.findIndex(([k]) => k === 'nonce')
  const longNonce = concatBytes(
    Uint8Array.of(0xa7),
    ...sorted.flatMap(([k, v], i) => [encode(k), i === nonceIndex ? Uint8Array.of(0x1b, 0, 0, 0, 0, 0, 0, 0, 1) : encode(v)])
  )
  cases.push(['nonce in a non-shortest integer form', longNonce])
  for (const [name, bytes] of cases) t.throws(() => decodeTx(bytes), { name: 'TxRejectedError', code: 'ERR_TX_MALFORMED' }, name)
})

t.test('ERR_TX_MALFORMED for a wrong shape or a field of the wrong type or size', async (t) => {
  const good = signTx(body(), alice)
  const raw = rawFields(good)
  t.doesNotThrow(() => decodeTx(encode(raw)), 'control: re-encoding the decoded fields gives a valid tx')
  const without = (k: string): Record<string, unknown> => {
    const copy = { ...raw }
    delete copy[k]
    return copy
  }
  const cases: [string, unknown][] = [
    ['an array', [raw.network, raw.type]],
    ['a byte string', good.bytes],
    ['a string', 'tx'],
    ['a number', 7],
    ['null', null],
    ['an empty map', {}],
    ...['network', 'type', 'signer', 'nonce', 'expiresAt', 'payload', 'sig'].map((k): [string, unknown] => [`missing ${k}`, without(k)]),
    ['an extra field', { ...raw, extra: 1 }],
    ['an extra field instead of payload', { ...without('payload'), payloads: {} }],
    ['network 31 bytes', { ...raw, network: new Uint8Array(31) }],
    ['network 33 bytes', { ...raw, network: new Uint8Array(33) }],
    ['network a string', { ...raw, network: 'a'.repeat(32) }],
    ['type with upper case', { ...raw, type: 'Data.add' }],
    ['type too long', { ...raw, type: 'a'.repeat(txTypeBytesMax + 1) }],
    ['type empty', { ...raw, type: '' }],
    ['type with an empty segment', { ...raw, type: 'data..add' }],
    ['type starting with a digit', { ...raw, type: '1data' }],
    ['type not a string', { ...raw, type: 5 }],
    ['signer 31 bytes', { ...raw, signer: new Uint8Array(31) }],
    ['signer a string', { ...raw, signer: 'alice' }],
    ['nonce negative', { ...raw, nonce: -1 }],
    ['nonce fractional', { ...raw, nonce: 1.5 }],
    ['nonce beyond the safe integers', { ...raw, nonce: 2n ** 53n }],
    ['nonce a string', { ...raw, nonce: '1' }],
    ['expiresAt 0', { ...raw, expiresAt: 0 }],
    ['expiresAt negative', { ...raw, expiresAt: -5 }],
    ['expiresAt fractional', { ...raw, expiresAt: now + 0.5 }],
    ['expiresAt null', { ...raw, expiresAt: null }],
    ['sig 63 bytes', { ...raw, sig: new Uint8Array(63) }],
    ['sig 65 bytes', { ...raw, sig: new Uint8Array(65) }],
    ['sig an array', { ...raw, sig: [] }]
  ]
  for (const [name, value] of cases) t.throws(() => decodeTx(encode(value)), { name: 'TxRejectedError', code: 'ERR_TX_MALFORMED' }, name)
  t.doesNotThrow(() => decodeTx(encode({ ...raw, type: 'a'.repeat(txTypeBytesMax) })), 'a type of exactly txTypeBytesMax is fine')
  t.doesNotThrow(() => decodeTx(encode({ ...raw, nonce: 0 })), 'nonce 0 is fine')
  t.doesNotThrow(() => decodeTx(encode({ ...raw, expiresAt: 1 })), 'expiresAt 1 is fine')
  t.doesNotThrow(() => decodeTx(encode({ ...raw, payload: null })), 'any payload value is fine')
})

t.test('signTx refuses a body whose signer is not the signing key, or a malformed body', async (t) => {
  t.throws(() => signTx(body({ signer: bob.publicKey }), alice), TypeError)
  t.throws(() => signTx(body({ type: 'Bad' }), alice), { code: 'ERR_TX_MALFORMED' })
  t.throws(() => signTx(body({ nonce: -1 }), alice), { code: 'ERR_TX_MALFORMED' })
  t.throws(() => signTx(body({ network: new Uint8Array(31) }), alice), { code: 'ERR_TX_MALFORMED' })
})

t.test('verifyTxSignature: ERR_TX_BAD_SIGNATURE for a changed sig or body', async (t) => {
  const good = signTx(body(), alice)
  const badSig = rawFields(good)
  ;(badSig.sig as Uint8Array)[3]! ^= 0x10
  t.throws(() => verifyTxSignature(decodeTx(encode(badSig))), { name: 'TxRejectedError', code: 'ERR_TX_BAD_SIGNATURE' })
  const otherBody = { ...rawFields(good), nonce: 2 }
  t.throws(() => verifyTxSignature(decodeTx(encode(otherBody))), { code: 'ERR_TX_BAD_SIGNATURE' })
  const otherSigner = { ...rawFields(good), signer: bob.publicKey }
  t.throws(() => verifyTxSignature(decodeTx(encode(otherSigner))), { code: 'ERR_TX_BAD_SIGNATURE' })
  t.doesNotThrow(() => verifyTxSignature(decodeTx(good.bytes)))
})

t.test('checkTxExpiry: ERR_TX_EXPIRED and ERR_TX_EXPIRY_TOO_FAR at their boundaries', async (t) => {
  const at = (expiresAt: number): Tx => signTx(body({ expiresAt }), alice)
  t.doesNotThrow(() => checkTxExpiry(at(now), now), 'expiring right now is still valid')
  t.throws(() => checkTxExpiry(at(now - 1), now), { name: 'TxRejectedError', code: 'ERR_TX_EXPIRED' })
  t.throws(() => checkTxExpiry(at(1), now), { code: 'ERR_TX_EXPIRED' })
  t.doesNotThrow(() => checkTxExpiry(at(now + txTtlMaxMs), now), 'exactly txTtlMaxMs ahead is allowed')
  t.throws(() => checkTxExpiry(at(now + txTtlMaxMs + 1), now), { name: 'TxRejectedError', code: 'ERR_TX_EXPIRY_TOO_FAR' })
})

t.test('checkTxNetwork: ERR_TX_WRONG_NETWORK; genesis txs carry the all-zero network', async (t) => {
  const signed = signTx(body(), alice)
  t.doesNotThrow(() => checkTxNetwork(signed, network, 1))
  t.doesNotThrow(() => checkTxNetwork(signed, network, 1234))
  t.throws(() => checkTxNetwork(signed, new Uint8Array(32).fill(0x5b), 1), { name: 'TxRejectedError', code: 'ERR_TX_WRONG_NETWORK' })
  t.throws(() => checkTxNetwork(signed, network, 0), { code: 'ERR_TX_WRONG_NETWORK' }, 'at height 0 only the zero network is valid')

  t.same(genesisNetwork, new Uint8Array(32))
  const net = makeNetwork()
  t.equal(net.genesis.txs.length, 3)
  for (const gtx of net.genesis.txs) {
    t.same(gtx.network, new Uint8Array(32), `${gtx.type} names the all-zero network`)
    t.doesNotThrow(() => checkTxNetwork(gtx, net.genesis.hash, 0))
    t.throws(() => checkTxNetwork(gtx, net.genesis.hash, 1), { code: 'ERR_TX_WRONG_NETWORK' }, 'a genesis tx is not valid later')
  }
  const zero = signTx(body({ network: genesisNetwork }), alice)
  t.throws(() => checkTxNetwork(zero, network, 5), { code: 'ERR_TX_WRONG_NETWORK' })
})
