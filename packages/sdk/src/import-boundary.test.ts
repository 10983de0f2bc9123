// The SDK's browser entry never ships the relay's half of @fhe-llm/core: its
// whole run-time module graph (the package entry and the crypto worker it
// starts, as a bundler follows them) holds no file of core/src/server/ or
// core/src/local/. Biome's noRestrictedImports (biome.jsonc) says the same at
// the import line. The Node CLI (src/cli/) is not part of this entry: its
// local mode runs both halves in one process.
import { describe, expect, it } from 'vitest';
import { filesUnder, moduleGraph } from '../../../scripts/module-graph.ts';

const SERVER_DIRS = ['packages/core/src/server/', 'packages/core/src/local/'];
/** The relay half's public names: none may survive into the bundle either. */
const SERVER_CODE = /\b(StepOperators|ResponseRerandomizer|evaluateGroup\w*|splitRequestGroups|encodeStepResponse|LocalFheStepRunner)\b/;

describe("the SDK's browser module graph", () => {
  it('reaches the client half through its crypto worker, and nothing of core/src/server or core/src/local', async () => {
    const graph = await moduleGraph(['packages/sdk/src/index.ts'], 'browser');
    // The walk is real: it followed the worker entry into @fhe-llm/core/client.
    expect(filesUnder(graph, 'packages/sdk/src/')).toContain('packages/sdk/src/worker/crypto-worker.ts');
    expect(filesUnder(graph, 'packages/core/src/client/')).toContain('packages/core/src/client/ckks-client.ts');
    expect(filesUnder(graph, 'packages/sdk/src/cli/')).toEqual([]);
    for (const dir of SERVER_DIRS) expect(filesUnder(graph, dir)).toEqual([]);
    expect(graph.code).not.toMatch(SERVER_CODE);
  });

  it('the check itself would catch an offender: @fhe-llm/core/local reaches the server half', async () => {
    const graph = await moduleGraph(['packages/core/src/local/index.ts'], 'browser');
    expect(filesUnder(graph, 'packages/core/src/server/')).toContain('packages/core/src/server/step-exchange.ts');
    expect(graph.code).toMatch(SERVER_CODE);
  });
});
