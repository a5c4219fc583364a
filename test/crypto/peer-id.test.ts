import t from 'tap'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { bytesEqual, keyPairFromSeed, peerIdOf, toHex } from '../../src/crypto/index.js'
import { SeededRandom } from './seeded-random.js'

t.test('peerIdOf equals libp2p\'s own derivation for the same seed', async (t) => {
  const seed = 0x11b2
  const random = new SeededRandom(seed)
  const seeds = [new Uint8Array(32), new Uint8Array(32).fill(0xff)]
  for (let i = 0; i < 100; i++) seeds.push(random.bytes(32))
  for (const [i, privateKey] of seeds.entries()) {
    const ours = keyPairFromSeed(privateKey)
    const theirs = await generateKeyPairFromSeed('Ed25519', privateKey)
    const where = `seed ${seed} key ${i} (${toHex(privateKey)})`
    if (!bytesEqual(theirs.publicKey.raw, ours.publicKey)) {
      t.fail(`${where}: libp2p derives another public key`)
      return
    }
    const expected = peerIdFromPrivateKey(theirs).toString()
    if (peerIdOf(ours.publicKey) !== expected) {
      t.equal(peerIdOf(ours.publicKey), expected, where)
      return
    }
  }
  t.pass(`${seeds.length} keys give libp2p's PeerId (seed ${seed})`)
})

t.test('a PeerId parses back to its public key', async (t) => {
  const keys = keyPairFromSeed(new Uint8Array(32).fill(9))
  const id = peerIdOf(keys.publicKey)
  t.match(id, /^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$/, 'an Ed25519 PeerId in base58btc')
  const parsed = peerIdFromString(id)
  t.equal(parsed.type, 'Ed25519')
  t.equal(toHex(parsed.publicKey?.raw ?? new Uint8Array(0)), toHex(keys.publicKey))
  t.equal(peerIdOf(keys.publicKey), id, 'the same key gives the same id')
  t.not(peerIdOf(keyPairFromSeed(new Uint8Array(32).fill(10)).publicKey), id)
})

t.test('peerIdOf refuses a key of the wrong length', async (t) => {
  for (const length of [0, 31, 33, 36]) t.throws(() => peerIdOf(new Uint8Array(length)), TypeError, `${length} bytes`)
})
