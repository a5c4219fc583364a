/** Building networks, txs and blocks for ledger tests. */
import { generateKeyPair, Signer, encode, decode } from '../../src/crypto/index.js'
import { Ledger, sealBlock, signTx, TxFailedError } from '../../src/ledger/index.js'
import type { Block, StateReader, StateWriter, Tx, TxContext, TxExecutor } from '../../src/ledger/index.js'
import { createGenesisBlock } from '../../src/node/data-dir.js'

export const genesisTime = 1_700_000_000_000

export interface TestNetwork {
  readonly admin: Signer
  readonly node: Signer
  readonly genesis: Block
}

export function makeNetwork(): TestNetwork {
  const admin = generateKeyPair()
  const node = generateKeyPair()
  const genesis = createGenesisBlock({ networkName: 'test', orgName: 'org1', admin, nodes: [{ keys: node, name: 'node1' }], time: genesisTime })
  return { admin: new Signer(admin), node: new Signer(node), genesis }
}

let nonce = 0

export function tx(network: Uint8Array, signer: Signer, type: string, payload: Tx['payload'], fields: Partial<{ expiresAt: number; nonce: number }> = {}): Tx {
  return signTx(
    { network, type, signer: signer.publicKey, nonce: fields.nonce ?? nonce++, expiresAt: fields.expiresAt ?? genesisTime + 3_600_000, payload },
    signer
  )
}

export function dataTx(network: Uint8Array, signer: Signer, id: string, extra: Record<string, Tx['payload']> = {}): Tx {
  return tx(network, signer, 'data.add', { id, hash: new Uint8Array(32).fill(7), ...extra })
}

/** The next block on `ledger`'s head, sealed by `proposer`. */
export function nextBlock(ledger: Ledger, txs: Tx[], proposer: Signer, time?: number): Block {
  const head = ledger.head!
  return sealBlock(
    {
      height: head.height + 1,
      prevHash: head.hash,
      time: time ?? head.time + 1000,
      stateRoot: head.stateDigest,
      raftTerm: 0,
      raftIndex: head.height + 1,
      txs
    },
    proposer
  )
}

/**
 * A small real contract for ledger tests that need overwrites and failures: kv.set / kv.del write any
 * key, kv.fail writes then fails (its write must vanish), kv.throw throws a plain error. Its proposers
 * are the node keys the core genesis adds, read from the same state key as CoreContracts.
 */
export class KvTestContract implements TxExecutor {
  constructor(readonly inner: TxExecutor) {}

  async execute(t: Tx, state: StateWriter, context: TxContext): Promise<void> {
    const p = t.payload as Record<string, string>
    switch (t.type) {
      case 'kv.set':
        state.put(`kv/${p.key}`, encode({ value: p.value, height: context.height }))
        return
      case 'kv.del':
        state.delete(`kv/${p.key}`)
        return
      case 'kv.fail':
        state.put(`kv/${p.key}`, encode({ value: 'should vanish' }))
        throw new TxFailedError('ERR_TEST_FAIL', 'failed on purpose')
      case 'kv.throw':
        state.put(`kv/${p.key}`, encode({ value: 'should vanish' }))
        throw new TypeError('a bug')
      default:
        return this.inner.execute(t, state, context)
    }
  }

  isProposer(publicKey: Uint8Array, state: StateReader): Promise<boolean> {
    return this.inner.isProposer(publicKey, state)
  }
}

export function kvValue(raw: Uint8Array | undefined): string | undefined {
  return raw === undefined ? undefined : decode<{ value: string }>(raw).value
}
