import { describe, expect, it } from 'vitest';
import { presetIds, getPreset } from '@fhe-llm/core';
import { createClient } from './client.ts';
import { checkPresetSecurity, checkRelayUrl } from './security-floor.ts';

const refused = (code: string) => expect.objectContaining({ name: 'SecurityPolicyError', code });

describe('SDK security floor', () => {
  it('requires https except on loopback or with allowInsecureTransport', () => {
    for (const url of ['https://relay.example', 'https://relay.example:8443/base', 'http://127.0.0.1:8080', 'http://localhost:1', 'http://[::1]:8080', 'http://app.localhost']) {
      expect(() => checkRelayUrl(url), url).not.toThrow();
    }
    for (const url of ['http://relay.example', 'http://10.0.0.5:8080', 'http://127.0.0.1.nip.io', 'http://[::ffff:10.0.0.1]']) {
      expect(() => checkRelayUrl(url), url).toThrowError(refused('insecure_transport'));
      expect(() => checkRelayUrl(url, true), url).not.toThrow();
    }
    expect(() => checkRelayUrl('ftp://relay.example')).toThrowError(refused('bad_relay_url'));
    // In Node there is no page origin to resolve a relative URL against.
    expect(() => checkRelayUrl('')).toThrowError(refused('bad_relay_url'));
    expect(() => createClient({ relayUrl: 'http://relay.example' })).toThrowError(refused('insecure_transport'));
  });

  it('refuses presets below 128-bit security unless the app opts in', () => {
    for (const id of presetIds) {
      if (getPreset(id).securityLevel >= 128) expect(() => checkPresetSecurity(id)).not.toThrow();
      else {
        expect(() => checkPresetSecurity(id)).toThrowError(refused('insecure_preset'));
        expect(() => checkPresetSecurity(id, true)).not.toThrow();
      }
    }
    expect(() => checkPresetSecurity('ckks-n1-q1', true)).toThrowError(expect.objectContaining({ name: 'PresetError', code: 'unknown_preset' }));
  });

  it('a relay announcing an insecure preset gets no keys made or uploaded', async () => {
    const insecure = presetIds.find((id) => getPreset(id).securityLevel < 128)!;
    const requests: string[] = [];
    const fakeFetch = (async (input: Request | string | URL, init?: RequestInit) => {
      const request = input instanceof Request ? input : new Request(input, init);
      requests.push(`${request.method} ${new URL(request.url).pathname}`);
      if (request.url.endsWith('/tokenizer')) return new Response(new Uint8Array(8));
      return Response.json({ id: 'm', preset: insecure, steps: [], galoisSteps: [1], config: { vocabSize: 1 } });
    }) as typeof fetch;
    const client = createClient({ relayUrl: 'http://127.0.0.1:9', fetch: fakeFetch, storage: 'memory', retries: 0 });
    try {
      await expect(client.completions.create({ model: 'm', prompt: 'x', max_tokens: 1 })).rejects.toThrowError(refused('insecure_preset'));
      expect(requests.filter((r) => r.startsWith('POST'))).toEqual([]);
    } finally {
      await client.close();
    }
  });
});
