/**
 * How `tom` prints: with --json one JSON document (bytes as hex, bigints as strings); otherwise
 * human text, where a structured value is shown as indented `key: value` lines so that fields a
 * newer node adds show up without the CLI knowing them.
 */
import { toJsonValue } from '../api/wire.js'
import type { JsonValue } from '../api/wire.js'
import { printJson } from './run.js'
import type { TomSession } from './tom-session.js'

/** `value` as indented `key: value` lines (arrays as `- item`). */
export function humanText(value: unknown, indent = ''): string {
  const v = toJsonValue(value)
  if (v === null || typeof v !== 'object') return `${indent}${scalar(v)}\n`
  return lines(v, indent).join('\n') + '\n'
}

function scalar(v: JsonValue): string {
  if (v === null) return '-'
  if (typeof v === 'string') return v
  if (Array.isArray(v) && v.length === 0) return '[]'
  if (typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0) return '{}'
  return String(v)
}

function isLeaf(v: JsonValue): boolean {
  return v === null || typeof v !== 'object' || (Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0)
}

function lines(v: JsonValue, indent: string): string[] {
  const out: string[] = []
  if (Array.isArray(v)) {
    for (const item of v) {
      if (isLeaf(item)) out.push(`${indent}- ${scalar(item)}`)
      else {
        const inner = lines(item, `${indent}  `)
        out.push(`${indent}- ${inner[0]!.trimStart()}`, ...inner.slice(1))
      }
    }
    return out
  }
  for (const [k, item] of Object.entries(v as Record<string, JsonValue>)) {
    if (isLeaf(item)) out.push(`${indent}${k}: ${scalar(item)}`)
    else out.push(`${indent}${k}:`, ...lines(item, `${indent}  `))
  }
  return out
}

/** Prints `value` as JSON with --json, else `human` (default: humanText of the value). */
export function output(session: Pick<TomSession, 'json'>, value: unknown, human?: string): void {
  if (session.json) printJson(toJsonValue(value))
  else process.stdout.write(human ?? humanText(value))
}
