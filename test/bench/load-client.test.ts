/**
 * The cluster bench's load client against a real node:http server: bodies and statuses come through,
 * connections are kept and renewed when the server closes them, and what it does not speak fails
 * with a code instead of a wrong answer.
 */
import t from 'tap'
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { once } from 'node:events'
import { LoadConnection, LoadPool } from '../../src/bench/load-client.js'

interface Seen {
  method: string
  url: string
  type: string | undefined
  body: string
}

async function serve(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<{ url: URL; server: Server; seen: Seen[]; sockets: Socket[] }> {
  const seen: Seen[] = []
  const sockets: Socket[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      seen.push({ method: req.method!, url: req.url!, type: req.headers['content-type'], body })
      handler(req, res, body)
    })
  })
  server.on('connection', (s: Socket) => sockets.push(s))
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  return { url: new URL(`http://127.0.0.1:${port}`), server, seen, sockets }
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers })
  res.end(text)
}

t.test('posts the body and hands back status and body, on one kept connection', async (t) => {
  const { url, seen, sockets } = await serve((_req, res, body) => json(res, body === 'bad' ? 400 : 200, { echo: body }))
  const c = new LoadConnection(url)
  t.teardown(() => c.close())
  const ok = await c.post('/v1/txs?wait=true', 'application/cbor', Buffer.from('one'))
  t.equal(ok.status, 200)
  t.strictSame(JSON.parse(ok.body.toString()), { echo: 'one' })
  const refused = await c.post('/v1/txs', 'application/cbor', Buffer.from('bad'))
  t.equal(refused.status, 400)
  t.strictSame(JSON.parse(refused.body.toString()), { echo: 'bad' })
  t.strictSame(seen[0], { method: 'POST', url: '/v1/txs?wait=true', type: 'application/cbor', body: 'one' })
  t.equal(sockets.length, 1, 'both requests on one connection')
  t.throws(() => {
    void c.post('/', 'text/plain', Buffer.from('x'))
    void c.post('/', 'text/plain', Buffer.from('y'))
  }, /one request at a time/)
})

t.test('a response with connection: close, or a server closing an idle connection: the next post reconnects', async (t) => {
  let n = 0
  const { url, sockets } = await serve((_req, res) => json(res, 200, { n: ++n }, n === 1 ? { connection: 'close' } : {}))
  const c = new LoadConnection(url)
  t.teardown(() => c.close())
  t.equal((await c.post('/', 'text/plain', Buffer.from('a'))).status, 200)
  t.equal((await c.post('/', 'text/plain', Buffer.from('b'))).status, 200)
  t.equal(sockets.length, 2, 'reconnected after connection: close')
  // The server drops the idle connection (as its keep-alive timeout would).
  t.ok(c.connected)
  sockets[1]!.destroy()
  // Until the client has seen the close: a post racing it fails (LoadPool's idle limit avoids the race).
  while (c.connected) await new Promise((resolve) => setImmediate(resolve))
  const after = await c.post('/', 'text/plain', Buffer.from('c'))
  t.equal(after.status, 200)
  t.strictSame(JSON.parse(after.body.toString()), { n: 3 })
  t.equal(sockets.length, 3)
})

t.test('what it does not speak, and a refused connection, fail with a code', async (t) => {
  const { url } = await serve((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.write('chunked')
    res.end()
  })
  const c = new LoadConnection(url)
  t.teardown(() => c.close())
  t.match(await c.post('/', 'text/plain', Buffer.from('x')), { status: 0, code: 'EPROTO' }, 'chunked body refused')

  const gone = createServer()
  gone.listen(0, '127.0.0.1')
  await once(gone, 'listening')
  const { port } = gone.address() as { port: number }
  gone.close()
  await once(gone, 'close')
  const nobody = new LoadConnection(new URL(`http://127.0.0.1:${port}`))
  t.match(await nobody.post('/', 'text/plain', Buffer.from('x')), { status: 0, code: 'ECONNREFUSED' })
})

t.test('a pool opens a connection per concurrent request, reuses idle ones, and drops those idle too long', async (t) => {
  const { url, sockets } = await serve((_req, res, body) => json(res, 200, { body }))
  const pool = new LoadPool(url)
  t.teardown(() => pool.close())
  const answers = await Promise.all(['a', 'b', 'c'].map((b) => pool.post('/', 'text/plain', Buffer.from(b))))
  t.strictSame(answers.map((a) => JSON.parse(a.body.toString()).body), ['a', 'b', 'c'])
  t.equal(sockets.length, 3)
  await pool.post('/', 'text/plain', Buffer.from('d'))
  t.equal(sockets.length, 3, 'an idle connection was reused')

  const eager = new LoadPool(url, -1)
  t.teardown(() => eager.close())
  await eager.post('/', 'text/plain', Buffer.from('e'))
  await eager.post('/', 'text/plain', Buffer.from('f'))
  t.equal(sockets.length, 5, 'with idleMs below zero every idle connection counts as too old')
})
