/**
 * The run-time module graph of workspace entry points, as a bundler builds it
 * (rolldown, Vite's bundler): every workspace file reached from `entries`
 * through static and dynamic imports and through worker entries
 * (`new URL('./x.ts', import.meta.url)`, how the relay starts its threads
 * and the SDK its crypto worker), with `@fhe-llm/*` resolved through each
 * package's `exports` under the source condition, as inside the workspace.
 * Type-only imports are erased first, as at run time; other packages stay
 * external. The import-boundary tests of the relay and the SDK use it.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rolldown } from 'rolldown';
import { SOURCE_CONDITION } from './source-condition.ts';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

export interface ModuleGraph {
  /** Absolute paths of the workspace files in the graph, whether or not tree-shaking keeps any of their code. */
  readonly files: readonly string[];
  /** The bundled output (every chunk), after tree-shaking. */
  readonly code: string;
}

const WORKER_ENTRY = /new URL\(\s*(['"])(\.{1,2}\/[^'"]+\.[jt]s)\1\s*,\s*import\.meta\.url\s*\)/g;

/** `entries`: paths relative to the repository root. */
export async function moduleGraph(entries: readonly string[], platform: 'node' | 'browser'): Promise<ModuleGraph> {
  let ids: string[] = [];
  const bundle = await rolldown({
    input: entries.map((entry) => join(repoRoot, entry)),
    platform,
    logLevel: 'silent',
    resolve: { conditionNames: [SOURCE_CONDITION, platform, 'import', 'default'] },
    // Only the workspace's own sources are walked: relative paths and @fhe-llm/*.
    external: (id) => !/^(\.{1,2}\/|\/|@fhe-llm\/)/.test(id),
    plugins: [
      {
        name: 'workers-and-graph',
        transform(code, id) {
          for (const match of code.matchAll(WORKER_ENTRY)) this.emitFile({ type: 'chunk', id: fileURLToPath(new URL(match[2], `file://${id}`)) });
          return null;
        },
        buildEnd() {
          ids = [...this.getModuleIds()];
        },
      },
    ],
  });
  try {
    const { output } = await bundle.generate({ format: 'esm' });
    const code = output.map((chunk) => (chunk.type === 'chunk' ? chunk.code : '')).join('\n');
    return { files: ids.filter((id) => id.startsWith(repoRoot)).sort(), code };
  } finally {
    await bundle.close();
  }
}

/** Repository-relative paths of the graph's files under `dir` (relative to the repository root, e.g. `packages/core/src/client/`). */
export function filesUnder(graph: ModuleGraph, dir: string): string[] {
  return graph.files.map((file) => file.slice(repoRoot.length)).filter((file) => file.startsWith(dir));
}
