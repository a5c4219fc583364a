/** Error codes raised by src/crypto. Listed in docs/errors.md (kept in sync by test/errors.test.ts). */
export const cryptoErrorCodes = {
  ERR_CODEC: 'malformed or non-deterministic CBOR, or a value CBOR cannot carry faithfully',
  ERR_KEY_FILE_PERMISSIONS: 'a key file is readable or writable by group or others',
  ERR_KEY_FILE_INVALID: 'a key file is not a TOM Ed25519 key file, or its public key does not match',
  ERR_KEY_FILE_EXISTS: 'refusing to overwrite an existing key file'
} as const
