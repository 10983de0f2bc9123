#!/usr/bin/env node
// Runs on Node >= 22 (node-seal 7). Installed from npm: the built JavaScript
// in dist/. Inside the fhe-llm workspace: the TypeScript sources, with
// @fhe-llm/* resolved to sources too (scripts/source-condition.ts).
import { existsSync } from 'node:fs';

if (!existsSync(new URL('../src/cli/main.ts', import.meta.url))) {
  const { main } = await import('../dist/cli/main.js');
  process.exitCode = await main(process.argv.slice(2));
} else {
  const { sourceConditionActive, rerunWithSourceCondition } = await import('../../../scripts/run-from-source.ts');
  if (sourceConditionActive()) {
    const { main } = await import('../src/cli/main.ts');
    process.exitCode = await main(process.argv.slice(2));
  } else {
    rerunWithSourceCondition();
  }
}
