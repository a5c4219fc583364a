/** Parsers for `tom` option values: each refuses a malformed value with ERR_CLI_USAGE naming the option. */
import { CliError } from './errors.js'

/** A non-negative integer option value. */
export function intArg(option: string): (value: string) => number {
  return (value) => {
    if (!/^\d{1,15}$/.test(value)) throw new CliError('ERR_CLI_USAGE', `${option} takes a non-negative integer, not ${JSON.stringify(value.slice(0, 40))}`)
    return Number(value)
  }
}

/** A repeatable `name=value` option, collected into one map. */
export function pairArg(option: string): (value: string, previous: Record<string, string> | undefined) => Record<string, string> {
  return (value, previous) => {
    const eq = value.indexOf('=')
    if (eq <= 0) throw new CliError('ERR_CLI_USAGE', `${option} takes name=value, not ${JSON.stringify(value.slice(0, 80))}`)
    return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) }
  }
}

/** A repeatable option, collected into a list. */
export function listArg(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

/** Exactly `bytes` bytes as hex. */
export function hexArg(option: string, bytes: number): (value: string) => string {
  return (value) => {
    if (!new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(value)) throw new CliError('ERR_CLI_USAGE', `${option} takes ${bytes * 2} hex digits, not ${JSON.stringify(value.slice(0, 80))}`)
    return value.toLowerCase()
  }
}
