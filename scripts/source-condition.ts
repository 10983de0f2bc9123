/**
 * Each package's `exports` lists a `fhe-llm-source` condition first, pointing
 * at its TypeScript sources; published tarballs resolve to dist/ instead.
 * Workspace tools turn the condition on: tsconfig.json (`customConditions`),
 * vitest.config.ts and the demo's vite.config.ts (`resolve.conditions`), and
 * Node through `--conditions`, passed in NODE_OPTIONS so that child processes
 * and worker threads inherit it.
 */
export const SOURCE_CONDITION = 'fhe-llm-source';
export const SOURCE_FLAG = `--conditions=${SOURCE_CONDITION}`;

/** NODE_OPTIONS with the source condition added once. */
export function withSourceCondition(nodeOptions: string | undefined): string {
  const current = nodeOptions?.trim() ?? '';
  return current.split(/\s+/).includes(SOURCE_FLAG) ? current : `${current} ${SOURCE_FLAG}`.trim();
}
