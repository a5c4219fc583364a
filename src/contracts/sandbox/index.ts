/** The sandbox for contracts deployed as JavaScript source: QuickJS in WebAssembly, deterministic limits. */
export * from './sandbox.js'
export * from './errors.js'
export * as sandboxLimits from './constants.js'
