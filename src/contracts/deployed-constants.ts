/**
 * Limits of deployed contracts and of the orchestration actions they and the built-in contracts
 * emit. The sandbox's own limits (instructions, memory, stack, reads, writes, output sizes) are in
 * sandbox/constants.ts; these are the ones the ledger side adds around it.
 */

/** Longest contract name: it is the first segment of the contract's tx types, state keys and PROV ids. */
export const contractNameCharsMax = 32
/** Most handler types one contract version registers (each is a tx type `<name>.<fn>`). */
export const contractHandlerTypesMax = 64
/** Compiled contracts kept per process, by (name, version, source hash); the least recently used is closed. */
export const deployedSandboxesMax = 32
/** Attributes one PROV statement of a contract may carry; longest attribute string value. */
export const contractProvAttributesMax = 16
export const contractProvStringCharsMax = 1024
/** Longest id a contract names in a PROV statement, before its namespace is added. */
export const contractProvIdCharsMax = 256

/** Environment variables and command arguments a container.start action may carry; longest of each. */
export const actionEnvEntriesMax = 32
export const actionCmdItemsMax = 32
export const actionStringCharsMax = 1024
/** Longest `detail` an action.report carries (the reason of a failure, say). */
export const actionDetailCharsMax = 1024
/** Most actions one tx may emit, built-in or deployed (the sandbox's actionsMax bounds a contract's own). */
export const txActionsMax = 16
/** Most open actions listOpenActions returns in one call. */
export const openActionsListMax = 1000

/**
 * Containers the ledger tracks as joined on one node, and open start actions it tracks per node
 * (node-load.ts). Bounded so that moving a node's containers (service continuity) fits one tx: each
 * moved container costs about 6 PROV records and each unplaced one 3, within txProvRecordsMax (256).
 */
export const nodeContainersMax = 32
export const nodeStartingMax = 64

/** Bounds of a container.start's resource limits (Docker refuses less than 6 MiB of memory). */
export const containerMemoryBytesMin = 6 * 1024 * 1024
export const containerMemoryBytesMax = 1024 ** 4
export const containerNanoCpusMin = 1_000_000
export const containerNanoCpusMax = 256_000_000_000
/** Most labels a container.start gives its container; a label name's form. */
export const containerLabelsMax = 16
export const containerLabelPattern = /^[a-z0-9][a-z0-9._-]{0,127}$/
