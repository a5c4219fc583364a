/** `tom keys generate` through a real process. */
import t from 'tap'
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { loadKeyFile, peerIdOf, toHex } from '../../src/crypto/index.js'
import { distMissing, runBin } from './bin.js'

const skip = distMissing('tom')

t.test('keys generate --json prints the public key and peer id of a new 0600 key file', { skip }, async (t) => {
  const file = join(t.testdir(), 'device.key')
  const r = await runBin('tom', ['keys', 'generate', '--out', file, '--json'])
  t.equal(r.code, 0, r.stderr)
  t.equal(r.stderr, '')
  const out = JSON.parse(r.stdout) as { publicKey: string; peerId: string; file: string }
  t.match(out.publicKey, /^[0-9a-f]{64}$/)
  t.match(out.peerId, /^12D3KooW[1-9A-HJ-NP-Za-km-z]+$/)
  t.equal(out.file, file)
  t.equal((await stat(file)).mode & 0o777, 0o600, 'the key file is 0600')
  const keys = await loadKeyFile(file)
  t.equal(toHex(keys.publicKey), out.publicKey, 'the file holds the printed key')
  t.equal(peerIdOf(keys.publicKey), out.peerId, 'the peer id is the key')
})

t.test('keys generate prints the public key alone', { skip }, async (t) => {
  const dir = t.testdir()
  const a = await runBin('tom', ['keys', 'generate', '--out', join(dir, 'a.key')])
  t.equal(a.code, 0, a.stderr)
  t.match(a.stdout, /^[0-9a-f]{64}\n$/)
  t.equal(a.stdout.trim(), toHex((await loadKeyFile(join(dir, 'a.key'))).publicKey))
  const b = await runBin('tom', ['keys', 'generate', '--out', join(dir, 'b.key')])
  t.not(b.stdout, a.stdout, 'each run makes a new key')
})

t.test('keys generate refuses to overwrite a key file: exit 2, ERR_KEY_FILE_EXISTS', { skip }, async (t) => {
  const file = join(t.testdir(), 'k.key')
  const first = await runBin('tom', ['keys', 'generate', '--out', file, '--json'])
  t.equal(first.code, 0, first.stderr)
  const publicKey = (JSON.parse(first.stdout) as { publicKey: string }).publicKey
  for (const args of [[], ['--json']]) {
    const again = await runBin('tom', ['keys', 'generate', '--out', file, ...args])
    t.equal(again.code, 2)
    t.equal(again.stdout, '')
    const lines = again.stderr.split('\n').filter((l) => l.length > 0)
    t.equal(lines.length, 1, 'one line on stderr')
    t.match(lines[0], /^tom: ERR_KEY_FILE_EXISTS: /)
  }
  t.equal(toHex((await loadKeyFile(file)).publicKey), publicKey, 'the first key is untouched')
})

t.test(
  'keys generate without --out exits 2',
  { skip },
  async (t) => {
    const r = await runBin('tom', ['keys', 'generate'])
    t.equal(r.code, 2)
  }
)
