/**
 * The event stream against a real node: action events (emitted, reported, fulfilled) before the block
 * event that closes their block, replay from `from` and Last-Event-ID with blocks committing during
 * the replay, and the SDK resuming after its connection was really cut (through a TCP proxy).
 */
import t from 'tap'
import { createServer, connect } from 'node:net'
import type { Socket } from 'node:net'
import { decode, generateKeyPair, toHex } from '../../src/crypto/index.js'
import { TomClient } from '../../src/api/index.js'
import type { NodeEvent } from '../../src/api/index.js'
import { apiFixture, dataHash } from './fixture.js'

/** Reads `iterator` until `stop` holds for an event (inclusive); the test's timeout bounds the wait. */
async function readUntil(iterator: AsyncIterator<NodeEvent>, stop: (e: NodeEvent) => boolean): Promise<NodeEvent[]> {
  const seen: NodeEvent[] = []
  for (;;) {
    const { done, value } = await iterator.next()
    if (done === true) throw new Error(`the stream ended after ${seen.length} events`)
    seen.push(value)
    if (stop(value)) return seen
  }
}

const blockHeights = (events: NodeEvent[]): number[] => events.flatMap((e) => (e.event === 'block' ? [e.height] : []))

t.test('action events: emitted by a template, reported running and failed, fulfilled by a join; each before its block event', async (t) => {
  const { node, admin, nodeSigner, url, client } = await apiFixture(t)
  const b = await client.build(admin)
  const byNode = await client.build(nodeSigner)
  const image = `sha256:${'ab'.repeat(32)}`
  await client.submit(b.imageApprove({ digest: image }))
  await client.submit(b.templateSet({ id: 'proc', on: 'data.add', match: { dataType: 'video' }, image, env: { MODE: 'fast' } }))
  const events = await client.events()
  t.teardown(() => events.return?.())

  const clip1 = b.dataAdd({ id: 'clips/1', hash: dataHash(), dataType: 'video' })
  const at1 = await client.submit(clip1)
  const action1 = `${toHex(clip1.id)}-0`
  const running = byNode.actionReport({ id: action1, status: 'running' })
  const atRunning = await client.submit(running)
  const failed = byNode.actionReport({ id: action1, status: 'failed', detail: 'engine said no' })
  const atFailed = await client.submit(failed)
  const clip2 = b.dataAdd({ id: 'clips/2', hash: dataHash(), dataType: 'video' })
  const at2 = await client.submit(clip2)
  const action2 = `${toHex(clip2.id)}-0`
  const join = byNode.containerJoin({ id: 'proc-clips.2', imageDigest: image, publicKey: generateKeyPair().publicKey, action: action2 })
  const atJoin = await client.submit(join)
  if ([at1, atRunning, atFailed, at2, atJoin].some((x) => 'pending' in x)) throw new Error('waited for each commit')
  const pos = (x: typeof at1): { height: number; index: number } => ('pending' in x ? { height: -1, index: -1 } : { height: x.height, index: x.index })

  const seen = await readUntil(events, (e) => e.event === 'block' && e.height === pos(atJoin).height)
  const nodeHex = toHex(node.publicKey)
  const common = { event: 'action', type: 'container.start', node: nodeHex }
  t.same(
    seen.filter((e) => e.event === 'action'),
    [
      { ...common, id: action1, container: 'proc-clips.1', status: 'pending', tx: toHex(clip1.id), ...pos(at1) },
      { ...common, id: action1, container: 'proc-clips.1', status: 'running', tx: toHex(running.id), ...pos(atRunning) },
      { ...common, id: action1, container: 'proc-clips.1', status: 'failed', detail: 'engine said no', tx: toHex(failed.id), ...pos(atFailed) },
      { ...common, id: action2, container: 'proc-clips.2', status: 'pending', tx: toHex(clip2.id), ...pos(at2) },
      { ...common, id: action2, container: 'proc-clips.2', status: 'done', tx: toHex(join.id), ...pos(atJoin) }
    ],
    'every change, in chain order'
  )
  for (const [i, e] of seen.entries()) {
    if (e.event !== 'action') continue
    const closing = seen.slice(i).find((x) => x.event === 'block')
    t.equal(closing?.event === 'block' ? closing.height : -1, e.height, `the ${e.status} action event comes before its block's event`)
  }
  const record = decode<{ status: string }>((await client.state(`action/${action1}`))!.value)
  t.equal(record.status, 'failed', 'the stream agrees with the committed state')

  // The same changes replayed from the ledger, through actions() and its node filter.
  const replayed = await client.actions({ from: pos(at1).height - 1, node: nodeHex })
  const again = []
  for await (const a of replayed) {
    again.push(a)
    if (again.length === 5) break
  }
  t.same(
    again,
    seen.filter((e) => e.event === 'action').map(({ event: _e, ...a }) => a),
    'replayed, the same action events'
  )

  // Raw framing: the stream's start id, then the action, then the block event that carries the id.
  const res = await fetch(`${url}/v1/events?from=${pos(at1).height - 1}`)
  const reader = res.body!.getReader()
  let text = ''
  while (!text.includes(`id: ${pos(at1).height}\n`)) {
    const { value, done } = await reader.read()
    if (done) break
    text += new TextDecoder().decode(value)
  }
  await reader.cancel()
  t.match(text, new RegExp(`^: subscribed\\nid: ${pos(at1).height - 1}\\n\\nevent: action\\ndata: \\{"id":"${action1}",[^\\n]*\\n\\nevent: block\\nid: ${pos(at1).height}\\ndata: \\{`), 'start id; action, then block with the id')
})

t.test('from and Last-Event-ID replay from the ledger, then go on live: no gap and no duplicate while blocks commit', async (t) => {
  const { node, admin, url, client } = await apiFixture(t)
  const b = await client.build(admin)
  // More blocks than a stream keeps live (sseLiveBlocksMax), so that the replay reads them back.
  for (let i = 0; i < 80; i++) await client.submit(b.dataAdd({ id: `before-${i}`, hash: dataHash() }))
  const head = node.head.height
  const stream = await client.events({ from: 3 })
  t.teardown(() => stream.return?.())
  const extra = 40
  // Blocks commit while the replay runs: one tx, one block, each waited for.
  const writing = (async () => {
    for (let i = 0; i < extra; i++) await client.submit(b.dataAdd({ id: `during-${i}`, hash: dataHash() }))
  })()
  const seen = await readUntil(stream, (e) => e.event === 'block' && e.height === head + extra)
  await writing
  t.same(blockHeights(seen), Array.from({ length: head + extra - 3 }, (_, i) => i + 4), `blocks 4 to ${head + extra}, each once, in order`)

  // The header wins over from=: a browser's EventSource reconnects to the same URL with Last-Event-ID.
  const res = await fetch(`${url}/v1/events?from=0`, { headers: { 'last-event-id': String(head - 2) } })
  const reader = res.body!.getReader()
  let text = ''
  while (!text.includes(`id: ${head}\n`)) {
    const { value, done } = await reader.read()
    if (done) break
    text += new TextDecoder().decode(value)
  }
  await reader.cancel()
  // The blocks after `head` exist too: the last chunk read may hold some of them.
  const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))
  t.same(ids.slice(0, 3), [head - 2, head - 1, head], 'the start id, then the blocks after Last-Event-ID')
  t.same(ids, Array.from({ length: ids.length }, (_, i) => head - 2 + i), 'each block once, in order')

  // A height past the head (a client coming from a node further ahead) waits for the node to get there.
  const ahead = node.head.height + 2
  const waiting = await client.events({ from: ahead })
  t.teardown(() => waiting.return?.())
  for (let i = 0; i < 3; i++) await client.submit(b.dataAdd({ id: `after-${i}`, hash: dataHash() }))
  t.same(blockHeights(await readUntil(waiting, (e) => e.event === 'block')), [ahead + 1], 'the first block after from, once it exists')

  const bad = async (path: string, headers: Record<string, string> = {}): Promise<{ status: number; code: string }> => {
    const r = await fetch(url + path, { headers })
    return { status: r.status, code: ((await r.json()) as { code: string }).code }
  }
  t.same(await bad('/v1/events?from=-1'), { status: 400, code: 'ERR_API_BAD_REQUEST' }, 'from is a height')
  t.same(await bad('/v1/events', { 'last-event-id': 'abc' }), { status: 400, code: 'ERR_API_BAD_REQUEST' }, 'Last-Event-ID is a height')
  await t.rejects(client.events({ from: 1.5 }), TypeError, 'the SDK checks from')
})

t.test('the SDK resumes a stream whose connection was cut, from the last complete block', async (t) => {
  const { admin, url, client } = await apiFixture(t)
  const target = new URL(url)
  const sockets = new Set<Socket>()
  const requests: string[] = []
  // A TCP proxy between the SDK and the node, so that the test can cut the connection for real.
  const proxy = createServer((down) => {
    const up = connect(Number(target.port), target.hostname)
    sockets.add(down).add(up)
    down.once('data', (head: Buffer) => requests.push(head.toString('latin1')))
    down.pipe(up).pipe(down)
    const cut = (): void => {
      down.destroy()
      up.destroy()
    }
    down.on('error', cut).on('close', cut)
    up.on('error', cut).on('close', cut)
  })
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => proxy.close(() => resolve())))
  const port = (proxy.address() as { port: number }).port
  const b = await client.build(admin)

  const stream = await new TomClient({ url: `http://127.0.0.1:${port}` }).events({ reconnect: true })
  t.teardown(() => stream.return?.())
  const first = await client.submit(b.dataAdd({ id: 'before-cut', hash: dataHash() }))
  if ('pending' in first) throw new Error('waited')
  const before = await readUntil(stream, (e) => e.event === 'block' && e.height === first.height)
  for (const s of sockets) s.destroy()
  // Committed while the SDK is cut off (it waits eventsReconnectDelayMs before its first attempt).
  let last = first.height
  for (let i = 0; i < 3; i++) {
    const c = await client.submit(b.dataAdd({ id: `during-cut-${i}`, hash: dataHash() }))
    if (!('pending' in c)) last = c.height
  }
  const after = await readUntil(stream, (e) => e.event === 'block' && e.height === last)
  t.same(blockHeights(after), [first.height + 1, first.height + 2, first.height + 3], 'the blocks committed during the cut, each once')
  t.equal(blockHeights(before).at(-1), first.height)
  t.equal(requests.length, 2, 'a second connection')
  t.match(requests[1], new RegExp(`^GET /v1/events HTTP/1\\.1\\r\\n[\\s\\S]*last-event-id: ${first.height}\\r\\n`, 'i'), 'resumed after the last block seen')
})
