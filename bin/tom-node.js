#!/usr/bin/env node
// The polyfill must load before anything imports libp2p (Node 20 lacks Promise.withResolvers).
import '../dist/polyfills.js'
import { tomNodeProgram } from '../dist/cli/tom-node.js'
import { runCli } from '../dist/cli/run.js'

await runCli(tomNodeProgram())
