/** The block format: sealing, decoding, every refusal of decodeBlock, the proposer signature and the header hash. */
import t from 'tap'
import { concatBytes, decode, encode, keyPairFromSeed, merkleRoot, sha256, Signer } from '../../src/crypto/index.js'
import { blockBytesMax, blockHash, blockTxMax, decodeBlock, sealBlock, txBytesMax, verifyBlockSignature, zeroHash } from '../../src/ledger/index.js'
import type { Block, BlockHeader, Tx } from '../../src/ledger/index.js'
import { dataTx, makeNetwork } from './chain-fixture.js'

const net = makeNetwork()
const network = net.genesis.hash
const txs: Tx[] = Array.from({ length: 5 }, (_, i) => dataTx(network, net.admin, `b${i}`))
const stateRoot = sha256(Uint8Array.of(1, 2, 3))

function seal(edit: Partial<Parameters<typeof sealBlock>[0]> = {}, proposer: Signer = net.node): Block {
  return sealBlock({ height: 1, prevHash: net.genesis.hash, time: 1_700_000_001_000, stateRoot, raftTerm: 3, raftIndex: 7, txs, ...edit }, proposer)
}

interface RawBlock {
  header: Record<string, unknown>
  txs: unknown[]
  sig: Uint8Array
  [extra: string]: unknown
}

function raw(block: Block): RawBlock {
  return decode<RawBlock>(block.bytes)
}

t.test('sealBlock and decodeBlock round trip', async (t) => {
  for (const block of [net.genesis, seal(), seal({ txs: [] }), seal({ height: 2 ** 40, time: Number.MAX_SAFE_INTEGER, raftTerm: 0, raftIndex: 0 })]) {
    const again = decodeBlock(block.bytes)
    t.same(again.hash, block.hash, `block ${block.header.height}: same hash`)
    t.same(again.bytes, block.bytes)
    t.same(again.sig, block.sig)
    t.same(again.header, block.header)
    t.same(
      again.txs.map((x) => x.id),
      block.txs.map((x) => x.id)
    )
    t.same(encode(raw(again)), block.bytes, 'the stored form is canonical')
    t.doesNotThrow(() => verifyBlockSignature(again))
  }
  const block = seal()
  t.same(block.header.txRoot, merkleRoot(txs.map((x) => x.bytes)), 'txRoot is the Merkle root over the tx bytes')
  t.same(block.header.proposer, net.node.publicKey)
  t.same(block.hash, blockHash(block.header))
  t.same(block.hash, sha256(encode(raw(block).header)), 'the hash is SHA-256 of the header encoding')
  t.same(seal({ txs: [] }).header.txRoot, sha256(new Uint8Array(0)), 'an empty block has the empty-tree root')
  t.same(net.genesis.header.prevHash, zeroHash)
  t.ok(Object.isFrozen(block) && Object.isFrozen(block.header) && Object.isFrozen(block.txs))
  t.same(Object.keys(raw(block)).sort(), ['header', 'sig', 'txs'])
})

t.test('sealBlock refuses more than blockTxMax txs', async (t) => {
  const many = Array.from({ length: blockTxMax + 1 }, () => txs[0]!)
  t.throws(() => seal({ txs: many }), RangeError)
})

t.test('ERR_BLOCK_MALFORMED', async (t) => {
  const block = seal()
  const r = raw(block)
  t.doesNotThrow(() => decodeBlock(encode(r)), 'control: the re-encoded raw block decodes')
  const withHeader = (edit: Record<string, unknown>): RawBlock => ({ ...r, header: { ...r.header, ...edit } })
  const withoutHeader = (k: string): RawBlock => {
    const header = { ...r.header }
    delete header[k]
    return { ...r, header }
  }
  const withoutField = (k: string): Record<string, unknown> => {
    const copy: Record<string, unknown> = { ...r }
    delete copy[k]
    return copy
  }
  const encoded: [string, Uint8Array][] = [
    ['empty input', new Uint8Array(0)],
    ['not CBOR', Uint8Array.of(0xfc, 1, 2)],
    ['truncated', block.bytes.subarray(0, block.bytes.length - 10)],
    ['trailing bytes', concatBytes(block.bytes, Uint8Array.of(0))],
    [
      'map keys out of order',
      concatBytes(Uint8Array.of(0xa3), encode('header'), encode(r.header), encode('txs'), encode(r.txs), encode('sig'), encode(r.sig))
    ]
  ]
  for (const [name, bytes] of encoded) t.throws(() => decodeBlock(bytes), { name: 'BlockRejectedError', code: 'ERR_BLOCK_MALFORMED' }, name)

  const values: [string, unknown][] = [
    ['an array', [r.header, r.txs, r.sig]],
    ['null', null],
    ['a byte string', block.bytes],
    ['an extra field', { ...r, extra: 1 }],
    ...['header', 'txs', 'sig'].map((k): [string, unknown] => [`missing ${k}`, withoutField(k)]),
    ['sig 63 bytes', { ...r, sig: new Uint8Array(63) }],
    ['sig a string', { ...r, sig: 'sig' }],
    ['txs a map', { ...r, txs: { 0: r.txs[0] } }],
    ['txs a byte string', { ...r, txs: r.txs[0] }],
    ['header an array', { ...r, header: Object.values(r.header) }],
    ['header null', { ...r, header: null }],
    ['header with an extra field', withHeader({ extra: 0 })],
    ...['height', 'prevHash', 'time', 'txRoot', 'stateRoot', 'proposer', 'raftTerm', 'raftIndex'].map((k): [string, unknown] => [`header missing ${k}`, withoutHeader(k)]),
    ['height negative', withHeader({ height: -1 })],
    ['height fractional', withHeader({ height: 1.5 })],
    ['height a string', withHeader({ height: '1' })],
    ['height beyond the safe integers', withHeader({ height: 2n ** 53n })],
    ['time negative', withHeader({ time: -1 })],
    ['time a byte string', withHeader({ time: new Uint8Array(8) })],
    ['raftTerm fractional', withHeader({ raftTerm: 0.5 })],
    ['raftIndex null', withHeader({ raftIndex: null })],
    ['prevHash 31 bytes', withHeader({ prevHash: new Uint8Array(31) })],
    ['txRoot a string', withHeader({ txRoot: 'root' })],
    ['stateRoot 33 bytes', withHeader({ stateRoot: new Uint8Array(33) })],
    ['proposer 31 bytes', withHeader({ proposer: new Uint8Array(31) })],
    ['proposer an integer', withHeader({ proposer: 1 })],
    ['a tx entry that is a map, not a byte string', { ...r, txs: [decode(txs[0]!.bytes)] }],
    ['a tx entry that is a string', { ...r, txs: [r.txs[0], 'tx'] }],
    ['a tx entry that is null', { ...r, txs: [null] }]
  ]
  for (const [name, value] of values) t.throws(() => decodeBlock(encode(value)), { name: 'BlockRejectedError', code: 'ERR_BLOCK_MALFORMED' }, name)
})

t.test('ERR_BLOCK_TOO_LARGE: more than blockTxMax txs, or more than blockBytesMax bytes', async (t) => {
  const r = raw(seal())
  const full = Array.from({ length: blockTxMax }, () => txs[0]!.bytes)
  const atLimit = decodeBlock(encode({ ...r, txs: full }))
  t.equal(atLimit.txs.length, blockTxMax, 'exactly blockTxMax txs decode (decodeBlock does not check duplicates)')
  t.throws(() => decodeBlock(encode({ ...r, txs: [...full, txs[1]!.bytes] })), { name: 'BlockRejectedError', code: 'ERR_BLOCK_TOO_LARGE' })
  t.throws(() => decodeBlock(new Uint8Array(blockBytesMax + 1)), { code: 'ERR_BLOCK_TOO_LARGE' }, 'size is checked before parsing')
  // A well-formed block just over the limit: txs of near-maximal size.
  const bigTx = dataTx(network, net.admin, 'big', { blob: new Uint8Array(txBytesMax - 400) })
  const count = Math.ceil(blockBytesMax / bigTx.bytes.length) + 1
  t.throws(() => decodeBlock(encode({ ...r, txs: Array.from({ length: count }, () => bigTx.bytes) })), { code: 'ERR_BLOCK_TOO_LARGE' })
})

t.test('ERR_BLOCK_BAD_TX: a tx entry that is a byte string but not a valid tx', async (t) => {
  const r = raw(seal())
  const good = txs[0]!.bytes
  const badSizeRaw = decode<Record<string, unknown>>(good)
  const cases: [string, Uint8Array, string][] = [
    ['not CBOR', Uint8Array.of(0xfc), 'ERR_TX_MALFORMED'],
    ['empty', new Uint8Array(0), 'ERR_TX_MALFORMED'],
    ['a CBOR map that is not a tx', encode({ a: 1 }), 'ERR_TX_MALFORMED'],
    ['a tx with trailing bytes', concatBytes(good, Uint8Array.of(0)), 'ERR_TX_MALFORMED'],
    ['a tx with a 31-byte signer', encode({ ...badSizeRaw, signer: new Uint8Array(31) }), 'ERR_TX_MALFORMED'],
    ['a tx over txBytesMax', encode({ ...badSizeRaw, payload: new Uint8Array(txBytesMax) }), 'ERR_TX_TOO_LARGE']
  ]
  for (const [name, bytes, inner] of cases) {
    for (const position of [0, 3]) {
      const list: unknown[] = [...r.txs]
      list.splice(position, 0, bytes)
      t.throws(() => decodeBlock(encode({ ...r, txs: list })), { name: 'BlockRejectedError', code: 'ERR_BLOCK_BAD_TX', message: new RegExp(`tx ${position}: ${inner}`) }, `${name} at ${position}`)
    }
  }
})

t.test('verifyBlockSignature', async (t) => {
  const block = seal()
  t.doesNotThrow(() => verifyBlockSignature(block))
  t.doesNotThrow(() => verifyBlockSignature(decodeBlock(block.bytes)))
  const resigned = (edit: (r: RawBlock) => void): Block => {
    const r = raw(block)
    edit(r)
    return decodeBlock(encode(r))
  }
  const cases: [string, Block][] = [
    ['a flipped sig bit', resigned((r) => (r.sig[0]! ^= 1))],
    ['the last sig byte changed', resigned((r) => (r.sig[63]! ^= 0x80))],
    ['an all-zero sig', resigned((r) => r.sig.fill(0))],
    ['the time changed', resigned((r) => (r.header.time = (r.header.time as number) + 1))],
    ['the height changed', resigned((r) => (r.header.height = 2))],
    ['the raft index changed', resigned((r) => (r.header.raftIndex = 8))],
    ['another proposer named', resigned((r) => (r.header.proposer = net.admin.publicKey))],
    ['the sig of another block', resigned((r) => (r.sig = seal({ height: 2 }).sig))],
    ['signed by another key', seal({}, new Signer(keyPairFromSeed(new Uint8Array(32).fill(9))))]
  ]
  // The last case names its own signer as proposer, so it verifies: a valid signature says who sealed
  // the block, and whether that key may propose is the ledger's check (ERR_BLOCK_UNKNOWN_PROPOSER).
  const [, foreign] = cases.pop()!
  t.doesNotThrow(() => verifyBlockSignature(foreign))
  const foreignClaimingNode = resigned((r) => (r.sig = foreign.sig))
  cases.push(['signed by another key, naming the node', foreignClaimingNode])
  for (const [name, b] of cases) t.throws(() => verifyBlockSignature(b), { name: 'BlockRejectedError', code: 'ERR_BLOCK_BAD_SIGNATURE' }, name)
})

t.test('blockHash changes when any header field changes', async (t) => {
  const header = seal().header
  const base = blockHash(header)
  t.same(blockHash({ ...header }), base, 'a copy hashes the same')
  const changed: [keyof BlockHeader, unknown][] = [
    ['height', header.height + 1],
    ['prevHash', sha256(header.prevHash)],
    ['time', header.time + 1],
    ['txRoot', sha256(header.txRoot)],
    ['stateRoot', sha256(header.stateRoot)],
    ['proposer', net.admin.publicKey],
    ['raftTerm', header.raftTerm + 1],
    ['raftIndex', header.raftIndex + 1]
  ]
  t.equal(changed.length, 8, 'every header field')
  const seen = new Set([Buffer.from(base).toString('hex')])
  for (const [field, value] of changed) {
    const h = blockHash({ ...header, [field]: value } as BlockHeader)
    t.notSame(h, base, field)
    seen.add(Buffer.from(h).toString('hex'))
    // A single flipped bit of a byte field changes it too.
    if (value instanceof Uint8Array) {
      const flipped = Uint8Array.from(header[field] as Uint8Array)
      flipped[31]! ^= 1
      t.notSame(blockHash({ ...header, [field]: flipped } as BlockHeader), base, `${field}, one bit`)
    }
  }
  t.equal(seen.size, 9, 'all hashes distinct')
  t.notSame(blockHash({ ...header, raftTerm: header.raftIndex, raftIndex: header.raftTerm }), base, 'swapping two fields changes the hash')
})
