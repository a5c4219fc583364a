/**
 * Ed25519 verification spread over worker threads. Verifying is most of the CPU a node spends on a
 * tx (about 130 µs natively), so a block's signatures are checked in parallel on the workers while
 * the calling thread goes on with the rest of the node. Single checks submitted in the same turn of
 * the event loop are gathered into one batch. Keys are checked for weakness on the calling thread and
 * the workers run the same native check, so the result is the same as checking inline.
 */
import { Worker } from 'node:worker_threads'
import { availableParallelism } from 'node:os'
import { isUsablePublicKey, signatureBytes, verify } from './ed25519.js'
import { packChecks, type SignatureCheck } from './verify-packed.js'

export { packChecks, verifyPacked, type SignatureCheck } from './verify-packed.js'

export interface BatchVerifier {
  /** One result per check, in order. */
  verifyMany(checks: readonly SignatureCheck[]): Promise<boolean[]>
  /** One check; an implementation may gather concurrent single checks into a batch. */
  verify(check: SignatureCheck): Promise<boolean>
  close(): Promise<void>
}

/** Verifies on the calling thread. */
export const inlineVerifier: BatchVerifier = {
  async verifyMany(checks) {
    return checks.map((c) => verify(c.signature, c.message, c.publicKey))
  },
  async verify(c) {
    return verify(c.signature, c.message, c.publicKey)
  },
  async close() {}
}

/** Below this many checks, a worker round trip costs more than it saves. */
const workerBatchMin = 32
/** Most single checks gathered before a batch is sent without waiting for the turn to end. */
const gatherChecksMax = 512
/**
 * A worker's garbage is a batch's few buffers: a small young generation holds it, and keeps each
 * worker about 5 MB smaller under load than V8's default (which grows to 16 MB) at the same speed.
 */
const workerYoungGenerationMb = 1

interface WorkerSlot {
  readonly worker: Worker
  readonly waiting: Map<number, (results: Uint8Array) => void>
}

export class WorkerVerifier implements BatchVerifier {
  readonly #slots: WorkerSlot[] = []
  #nextId = 0
  #gathered: { check: SignatureCheck; resolve: (ok: boolean) => void; reject: (err: Error) => void }[] = []
  #flushScheduled = false
  #closed = false

  readonly #workers: number

  /**
   * `workers` defaults to one less than the cores (at least one): the calling thread keeps a core
   * for the rest of the node. They start with the first batch, not here: each is a V8 isolate of
   * about 9 MB resident, which an idle node (or one that only ever sees small batches) need not carry.
   */
  constructor(options: { workers?: number } = {}) {
    this.#workers = options.workers ?? Math.max(1, availableParallelism() - 1)
  }

  #startWorkers(): void {
    // Under tap's TypeScript loader this module is the .ts source; workers inherit the loader.
    const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js'
    for (let i = 0; i < this.#workers; i++) {
      const worker = new Worker(new URL(`./verify-worker${ext}`, import.meta.url), { resourceLimits: { maxYoungGenerationSizeMb: workerYoungGenerationMb } })
      const slot: WorkerSlot = { worker, waiting: new Map() }
      worker.on('message', ({ id, results }: { id: number; results: Uint8Array }) => {
        slot.waiting.get(id)?.(results)
        slot.waiting.delete(id)
        if (slot.waiting.size === 0) worker.unref()
      })
      worker.on('error', (err) => {
        // A worker that died takes its answers with it: fail loudly, never report "verified".
        throw new Error(`signature worker failed: ${err.message}`)
      })
      // Ref'd only while answers are awaited, so that an idle pool never keeps a process alive. (After
      // the listeners: adding a 'message' listener refs the worker again.)
      worker.unref()
      this.#slots.push(slot)
    }
  }

  async verifyMany(checks: readonly SignatureCheck[]): Promise<boolean[]> {
    if (checks.length < workerBatchMin || this.#workers === 0 || this.#closed) return inlineVerifier.verifyMany(checks)
    if (this.#slots.length === 0) this.#startWorkers()
    // Keys are checked here (cached per key), so that the workers need not load noble: a check that
    // cannot verify is answered false without being sent.
    const sent: SignatureCheck[] = []
    const sentAt: number[] = []
    for (let i = 0; i < checks.length; i++) {
      const c = checks[i]!
      if (c.signature.length === signatureBytes && isUsablePublicKey(c.publicKey)) {
        sent.push(c)
        sentAt.push(i)
      }
    }
    // All of it on the workers: the calling thread has the rest of the node to run meanwhile.
    const size = Math.ceil(sent.length / this.#slots.length)
    const answers = await Promise.all(this.#slots.map((slot, i) => this.#send(slot, sent.slice(i * size, (i + 1) * size))))
    const results = new Array<boolean>(checks.length).fill(false)
    let k = 0
    for (const answer of answers) for (const v of answer) results[sentAt[k++]!] = v === 1
    return results
  }

  #send(slot: WorkerSlot, checks: readonly SignatureCheck[]): Promise<Uint8Array> {
    if (checks.length === 0) return Promise.resolve(new Uint8Array(0))
    const id = this.#nextId++
    const packed = packChecks(checks)
    return new Promise((resolve) => {
      if (slot.waiting.size === 0) slot.worker.ref()
      slot.waiting.set(id, resolve)
      slot.worker.postMessage({ id, packed }, [packed.buffer as ArrayBuffer])
    })
  }

  /** One check, gathered with the others of this event-loop turn into one batch. */
  verify(check: SignatureCheck): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.#gathered.push({ check, resolve, reject })
      if (this.#gathered.length >= gatherChecksMax) this.#flush()
      else if (!this.#flushScheduled) {
        this.#flushScheduled = true
        setImmediate(() => this.#flush())
      }
    })
  }

  #flush(): void {
    this.#flushScheduled = false
    const batch = this.#gathered
    this.#gathered = []
    if (batch.length === 0) return
    this.verifyMany(batch.map((b) => b.check)).then(
      (results) => batch.forEach((b, i) => b.resolve(results[i]!)),
      (err: Error) => batch.forEach((b) => b.reject(err))
    )
  }

  async close(): Promise<void> {
    this.#closed = true
    await Promise.all(this.#slots.map((s) => s.worker.terminate()))
    this.#slots.length = 0
  }
}
