/**
 * Running the real bins (bin/tom-node.js, bin/tom.js) as child processes for the CLI tests. The bins
 * run the compiled dist/ (`npm test` builds it in its pretest hook); a test file run on its own skips
 * when dist/ is missing rather than testing stale code by surprise.
 */
import { spawn } from 'node:child_process'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import type { Readable } from 'node:stream'

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url))

/** Every wait on a child is bounded by this, as a failure guard only: no test sleeps. */
export const processTimeoutMs = 15_000

/** What each bin runs: tom-node the bundle (scripts/bundle.mjs), tom the compiled module. */
const binTargets = { 'tom-node': 'dist/bundle/tom-node-main.js', tom: 'dist/cli/tom.js' } as const

/** A skip reason when the compiled CLI is missing, else false. */
export function distMissing(bin: 'tom-node' | 'tom'): string | false {
  const target = binTargets[bin]
  return existsSync(join(repoRoot, target)) ? false : `${target} is not built: run npm run build (npm test does)`
}

function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env }
  delete env.TOM_DEBUG
  // A tom command under test talks to the node and key the test names, never to the tester's own.
  delete env.TOM_NODE
  delete env.TOM_KEY
  return env
}

/** Where the child runs and what it adds to (or, with undefined, removes from) the environment. */
export interface BinOptions {
  readonly cwd?: string
  readonly env?: Readonly<Record<string, string | undefined>>
}

export function spawnBin(bin: 'tom-node' | 'tom', args: string[], options: BinOptions = {}): ChildProcessWithoutNullStreams {
  const env = childEnv()
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (v === undefined) delete env[k]
    else env[k] = v
  }
  return spawn(process.execPath, [join(repoRoot, 'bin', `${bin}.js`), ...args], { cwd: options.cwd ?? repoRoot, env, stdio: 'pipe' })
}

export interface BinResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * Resolves when `child` exits, with all it printed; kills it and rejects after `timeoutMs` (default
 * processTimeoutMs), counted from this call: a long-lived child (a network) needs its whole life.
 */
export function finished(child: ChildProcessWithoutNullStreams, what: string, timeoutMs = processTimeoutMs): Promise<BinResult> {
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s))
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s))
  return new Promise<BinResult>((resolve, reject) => {
    const guard = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${what} did not exit within ${timeoutMs} ms; stderr: ${stderr}`))
    }, timeoutMs)
    child.once('error', (err) => {
      clearTimeout(guard)
      reject(err)
    })
    child.once('close', (code, signal) => {
      clearTimeout(guard)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

export function runBin(bin: 'tom-node' | 'tom', args: string[], options: BinOptions = {}): Promise<BinResult> {
  return finished(spawnBin(bin, args, options), `${bin} ${args.join(' ')}`)
}

/**
 * Resolves with the first line of `stream` for which `match` holds; rejects if the stream ends first
 * or after processTimeoutMs. Lines already seen are passed to `onLine` too (to keep them for messages).
 */
export function waitForLine(stream: Readable, match: (line: string) => boolean, what: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let buffered = ''
    const seen: string[] = []
    const done = (err: Error | undefined, line?: string): void => {
      clearTimeout(guard)
      stream.off('data', onData)
      stream.off('end', onEnd)
      if (err === undefined) resolve(line!)
      else reject(err)
    }
    const onData = (chunk: Buffer | string): void => {
      buffered += chunk.toString()
      let nl: number
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl)
        buffered = buffered.slice(nl + 1)
        seen.push(line)
        if (match(line)) return done(undefined, line)
      }
    }
    const onEnd = (): void => done(new Error(`${what}: the stream ended first; lines: ${seen.join('\n')}`))
    const guard = setTimeout(() => done(new Error(`${what}: no matching line within ${processTimeoutMs} ms; lines: ${seen.join('\n')}`)), processTimeoutMs)
    stream.on('data', onData)
    stream.once('end', onEnd)
  })
}

/** A JSON log line's `msg`, or undefined for a line that is not a JSON object. */
export function logMessage(line: string): string | undefined {
  try {
    const parsed = JSON.parse(line) as unknown
    return parsed !== null && typeof parsed === 'object' && typeof (parsed as { msg?: unknown }).msg === 'string' ? (parsed as { msg: string }).msg : undefined
  } catch {
    return undefined
  }
}
