import { defaultClientConditions, defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';
import { withSourceCondition, SOURCE_CONDITION } from './scripts/source-condition.ts';

// Inside the workspace the packages run from their TypeScript sources: the
// `fhe-llm-source` export condition (see scripts/source-condition.ts) for
// Vite's resolver here, and through NODE_OPTIONS for everything Node runs
// itself (test forks, the relay and CLI processes tests spawn, worker threads).
process.env.NODE_OPTIONS = withSourceCondition(process.env.NODE_OPTIONS);

// One config for every package: tests sit beside their sources (`*.test.ts`)
// or in a package's `test/` folder. CKKS work is CPU-bound and single-threaded
// per process, so run files in forks (separate WebAssembly heaps, no shared
// leaks) and give encrypted tests room.
export default defineConfig({
  resolve: { conditions: [SOURCE_CONDITION, ...defaultClientConditions] },
  ssr: { resolve: { conditions: [SOURCE_CONDITION, ...defaultServerConditions] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'scripts/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 600_000,
    hookTimeout: 300_000,
  },
});
