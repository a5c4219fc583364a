/** The OpenAPI document names exactly the routes the server answers, and the server answers each. */
import t from 'tap'
import { apiRoutes, openApiDocument } from '../../src/api/index.js'
import { apiFixture } from './fixture.js'

type Operations = Record<string, Record<string, { operationId: string; parameters?: { name: string; in: string }[] }>>
const paths = openApiDocument.paths as unknown as Operations

t.test('every server route is in the document and vice versa, with the same operationId', async (t) => {
  const documented = Object.entries(paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => `${method.toUpperCase()} ${path} ${op.operationId}`))
  const served = apiRoutes.map((r) => `${r.method} ${r.path} ${r.operationId}`)
  t.same(documented.sort(), served.sort())
  t.equal(openApiDocument.openapi, '3.1.0')
  const ids = documented.map((d) => d.split(' ')[2])
  t.equal(new Set(ids).size, ids.length, 'operationIds are unique')
  for (const [path, ops] of Object.entries(paths)) {
    for (const op of Object.values(ops)) {
      const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1])
      const declared = (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name)
      t.same(declared, inPath, `${op.operationId} declares its path parameters`)
    }
  }
  const refs = [...JSON.stringify(openApiDocument).matchAll(/"#\/components\/schemas\/(\w+)"/g)].map((m) => m[1]!)
  const schemas = Object.keys(openApiDocument.components.schemas)
  for (const ref of new Set(refs)) t.ok(schemas.includes(ref), `${ref} is defined`)
})

t.test('the server answers every documented operation, and serves the document', async (t) => {
  const { url, node } = await apiFixture(t)
  const sample: Record<string, string> = { id: 'tom:data/x', height: '0', key: 'k', agent: 'tom:data/x' }
  for (const [path, ops] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(ops)) {
      if (op.operationId === 'events') continue // an endless stream: covered in api.test.ts
      const concrete = path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(op.operationId === 'getTx' ? '00'.repeat(32) : sample[name]!))
      const res = await fetch(url + concrete, { method: method.toUpperCase(), ...(method === 'post' ? { headers: { 'content-type': 'application/cbor' }, body: new Uint8Array([0]) } : {}) })
      const body = res.headers.get('content-type')?.startsWith('application/json') ? ((await res.json()) as { code?: string }) : (await res.text(), {})
      t.notOk(['ERR_API_NO_ROUTE', 'ERR_API_METHOD_NOT_ALLOWED'].includes(body.code ?? ''), `${method.toUpperCase()} ${path} is routed (${res.status} ${body.code ?? ''})`)
      t.ok(Object.keys((op as unknown as { responses: object }).responses).includes(String(res.status)), `${op.operationId}: status ${res.status} is documented`)
    }
  }
  const served = await (await fetch(`${url}/v1/openapi.json`)).json()
  t.same(served, JSON.parse(JSON.stringify(openApiDocument)), 'GET /v1/openapi.json is the document')
  t.ok(node)
})
