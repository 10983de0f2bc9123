#!/usr/bin/env node
// Installed from npm: the built JavaScript in dist/. Inside the fhe-llm
// workspace: the TypeScript sources (Node >= 22 strips the types), with
// @fhe-llm/* resolved to sources too (scripts/source-condition.ts).
import { existsSync } from 'node:fs';

if (!existsSync(new URL('../src/main.ts', import.meta.url))) {
  await import('../dist/main.js');
} else {
  const { sourceConditionActive, rerunWithSourceCondition } = await import('../../../scripts/run-from-source.ts');
  if (sourceConditionActive()) await import('../src/main.ts');
  else rerunWithSourceCondition();
}
