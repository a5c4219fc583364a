import t from 'tap'
import { chmod, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { KeyFileError, keyPairFromSeed, loadKeyFile, saveKeyFile, toHex } from '../../src/crypto/index.js'

const keys = keyPairFromSeed(new Uint8Array(32).fill(0xab)) // hex with letters, for the upper-case case
const otherKeys = keyPairFromSeed(new Uint8Array(32).fill(2))

async function modeOf(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777
}

/** Writes a key file body with mode 0600, so that only its content is under test. */
async function writePrivate(path: string, body: string): Promise<void> {
  await writeFile(path, body, { mode: 0o600 })
  await chmod(path, 0o600)
}

t.test('save then load gives the same keys, in a 0600 file', async (t) => {
  const dir = t.testdir()
  const path = join(dir, 'node.key')
  await saveKeyFile(path, keys)
  t.equal(await modeOf(path), 0o600)
  const loaded = await loadKeyFile(path)
  t.equal(toHex(loaded.privateKey), toHex(keys.privateKey))
  t.equal(toHex(loaded.publicKey), toHex(keys.publicKey))
  const body = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>
  t.strictSame(body, { type: 'ed25519', publicKey: toHex(keys.publicKey), privateKey: toHex(keys.privateKey) })
  t.strictSame(await readdir(dir), ['node.key'], 'no temporary file is left behind')
})

t.test('the file is 0600 whatever the umask', async (t) => {
  const dir = t.testdir()
  const previous = process.umask(0)
  t.teardown(() => {
    process.umask(previous)
  })
  const path = join(dir, 'node.key')
  await saveKeyFile(path, keys)
  t.equal(await modeOf(path), 0o600)
})

t.test('load refuses a file that group or others may access', { skip: process.platform === 'win32' }, async (t) => {
  const dir = t.testdir()
  const path = join(dir, 'node.key')
  await saveKeyFile(path, keys)
  for (const mode of [0o644, 0o640, 0o604, 0o660, 0o606, 0o666, 0o610]) {
    await chmod(path, mode)
    const err = await t.rejects(loadKeyFile(path), { name: 'KeyFileError', code: 'ERR_KEY_FILE_PERMISSIONS' }, `mode ${mode.toString(8)}`)
    t.ok(err instanceof KeyFileError)
    t.notMatch(String((err as Error | undefined)?.message), toHex(keys.privateKey), 'the message does not leak the key')
  }
  for (const mode of [0o600, 0o400]) {
    await chmod(path, mode)
    t.equal(toHex((await loadKeyFile(path)).publicKey), toHex(keys.publicKey), `mode ${mode.toString(8)} is fine`)
  }
  // Reference: OpenSSH refuses private keys readable by others ("UNPROTECTED PRIVATE KEY FILE")
})

t.test('load refuses what is not a matching Ed25519 key pair', async (t) => {
  const dir = t.testdir()
  const pub = toHex(keys.publicKey)
  const priv = toHex(keys.privateKey)
  const cases: Array<[string, string]> = [
    ['not JSON', 'ed25519 ' + priv],
    ['an empty file', ''],
    ['JSON null', 'null'],
    ['a JSON array', JSON.stringify([pub, priv])],
    ['a JSON string', JSON.stringify(priv)],
    ['another key type', JSON.stringify({ type: 'rsa', publicKey: pub, privateKey: priv })],
    ['no type', JSON.stringify({ publicKey: pub, privateKey: priv })],
    ['no public key', JSON.stringify({ type: 'ed25519', privateKey: priv })],
    ['no private key', JSON.stringify({ type: 'ed25519', publicKey: pub })],
    ['a numeric key', JSON.stringify({ type: 'ed25519', publicKey: 1, privateKey: priv })],
    ['upper-case hex', JSON.stringify({ type: 'ed25519', publicKey: pub, privateKey: priv.toUpperCase() })],
    ['0x-prefixed hex', JSON.stringify({ type: 'ed25519', publicKey: '0x' + pub, privateKey: priv })],
    ['odd-length hex', JSON.stringify({ type: 'ed25519', publicKey: pub, privateKey: priv + '0' })],
    ['base64 instead of hex', JSON.stringify({ type: 'ed25519', publicKey: pub, privateKey: Buffer.from(keys.privateKey).toString('base64') })],
    ['a 31-byte private key', JSON.stringify({ type: 'ed25519', publicKey: pub, privateKey: priv.slice(2) })],
    ['a 33-byte private key', JSON.stringify({ type: 'ed25519', publicKey: pub, privateKey: priv + '00' })],
    ['a 64-byte private key (seed || public)', JSON.stringify({ type: 'ed25519', publicKey: pub, privateKey: priv + pub })],
    ['a 31-byte public key', JSON.stringify({ type: 'ed25519', publicKey: pub.slice(2), privateKey: priv })],
    ['a 33-byte public key', JSON.stringify({ type: 'ed25519', publicKey: pub + '00', privateKey: priv })],
    ['another key pair\'s public key', JSON.stringify({ type: 'ed25519', publicKey: toHex(otherKeys.publicKey), privateKey: priv })]
  ]
  let i = 0
  for (const [what, body] of cases) {
    const path = join(dir, `bad-${i++}.key`)
    await writePrivate(path, body)
    const err = await t.rejects(loadKeyFile(path), { name: 'KeyFileError', code: 'ERR_KEY_FILE_INVALID' }, `refuses ${what}`)
    t.notMatch(String((err as Error | undefined)?.message), priv, `${what}: the message does not leak the key`)
  }
  // the file as saveKeyFile writes it, but hand-written, loads
  const good = join(dir, 'good.key')
  await writePrivate(good, JSON.stringify({ type: 'ed25519', publicKey: pub, privateKey: priv }))
  t.equal(toHex((await loadKeyFile(good)).publicKey), pub)
})

t.test('save refuses to overwrite a key unless asked to', async (t) => {
  const dir = t.testdir({ 'node.key': 'precious' })
  const path = join(dir, 'node.key')
  await chmod(path, 0o644)
  await t.rejects(saveKeyFile(path, keys), { name: 'KeyFileError', code: 'ERR_KEY_FILE_EXISTS' })
  t.equal(await readFile(path, 'utf8'), 'precious', 'the existing file is untouched')
  await t.rejects(saveKeyFile(path, keys, { overwrite: false }), { code: 'ERR_KEY_FILE_EXISTS' })
  await saveKeyFile(path, keys, { overwrite: true })
  t.equal(toHex((await loadKeyFile(path)).publicKey), toHex(keys.publicKey), 'overwritten with the new key')
  t.equal(await modeOf(path), 0o600, 'and the replacement is 0600, not the old file\'s mode')
  await saveKeyFile(path, otherKeys, { overwrite: true })
  t.equal(toHex((await loadKeyFile(path)).publicKey), toHex(otherKeys.publicKey))
  t.strictSame(await readdir(dir), ['node.key'], 'no temporary file is left behind')
})

t.test('I/O errors are passed through', async (t) => {
  const dir = t.testdir()
  await t.rejects(loadKeyFile(join(dir, 'missing.key')), { code: 'ENOENT' })
  await t.rejects(saveKeyFile(join(dir, 'no-such-dir', 'node.key'), keys), { code: 'ENOENT' })
})
