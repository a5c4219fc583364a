/**
 * Key files: JSON `{ "type": "ed25519", "publicKey": hex, "privateKey": hex }`, created with mode 0600
 * and written atomically (temp file, fsync, rename). Loading refuses a file that others may read,
 * as ssh does, and one whose public key does not belong to its private key.
 */
import { open, rename, stat, readFile, unlink } from 'node:fs/promises'
import { keyPairFromSeed, privateKeyBytes } from './ed25519.js'
import type { KeyPair } from './ed25519.js'
import { bytesEqual, fromHex, toHex } from './bytes.js'

export class KeyFileError extends Error {
  override readonly name = 'KeyFileError'
  constructor(
    readonly code: 'ERR_KEY_FILE_PERMISSIONS' | 'ERR_KEY_FILE_INVALID' | 'ERR_KEY_FILE_EXISTS',
    message: string
  ) {
    super(message)
  }
}

export async function saveKeyFile(path: string, keys: KeyPair, options: { overwrite?: boolean } = {}): Promise<void> {
  if (options.overwrite !== true) {
    const exists = await stat(path).then(
      () => true,
      () => false
    )
    if (exists) throw new KeyFileError('ERR_KEY_FILE_EXISTS', `${path} exists; refusing to overwrite a key`)
  }
  const body = JSON.stringify({ type: 'ed25519', publicKey: toHex(keys.publicKey), privateKey: toHex(keys.privateKey) }) + '\n'
  const tmp = `${path}.${process.pid}.tmp`
  const file = await open(tmp, 'wx', 0o600)
  try {
    await file.writeFile(body)
    await file.sync()
  } finally {
    await file.close()
  }
  try {
    await rename(tmp, path)
  } catch (err) {
    await unlink(tmp).catch(() => {})
    throw err
  }
}

export async function loadKeyFile(path: string): Promise<KeyPair> {
  const info = await stat(path)
  if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
    throw new KeyFileError(
      'ERR_KEY_FILE_PERMISSIONS',
      `${path} is accessible by group or others (mode ${(info.mode & 0o777).toString(8)}); run: chmod 600 ${path}`
    )
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'))
  } catch {
    throw new KeyFileError('ERR_KEY_FILE_INVALID', `${path} is not a TOM key file (not JSON)`)
  }
  const { type, publicKey, privateKey } = (parsed ?? {}) as Record<string, unknown>
  if (type !== 'ed25519' || typeof publicKey !== 'string' || typeof privateKey !== 'string') {
    throw new KeyFileError('ERR_KEY_FILE_INVALID', `${path} is not a TOM key file (expected type, publicKey, privateKey)`)
  }
  let seed: Uint8Array
  let claimed: Uint8Array
  try {
    seed = fromHex(privateKey)
    claimed = fromHex(publicKey)
  } catch {
    throw new KeyFileError('ERR_KEY_FILE_INVALID', `${path}: keys must be lower-case hex`)
  }
  if (seed.length !== privateKeyBytes) throw new KeyFileError('ERR_KEY_FILE_INVALID', `${path}: private key must be 32 bytes`)
  const keys = keyPairFromSeed(seed)
  if (!bytesEqual(keys.publicKey, claimed)) {
    throw new KeyFileError('ERR_KEY_FILE_INVALID', `${path}: public key does not belong to the private key`)
  }
  return keys
}
