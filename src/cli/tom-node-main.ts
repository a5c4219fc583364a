/**
 * The `tom-node` executable. The build bundles it, with the signature worker, into dist/bundle/
 * (esbuild, see docs/dependencies.md): Node 20 loads the node's ~800 ES module files one by one,
 * which cost a starting node 0.6 s of CPU and 19 MB; the bundle loads in 0.15 s.
 */
// The polyfill must evaluate before anything imports libp2p (Node 20 lacks Promise.withResolvers).
import '../polyfills.js'
import { tomNodeProgram } from './tom-node.js'
import { runCli } from './run.js'

await runCli(tomNodeProgram())
