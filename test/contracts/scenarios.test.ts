/**
 * The TOM scenarios as built-in contracts, end to end on one ledger (LevelDB): organisations' admins,
 * a device authorised, joining, producing data and leaving; an image approved and revoked; a container
 * joining from it, identifying itself and deriving data; traceability levels. Each step checks the
 * receipts (with the codes of what is refused), the world state, and the PROV edges the ledger indexed.
 */
import t from 'tap'
import type { Test } from 'tap'
import { join } from 'node:path'
import { decode, generateKeyPair, Signer, toHex } from '../../src/crypto/index.js'
import { provNodeOf, Ledger, LevelKvStore, ledgerProvIds, provKeys, txProvRecords } from '../../src/ledger/index.js'
import type { Receipt, Tx } from '../../src/ledger/index.js'
import type { LineageDirection, ProvRecord, RelationKind } from '../../src/prov/index.js'
import { CoreContracts } from '../../src/contracts/index.js'
import { makeNetwork, nextBlock, tx } from '../ledger/chain-fixture.js'
import { indexedEdges } from '../ledger/prov-fixture.js'

const hash = new Uint8Array(32).fill(9)
const imageDigest = `sha256:${'ab'.repeat(32)}`
const otherDigest = `sha256:${'cd'.repeat(32)}`

interface Chain {
  readonly ledger: Ledger
  readonly admin: Signer
  readonly node: Signer
  /** A tx of this network. */
  tx(signer: Signer, type: string, payload: Tx['payload']): Tx
  /** Applies one block of `txs`; returns 'ok' or the failure code of each. */
  apply(...txs: Tx[]): Promise<string[]>
  /** The receipts of the last block applied, with messages, for failure output. */
  last(): readonly Receipt[]
  state<T>(key: string): Promise<T | undefined>
  /** The indexed edges at `node` in `direction` ([relation, other end]). */
  edges(direction: LineageDirection, node: string, relation?: RelationKind): Promise<[string, string][]>
  /** The PROV records the contract asserted for `committed`, or undefined when there are none. */
  records(committed: Tx): Promise<ProvRecord[] | undefined>
}

async function openChain(t: Test): Promise<Chain> {
  const net = makeNetwork()
  const ledger = await Ledger.open(new LevelKvStore(join(t.testdir(), 'ledger')), new CoreContracts())
  t.teardown(() => ledger.close())
  const genesis = await ledger.applyBlock(net.genesis)
  t.same(genesis.receipts.map((r) => r.ok), [true, true, true], 'genesis passes the ACL gate')
  let receipts: readonly Receipt[] = []
  return {
    ledger,
    admin: net.admin,
    node: net.node,
    tx: (signer, type, payload) => tx(ledger.network!, signer, type, payload),
    async apply(...txs) {
      receipts = (await ledger.applyBlock(nextBlock(ledger, txs, net.node))).receipts
      return receipts.map((r) => (r.ok ? 'ok' : r.code))
    },
    last: () => receipts,
    async state<T>(key: string) {
      const raw = await ledger.getState(key)
      return raw === undefined ? undefined : decode<T>(raw)
    },
    edges: (direction, node, relation) => indexedEdges(ledger, direction, node, relation),
    async records(committed) {
      const found = await ledger.getTx(committed.id)
      if (found === undefined) throw new Error('tx not committed')
      const records = await txProvRecords(ledger, found)
      return records.length === 0 ? undefined : records
    }
  }
}

function newSigner(): Signer {
  return new Signer(generateKeyPair())
}

/** The attribute names (sorted: the ledger stores records normalised) of the element `id` that carries attributes. */
function attributeNames(records: ProvRecord[] | undefined, id: string): string[] {
  const element = records?.find((r) => r.kind === 'entity' && r.id === id && r.attributes.length > 0)
  return element !== undefined && 'attributes' in element ? element.attributes.map((a) => a.name).sort() : []
}

t.test('organisation admins: added and removed by an admin of the organisation', async (t) => {
  const c = await openChain(t)
  const admin2 = newSigner()
  const stranger = newSigner()
  const add = c.tx(c.admin, 'org.admin.add', { org: 'org1', publicKey: admin2.publicKey })
  t.same(await c.apply(
    add,
    c.tx(c.admin, 'org.admin.add', { org: 'org1', publicKey: admin2.publicKey }),
    c.tx(stranger, 'org.admin.add', { org: 'org1', publicKey: stranger.publicKey }),
    c.tx(c.node, 'org.admin.add', { org: 'org1', publicKey: stranger.publicKey }),
    c.tx(c.admin, 'org.admin.add', { org: 'nope', publicKey: stranger.publicKey }),
    c.tx(c.admin, 'org.admin.add', { org: 'org1', publicKey: new Uint8Array(31) })
  ), ['ok', 'ERR_IDENTITY_EXISTS', 'ERR_TX_UNKNOWN_SIGNER', 'ERR_ACL_DENIED', 'ERR_ORG_UNKNOWN', 'ERR_TX_INVALID_PAYLOAD'])
  t.same((await c.state<{ admins: Uint8Array[] }>('org/org1'))!.admins.map(toHex), [toHex(c.admin.publicKey), toHex(admin2.publicKey)])
  t.same(await c.state(`identity/${toHex(admin2.publicKey)}`), { kind: 'admin', org: 'org1' })
  t.same(await c.edges('backward', ledgerProvIds.key(admin2.publicKey), 'actedOnBehalfOf'), [['actedOnBehalfOf', 'tom:org/org1']])

  // The new admin acts for the organisation: it removes the founding admin, but not itself when last.
  const remove = c.tx(admin2, 'org.admin.remove', { org: 'org1', publicKey: c.admin.publicKey })
  t.same(await c.apply(
    c.tx(admin2, 'org.admin.remove', { org: 'org1', publicKey: stranger.publicKey }),
    remove,
    c.tx(c.admin, 'data.add', { id: 'by-removed-admin', hash }),
    c.tx(admin2, 'org.admin.remove', { org: 'org1', publicKey: admin2.publicKey })
  ), ['ERR_ORG_ADMIN_UNKNOWN', 'ok', 'ERR_TX_UNKNOWN_SIGNER', 'ERR_ORG_LAST_ADMIN'])
  t.same((await c.state<{ admins: Uint8Array[] }>('org/org1'))!.admins.map(toHex), [toHex(admin2.publicKey)])
  t.equal(await c.state(`identity/${toHex(c.admin.publicKey)}`), undefined, 'a removed admin is no identity')
  t.same(await c.edges('forward', ledgerProvIds.tx(remove.id), 'wasInfluencedBy'), [['wasInfluencedBy', 'tom:org/org1']])
})

t.test('a device, an image and a container, end to end on one ledger', async (t) => {
  const c = await openChain(t)
  const cam = newSigner()
  const box = newSigner()
  const stranger = newSigner()
  const firmware = { firmwareHash: 'fw-1.2.3', model: 'cam-x' }

  // Authorised by an org admin; not yet joined, so it may not add data.
  const authorise = c.tx(c.admin, 'device.authorise', { id: 'cam1', publicKey: cam.publicKey, attributes: firmware })
  t.same(await c.apply(
    authorise,
    c.tx(c.node, 'device.authorise', { id: 'cam2', publicKey: stranger.publicKey, attributes: firmware }),
    c.tx(c.admin, 'device.authorise', { id: 'cam3', org: 'org2', publicKey: stranger.publicKey, attributes: firmware }),
    c.tx(c.admin, 'device.authorise', { id: 'cam1', publicKey: stranger.publicKey, attributes: firmware }),
    c.tx(c.admin, 'device.authorise', { id: 'cam4', publicKey: cam.publicKey, attributes: firmware }),
    c.tx(cam, 'data.add', { id: 'early', hash })
  ), ['ok', 'ERR_ACL_DENIED', 'ERR_ORG_UNKNOWN', 'ERR_DEVICE_EXISTS', 'ERR_IDENTITY_EXISTS', 'ERR_DEVICE_NOT_JOINED'])
  t.same(await c.state(`identity/${toHex(cam.publicKey)}`), { kind: 'device', org: 'org1', id: 'cam1' })
  t.match(await c.state('device/cam1'), { id: 'cam1', org: 'org1', status: 'authorised', attributes: firmware })

  // Joining: signed by the device key itself, presenting exactly the attributes it was authorised with.
  const joinTx = c.tx(cam, 'device.join', { id: 'cam1', attributes: firmware })
  t.same(await c.apply(
    c.tx(cam, 'device.join', { id: 'cam1', attributes: { ...firmware, firmwareHash: 'fw-evil' } }),
    c.tx(cam, 'device.join', { id: 'cam1', attributes: { firmwareHash: firmware.firmwareHash } }),
    c.tx(c.admin, 'device.join', { id: 'cam1', attributes: firmware }),
    c.tx(stranger, 'device.join', { id: 'cam1', attributes: firmware }),
    c.tx(cam, 'device.join', { id: 'cam9', attributes: firmware }),
    joinTx,
    c.tx(cam, 'device.join', { id: 'cam1', attributes: firmware })
  ), ['ERR_DEVICE_ATTRIBUTES_MISMATCH', 'ERR_DEVICE_ATTRIBUTES_MISMATCH', 'ERR_TX_UNAUTHORIZED', 'ERR_TX_UNKNOWN_SIGNER', 'ERR_ACL_DENIED', 'ok', 'ERR_DEVICE_JOINED'])
  t.match(await c.state('device/cam1'), { status: 'joined', joinedAt: c.ledger.head!.height })

  // It produces data, only as itself.
  const reading = c.tx(cam, 'data.add', { id: 'reading-1', hash, size: 10, location: 'site-a/rack-3' })
  t.same(await c.apply(
    reading,
    c.tx(cam, 'data.add', { id: 'reading-2', hash, producedBy: 'cam2' }),
    c.tx(cam, 'data.add', { id: 'reading-3', hash, producedBy: 'cam1' })
  ), ['ok', 'ERR_ACL_DENIED', 'ok'])
  t.match(await c.state('data/reading-1'), { producedBy: 'cam1', location: 'site-a/rack-3', size: 10 })
  t.same(await c.edges('backward', 'tom:data/reading-1'), [
    ['wasAttributedTo', ledgerProvIds.key(cam.publicKey)],
    ['wasAttributedTo', 'tom:device/cam1'],
    ['wasGeneratedBy', ledgerProvIds.tx(reading.id)]
  ])
  t.same(await c.edges('backward', 'tom:device/cam1'), [
    ['actedOnBehalfOf', 'tom:org/org1'],
    ['wasAttributedTo', 'tom:org/org1'],
    ['wasGeneratedBy', ledgerProvIds.tx(authorise.id)]
  ])
  t.same(await c.edges('backward', ledgerProvIds.key(cam.publicKey), 'actedOnBehalfOf'), [['actedOnBehalfOf', 'tom:device/cam1']])
  t.same(await c.edges('forward', 'tom:device/cam1', 'used'), [['used', ledgerProvIds.tx(joinTx.id)]])
  // Standard tracing keeps what identifies the device, not its identity attributes.
  t.same(attributeNames(await c.records(authorise), 'tom:device/cam1'), ['prov:type', 'tom:key'])
  t.same(attributeNames(await c.records(reading), 'tom:data/reading-1'), ['prov:type', 'tom:hash', 'tom:size'], 'prov:location is kept at full only')

  // An image is approved; a container of it joins from the node, identifies itself, derives data.
  t.same(await c.apply(
    c.tx(c.admin, 'image.approve', { digest: imageDigest, name: 'analytics:1.0' }),
    c.tx(c.admin, 'image.approve', { digest: imageDigest }),
    c.tx(c.node, 'image.approve', { digest: otherDigest }),
    c.tx(c.admin, 'image.approve', { digest: 'sha256:ABC' }),
    c.tx(c.admin, 'image.revoke', { digest: otherDigest })
  ), ['ok', 'ERR_IMAGE_APPROVED', 'ERR_ACL_DENIED', 'ERR_TX_INVALID_PAYLOAD', 'ERR_IMAGE_NOT_APPROVED'])
  const containerJoin = c.tx(c.node, 'container.join', { id: 'c1', imageDigest, publicKey: box.publicKey })
  t.same(await c.apply(
    c.tx(c.node, 'container.join', { id: 'c2', imageDigest: otherDigest, publicKey: stranger.publicKey }),
    c.tx(c.node, 'container.join', { id: 'cam1', imageDigest, publicKey: stranger.publicKey }),
    c.tx(c.admin, 'container.join', { id: 'c3', imageDigest, publicKey: stranger.publicKey }),
    containerJoin,
    c.tx(box, 'data.add', { id: 'too-early', hash }),
    c.tx(c.node, 'container.identify', { id: 'c1' })
  ), ['ERR_IMAGE_NOT_APPROVED', 'ERR_CONTAINER_EXISTS', 'ERR_TX_UNAUTHORIZED', 'ok', 'ERR_CONTAINER_NOT_IDENTIFIED', 'ERR_TX_UNAUTHORIZED'])
  t.same(await c.state(`identity/${toHex(box.publicKey)}`), { kind: 'container', org: 'org1', id: 'c1' })
  const identify = c.tx(box, 'container.identify', { id: 'c1' })
  t.same(await c.apply(identify, c.tx(box, 'container.identify', { id: 'c1' })), ['ok', 'ERR_CONTAINER_IDENTIFIED'])
  t.same(await c.edges('backward', 'tom:container/c1'), [
    ['actedOnBehalfOf', provNode(c.node)],
    ['wasAttributedTo', provNode(c.node)],
    ['wasDerivedFrom', `tom:image/${'ab'.repeat(32)}`],
    ['wasGeneratedBy', ledgerProvIds.tx(containerJoin.id)]
  ])

  const result = c.tx(box, 'data.add', { id: 'result-1', hash, derivedFrom: ['reading-1'] })
  const relayed = c.tx(c.node, 'data.add', { id: 'result-2', hash, producedBy: 'c1', derivedFrom: ['result-1'] })
  t.same(await c.apply(
    result,
    relayed,
    c.tx(c.node, 'data.add', { id: 'result-3', hash, producedBy: 'cam1' }),
    c.tx(c.admin, 'data.add', { id: 'result-4', hash, producedBy: 'cam1' }),
    c.tx(c.admin, 'data.add', { id: 'result-5', hash, producedBy: 'ghost' }),
    c.tx(box, 'data.add', { id: 'result-6', hash, derivedFrom: ['ghost'] })
  ), ['ok', 'ok', 'ERR_TX_UNAUTHORIZED', 'ok', 'ERR_PRODUCER_UNKNOWN', 'ERR_DATA_UNKNOWN'])
  t.same(await c.edges('forward', 'tom:data/reading-1', 'wasDerivedFrom'), [['wasDerivedFrom', 'tom:data/result-1']])
  t.same(await c.edges('backward', 'tom:data/result-2', 'wasAttributedTo'), [
    ['wasAttributedTo', ledgerProvIds.key(c.node.publicKey)],
    ['wasAttributedTo', 'tom:container/c1']
  ])
  t.same(await c.edges('backward', 'tom:data/result-2', 'wasDerivedFrom'), [['wasDerivedFrom', 'tom:data/result-1']])

  // The device leaves: what it may no longer do is refused, and its entity is invalidated.
  const leave = c.tx(cam, 'device.leave', { id: 'cam1' })
  t.same(await c.apply(
    c.tx(box, 'device.leave', { id: 'cam1' }),
    leave,
    c.tx(cam, 'data.add', { id: 'late-1', hash }),
    c.tx(c.admin, 'data.add', { id: 'late-2', hash, producedBy: 'cam1' }),
    c.tx(cam, 'device.join', { id: 'cam1', attributes: firmware }),
    c.tx(cam, 'device.leave', { id: 'cam1' }),
    c.tx(c.admin, 'device.authorise', { id: 'cam1', publicKey: stranger.publicKey, attributes: firmware })
  ), ['ERR_ACL_DENIED', 'ok', 'ERR_DEVICE_LEFT', 'ERR_DEVICE_LEFT', 'ERR_DEVICE_LEFT', 'ERR_DEVICE_LEFT', 'ERR_DEVICE_EXISTS'])
  t.same((await provNodeOf(c.ledger, 'tom:device/cam1'))!.invalidation, { at: { height: c.ledger.head!.height, index: 1 }, activity: ledgerProvIds.tx(leave.id) })
  t.match(await c.state('device/cam1'), { status: 'left', leftAt: c.ledger.head!.height })

  // The image is revoked: no new container of it; an admin may approve it again.
  t.same(await c.apply(
    c.tx(c.admin, 'image.revoke', { digest: imageDigest }),
    c.tx(c.node, 'container.join', { id: 'c4', imageDigest, publicKey: stranger.publicKey }),
    c.tx(c.admin, 'image.approve', { digest: imageDigest })
  ), ['ok', 'ERR_IMAGE_NOT_APPROVED', 'ok'])
  t.same((await c.edges('forward', `tom:image/${'ab'.repeat(32)}`, 'used')).length, 4, 'approval, container, revocation, approval: each a usage of the image')

  // The container leaves, by its node.
  t.same(await c.apply(
    c.tx(stranger, 'container.leave', { id: 'c1' }),
    c.tx(c.node, 'container.leave', { id: 'c1' }),
    c.tx(box, 'data.add', { id: 'late-3', hash }),
    c.tx(box, 'container.leave', { id: 'c1' }),
    c.tx(c.node, 'container.leave', { id: 'c9' })
  ), ['ERR_TX_UNKNOWN_SIGNER', 'ok', 'ERR_CONTAINER_LEFT', 'ERR_CONTAINER_LEFT', 'ERR_CONTAINER_UNKNOWN'])
  t.ok((await provNodeOf(c.ledger, 'tom:container/c1'))?.invalidation)
})

function provNode(node: Signer): string {
  return `tom:node/${toHex(node.publicKey)}`
}

t.test('bad payloads get ERR_TX_INVALID_PAYLOAD with the field named', async (t) => {
  const c = await openChain(t)
  const key = newSigner().publicKey
  const cases: [string, string, Tx['payload'], RegExp][] = [
    ['device.authorise', 'no firmwareHash', { id: 'd1', publicKey: key, attributes: { model: 'x' } }, /firmwareHash/],
    ['device.authorise', 'attributes not a map', { id: 'd1', publicKey: key, attributes: ['firmwareHash'] }, /attributes/],
    ['device.authorise', 'an attribute value not text', { id: 'd1', publicKey: key, attributes: { firmwareHash: 3 } }, /attributes\.firmwareHash/],
    ['device.authorise', 'a reserved attribute', { id: 'd1', publicKey: key, attributes: { firmwareHash: 'f', key: 'k' } }, /reserved/],
    ['device.authorise', 'an id that cannot name a PROV id', { id: 'd:1', publicKey: key, attributes: { firmwareHash: 'f' } }, /PROV/],
    ['device.authorise', 'an unknown field', { id: 'd1', publicKey: key, attributes: { firmwareHash: 'f' }, colour: 'red' }, /colour/],
    ['data.add', 'a location with a newline', { id: 'x', hash, location: 'a\nb' }, /location/],
    ['data.add', 'producedBy not a name', { id: 'x', hash, producedBy: 7 }, /producedBy/],
    ['container.join', 'a digest without its algorithm', { id: 'c', imageDigest: 'ab'.repeat(32), publicKey: key }, /imageDigest/],
    ['image.approve', 'a name with a control character', { digest: imageDigest, name: 'a\u0007' }, /name/],
    ['trace.set', 'an unknown level', { type: 'data.add', level: 'verbose' }, /level/],
    ['acl.set', 'no rules', {}, /rules/]
  ]
  const signerOf = (type: string): Signer => (type === 'container.join' ? c.node : c.admin)
  const codes = await c.apply(...cases.map(([type, , payload]) => c.tx(signerOf(type), type, payload)))
  cases.forEach(([type, what, , message], i) => {
    t.equal(codes[i], 'ERR_TX_INVALID_PAYLOAD', `${type}: ${what}`)
    const receipt = c.last()[i]!
    if (!receipt.ok) t.match(receipt.message, message, `${type}: ${what}: the message names the field`)
  })
})

t.test('traceability levels: minimal, standard and full, per tx type, in force when the tx applies', async (t) => {
  const c = await openChain(t)
  const cam = newSigner()
  const firmware = { firmwareHash: 'fw-9' }
  const quiet = c.tx(c.admin, 'data.add', { id: 'quiet', hash, size: 1 })
  t.same(await c.apply(
    c.tx(c.node, 'trace.set', { type: 'data.add', level: 'minimal' }),
    c.tx(c.admin, 'trace.set', { type: 'no.such', level: 'full' }),
    c.tx(c.admin, 'trace.set', { type: 'data.add', level: 'minimal' }),
    quiet
  ), ['ERR_ACL_DENIED', 'ERR_TRACE_UNKNOWN_TYPE', 'ok', 'ok'], 'the level applies from the next tx of the same block')
  t.same(await c.state('trace/data.add'), 'minimal')
  t.equal(await c.records(quiet), undefined, 'minimal: the contract recorded nothing')
  t.equal(await provNodeOf(c.ledger, 'tom:data/quiet'), undefined)
  t.match(await c.state('data/quiet'), { untraced: true, size: 1 }, 'the world state changes as usual')
  const byAdmin = await c.ledger.scanProv(provKeys.agentPrefix(ledgerProvIds.key(c.admin.publicKey)), 100)
  t.ok(byAdmin.some(([, v]) => toHex(v) === toHex(quiet.id)), 'the implied activity and its signer are still indexed')

  // Back to standard (the key is removed): a derivation from the untraced item declares it first.
  const derived = c.tx(c.admin, 'data.add', { id: 'loud', hash, derivedFrom: ['quiet'] })
  t.same(await c.apply(c.tx(c.admin, 'trace.set', { type: 'data.add', level: 'standard' }), derived), ['ok', 'ok'])
  t.equal(await c.state('trace/data.add'), undefined)
  t.same(await c.edges('backward', 'tom:data/loud', 'wasDerivedFrom'), [['wasDerivedFrom', 'tom:data/quiet']])
  t.same((await c.records(derived))!.map((r) => r.kind), ['entity', 'wasGeneratedBy', 'wasAttributedTo', 'entity', 'used', 'wasDerivedFrom'])

  // Full: every attribute. The device authorised at full carries its identity attributes; the join at
  // minimal records nothing, and the leave at standard still finds the entity to invalidate.
  const authorise = c.tx(c.admin, 'device.authorise', { id: 'cam1', publicKey: cam.publicKey, attributes: firmware })
  const located = c.tx(c.admin, 'data.add', { id: 'located', hash, location: 'lab' })
  t.same(await c.apply(
    c.tx(c.admin, 'trace.set', { type: 'device.authorise', level: 'full' }),
    c.tx(c.admin, 'trace.set', { type: 'device.join', level: 'minimal' }),
    c.tx(c.admin, 'trace.set', { type: 'data.add', level: 'full' }),
    authorise,
    c.tx(cam, 'device.join', { id: 'cam1', attributes: firmware }),
    located,
    c.tx(cam, 'data.add', { id: 'by-cam', hash }),
    c.tx(cam, 'device.leave', { id: 'cam1' })
  ), ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok'])
  t.same(attributeNames(await c.records(authorise), 'tom:device/cam1'), ['prov:type', 'tom:firmwareHash', 'tom:key'])
  t.same(attributeNames(await c.records(located), 'tom:data/located'), ['prov:location', 'prov:type', 'tom:hash'])
  t.same(await c.edges('backward', 'tom:data/by-cam', 'wasAttributedTo'), [
    ['wasAttributedTo', ledgerProvIds.key(cam.publicKey)],
    ['wasAttributedTo', 'tom:device/cam1']
  ], 'attributed to the device even though its join recorded no agent')
  t.ok((await provNodeOf(c.ledger, 'tom:device/cam1'))?.invalidation)
})

t.test('a removed node can be added again: its new membership is a new PROV entity, an alternate of the first', async (t) => {
  const c = await openChain(t)
  const second = newSigner()
  const add = (): Tx => c.tx(c.admin, 'node.add', { org: 'org1', publicKey: second.publicKey, name: 'n2', addrs: [] })
  t.same(await c.apply(add()), ['ok'])
  t.same(await c.apply(c.tx(c.admin, 'node.remove', { publicKey: second.publicKey })), ['ok'])
  t.same(await c.apply(add()), ['ok'], 'added again')
  const first = `tom:node/${toHex(second.publicKey)}`
  t.same(await c.edges('backward', `${first}/1`, 'alternateOf'), [['alternateOf', first]])
  t.same((await c.edges('backward', first, 'wasInvalidatedBy')).length, 1, 'the first membership ended')
  t.same(await c.edges('backward', `${first}/1`, 'wasInvalidatedBy'), [], 'the second is live')
  t.same(await c.apply(c.tx(c.admin, 'node.remove', { publicKey: second.publicKey })), ['ok'], 'and removed again')
  t.same((await c.edges('backward', `${first}/1`, 'wasInvalidatedBy')).length, 1)
})
