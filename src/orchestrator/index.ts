/** The orchestrator: container runtime interface and drivers, and the Orchestrator that carries out actions and reconciles. */
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
export {
  Orchestrator,
  createOrchestrator,
  orchestratorLabels,
  type OrchestratorClock,
  type OrchestratorLogger,
  type OrchestratorOptions
} from './orchestrator.js'
export {
  decodeAction,
  decodeContainer,
  decodeImage,
  worldKeys,
  RecordShapeError,
  type ActionType,
  type ActionStatus,
  type ActionView,
  type ContainerView,
  type ImageView,
  type MigrateParams,
  type OpenActionEntry,
  type OrchestratorStateReader,
  type StartParams,
  type ContainerParams,
  type SubmitResult,
  type SubmitTx
} from './world.js'
export { ContainerKeys } from './container-keys.js'
