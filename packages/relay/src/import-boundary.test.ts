// The relay can never reach the client half of @fhe-llm/core, the one that
// holds the secret key: its whole run-time module graph (the package entry,
// the process entry and the worker threads they start, as a bundler follows
// them) holds no file of core/src/client/ or core/src/local/ and no code that
// makes, loads or uses a secret key. Biome's noRestrictedImports (biome.jsonc)
// says the same at the import line; test/no-secret-keys.test.ts reads the
// relay's own sources.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { filesUnder, moduleGraph, type ModuleGraph } from '../../../scripts/module-graph.ts';

const RELAY_ENTRIES = ['packages/relay/src/index.ts', 'packages/relay/src/main.ts'];
const CLIENT_DIRS = ['packages/core/src/client/', 'packages/core/src/local/'];
/** What only key-holding code names (the relay's one Encryptor, under the client's public key, is allowed). */
const SECRET_KEY_CODE = /\b(CkksClient|SecretKey|secretKey|KeyGenerator|Decryptor|decryptor|encryptSymmetric\w*)\b/;

function secretKeyFiles(graph: ModuleGraph): string[] {
  return graph.files.filter((file) => SECRET_KEY_CODE.test(readFileSync(file, 'utf8')));
}

describe("the relay's module graph", () => {
  it('reaches core/src/server and its worker threads, and nothing of core/src/client or core/src/local', async () => {
    const graph = await moduleGraph(RELAY_ENTRIES, 'node');
    // The walk is real: it followed @fhe-llm/core/* and the worker entries.
    expect(filesUnder(graph, 'packages/core/src/server/')).toContain('packages/core/src/server/step-exchange.ts');
    expect(filesUnder(graph, 'packages/relay/src/')).toEqual(expect.arrayContaining(['packages/relay/src/pool/evaluation-worker.ts', 'packages/relay/src/models/prepare-model-worker.ts']));
    for (const dir of CLIENT_DIRS) expect(filesUnder(graph, dir)).toEqual([]);
  });

  it('holds no secret-key code, in any file it reaches or in the bundle', async () => {
    const graph = await moduleGraph(RELAY_ENTRIES, 'node');
    expect(secretKeyFiles(graph)).toEqual([]);
    expect(graph.code).not.toMatch(SECRET_KEY_CODE);
  });

  it('the checks themselves would catch an offender: the client and local entries', async () => {
    const client = await moduleGraph(['packages/core/src/client/index.ts'], 'node');
    expect(filesUnder(client, 'packages/core/src/client/')).toContain('packages/core/src/client/ckks-client.ts');
    expect(secretKeyFiles(client).map((file) => file.slice(file.indexOf('packages/')))).toContain('packages/core/src/client/ckks-client.ts');
    expect(client.code).toMatch(SECRET_KEY_CODE);
    const local = await moduleGraph(['packages/core/src/local/index.ts'], 'node');
    expect(filesUnder(local, 'packages/core/src/client/')).toContain('packages/core/src/client/step-exchange.ts');
  });
});
