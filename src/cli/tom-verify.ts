/**
 * `tom verify`: the auditor's check of the chain a node serves. Fetches every block's exact bytes
 * over the API, a page at a time, and replays them (src/node/verify-served-chain.ts); exit 0 with the height and head
 * hash of a sound chain, 1 with the first bad height of an unsound one.
 */
import type { Command } from 'commander'
import { ApiError } from '../api/errors.js'
import { blockPageBlocksMax } from '../api/constants.js'
import type { TomClient } from '../api/client.js'
import type { ServedBlock } from '../node/index.js'
import { exitCodes, printJson, progressLine } from './run.js'
import { TomSession } from './tom-session.js'

/** Attempts at one page when the node says the client asks too fast (ERR_API_RATE_LIMITED). */
const rateLimitedAttemptsMax = 30
/** Wait between those attempts: the API's token bucket refills a request every 10 ms by default. */
const rateLimitedRetryMs = 200

/** One page of blocks from `from` on (GET /v1/blocks): exact bytes, as many as the node sends at once. */
async function servedBlocks(client: TomClient, from: number, signal: AbortSignal | undefined): Promise<readonly ServedBlock[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await client.blocks(from, { limit: blockPageBlocksMax, ...(signal === undefined ? {} : { signal }) })).blocks
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 'ERR_API_RATE_LIMITED') || attempt >= rateLimitedAttemptsMax) throw err
      await new Promise((resolve) => setTimeout(resolve, rateLimitedRetryMs))
    }
  }
}

export function addVerifyCommand(program: Command): void {
  program
    .command('verify')
    .description("re-check the chain a node serves: every block's bytes, hash links, signatures, Merkle and state roots, and its head")
    .action(async (_opts: object, command: Command) => {
      const session = TomSession.of(command)
      const { client } = session
      const { head } = await client.status()
      // Loaded here: the ledger and the contracts are only needed by this command.
      const { verifyServedChain } = await import('../node/verify-served-chain.js')
      const progress = progressLine('verifying block')
      const report = await verifyServedChain(
        { head, blocks: (from, { signal }) => servedBlocks(client, from, signal) },
        { onProgress: (h, top) => progress.update(h + 1, top + 1) }
      ).finally(() => progress.end())
      const shown = { api: client.url, ...report }
      if (session.json) printJson(shown)
      else if (report.ok) process.stdout.write(`chain sound: height ${report.height}, head ${report.hash}, ${report.txs} txs, ${report.ms} ms (${client.url})\n`)
      else process.stdout.write(`chain UNSOUND at height ${report.height}: ${report.code}: ${report.reason} (${client.url})\n`)
      if (!report.ok) process.exitCode = exitCodes.negative
    })
}
