/** The worker side of WorkerVerifier: verifies packed checks and answers one byte per check. */
import { parentPort } from 'node:worker_threads'
import { verifyPacked } from './verify-packed.js'

parentPort!.on('message', ({ id, packed }: { id: number; packed: Uint8Array }) => {
  const results = verifyPacked(packed)
  parentPort!.postMessage({ id, results }, [results.buffer as ArrayBuffer])
})
