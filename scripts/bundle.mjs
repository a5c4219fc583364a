/**
 * Bundles the `tom-node` executable and its signature worker into dist/bundle/ after tsc (see
 * src/cli/tom-node-main.ts for why). Both land in one folder, so that the worker URL and the path to
 * bin/ that the code builds from import.meta.url resolve as they do from dist/cli/ and dist/crypto/.
 * The library (dist/index.js) stays unbundled.
 */
import { readFileSync, rmSync } from 'node:fs'
import { build } from 'esbuild'

/**
 * libp2p's peer store sorts protocol names, tags and addresses with `localeCompare`, only to keep them
 * in a stable order. The first `localeCompare` in a process loads ICU's collation data: about 3 MB
 * resident in every node, for strings that are plain ASCII. In the bundle those comparisons use
 * UTF-16 code-unit order instead, which is as stable. The build fails if a libp2p upgrade moves or
 * changes them, so that the rewrite is checked again rather than silently skipped.
 */
const codeUnitOrder = {
  name: 'code-unit-order',
  setup(build) {
    const files = ['@libp2p/peer-record/dist/src/peer-record/utils.js', '@libp2p/peer-store/dist/src/utils/dedupe-addresses.js', '@libp2p/peer-store/dist/src/utils/to-peer-pb.js']
    const rewritten = new Set()
    const comparison = /([\w$.]+(?:\(\))?)\.localeCompare\(([\w$.]+(?:\(\))?)\)/g
    build.onLoad({ filter: /[\\/]@libp2p[\\/]peer-(record|store)[\\/]dist[\\/]src[\\/].*\.js$/ }, (args) => {
      const file = files.find((f) => args.path.replaceAll('\\', '/').endsWith(`node_modules/${f}`))
      if (file === undefined) return undefined
      const source = readFileSync(args.path, 'utf8')
      const contents = source.replace(comparison, '__tomCodeUnitOrder($1, $2)')
      if (contents === source || contents.includes('localeCompare')) throw new Error(`${file}: its localeCompare calls are not the ones code-unit-order rewrites; check them again`)
      rewritten.add(file)
      return { contents: `${contents}\nfunction __tomCodeUnitOrder(a, b) { return a < b ? -1 : a > b ? 1 : 0 }\n`, loader: 'js' }
    })
    build.onEnd(() => {
      const missed = files.filter((f) => !rewritten.has(f))
      if (missed.length > 0) throw new Error(`code-unit-order did not see ${missed.join(', ')}: check libp2p's peer store for localeCompare again`)
    })
  }
}

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
  plugins: [codeUnitOrder],
  logLevel: 'warning'
})
