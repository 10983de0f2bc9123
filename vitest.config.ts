import { defineConfig } from 'vitest/config';

// One config for every package: tests sit beside their sources (`*.test.ts`)
// or in a package's `test/` folder. CKKS work is CPU-bound and single-threaded
// per process, so run files in forks (separate WebAssembly heaps, no shared
// leaks) and give encrypted tests room.
export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 600_000,
    hookTimeout: 300_000,
  },
});
