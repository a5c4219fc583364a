#!/usr/bin/env node
// The bundled daemon (src/cli/tom-node-main.ts, built by `npm run build`).
import '../dist/bundle/tom-node-main.js'
