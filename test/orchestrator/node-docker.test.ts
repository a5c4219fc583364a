/**
 * End to end on one node with real Docker: an admin approves an image and a contract emits a
 * container.start for the node; the node's orchestrator starts the container with its own key
 * mounted read-only and joins it; the container's key, read from inside the running container, then
 * signs container.identify and a data.add that the ledger accepts as the container's, attributed to it
 * in PROV. A container.start of an image that is not approved is refused before anything runs.
 */
import t from 'tap'
import { join } from 'node:path'
import { fromHex, keyPairFromSeed, loadKeyFile, Signer, toHex } from '../../src/crypto/index.js'
import { signTx } from '../../src/ledger/index.js'
import type { Tx } from '../../src/ledger/index.js'
import { dataPath, initNetwork, silentLogger, TomNode } from '../../src/node/index.js'
import { ensureTestImage, withDockerEngine } from './docker-env.js'

t.test('a container started by its node signs data as itself', async (t) => {
  await withDockerEngine(t, async ({ runtime, socketPath }) => {
    const digest = await ensureTestImage(socketPath)
    const dir = join(t.testdir(), 'node')
    await initNetwork({ dir })
    const node = await TomNode.open({ dir, logger: silentLogger(), config: { reconcileIntervalMs: 1000 } })
    const network = toHex(node.network)
    t.teardown(async () => {
      await node.close()
      for (const c of await runtime.list({ labels: { 'tom.network': network } })) await runtime.remove(c.id, { force: true })
    })
    node.start()
    const admin = new Signer(await loadKeyFile(dataPath(dir, 'adminKey')))
    let nonce = 0
    const submit = async (signer: Signer, type: string, payload: Tx['payload']): Promise<string> => {
      const tx = signTx({ network: node.network, type, signer: signer.publicKey, nonce: nonce++, expiresAt: Date.now() + 60_000, payload }, signer)
      const { receipt } = await node.submitTx(tx)
      return receipt.ok ? 'ok' : receipt.code
    }
    const joined = new Promise<string>((resolve) => {
      node.on('block', ({ block, receipts }) => {
        for (const [i, tx] of block.txs.entries()) {
          if (tx.type === 'container.join' && receipts[i]!.ok) resolve((tx.payload as { id: string }).id)
        }
      })
    })
    t.equal(await submit(admin, 'image.approve', { digest }), 'ok')
    const source = `handlers['e2e.start'] = (tx, api) => {
      api.action({ type: 'container.start', node: tx.payload.node, params: { image: tx.payload.image, container: tx.payload.id, cmd: ['sh', '-c', 'cat "$TOM_KEY_FILE"; echo; sleep 3600'] } })
    }`
    t.equal(await submit(admin, 'contract.deploy', { name: 'e2e', source }), 'ok')
    const unapproved = `sha256:${'0'.repeat(64)}`
    t.equal(await submit(admin, 'e2e.start', { node: toHex(node.publicKey), image: unapproved, id: 'never' }), 'ERR_IMAGE_NOT_APPROVED', 'no action for an unapproved image')
    t.equal(await submit(admin, 'e2e.start', { node: toHex(node.publicKey), image: digest, id: 'sensor-box' }), 'ok')
    t.equal(await joined, 'sensor-box', 'the node started and joined the container')

    const [engineContainer] = await runtime.list({ labels: { 'tom.network': network, 'tom.container': 'sensor-box' } })
    t.equal(engineContainer?.state, 'running')
    t.equal(engineContainer?.imageId, digest, 'it runs the approved image')
    let keyLine: string | undefined
    const deadline = Date.now() + 30_000
    while (keyLine === undefined && Date.now() < deadline) {
      keyLine = (await runtime.logs(engineContainer!.id)).stdout.split('\n').find((line) => line.includes('privateKey'))
      if (keyLine === undefined) await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const inside = new Signer(keyPairFromSeed(fromHex((JSON.parse(keyLine!) as { privateKey: string }).privateKey)))

    t.equal(await submit(inside, 'container.identify', { id: 'sensor-box' }), 'ok', 'the container proves it holds its key')
    t.equal(await submit(inside, 'data.add', { id: 'sensor-box/reading-1', hash: new Uint8Array(32).fill(5), producedBy: 'sensor-box' }), 'ok', 'and adds data as itself')
    const stranger = new Signer(keyPairFromSeed(new Uint8Array(32).fill(9)))
    t.equal(await submit(stranger, 'data.add', { id: 'forged', hash: new Uint8Array(32), producedBy: 'sensor-box' }), 'ERR_TX_UNKNOWN_SIGNER', 'another key may not')
    const attributions = await node.prov.whoTouched('tom:data/sensor-box/reading-1')
    t.ok(attributions.agents.some((a) => a.id === 'tom:container/sensor-box'), 'the data is attributed to the container')
  })
})
