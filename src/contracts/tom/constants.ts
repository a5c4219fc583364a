/**
 * Limits of the TOM scenario contracts (src/contracts/tom). They bound what one tx may make every node
 * store and check: ids, identity attributes, labels and locations.
 */

/** Longest device or container id (it becomes part of a state key and a PROV id). */
export const producerIdLengthMax = 128
/** Most identity attributes a device is authorised with (firmwareHash and others). */
export const deviceAttributesMax = 16
/** Longest identity attribute name; longest attribute value. */
export const deviceAttributeNameLengthMax = 64
export const deviceAttributeValueLengthMax = 256
/** Longest human-readable image name given with an approval. */
export const imageNameLengthMax = 128
/** Longest location a data item may carry. */
export const dataLocationLengthMax = 128
/** Containers a node takes by the placement rule when node.add gives no capacity; most it may give. */
export const nodeCapacityDefault = 16
export const nodeCapacityMax = 1024
/** Most labels a node carries (node.add); longest label name; longest label value. */
export const nodeLabelsMax = 16
export const nodeLabelNameLengthMax = 64
export const nodeLabelValueLengthMax = 256
/** Most templates that react to one event (templates/<on>); longest template id. */
export const templatesPerEventMax = 32
export const templateIdLengthMax = 64
