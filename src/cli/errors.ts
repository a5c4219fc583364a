/**
 * The CLIs' own error codes. Everything else a CLI prints comes from the layer that refused
 * (ERR_API_* from the node or the client, a tx's rejection or receipt code, ERR_KEY_FILE_*), passed
 * through unchanged.
 */

export const cliErrorCodes = {
  ERR_CLI_USAGE: 'wrong arguments: an unknown command or option, a missing or malformed value; the message says which',
  ERR_CLI_NO_KEY: 'a command that signs found no key: pass --key FILE, set TOM_KEY, or run where .tom/admin.key exists',
  ERR_CLI_BAD_FILE: 'a file given to a command cannot be read, or is not what the command expects (JSON, a key file)'
} as const
export type CliErrorCode = keyof typeof cliErrorCodes

export class CliError extends Error {
  override readonly name = 'CliError'
  constructor(
    readonly code: CliErrorCode,
    message: string
  ) {
    super(message)
  }
}
