/**
 * The ACL wired into the contract engine, on a real ledger (LevelDB): every tx is CREATE on
 * `tx:<type>` for its signer's identity before its processor runs; the default rules let the built-in
 * flows through; acl.set replaces them (validated, with no lock-out); first match wins, no match
 * denies, conditions see the participant, the resource and the tx; processors check resource-level
 * operations (DELETE of a device) against the same rules.
 */
import t from 'tap'
import type { Test } from 'tap'
import { join } from 'node:path'
import { decode, generateKeyPair, Signer, toHex } from '../../src/crypto/index.js'
import type { CborValue } from '../../src/crypto/index.js'
import { Ledger, LevelKvStore } from '../../src/ledger/index.js'
import type { Receipt, Tx } from '../../src/ledger/index.js'
import { CoreContracts } from '../../src/contracts/index.js'
import { makeNetwork, nextBlock, tx } from '../ledger/chain-fixture.js'

const hash = new Uint8Array(32).fill(3)

interface Chain {
  readonly ledger: Ledger
  readonly admin: Signer
  readonly node: Signer
  tx(signer: Signer, type: string, payload: Tx['payload']): Tx
  apply(...txs: Tx[]): Promise<string[]>
  last(): readonly Receipt[]
}

async function openChain(t: Test): Promise<Chain> {
  const net = makeNetwork()
  const ledger = await Ledger.open(new LevelKvStore(join(t.testdir(), 'ledger')), new CoreContracts())
  t.teardown(() => ledger.close())
  await ledger.applyBlock(net.genesis)
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
    last: () => receipts
  }
}

type Rule = Record<string, CborValue>
const allowAdminsAll: Rule = { id: 'admins-all', participant: 'admin', operation: 'ALL', resource: 'ANY', action: 'ALLOW' }

t.test('genesis and the built-in flows pass the default rules', async (t) => {
  const c = await openChain(t)
  const node2 = new Signer(generateKeyPair())
  t.same(await c.apply(
    c.tx(c.admin, 'node.add', { org: 'org1', publicKey: node2.publicKey, name: 'node2', addrs: [] }),
    c.tx(c.admin, 'data.add', { id: 'by-admin', hash }),
    c.tx(c.node, 'data.add', { id: 'by-node', hash, derivedFrom: ['by-admin'] })
  ), ['ok', 'ok', 'ok'])
  // The gate comes before the processor: a node's node.add is refused by the ACL (no rule allows it).
  t.same(await c.apply(
    c.tx(c.node, 'node.add', { org: 'org1', publicKey: new Signer(generateKeyPair()).publicKey, name: 'n3', addrs: [] }),
    c.tx(c.node, 'node.remove', { publicKey: node2.publicKey }),
    c.tx(c.admin, 'node.remove', { publicKey: node2.publicKey })
  ), ['ERR_ACL_DENIED', 'ERR_ACL_DENIED', 'ok'])
  const denied = c.last()[0]!
  if (!denied.ok) t.match(denied.message, /no ACL rule allows it/)
})

t.test('acl.set: only admins, only valid rule sets, never one that locks its author out', async (t) => {
  const c = await openChain(t)
  const onlyData: Rule = { id: 'data-only', participant: 'admin', operation: ['CREATE'], resource: 'tx:data.add', action: 'ALLOW' }
  t.same(await c.apply(
    c.tx(c.node, 'acl.set', { rules: [allowAdminsAll] }),
    c.tx(c.admin, 'acl.set', { rules: [{ ...allowAdminsAll, participant: 'admn' }] }),
    c.tx(c.admin, 'acl.set', { rules: [allowAdminsAll, allowAdminsAll] }),
    c.tx(c.admin, 'acl.set', { rules: [{ ...allowAdminsAll, condition: 'participant.org ==' }] }),
    c.tx(c.admin, 'acl.set', { rules: 'ALL' }),
    c.tx(c.admin, 'acl.set', { rules: [onlyData] }),
    c.tx(c.admin, 'acl.set', { rules: [] })
  ), ['ERR_ACL_DENIED', 'ERR_ACL_INVALID', 'ERR_ACL_INVALID', 'ERR_ACL_INVALID', 'ERR_ACL_INVALID', 'ERR_ACL_LOCKOUT', 'ERR_ACL_LOCKOUT'])
  const invalid = c.last()[1]!
  if (!invalid.ok) t.match(invalid.message, /rule admins-all: participant/, 'the message names the rule and the field')
  t.equal(await c.ledger.getState('acl/rules'), undefined, 'nothing was stored')

  // A valid set is stored in its validated form (fixed field order), and is in force from the next tx.
  const scrambled = { action: 'ALLOW', resource: 'ANY', operation: 'ALL', participant: 'admin', id: 'admins-all' }
  t.same(await c.apply(
    c.tx(c.admin, 'acl.set', { rules: [scrambled] }),
    c.tx(c.node, 'data.add', { id: 'by-node', hash })
  ), ['ok', 'ERR_ACL_DENIED'], 'no rule names nodes any more: no match denies')
  t.same(decode(await c.ledger.getState('acl/rules') as Uint8Array), [allowAdminsAll])
})

t.test('first match wins; conditions read the participant and the tx', async (t) => {
  const c = await openChain(t)
  const denySecret: Rule = {
    id: 'no-secret-data', participant: 'ANY', operation: ['CREATE'], resource: 'tx:data.add',
    condition: "tx.payload.id == 'secret' || tx.payload.size > 100", action: 'DENY'
  }
  const nodeData: Rule = { id: 'node-data', participant: 'node@org1', operation: ['CREATE'], resource: 'tx:data.**', action: 'ALLOW' }
  const denyNodeByKey: Rule = { id: 'not-this-node', participant: `key:${toHex(c.node.publicKey)}`, operation: 'ALL', resource: 'ANY', action: 'DENY' }
  t.same(await c.apply(
    c.tx(c.admin, 'acl.set', { rules: [denySecret, allowAdminsAll, nodeData] }),
    c.tx(c.admin, 'data.add', { id: 'secret', hash }),
    c.tx(c.admin, 'data.add', { id: 'big', hash, size: 101 }),
    c.tx(c.admin, 'data.add', { id: 'small', hash, size: 100 }),
    c.tx(c.node, 'data.add', { id: 'from-node', hash }),
    c.tx(c.node, 'data.add', { id: 'secret', hash })
  ), ['ok', 'ERR_ACL_DENIED', 'ERR_ACL_DENIED', 'ok', 'ok', 'ERR_ACL_DENIED'])
  const byRule = c.last()[1]!
  if (!byRule.ok) t.match(byRule.message, /denied by ACL rule no-secret-data/)

  // The same rules in another order: the ALLOW for admins now matches first, so the DENY never applies to them.
  t.same(await c.apply(
    c.tx(c.admin, 'acl.set', { rules: [allowAdminsAll, denySecret, denyNodeByKey, nodeData] }),
    c.tx(c.admin, 'data.add', { id: 'secret', hash }),
    c.tx(c.node, 'data.add', { id: 'from-node-2', hash })
  ), ['ok', 'ok', 'ERR_ACL_DENIED'], 'a key rule before the type rule denies this one node')
})

t.test('resource-level checks: a processor asks the rules before DELETE of a device', async (t) => {
  const c = await openChain(t)
  const cam = new Signer(generateKeyPair())
  const firmware = { firmwareHash: 'fw' }
  // Admins may submit every tx, and create devices, but DELETE on devices is not granted to anyone.
  const rules: Rule[] = [
    { id: 'admins-submit', participant: 'admin', operation: ['CREATE'], resource: 'tx:*', action: 'ALLOW' },
    { id: 'admins-create-devices', participant: 'admin', operation: ['CREATE'], resource: 'device/*', condition: 'resource.org == participant.org', action: 'ALLOW' },
    { id: 'devices-join', participant: 'device', operation: ['CREATE'], resource: 'tx:device.*', action: 'ALLOW' }
  ]
  t.same(await c.apply(
    c.tx(c.admin, 'acl.set', { rules }),
    c.tx(c.admin, 'device.authorise', { id: 'cam1', publicKey: cam.publicKey, attributes: firmware }),
    c.tx(cam, 'device.join', { id: 'cam1', attributes: firmware }),
    c.tx(cam, 'device.leave', { id: 'cam1' }),
    c.tx(c.admin, 'device.leave', { id: 'cam1' }),
    c.tx(cam, 'data.add', { id: 'reading', hash })
  ), ['ok', 'ok', 'ok', 'ERR_ACL_DENIED', 'ERR_ACL_DENIED', 'ERR_ACL_DENIED'])
  const refused = c.last()[3]!
  if (!refused.ok) t.match(refused.message, /may not DELETE device\/cam1/, 'refused at the resource, after the tx gate let it through')

  // Granting DELETE to the device on itself (a condition on resource and participant) lets it leave.
  const leaveSelf: Rule = { id: 'leave-self', participant: 'device', operation: ['DELETE'], resource: 'device/*', condition: 'resource.id == participant.id', action: 'ALLOW' }
  t.same(await c.apply(
    c.tx(c.admin, 'acl.set', { rules: [...rules, leaveSelf] }),
    c.tx(cam, 'device.leave', { id: 'cam1' })
  ), ['ok', 'ok'])
})
