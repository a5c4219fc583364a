/**
 * The TOM scenarios as built-in contracts: organisations' admins, devices, images, containers, data
 * added, node health and service continuity, orchestration templates, the ACL rule set and
 * traceability levels. core.ts registers these beside the foundation's
 * (network.create, org.create, node.add, node.remove) and runs every one behind the ACL gate.
 */
import { aclSet } from './access.js'
import { containerIdentify, containerJoin, containerLeave, containerStatus } from './containers.js'
import { nodeReachable, nodeUnreachable } from './continuity.js'
import { templateRemove, templateSet } from './templates.js'
import { dataAdd } from './data.js'
import { deviceAuthorise, deviceJoin, deviceLeave } from './devices.js'
import { imageApprove, imageRevoke } from './images.js'
import { orgAdminAdd, orgAdminRemove } from './orgs.js'
import type { ContractProcessor } from './state.js'

export const tomProcessors: readonly (readonly [string, ContractProcessor])[] = [
  ['org.admin.add', orgAdminAdd],
  ['org.admin.remove', orgAdminRemove],
  ['device.authorise', deviceAuthorise],
  ['device.join', deviceJoin],
  ['device.leave', deviceLeave],
  ['image.approve', imageApprove],
  ['image.revoke', imageRevoke],
  ['container.join', containerJoin],
  ['container.identify', containerIdentify],
  ['container.leave', containerLeave],
  ['container.status', containerStatus],
  ['node.unreachable', nodeUnreachable],
  ['node.reachable', nodeReachable],
  ['template.set', templateSet],
  ['template.remove', templateRemove],
  ['data.add', dataAdd],
  ['acl.set', aclSet]
]

export { AclRulesReader, aclRulesKey, requireTxAllowed } from './access.js'
export { traceKey, traceLevelOf, traceSetProcessor } from './trace.js'
export * from './trace-levels.js'
export * from './constants.js'
export { derivedFromMax } from './data.js'
export { orgAdminsMax } from './orgs.js'
export type { DeviceRecord, DeviceStatus } from './devices.js'
export type { ContainerDrift, ContainerRecord } from './containers.js'
export { containerDrifts } from './containers.js'
export { moveContainersOff, replacementContainerId, unplacedKey } from './continuity.js'
export type { UnplacedRecord } from './continuity.js'
export { isUnreachable, nodeHealthKey, placeContainer } from './placement.js'
export { templateKey, templatesKey, templateEvents } from './templates.js'
export type { TemplateRecord, TemplateEvent } from './templates.js'
export type { ImageRecord } from './images.js'
export { ContractState, identityOf, provSafe, readCbor, requireIdentity, stateKeys } from './state.js'
export type { ContractProcessor, Identity, IdentityKind, OrgRecord } from './state.js'
