/**
 * The OpenAPI 3.1 document of the node's HTTP API, served at GET /v1/openapi.json. Written by hand
 * (not generated from the router) so that it says what a client may rely on; test/api/openapi.test.ts
 * checks that it names exactly the routes the server answers, with the same operationIds.
 */

const hex = { type: 'string', pattern: '^([0-9a-f]{2})*$', description: 'bytes, lower-case hex' } as const
const txId = { type: 'string', pattern: '^[0-9a-f]{64}$', description: 'tx id: SHA-256 of the signed body, hex' } as const
const ref = (name: string): { $ref: string } => ({ $ref: `#/components/schemas/${name}` })
const json = (schema: object): object => ({ 'application/json': { schema } })
const errorResponse = (description: string): object => ({ description, content: json(ref('Error')) })
const provId = (name: string, description: string): object => ({ name, in: 'path', required: true, description: `${description}; a qualified name such as tom:data/x (percent-encode '/' or not)`, schema: { type: 'string' } })
const query = (name: string, schema: object, description: string): object => ({ name, in: 'query', required: false, description, schema })
const count = { type: 'integer', minimum: 0 } as const

const common = {
  '400': errorResponse('bad input (ERR_API_BAD_REQUEST, ERR_PROV_QUERY_*)'),
  '429': errorResponse('rate limited (ERR_API_RATE_LIMITED); see Retry-After'),
  '503': errorResponse('no leader, node stopping or server busy (ERR_NO_LEADER, ERR_READ_UNCONFIRMED, ERR_API_UNAVAILABLE)')
}

export const openApiDocument = Object.freeze({
  openapi: '3.1.0',
  info: {
    title: 'TOM node API',
    version: '1',
    description:
      'Submit signed txs, read the ledger, query and export provenance, follow committed blocks. Bytes are lower-case hex in JSON. ' +
      'Every error is { code, message } with a stable code listed in docs/errors.md.'
  },
  paths: {
    '/v1/txs': {
      post: {
        operationId: 'submitTx',
        summary: 'Submit a signed tx; by default wait until it is committed',
        parameters: [query('wait', { type: 'boolean', default: true }, 'wait for the commit (200/409), or only for the admission into the leader\'s mempool (202; refusals as with wait)')],
        requestBody: {
          required: true,
          content: {
            'application/cbor': { schema: { type: 'string', contentMediaType: 'application/cbor', description: 'the deterministic CBOR of the signed tx' } },
            ...json({ type: 'object', required: ['tx'], properties: { tx: hex } })
          }
        },
        responses: {
          '200': { description: 'committed, receipt ok', content: json(ref('CommittedTx')) },
          '202': { description: 'admitted (wait=false): in the leader\'s mempool; it commits unless leadership moves first. Follow it by id or on /v1/events', content: json({ type: 'object', required: ['id', 'pending'], properties: { id: txId, pending: { const: true } } }) },
          '400': errorResponse('not a tx (ERR_TX_MALFORMED, ERR_API_BAD_REQUEST)'),
          '409': {
            description: 'refused at admission (ERR_TX_BAD_SIGNATURE, ERR_TX_EXPIRED, ERR_TX_REPLAY, ...) or committed and failed (the receipt code; id, height, index and receipt are included)',
            content: json({ allOf: [ref('Error'), { type: 'object', properties: { id: txId, height: count, index: count, receipt: ref('Receipt') } }] })
          },
          '413': errorResponse('body or tx too large (ERR_API_BODY_TOO_LARGE, ERR_TX_TOO_LARGE)'),
          '415': errorResponse('neither application/cbor nor application/json (ERR_API_UNSUPPORTED_MEDIA_TYPE)'),
          '429': common['429'],
          '503': common['503'],
          '504': errorResponse('not committed (or, with wait=false, admitted) within the wait (ERR_API_WAIT_TIMEOUT); it may still be')
        }
      }
    },
    '/v1/txs/{id}': {
      get: {
        operationId: 'getTx',
        summary: 'A committed tx with its position and receipt',
        parameters: [{ name: 'id', in: 'path', required: true, schema: txId }],
        responses: { '200': { description: 'the tx', content: json(ref('TxRecord')) }, '400': common['400'], '404': errorResponse('no such committed tx (ERR_API_NOT_FOUND)'), '429': common['429'] }
      }
    },
    '/v1/blocks/{height}': {
      get: {
        operationId: 'getBlock',
        summary: 'A block with its txs and their receipts',
        parameters: [{ name: 'height', in: 'path', required: true, schema: count }],
        responses: { '200': { description: 'the block', content: json(ref('Block')) }, '400': common['400'], '404': errorResponse('no block at that height (ERR_API_NOT_FOUND)'), '429': common['429'] }
      }
    },
    '/v1/blocks': {
      get: {
        operationId: 'listBlocks',
        summary: "One page of blocks' exact bytes from a height on (what an auditor replays)",
        parameters: [query('from', count, 'first height (default 0)'), query('limit', { type: 'integer', minimum: 1, maximum: 500, default: 100 }, 'most blocks; a page also stops past 8 MiB of blocks')],
        responses: {
          '200': {
            description: 'the blocks and, unless at the head, next',
            content: json({
              type: 'object',
              required: ['head', 'blocks'],
              properties: {
                head: { type: 'object', required: ['height', 'hash'], properties: { height: count, hash: hex } },
                blocks: { type: 'array', items: { type: 'object', required: ['height', 'hash', 'bytes'], properties: { height: count, hash: hex, bytes: hex } } },
                next: count
              }
            })
          },
          '400': common['400'],
          '429': common['429']
        }
      }
    },
    '/v1/state/{key}': {
      get: {
        operationId: 'getState',
        summary: 'A world-state value: now, at a height, or linearizable',
        parameters: [
          { name: 'key', in: 'path', required: true, description: "a state key such as data/x (percent-encode '/' or not)", schema: { type: 'string', minLength: 1 } },
          query('height', count, 'the value after block `height`'),
          query('linearizable', { type: 'boolean', default: false }, 'reflect every tx committed anywhere before the call (asks the leader)')
        ],
        responses: { '200': { description: 'the value', content: json(ref('State')) }, '400': common['400'], '404': errorResponse('no value at that key (ERR_API_NOT_FOUND)'), '429': common['429'], '503': common['503'] }
      }
    },
    '/v1/state': {
      get: {
        operationId: 'listState',
        summary: 'One page of the world-state entries under a key prefix, in key order',
        parameters: [query('prefix', { type: 'string', default: '' }, 'keys that start with this, e.g. device/'), query('limit', { type: 'integer', minimum: 1, maximum: 1000, default: 100 }, 'most entries'), query('after', { type: 'string' }, 'the `next` of the previous page')],
        responses: { '200': { description: 'entries and, if more follow, next', content: json(ref('StatePage')) }, '400': common['400'], '429': common['429'] }
      }
    },
    '/v1/status': {
      get: {
        operationId: 'getStatus',
        summary: "This node: who it is, its Raft role, term, indexes and membership, the leader it knows, its peers, mempool, network and head",
        responses: { '200': { description: 'status', content: json(ref('Status')) }, '429': common['429'] }
      }
    },
    '/v1/prov/lineage/{id}': {
      get: {
        operationId: 'provLineage',
        summary: 'What X came from (backward) or what came from X (forward)',
        parameters: [provId('id', 'the start'), query('direction', { enum: ['backward', 'forward'], default: 'backward' }, 'which way'), query('depth', count, 'entity-to-entity steps'), query('limit', count, 'most nodes returned')],
        responses: { '200': { description: 'nodes and edges', content: json(ref('Lineage')) }, '400': common['400'], '429': common['429'] }
      }
    },
    '/v1/prov/who-touched/{id}': {
      get: {
        operationId: 'provWhoTouched',
        summary: 'The activities that generated, used or invalidated X, and the agents behind them',
        parameters: [provId('id', 'the entity'), query('limit', count, 'most results')],
        responses: { '200': { description: 'activities and agents', content: json({ type: 'object', required: ['entity', 'activities', 'agents', 'truncated'] }) }, '400': common['400'], '429': common['429'] }
      }
    },
    '/v1/prov/history/{id}': {
      get: {
        operationId: 'provHistory',
        summary: 'Every relation that touches X, in chain order',
        parameters: [provId('id', 'the id'), query('limit', count, 'most events per page'), query('cursor', { type: 'string' }, 'the `next` of the previous page')],
        responses: { '200': { description: 'one page of the history', content: json({ type: 'object', required: ['id', 'kinds', 'events', 'truncated'] }) }, '400': common['400'], '429': common['429'] }
      }
    },
    '/v1/prov/activities/{agent}': {
      get: {
        operationId: 'provActivities',
        summary: 'Everything an agent did (e.g. tom:key/<hex>), with tx type, height, time and receipt',
        parameters: [provId('agent', 'the agent'), query('limit', count, 'most activities per page'), query('cursor', { type: 'string' }, 'the `next` of the previous page')],
        responses: { '200': { description: 'one page of activities', content: json({ type: 'object', required: ['agent', 'activities', 'truncated'] }) }, '400': common['400'], '429': common['429'] }
      }
    },
    '/v1/prov/export': {
      get: {
        operationId: 'provExport',
        summary: 'Provenance as PROV-JSON, PROV-N or Turtle: one block, a range of blocks (default: the whole ledger) or the lineage of one id',
        parameters: [
          query('format', { enum: ['prov-json', 'prov-n', 'turtle'], default: 'prov-json' }, 'serialisation'),
          query('block', count, 'one block, as a bundle'),
          query('from', count, 'first block of a range'),
          query('to', count, 'last block of a range'),
          query('lineage', { type: 'string' }, 'the lineage subgraph of this id'),
          query('direction', { enum: ['backward', 'forward'], default: 'backward' }, 'with lineage'),
          query('depth', count, 'with lineage'),
          query('limit', count, 'with lineage')
        ],
        responses: {
          '200': {
            description: 'the document',
            content: { 'application/json': { schema: { type: 'object' } }, 'text/provenance-notation': { schema: { type: 'string' } }, 'text/turtle': { schema: { type: 'string' } } }
          },
          '400': common['400'],
          '429': common['429']
        }
      }
    },
    '/v1/events': {
      get: {
        operationId: 'events',
        summary:
          'Server-Sent Events, per committed block in height order: one `action` event per change of an orchestration action in it (data: an ActionEvent), ' +
          'then one `block` event (id: the height, data: a BlockEvent). The stream starts with a comment and `id:` the height it starts after. ' +
          'Resume with from=H or the Last-Event-ID header (which wins): the blocks after H are replayed from the ledger, then live ones follow, none missed or repeated.',
        parameters: [
          query('from', count, 'replay the blocks after this height first (default: live only); a height past the head waits for it'),
          { name: 'Last-Event-ID', in: 'header', required: false, description: 'as `from`; sent by an EventSource that reconnects', schema: { type: 'string', pattern: '^[0-9]+$' } }
        ],
        responses: {
          '200': { description: 'an endless event stream', content: { 'text/event-stream': { schema: { type: 'string' }, itemSchema: { oneOf: [ref('BlockEvent'), ref('ActionEvent')] } } } },
          '400': errorResponse('from or Last-Event-ID is not a height (ERR_API_BAD_REQUEST)'),
          '429': common['429'],
          '503': common['503']
        }
      }
    },
    '/v1/openapi.json': {
      get: {
        operationId: 'openapi',
        summary: 'This document',
        responses: { '200': { description: 'OpenAPI 3.1', content: json({ type: 'object' }) } }
      }
    },
    '/metrics': {
      get: {
        operationId: 'metrics',
        summary: "The node's metrics in the Prometheus text format (Raft, heights, tx outcomes and latency, mempool, peers, orchestrator)",
        responses: { '200': { description: 'Prometheus exposition format 0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } }, '429': common['429'] }
      }
    }
  },
  components: {
    schemas: {
      Error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string', pattern: '^ERR_[A-Z0-9_]+$' }, message: { type: 'string' } } },
      Receipt: {
        oneOf: [
          { type: 'object', required: ['ok'], properties: { ok: { const: true } } },
          { type: 'object', required: ['ok', 'code', 'message'], properties: { ok: { const: false }, code: { type: 'string' }, message: { type: 'string' } } }
        ]
      },
      CommittedTx: { type: 'object', required: ['id', 'height', 'index', 'receipt'], properties: { id: txId, height: count, index: count, receipt: ref('Receipt') } },
      Tx: {
        type: 'object',
        required: ['id', 'type', 'network', 'signer', 'nonce', 'expiresAt', 'payload', 'sig', 'bytes'],
        properties: { id: txId, type: { type: 'string' }, network: hex, signer: hex, nonce: count, expiresAt: count, payload: { description: 'the payload, bytes as hex, bigints as decimal strings' }, sig: hex, bytes: { ...hex, description: 'the exact CBOR of the signed tx' } }
      },
      TxRecord: { allOf: [ref('CommittedTx'), { type: 'object', required: ['tx'], properties: { tx: ref('Tx') } }] },
      Block: {
        type: 'object',
        required: ['height', 'hash', 'header', 'sig', 'bytes', 'txs'],
        properties: {
          height: count,
          hash: hex,
          header: { type: 'object', required: ['height', 'prevHash', 'time', 'txRoot', 'stateRoot', 'proposer', 'raftTerm', 'raftIndex'] },
          sig: hex,
          bytes: { ...hex, description: 'the exact CBOR of the block, as hashed and signed' },
          txs: { type: 'array', items: { allOf: [ref('Tx'), { type: 'object', properties: { receipt: ref('Receipt') } }] } }
        }
      },
      StatePage: {
        type: 'object',
        required: ['height', 'entries'],
        properties: { height: count, entries: { type: 'array', items: { type: 'object', required: ['key', 'value'], properties: { key: { type: 'string' }, value: hex } } }, next: { type: 'string' } }
      },
      State: { type: 'object', required: ['key', 'height', 'value'], properties: { key: { type: 'string' }, height: count, value: hex } },
      Status: {
        type: 'object',
        required: ['role', 'leader', 'network', 'head', 'node', 'raft', 'peers', 'mempool'],
        properties: {
          role: { enum: ['follower', 'candidate', 'leader', 'preCandidate'] },
          leader: { type: 'integer', description: 'Raft id; 0: none known' },
          network: hex,
          head: { type: 'object', required: ['height', 'hash', 'time'], properties: { height: count, hash: hex, time: count } },
          node: { type: 'object', required: ['name', 'raftId', 'publicKey', 'peerId'], properties: { name: { type: 'string' }, raftId: count, publicKey: hex, peerId: { type: 'string' } } },
          raft: {
            type: 'object',
            required: ['term', 'commitIndex', 'appliedIndex', 'lastIndex', 'voters', 'learners'],
            properties: {
              term: count,
              commitIndex: count,
              appliedIndex: count,
              lastIndex: count,
              voters: { type: 'array', items: ref('RaftMember') },
              learners: { type: 'array', items: ref('RaftMember') }
            }
          },
          peers: { type: 'object', required: ['connected', 'ids'], description: 'peers with an open p2p connection', properties: { connected: count, ids: { type: 'array', items: { type: 'string' } } } },
          mempool: { type: 'object', required: ['txs', 'max'], description: 'txs waiting for a block or in one not yet committed', properties: { txs: count, max: count } }
        }
      },
      RaftMember: { type: 'object', required: ['raftId', 'peerId'], properties: { raftId: count, peerId: { type: ['string', 'null'] } } },
      Lineage: { type: 'object', required: ['start', 'direction', 'nodes', 'edges', 'truncated'] },
      BlockEvent: {
        type: 'object',
        required: ['height', 'hash', 'time', 'txs'],
        properties: { height: count, hash: hex, time: count, txs: { type: 'array', items: { type: 'object', required: ['id', 'type', 'signer', 'receipt'], properties: { id: txId, type: { type: 'string' }, signer: hex, receipt: ref('Receipt') } } } }
      },
      ActionEvent: {
        type: 'object',
        description: 'a change of an orchestration action: emitted (pending), reported (action.report), or fulfilled by its container joining (done)',
        required: ['id', 'type', 'node', 'container', 'status', 'height', 'tx', 'index'],
        properties: {
          id: { type: 'string', pattern: '^[0-9a-f]{64}-[0-9]+$', description: '<emitting tx id>-<n>' },
          type: { enum: ['container.start', 'container.stop', 'container.restart', 'container.remove', 'container.migrate'] },
          node: { ...hex, description: 'the addressed node public key' },
          container: { type: 'string' },
          status: { enum: ['pending', 'running', 'done', 'failed'] },
          height: count,
          tx: { ...txId, description: 'the tx that made this change' },
          index: count,
          detail: { type: 'string', description: "a report's reason" },
          target: { ...hex, description: "a migrate's target node" }
        }
      }
    }
  }
})
