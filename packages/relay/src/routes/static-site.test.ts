import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PAGE_CSP, staticSite } from './static-site.ts';

describe('static site', () => {
  const root = mkdtempSync(join(tmpdir(), 'fhe-llm-site-'));
  mkdirSync(join(root, 'assets'));
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>demo</title>');
  writeFileSync(join(root, 'assets', 'seal_throws.wasm'), Uint8Array.of(0, 0x61, 0x73, 0x6d));
  const app = staticSite(root);

  it('serves the index with a page CSP that allows WebAssembly and same-origin workers', async () => {
    const res = await app.request('/');
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<title>demo</title>');
    expect(res.headers.get('content-security-policy')).toBe(PAGE_CSP);
    expect(PAGE_CSP).toContain("'wasm-unsafe-eval'");
    expect(res.headers.get('cache-control')).toBe('no-cache');
  });

  it('serves wasm with its MIME type and long caching', async () => {
    const res = await app.request('/assets/seal_throws.wasm');
    expect(res.headers.get('content-type')).toBe('application/wasm');
    expect(res.headers.get('cache-control')).toContain('immutable');
  });

  it('refuses paths that climb out of the root', async () => {
    for (const path of ['/../package.json', '/assets/%2e%2e/%2e%2e/etc/passwd', '/..%2f..%2fetc/passwd']) {
      expect((await app.request(path)).status).toBe(404);
    }
  });
});
