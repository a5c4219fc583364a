/** Receipt codes of the built-in contracts. Listed in docs/errors.md (kept in sync by a test). */
export const contractFailureCodes = {
  ERR_TX_UNKNOWN_TYPE: 'no contract handles this tx type',
  ERR_TX_UNKNOWN_SIGNER: 'the signer is not an identity of the network',
  ERR_TX_UNAUTHORIZED: 'the signer may not do this',
  ERR_TX_INVALID_PAYLOAD: 'the payload is not what the tx type requires; the message names the field',
  ERR_GENESIS_ONLY: 'this tx type is only valid in the genesis block',
  ERR_NETWORK_EXISTS: 'the network was already created',
  ERR_ORG_EXISTS: 'an organisation of that name exists',
  ERR_ORG_UNKNOWN: 'no organisation of that name',
  ERR_IDENTITY_EXISTS: 'the key is already an identity of the network',
  ERR_NODE_UNKNOWN: 'no node with that public key',
  ERR_NODE_LAST: 'the last node of the network cannot leave',
  ERR_DATA_EXISTS: 'a data item with that id was already added',
  ERR_DATA_UNKNOWN: 'a data item named in derivedFrom does not exist'
} as const
