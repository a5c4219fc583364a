/** The orchestrator: container runtime interface and drivers (reconciliation and action handling build on these). */
export * from './runtime.js'
export * from './errors.js'
export * as orchestratorConstants from './constants.js'
export { DockerContainerRuntime, findEngineSocket, type DockerRuntimeOptions, type EngineSocket } from './docker-runtime.js'
export {
  MemoryContainerRuntime,
  type MemoryImage,
  type MemoryProcess,
  type MemoryProcessInput,
  type MemoryRuntimeOptions,
  type ProcessModel
} from './memory-runtime.js'
