#!/usr/bin/env node
// Runs on Node >= 22 (node-seal 7). Inside this workspace, npm scripts and npx
// put the local Node 24 first on PATH.
import { main } from '../src/cli/main.ts';

process.exitCode = await main(process.argv.slice(2));
