import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.ts';
import { openApiDocument } from '../src/openapi/openapi-document.ts';
import { Relay } from '../src/relay.ts';
import { testConfig } from './relay-test-kit.ts';

// No start(): the routes exist from construction, and nothing here needs models.
const relay = new Relay(testConfig(), { logger: createLogger('silent'), listen: false });
afterAll(() => relay.close());

describe('OpenAPI document', () => {
  it('lists exactly the routes the app serves', () => {
    const served = new Set(relay.app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`));
    const documented = new Set(Object.entries(openApiDocument.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`)));
    expect([...served].sort()).toEqual([...documented].sort());
    expect(served.size).toBe(12);
  });

  it('is served at /v1/openapi.json as OpenAPI 3.1', async () => {
    const res = await relay.app.request('/v1/openapi.json');
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe('3.1.0');
    expect(doc).toEqual(JSON.parse(JSON.stringify(openApiDocument)));
  });

  it('declares path parameters for every templated path', () => {
    for (const [path, item] of Object.entries(openApiDocument.paths)) {
      const names = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      for (const operation of Object.values(item) as { parameters?: { name: string; in: string }[] }[]) {
        const declared = (operation.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
        expect(declared.sort()).toEqual(names.sort());
      }
    }
  });
});
