/**
 * Bundles the `tom-node` executable and its signature worker into dist/bundle/ after tsc (see
 * src/cli/tom-node-main.ts for why). Both land in one folder, so that the worker URL and the path to
 * bin/ that the code builds from import.meta.url resolve as they do from dist/cli/ and dist/crypto/.
 * The library (dist/index.js) stays unbundled.
 */
import { build } from 'esbuild'

await build({
  entryPoints: ['dist/cli/tom-node-main.js', 'dist/crypto/verify-worker.js'],
  entryNames: '[name]',
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // classic-level loads its native addon, and the QuickJS packages their WebAssembly file, from
  // their own install folders: they stay in node_modules.
  external: ['classic-level', 'quickjs-emscripten-core', '@jitl/quickjs-wasmfile-release-sync'],
  // The CommonJS dependencies call require() for Node's modules, which an ES module lacks.
  banner: { js: "import { createRequire as __tomCreateRequire } from 'node:module'; const require = __tomCreateRequire(import.meta.url);" },
  logLevel: 'warning'
})
