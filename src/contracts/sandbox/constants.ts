/**
 * Limits of the contract sandbox. Every one is deterministic: none depends on wall time or on what
 * ran before, so every node reaches the same verdict on the same contract, tx and state.
 * Each can be lowered or raised per sandbox through ContractSandboxOptions.
 */

/**
 * Interrupts a call may take: its instruction budget. QuickJS calls the interrupt handler once every
 * 10,000 polls of its interrupt counter (loop back-edges and conditional jumps, calls), counted in
 * bytecode, never in time; the realm resets the counter before each call. Builtins that work in bulk
 * (repeat, join, JSON.stringify, ...) are charged one poll per character or element on top. A plain
 * `for` loop takes 2 polls per iteration, so 1000 interrupts is about 5 million iterations, roughly
 * 80 ms on one core.
 */
export const runInterruptsMax = 1000
/** Polls of QuickJS's interrupt counter between two calls of the handler (JS_INTERRUPT_COUNTER_INIT). */
export const pollsPerInterrupt = 10_000
/** Heap of one realm (QuickJS runtime memory limit), the engine's own objects (~1 MiB) included. */
export const memoryBytesMax = 16 * 1024 * 1024
/** Native stack of a call: bounds recursion depth. */
export const stackBytesMax = 256 * 1024
/** Largest contract source (UTF-8 bytes). */
export const sourceBytesMax = 256 * 1024
/** Longest state key, prefix included (UTF-8 bytes); the ledger's own limit. */
export const stateKeyBytesMax = 512
/** Largest state value a contract may write (UTF-8 bytes). */
export const stateValueBytesMax = 64 * 1024
/** Distinct keys one call may read; each miss costs a re-run, so this also bounds re-runs. */
export const stateReadsMax = 64
/** Distinct keys one call may write or delete. */
export const stateWritesMax = 64
/** Events, orchestration actions and PROV statements one call may emit. */
export const eventsMax = 16
export const actionsMax = 16
export const provStatementsMax = 64
/** Largest event, action, PROV statement or handler result, as JSON (UTF-8 bytes). */
export const outputItemBytesMax = 8 * 1024
/** Largest tx payload handed to a contract, as JSON (UTF-8 bytes). */
export const payloadBytesMax = 64 * 1024
/** Handler types whose last read keys a sandbox remembers as prefetch hints. */
export const readHintTypesMax = 256
