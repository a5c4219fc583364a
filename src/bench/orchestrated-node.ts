/**
 * One node process of an orchestrated test or bench network (orchestrated-network.ts): a TomNode that
 * runs its orchestrator on the real container engine. Prints, one per line on stdout:
 *   ready <raftId> <height>                opened and started
 *   role <role> <leaderRaftId>             Raft role changes
 *   tx <height> <type> <ok|code> <json>    each tx of each applied block, with its payload's string
 *                                          fields, so the driver can follow the story
 *   done <tag> <ok|code>                   the outcome of a `submit` command
 * Reads `submit <tag> <keyFile> <type> <json>` on stdin: signs a tx with the key file (JSON strings
 * "hex:<hex>" become bytes) and submits it, retrying while there is no leader. SIGTERM closes the
 * node gracefully.
 */
import '../polyfills.js'
import { createInterface } from 'node:readline'
import { fromHex, loadKeyFile, Signer } from '../crypto/index.js'
import { signTx } from '../ledger/index.js'
import type { AppliedBlock, Tx } from '../ledger/index.js'
import { createLogger, TomNode } from '../node/index.js'

const [dir] = process.argv.slice(2)
const node = await TomNode.open({ dir: dir!, logger: createLogger('info') })
const out = (line: string): void => void process.stdout.write(line + '\n')
node.on('role', (s) => out(`role ${s.role} ${s.leader}`))
node.on('block', ({ block, receipts }: AppliedBlock) => {
  for (const [i, tx] of block.txs.entries()) {
    const payload = (tx.payload ?? {}) as Record<string, unknown>
    const fields = Object.fromEntries(Object.entries(payload).filter(([, v]) => typeof v === 'string'))
    const receipt = receipts[i]!
    out(`tx ${block.header.height} ${tx.type} ${receipt.ok ? 'ok' : receipt.code} ${JSON.stringify(fields)}`)
  }
})
node.on('fatal', (err) => {
  process.stderr.write(`fatal: ${err.stack}\n`)
  process.exit(3)
})
node.start()
out(`ready ${node.raftId} ${node.head.height}`)

function withBytes(value: unknown): unknown {
  if (typeof value === 'string' && value.startsWith('hex:')) return fromHex(value.slice(4))
  if (Array.isArray(value)) return value.map(withBytes)
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withBytes(v)]))
  return value
}

let nonce = Date.now() * 1000
const retryable = (code: unknown): boolean => code === 'ERR_NO_LEADER' || code === 'ERR_NOT_LEADER' || /^ERR_P2P_/.test(String(code))

async function submit(tag: string, keyFile: string, type: string, json: string): Promise<void> {
  const signer = new Signer(await loadKeyFile(keyFile))
  const payload = withBytes(JSON.parse(json)) as Tx['payload']
  const tx = signTx({ network: node.network, type, signer: signer.publicKey, nonce: nonce++, expiresAt: Date.now() + 600_000, payload }, signer)
  for (;;) {
    try {
      const committed = await node.submitTx(tx)
      return out(`done ${tag} ${committed.receipt.ok ? 'ok' : committed.receipt.code}`)
    } catch (err) {
      const code = (err as { code?: string }).code
      if (code === 'ERR_TX_REPLAY') return out(`done ${tag} ok`)
      if (!retryable(code)) return out(`done ${tag} ${code ?? (err as Error).message}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, tag, keyFile, type, ...rest] = line.split(' ')
  if (cmd === 'submit') void submit(tag!, keyFile!, type!, rest.join(' '))
})
process.on('SIGTERM', () => void node.close().then(() => process.exit(0)))
