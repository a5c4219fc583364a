/**
 * Container identity keys on the host: one Ed25519 key pair per container the node starts, in a
 * TOM key file (crypto/key-file.ts: JSON, mode 0600, written atomically) at `<keysDir>/<container>.key`.
 * The file is mounted read-only into the container; its public key goes on chain in container.join.
 * The folder is owner-only (0700): it holds the private keys of every container of this node.
 */
import { chmod, mkdir, rm } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { generateKeyPair, loadKeyFile, saveKeyFile, type KeyPair } from '../crypto/index.js'
import { containerNamePattern } from './world.js'

export class ContainerKeys {
  readonly #dir: string

  /** `dir` is made absolute: the engine needs an absolute source for the mount. */
  constructor(dir: string) {
    this.#dir = resolve(dir)
  }

  get dir(): string {
    return this.#dir
  }

  /** Where the key file of `container` is. */
  path(container: string): string {
    // The name pattern has no `/` and cannot be `.` or `..`: the file stays inside the folder.
    if (!containerNamePattern.test(container) || container === '.' || container === '..') {
      throw new TypeError(`container id ${JSON.stringify(container.slice(0, 64))} is not a container name`)
    }
    return join(this.#dir, `${container}.key`)
  }

  /** Makes a new key pair for `container`, replacing any earlier file of that name. */
  async create(container: string): Promise<KeyPair> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 })
    await chmod(this.#dir, 0o700)
    const keys = generateKeyPair()
    await saveKeyFile(this.path(container), keys, { overwrite: true })
    return keys
  }

  /** The key pair of `container`, or undefined if it has no key file. Throws if the file is bad (permissions, format). */
  async load(container: string): Promise<KeyPair | undefined> {
    try {
      return await loadKeyFile(this.path(container))
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return undefined
      throw err
    }
  }

  /** Deletes the key file of a container whose identity is retired. */
  async remove(container: string): Promise<void> {
    await rm(this.path(container), { force: true })
  }
}
