/**
 * Bundles the `tom-node` executable and its signature worker into dist/bundle/ after tsc (see
 * src/cli/tom-node-main.ts for why). Both land in one folder, so that the worker URL and the path to
 * bin/ that the code builds from import.meta.url resolve as they do from dist/cli/ and dist/crypto/.
 * The library (dist/index.js) stays unbundled.
 */
import { rmSync } from 'node:fs'
import { build } from 'esbuild'

// esbuild names chunks by content hash and never removes old ones: start from an empty folder.
rmSync('dist/bundle', { recursive: true, force: true })

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
  // Whitespace and syntax only: the 1.5 MB of source a node keeps in its heap instead of 2.2 MB, about
  // 3 MB less resident; names stay, so stack traces still name functions. The linked source map gives
  // file and line under `node --enable-source-maps`.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  logLevel: 'warning'
})
