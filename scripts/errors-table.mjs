// Prints the error table of docs/errors.md from the registries in dist/ (run after npm run build).
import { errorRegistries } from '../dist/errors.js'
for (const { module, codes } of errorRegistries) {
  console.log(`\n## ${module}\n\n| code | meaning |\n| --- | --- |`)
  for (const [code, meaning] of Object.entries(codes)) console.log(`| \`${code}\` | ${meaning} |`)
}
