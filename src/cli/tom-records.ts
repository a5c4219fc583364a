/**
 * `list` and `show` for what the built-in contracts record in the world state (nodes, devices,
 * images, containers): read over GET /v1/state, decoded from CBOR, printed one line per record or
 * as the whole record.
 */
import type { Command } from 'commander'
import { ApiError } from '../api/errors.js'
import { toJsonValue } from '../api/wire.js'
import type { JsonValue } from '../api/wire.js'
import { statePageEntriesMax } from '../api/constants.js'
import { output } from './tom-output.js'
import { decodeRecord, TomSession } from './tom-session.js'

export interface RecordKind {
  /** What one is called in messages: `device`. */
  readonly noun: string
  /** Its state keys: `device/<id>`. */
  readonly prefix: string
  /** The fields shown after the id in a listing. */
  readonly columns: readonly string[]
}

export const recordKinds = {
  node: { noun: 'node', prefix: 'node/', columns: ['name', 'org', 'raftId', 'addrs'] },
  device: { noun: 'device', prefix: 'device/', columns: ['status', 'org', 'node'] },
  image: { noun: 'image', prefix: 'image/', columns: ['status', 'org', 'name'] },
  container: { noun: 'container', prefix: 'container/', columns: ['status', 'org', 'node', 'imageDigest'] }
} as const satisfies Record<string, RecordKind>

/** Every record of a kind, page after page, in key order. */
async function listRecords(session: TomSession, kind: RecordKind): Promise<{ id: string; record: JsonValue }[]> {
  const out: { id: string; record: JsonValue }[] = []
  let after: string | undefined
  do {
    const page = await session.client.stateList(kind.prefix, { limit: statePageEntriesMax, ...(after === undefined ? {} : { after }) })
    for (const e of page.entries) out.push({ id: e.key.slice(kind.prefix.length), record: toJsonValue(decodeRecord(e.value)) })
    after = page.next
  } while (after !== undefined)
  return out
}

function column(record: JsonValue, field: string): string {
  const v = record !== null && typeof record === 'object' && !Array.isArray(record) ? record[field] : undefined
  if (v === undefined || v === null) return '-'
  return Array.isArray(v) ? v.join(',') : typeof v === 'object' ? JSON.stringify(v) : String(v)
}

/** Adds `list` and `show <id>` to a command group. */
export function addRecordCommands(group: Command, kind: RecordKind): void {
  group
    .command('list')
    .description(`every ${kind.noun} on the ledger, one per line: id ${kind.columns.join(' ')}`)
    .action(async (_opts: object, command: Command) => {
      const session = TomSession.of(command)
      const records = await listRecords(session, kind)
      const text = records.map(({ id, record }) => [id, ...kind.columns.map((c) => column(record, c))].join('  ') + '\n').join('')
      output(session, records, text === '' ? `no ${kind.noun}s\n` : text)
    })
  group
    .command('show')
    .description(`one ${kind.noun}'s record as the ledger holds it`)
    .argument('<id>', kind.noun === 'node' ? "the node's public key (hex)" : kind.noun === 'image' ? 'the digest, sha256:<hex>' : `the ${kind.noun} id`)
    .action(async (id: string, _opts: object, command: Command) => {
      const session = TomSession.of(command)
      const found = await session.client.state(`${kind.prefix}${kind.noun === 'node' ? id.toLowerCase() : id}`)
      if (found === undefined) throw new ApiError('ERR_API_NOT_FOUND', 404, `no ${kind.noun} ${id} on the ledger (height ${(await session.client.status()).head.height})`)
      output(session, { id, height: found.height, record: decodeRecord(found.value) })
    })
}
