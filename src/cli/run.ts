/**
 * What both CLIs share: turning errors into one clear line on stderr and an exit code, and printing
 * either human text or JSON. Exit codes: 0 done, 1 a negative answer (e.g. an unsound chain),
 * 2 an error (bad arguments, unreadable data folder, refused operation).
 */
import { CommanderError } from 'commander'
import type { Command } from 'commander'

export const exitCodes = { ok: 0, negative: 1, error: 2 } as const

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n')
}

/** Parses argv and runs the chosen command; never throws. */
export async function runCli(program: Command, argv: string[] = process.argv): Promise<void> {
  const name = program.name()
  // commander copies these settings only to subcommands created after they are set: apply them to all.
  // Commander's own complaints (unknown option, missing argument) become the same one line as any
  // other error: `<cli>: ERR_CLI_USAGE: message`.
  const usageLine = (text: string): string => `${name}: ERR_CLI_USAGE: ${text.replace(/^error: /, '').trim().split('\n').join(' ')}\n`
  const configure = (command: Command): void => {
    command.exitOverride()
    command.configureOutput({ outputError: (text, write) => write(usageLine(text)) })
    for (const sub of command.commands) configure(sub)
  }
  configure(program)
  try {
    await program.parseAsync(argv)
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander has printed its message; help and version are not errors.
      process.exitCode = err.exitCode === 0 ? 0 : exitCodes.error
      return
    }
    const e = err as Error & { code?: string }
    const code = typeof e.code === 'string' && e.code.startsWith('ERR_') ? `${e.code}: ` : ''
    process.stderr.write(`${name}: ${code}${e.message}\n`)
    if (process.env.TOM_DEBUG === '1') process.stderr.write(`${e.stack}\n`)
    process.exitCode = exitCodes.error
  }
}

/** A one-line progress display on a terminal; silent when stderr is not a terminal. */
export function progressLine(label: string): { update(done: number, total: number): void; end(): void } {
  const tty = process.stderr.isTTY === true
  let last = 0
  return {
    update(done, total) {
      if (!tty) return
      const now = Date.now()
      if (now - last < 100 && done < total) return
      last = now
      const pct = total === 0 ? 100 : Math.floor((done / total) * 100)
      process.stderr.write(`\r${label} ${done}/${total} (${pct}%)`)
    },
    end() {
      if (tty) process.stderr.write('\r\u001b[2K')
    }
  }
}
