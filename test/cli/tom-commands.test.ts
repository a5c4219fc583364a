/**
 * The `tom` CLI through real processes against a real one-node network (`tom-node up --nodes 1`):
 * each command group, its JSON and human output, the error paths (bad arguments, no key, an
 * unreachable node, a refused tx: exit 2 and one `tom: CODE: message` line), and `tom verify` on the
 * real chain and on the same chain served with one block altered (exit 1 with that height).
 */
import t from 'tap'
import type { Test } from 'tap'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import { defaultAclRules } from '../../src/contracts/acl.js'
import { findFreePorts, portFree } from '../../src/node/index.js'
import { distMissing, processTimeoutMs, runBin, spawnBin } from './bin.js'
import type { BinResult } from './bin.js'

const skip = distMissing('tom') || distMissing('tom-node')

/** One `tom: CODE: message` line on stderr, nothing on stdout, exit 2. */
function refused(t: Test, r: BinResult, code: string, what: string): void {
  t.equal(r.code, 2, `${what}: exit 2`)
  t.equal(r.stdout, '', `${what}: nothing on stdout`)
  const lines = r.stderr.split('\n').filter((l) => l.length > 0)
  t.equal(lines.length, 1, `${what}: one line on stderr: ${r.stderr}`)
  t.match(lines[0], new RegExp(`^tom: ${code}: \\S`), `${what}: ${code}`)
}

t.test('tom against a one-node network', { skip, timeout: 180_000 }, async (t) => {
  const root = t.testdir()
  const dir = join(root, 'net')
  // The node's p2p port, and its API port 100 above it, both free.
  let base = await findFreePorts(1)
  while (!(await portFree(base + 100))) base = await findFreePorts(1)
  const up = spawnBin('tom-node', ['up', '--dir', dir, '--nodes', '1', '--base-port', String(base)])
  // The network lives as long as the test, so it is not bounded like a short-lived command.
  up.stderr.resume()
  const exited = new Promise<number | null>((resolve) => up.once('close', (code) => resolve(code)))
  // On a failure midway: SIGINT, so that up stops its nodes (a SIGKILL would leave them running).
  t.teardown(async () => {
    if (up.exitCode !== null) return
    up.kill('SIGINT')
    const guard = setTimeout(() => up.kill('SIGKILL'), processTimeoutMs)
    await exited
    clearTimeout(guard)
  })
  const url = await new Promise<string>((resolve, reject) => {
    const guard = setTimeout(() => reject(new Error('no leader in time')), processTimeoutMs * 2)
    // In either order: a lone node may win its election before it prints its API.
    let api: string | undefined
    let leader = false
    createInterface({ input: up.stdout }).on('line', (line) => {
      api ??= /^node1: API (\S+)$/.exec(line)?.[1]
      if (line === 'node1 is the leader') leader = true
      if (api !== undefined && leader) {
        clearTimeout(guard)
        resolve(api)
      }
    })
  })
  const work = join(root, 'work')
  await mkdir(work)
  const adminKey = join(dir, 'admin.key')
  const env = { TOM_NODE: url, TOM_KEY: adminKey }
  const tom = (...args: string[]): Promise<BinResult> => runBin('tom', args, { env, cwd: work })
  /** Runs a command that must succeed with --json and returns its parsed output. */
  const tomJson = async <T = Record<string, unknown>>(...args: string[]): Promise<T> => {
    const r = await tom(...args, '--json')
    t.equal(r.code, 0, `tom ${args.join(' ')}: ${r.stderr}`)
    return JSON.parse(r.stdout) as T
  }
  const keyFile = async (name: string): Promise<{ file: string; hex: string }> => {
    const file = join(work, `${name}.key`)
    const r = await tomJson<{ publicKey: string }>('keys', 'generate', '--out', file)
    return { file, hex: r.publicKey }
  }

  await t.test('status: the node, its role, the network and head; --node and TOM_NODE', async (t) => {
    const s = await tomJson<{ api: string; role: string; network: string; head: { height: number } }>('status')
    t.equal(s.role, 'leader')
    t.match(s.network, /^[0-9a-f]{64}$/)
    t.equal(s.api, url, 'the URL asked')
    const human = await runBin('tom', ['status', '--node', url], { cwd: work })
    t.equal(human.code, 0, human.stderr)
    t.match(human.stdout, /^role: leader$/m, 'human text: key: value lines')
    t.match(human.stdout, new RegExp(`^network: ${s.network}$`, 'm'))
  })

  const digest = `sha256:${'ab'.repeat(32)}`
  await t.test('image approve, list, show, revoke', async (t) => {
    const approved = await tomJson<{ type: string; receipt: { ok: boolean }; height: number }>('image', 'approve', digest, '--name', 'busybox')
    t.match(approved, { type: 'image.approve', receipt: { ok: true } })
    const list = await tomJson<{ id: string; record: { status: string; name: string } }[]>('image', 'list')
    t.same(list.map((i) => [i.id, i.record.status, i.record.name]), [[digest, 'approved', 'busybox']])
    const human = await tom('image', 'list')
    t.equal(human.stdout, `${digest}  approved  org1  busybox\n`)
    const other = `sha256:${'cd'.repeat(32)}`
    await tomJson('image', 'approve', other)
    t.match(await tomJson('image', 'revoke', other), { receipt: { ok: true } })
    t.match(await tomJson('image', 'show', other), { id: other, record: { status: 'revoked' } })
  })

  const cam = await keyFile('cam-1')
  await t.test('device authorise (key from its file), join with its own key, list, show, leave', async (t) => {
    t.match(await tomJson('device', 'authorise', 'cam-1', '--public-key', cam.file, '--attr', 'firmwareHash=f1', '--attr', 'model=x'), { type: 'device.authorise', receipt: { ok: true } })
    const wrong = await tom('device', 'join', 'cam-1', '--attr', 'firmwareHash=evil', '--attr', 'model=x', '--key', cam.file)
    refused(t, wrong, 'ERR_DEVICE_ATTRIBUTES_MISMATCH', 'a join with other attributes is a failed tx')
    t.match(wrong.stderr, /failed in block \d+; it changed nothing/)
    const joined = await tom('device', 'join', 'cam-1', '--attr', 'firmwareHash=f1', '--attr', 'model=x', '--key', cam.file)
    t.equal(joined.code, 0, joined.stderr)
    t.match(joined.stdout, /^committed device\.join tx [0-9a-f]{64} in block \d+\n$/)
    const shown = await tomJson<{ record: { status: string; publicKey: string; attributes: Record<string, string> } }>('device', 'show', 'cam-1')
    t.match(shown.record, { status: 'joined', publicKey: cam.hex, attributes: { firmwareHash: 'f1', model: 'x' } })
    t.same((await tomJson<{ id: string }[]>('device', 'list')).map((d) => d.id), ['cam-1'])
    const human = await tom('device', 'show', 'cam-1')
    t.match(human.stdout, /^  status: joined$/m)
    t.match(human.stdout, /^    firmwareHash: f1$/m)
    const gone = await tom('device', 'show', 'nope')
    refused(t, gone, 'ERR_API_NOT_FOUND', 'show of an unknown device')
  })

  await t.test('data add from a file and by hash, with derivation; prov lineage, who-touched, history, export', async (t) => {
    const file = join(work, 'frame.bin')
    await writeFile(file, 'frame bytes')
    const raw = await tomJson<{ height: number }>('data', 'add', 'frame-1', '--file', file, '--type', 'frame', '--produced-by', 'cam-1', '--key', cam.file)
    await tomJson('data', 'add', 'clean-1', '--hash', 'cd'.repeat(32), '--derived-from', 'frame-1', '--location', 'edge-1')
    const tx = await tomJson<{ tx: { payload: { hash: string; size: number } } }>('tx', 'show', (await tomJson<{ id: string }>('data', 'add', 'frame-2', '--file', file, '--key', cam.file)).id)
    t.equal(tx.tx.payload.hash, createHash('sha256').update('frame bytes').digest('hex'), 'the file is hashed with SHA-256')
    t.equal(tx.tx.payload.size, 11, 'and its size recorded')
    const back = await tomJson<{ nodes: { id: string }[]; edges: { relation: string; from: string; to: string }[] }>('prov', 'lineage', 'tom:data/clean-1')
    t.ok(back.edges.some((e) => e.relation === 'wasDerivedFrom' && e.from === 'tom:data/clean-1' && e.to === 'tom:data/frame-1'), 'clean-1 derives from frame-1')
    const forward = await tomJson<{ nodes: { id: string }[] }>('prov', 'lineage', 'tom:data/frame-1', '--direction', 'forward', '--depth', '1')
    t.ok(forward.nodes.some((n) => n.id === 'tom:data/clean-1'), 'forward from frame-1 reaches clean-1')
    const who = await tomJson<{ agents: { id: string }[] }>('prov', 'who-touched', 'tom:data/frame-1')
    t.ok(who.agents.some((a) => a.id === 'tom:device/cam-1'), 'the device is among the agents')
    const history = await tomJson<{ events: unknown[] }>('prov', 'history', 'tom:data/frame-1', '--limit', '2')
    t.ok(history.events.length > 0 && history.events.length <= 2)
    const provn = await tom('prov', 'export', '--format', 'provn', '--entity', 'tom:data/clean-1')
    t.equal(provn.code, 0, provn.stderr)
    t.match(provn.stdout, /^document$/m)
    t.match(provn.stdout, /wasDerivedFrom\(tom:data\/clean-1, tom:data\/frame-1/)
    const out = join(work, 'all.ttl')
    const wrote = await tomJson<{ file: string; format: string; bytes: number }>('prov', 'export', '--format', 'ttl', '--out', out)
    t.match(wrote, { file: out, format: 'turtle' })
    const ttl = await readFile(out, 'utf8')
    t.equal(Buffer.byteLength(ttl), wrote.bytes)
    t.match(ttl, /@prefix prov: <http:\/\/www\.w3\.org\/ns\/prov#>/)
    const json = await tom('prov', 'export', '--format', 'json', '--from', String(raw.height), '--to', String(raw.height))
    t.ok(JSON.parse(json.stdout), 'PROV-JSON is JSON')
    refused(t, await tom('prov', 'export', '--format', 'xml'), 'ERR_CLI_USAGE', 'an unknown export format')
    refused(t, await tom('data', 'add', 'x'), 'ERR_CLI_USAGE', 'data add without --file or --hash')
    refused(t, await tom('data', 'add', 'x', '--file', join(work, 'missing')), 'ERR_CLI_BAD_FILE', 'an unreadable data file')
  })

  await t.test('node add from the JSON tom-node init --join prints, list, show, remove', async (t) => {
    const joinDir = join(work, 'joiner')
    const init = await runBin('tom-node', ['init', '--join', join(dir, 'node1', 'genesis.block'), '--dir', joinDir, '--name', 'edge-7', '--listen', '/ip4/127.0.0.1/tcp/1', '--json'])
    t.equal(init.code, 0, init.stderr)
    const joinFile = join(work, 'edge-7.json')
    await writeFile(joinFile, init.stdout)
    const info = JSON.parse(init.stdout) as { publicKey: string }
    t.match(await tomJson('node', 'add', '--from-file', joinFile, '--label', 'zone=a', '--capacity', '4'), { type: 'node.add', receipt: { ok: true } })
    const nodes = await tomJson<{ id: string; record: { name: string; labels?: Record<string, string>; capacity?: number } }[]>('node', 'list')
    t.equal(nodes.length, 2)
    t.match(nodes.find((n) => n.id === info.publicKey), { record: { name: 'edge-7', labels: { zone: 'a' }, capacity: 4 } })
    t.match(await tomJson('node', 'show', info.publicKey), { record: { name: 'edge-7', org: 'org1', addrs: ['/ip4/127.0.0.1/tcp/1'] } })
    t.match(await tomJson('node', 'remove', info.publicKey), { type: 'node.remove', receipt: { ok: true } })
    await writeFile(join(work, 'bad.json'), '{"publicKey": 7}')
    refused(t, await tom('node', 'add', '--from-file', join(work, 'bad.json')), 'ERR_CLI_BAD_FILE', 'a join file that is not one')
    refused(t, await tom('node', 'add', '--name', 'x'), 'ERR_CLI_USAGE', 'node add without the fields')
  })

  await t.test('container join (node key), identify (its own key), list, show, leave; template set and remove', async (t) => {
    const box = await keyFile('box-1')
    const nodeKey = join(dir, 'node1', 'node.key')
    t.match(await tomJson('container', 'join', 'box-1', '--image', digest, '--public-key', box.hex, '--key', nodeKey), { type: 'container.join', receipt: { ok: true } })
    t.match(await tomJson('container', 'identify', 'box-1', '--key', box.file), { receipt: { ok: true } })
    t.match(await tomJson('container', 'show', 'box-1'), { record: { identified: true, status: 'joined', imageDigest: digest } })
    t.same((await tomJson<{ id: string }[]>('container', 'list')).map((c) => c.id), ['box-1'])
    t.match(await tomJson('container', 'leave', 'box-1', '--key', box.file), { receipt: { ok: true } })
    t.match(await tomJson('container', 'show', 'box-1'), { record: { status: 'left' } })
    t.match(await tomJson('template', 'set', 'on-cam', '--on', 'device.join', '--match', 'model=y', '--image', digest, '--env', 'A=1', '--cmd', 'sh'), { type: 'template.set', receipt: { ok: true } })
    t.match(await tomJson('template', 'remove', 'on-cam'), { type: 'template.remove', receipt: { ok: true } })
  })

  await t.test('org admin add and remove, contract deploy, acl set', async (t) => {
    const second = await keyFile('admin-2')
    t.match(await tomJson('org', 'admin', 'add', '--public-key', second.hex), { type: 'org.admin.add', receipt: { ok: true } })
    t.match(await tomJson('org', 'admin', 'remove', '--public-key', second.file, '--org', 'org1', '--key', second.file), { receipt: { ok: true } }, 'an admin removes itself')
    const source = join(work, 'counter.js')
    await writeFile(source, "handlers['counter.add'] = (tx, api) => { api.state.put('n', String(tx.payload.by)) }\n")
    t.match(await tomJson('contract', 'deploy', 'counter', '--source', source, '--version', '1'), { type: 'contract.deploy', receipt: { ok: true } })
    refused(t, await tom('contract', 'deploy', 'counter', '--source', source, '--version', '1'), 'ERR_CONTRACT_VERSION', 'a stale version')
    const rules = join(work, 'rules.json')
    await writeFile(rules, JSON.stringify({ rules: defaultAclRules }))
    t.match(await tomJson('acl', 'set', '--file', rules), { type: 'acl.set', receipt: { ok: true } })
    await writeFile(rules, '[1, 2]')
    refused(t, await tom('acl', 'set', '--file', rules), 'ERR_CLI_BAD_FILE', 'rules that are not rule objects')
  })

  await t.test('tx show and block show', async (t) => {
    const committed = await tomJson<{ id: string; height: number; index: number }>('data', 'add', 'for-show', '--hash', '11'.repeat(32))
    const tx = await tomJson<{ id: string; height: number; tx: { type: string } }>('tx', 'show', committed.id)
    t.match(tx, { id: committed.id, height: committed.height, tx: { type: 'data.add' } })
    const block = await tomJson<{ height: number; hash: string; txs: { id: string }[]; bytes?: string }>('block', 'show', String(committed.height))
    t.equal(block.txs[committed.index]!.id, committed.id)
    t.equal(block.bytes, undefined, 'the exact bytes only when asked')
    t.match(await tomJson('block', 'show', String(committed.height), '--bytes'), { bytes: /^[0-9a-f]+$/ })
    refused(t, await tom('block', 'show', '999999'), 'ERR_API_NOT_FOUND', 'a block past the head')
    refused(t, await tom('tx', 'show', 'xyz'), 'ERR_CLI_USAGE', 'a malformed tx id')
  })

  await t.test('errors: bad arguments, no key, an unreachable node', async (t) => {
    refused(t, await tom('device', 'authorise', 'x'), 'ERR_CLI_USAGE', 'a missing required option')
    refused(t, await tom('device', 'fly'), 'ERR_CLI_USAGE', 'an unknown command')
    refused(t, await tom('status', '--colour'), 'ERR_CLI_USAGE', 'an unknown option')
    refused(t, await tom('image', 'approve', 'latest'), 'ERR_CLI_USAGE', 'not a digest')
    // No --key, no TOM_KEY and no .tom/admin.key where it runs.
    refused(t, await runBin('tom', ['data', 'add', 'x', '--hash', '00'.repeat(32)], { cwd: work, env: { TOM_NODE: url } }), 'ERR_CLI_NO_KEY', 'no key')
    refused(t, await tom('data', 'add', 'x', '--hash', '00'.repeat(32), '--key', join(work, 'frame.bin')), 'ERR_KEY_FILE_\\w+', 'a file that is no key')
    const closed = await findFreePorts(1)
    refused(t, await tom('status', '--node', `http://127.0.0.1:${closed}`), 'ERR_API_UNREACHABLE', 'nothing listens there')
    refused(t, await tom('status', '--node', 'not a url'), 'ERR_CLI_USAGE', 'a node that is not a URL')
    // A tx signed by a key the network does not know is refused with the contract's code.
    const stranger = await keyFile('stranger')
    refused(t, await tom('image', 'approve', digest, '--key', stranger.file), 'ERR_TX_UNKNOWN_SIGNER', 'an unknown signer')
  })

  await t.test('verify: the served chain is sound; served altered, it is not (exit 1, the height)', async (t) => {
    const status = await tomJson<{ head: { height: number; hash: string } }>('status')
    const sound = await tomJson<{ ok: boolean; height: number; hash: string; txs: number }>('verify')
    t.match(sound, { ok: true, hash: status.head.hash })
    t.ok(sound.height >= status.head.height)
    const human = await tom('verify')
    t.match(human.stdout, /^chain sound: height \d+, head [0-9a-f]{64}, \d+ txs/)

    // A proxy in front of the real node that alters what it serves: one byte of a tx signature in
    // block 2's exact bytes, or the head hash in the status. Everything else is the node's answer.
    const real = new URL(url)
    let alter: 'tx-sig' | 'head' = 'tx-sig'
    const proxy = createServer((req, res) => {
      void (async () => {
        const upstream = await fetch(`${real.origin}${req.url}`)
        let body = await upstream.text()
        const served = alter === 'tx-sig' && req.url!.startsWith('/v1/blocks?') ? (JSON.parse(body) as { blocks: { height: number; bytes: string }[] }) : undefined
        const second = served?.blocks.find((block) => block.height === 2)
        if (served !== undefined && second !== undefined) {
          // Its first tx's signature, as the node shows it, located in the block's bytes.
          const sig = ((await (await fetch(`${real.origin}/v1/blocks/2`)).json()) as { txs: { sig: string }[] }).txs[0]!.sig
          const last = second.bytes.indexOf(sig) + sig.length - 2
          const flipped = (Number.parseInt(second.bytes.slice(last, last + 2), 16) ^ 1).toString(16).padStart(2, '0')
          second.bytes = second.bytes.slice(0, last) + flipped + second.bytes.slice(last + 2)
          body = JSON.stringify(served)
        }
        if (alter === 'head' && req.url === '/v1/status') {
          const view = JSON.parse(body) as { head: { hash: string } }
          view.head.hash = '00'.repeat(32)
          body = JSON.stringify(view)
        }
        res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' })
        res.end(body)
      })()
    })
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
    t.teardown(() => new Promise((resolve) => proxy.close(resolve)))
    const proxied = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`

    const tampered = await runBin('tom', ['verify', '--node', proxied, '--json'], { cwd: work })
    t.equal(tampered.code, 1, `an unsound chain exits 1: ${tampered.stderr}`)
    t.match(JSON.parse(tampered.stdout), { ok: false, height: 2, code: /^ERR_BLOCK_BAD_(TX_ROOT|TX)$/ })
    const tamperedHuman = await runBin('tom', ['verify', '--node', proxied], { cwd: work })
    t.equal(tamperedHuman.code, 1)
    t.match(tamperedHuman.stdout, /^chain UNSOUND at height 2: ERR_BLOCK_/)

    alter = 'head'
    const badHead = await runBin('tom', ['verify', '--node', proxied, '--json'], { cwd: work })
    t.equal(badHead.code, 1)
    t.match(JSON.parse(badHead.stdout), { ok: false, code: 'ERR_CHAIN_HEAD_MISMATCH' })
  })

  up.kill('SIGINT')
  const guard = setTimeout(() => up.kill('SIGKILL'), processTimeoutMs)
  t.equal(await exited, 0, 'the network stops cleanly on SIGINT')
  clearTimeout(guard)
})
