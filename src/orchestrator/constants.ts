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
