/** Every error code of TOM, by module: the source of docs/errors.md. */
import { cryptoErrorCodes } from './crypto/index.js'
import { consensusErrorCodes } from './consensus/index.js'
import { p2pErrorCodes } from './p2p/index.js'
import { provErrorCodes } from './prov/index.js'
import { raftCodecErrorCodes } from './p2p/raft-codec.js'
import { txRejectionCodes, blockRejectionCodes, chainVerifyCodes, ledgerErrorCodes, provQueryErrorCodes } from './ledger/index.js'
import { contractFailureCodes } from './contracts/index.js'
import { sandboxErrorCodes } from './contracts/sandbox/index.js'
import { deployedErrorCodes } from './contracts/deployed-errors.js'
import { aclErrorCodes } from './contracts/acl.js'
import { nodeErrorCodes, raftStorageErrorCodes } from './node/index.js'
import { orchestratorErrorCodes, runtimeErrorCodes } from './orchestrator/errors.js'
import { apiErrorCodes } from './api/errors.js'
import { cliErrorCodes } from './cli/errors.js'

export interface ErrorRegistry {
  readonly module: string
  readonly codes: Readonly<Record<string, string>>
}

export const errorRegistries: readonly ErrorRegistry[] = [
  { module: 'crypto', codes: cryptoErrorCodes },
  { module: 'consensus', codes: consensusErrorCodes },
  { module: 'p2p', codes: p2pErrorCodes },
  { module: 'p2p: Raft messages', codes: raftCodecErrorCodes },
  { module: 'ledger: tx admission and receipts', codes: txRejectionCodes },
  { module: 'ledger: block validation', codes: blockRejectionCodes },
  { module: 'ledger: chain verification', codes: chainVerifyCodes },
  { module: 'ledger: other', codes: ledgerErrorCodes },
  { module: 'ledger: provenance queries', codes: provQueryErrorCodes },
  { module: 'prov', codes: provErrorCodes },
  { module: 'contracts (receipt codes)', codes: contractFailureCodes },
  { module: 'contracts: sandbox for deployed contracts (receipt codes)', codes: sandboxErrorCodes },
  { module: 'contracts: deployed contracts and orchestration actions (receipt codes)', codes: deployedErrorCodes },
  { module: 'contracts: ACL rules', codes: aclErrorCodes },
  { module: 'node', codes: nodeErrorCodes },
  { module: 'node: Raft storage', codes: raftStorageErrorCodes },
  { module: 'orchestrator: container runtime', codes: runtimeErrorCodes },
  { module: 'orchestrator', codes: orchestratorErrorCodes },
  { module: 'api', codes: apiErrorCodes },
  { module: 'cli', codes: cliErrorCodes }
]
