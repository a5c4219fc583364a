/**
 * Limits and timings of the container runtime, named with the unit or qualifier last. Every call to
 * the engine has a deadline, and every value handed to it a bound, so that a wedged engine or an
 * oversized action costs the orchestrator bounded time and memory. Runtime options may override the
 * tunable timings.
 */

/** Socket tried when DOCKER_HOST is unset: Docker's rootful socket. */
export const dockerSocketPathDefault = '/var/run/docker.sock'
/** Socket tried next: Podman's rootful Docker-compatible socket (`podman.socket`). */
export const podmanSocketPathDefault = '/run/podman/podman.sock'

/** Deadline of a cheap engine call (ping, version, inspect, list). */
export const requestTimeoutMs = 10_000
/** Deadline of a call that creates or starts a container (the engine may set up mounts and cgroups). */
export const createTimeoutMs = 30_000
/** Grace time a stop or restart gives the process between SIGTERM and SIGKILL, unless the caller says otherwise. */
export const stopGraceSDefault = 10
/** Longest grace time a caller may ask for. The HTTP deadline of a stop is this grace plus requestTimeoutMs. */
export const stopGraceSMax = 300

/** Most arguments in a container command. */
export const commandArgsMax = 256
/** Most environment variables in a container spec. */
export const envEntriesMax = 256
/** Most labels on a container, and most labels in a list filter. */
export const labelsMax = 64
/** Longest label key, env name, or container name (UTF-8 bytes). */
export const nameBytesMax = 255
/** Longest single label value, env value or command argument (UTF-8 bytes). */
export const valueBytesMax = 16 * 1024
/** Most read-only file mounts in a container spec. */
export const mountsMax = 16
/** Smallest memory limit Docker accepts (6 MiB); smaller limits are refused before the engine sees them. */
export const memoryBytesMin = 6 * 1024 * 1024
/** Most containers a list returns; the orchestrator filters by label, so more means labels are wrong. */
export const listContainersMax = 10_000
/** Most bytes of logs returned by logs(); the tail is kept. */
export const logBytesMax = 64 * 1024
/** logs() asks the engine for this many last lines only, so that a chatty container's history is never read whole. */
export const logLinesMax = 2000
/** Bound on the engine's answer to that request: logLinesMax lines of the engine's longest (16 KiB) log frames. */
export const logAnswerBytesMax = logLinesMax * (16 * 1024 + 8)

// The orchestrator (orchestrator.ts): how often it looks, how much it does per pass, how long it
// waits for a submitted tx before trying again.

/** Period of reconciliation (ledger's wanted containers against the engine's); a pending sync also runs then. */
export const reconcileIntervalMsDefault = 5_000
/** Shortest and longest reconcile period an operator may set. */
export const reconcileIntervalMsMin = 100
export const reconcileIntervalMsMax = 3_600_000
/** Actions carried out per sync; the rest wait for the next sync (every applied block triggers one). */
export const actionsPerSyncMax = 32
/** Containers acted on per reconcile pass (restarted, recreated, stopped); the rest wait for the next pass. */
export const reconcileContainersMax = 64
/**
 * How long a submitted outcome (join, report, leave) may stay uncommitted before the orchestrator
 * carries the action out again (idempotently) and resubmits. Above the node's tx lifetime would leave
 * a dropped tx unretried for too long; well above a block time keeps retries rare.
 */
export const resubmitAfterMsDefault = 15_000
/** Longest wait between restarts of a container that keeps dying (the wait doubles from the reconcile period). */
export const restartBackoffMsMax = 300_000
/** Where a container finds its private key (mounted read-only); also in its env as TOM_KEY_FILE. */
export const containerKeyPath = '/run/tom/container.key'
/** Longest `detail` of an action.report or container.status (the ledger's limit). */
export const detailCharsMax = 1024
/**
 * Submit outcomes that mean "did not commit, try again" rather than a refusal: no leader yet,
 * leadership moved, full mempool, the node stopping, an expired tx.
 */
export const retryableSubmitCodes: readonly string[] = ['ERR_NO_LEADER', 'ERR_NOT_LEADER', 'ERR_MEMPOOL_FULL', 'ERR_NODE_STOPPED', 'ERR_TX_EXPIRED']
