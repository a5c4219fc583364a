/**
 * Structured logs: one JSON line per event (pino), one child logger per module. Never log keys or raw
 * untrusted objects; log ids as hex.
 */
import { pino } from 'pino'
import type { Logger } from 'pino'

export type { Logger }

export function createLogger(level: string, destination: NodeJS.WritableStream = process.stderr): Logger {
  return pino({ level, base: { pid: process.pid } }, destination)
}

/** A logger that drops everything, for embedding without logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}
