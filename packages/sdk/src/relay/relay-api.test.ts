import { describe, expect, it } from 'vitest';
import { RelayApi, readAtMost, workerMs } from './relay-api.ts';
describe('workerMs (the relay CPU figure from Server-Timing)', () => {
  it('prefers worker-cpu, falls back to worker, and is 0 when absent or malformed', () => {
    expect(workerMs('worker;dur=12.5, worker-cpu;dur=9.5')).toBe(9.5);
    expect(workerMs('worker;dur=12.5')).toBe(12.5);
    expect(workerMs('db;dur=3, worker;desc="x";dur=4')).toBe(4);
    expect(workerMs('coworker;dur=7')).toBe(0);
    expect(workerMs('worker;dur=abc')).toBe(0);
    expect(workerMs(null)).toBe(0);
  });
});

// The client tokenizes, so it needs each model's tokenizer file; the SDK
// fetches it once per client and keeps it, and does not keep failures.

describe('tokenizer cache', () => {
  it('fetches a model tokenizer once, and retries after a failure', async () => {
    const calls: string[] = [];
    let fail = true;
    const fetchStub = async (input: RequestInfo | URL): Promise<Response> => {
      const url = String(input instanceof Request ? input.url : input);
      calls.push(url);
      if (url.includes('/broken/') && fail) {
        fail = false;
        return new Response(JSON.stringify({ error: { code: 'model_not_found', message: 'no' } }), { status: 404, headers: { 'content-type': 'application/json' } });
      }
      return new Response(new Uint8Array([1, 2, 3]), { status: 200 });
    };
    const api = new RelayApi({ relayUrl: 'http://relay.test', fetch: fetchStub as typeof fetch, timeoutMs: 5_000, retries: 0 });
    const [a, b] = await Promise.all([api.getTokenizer('m'), api.getTokenizer('m')]);
    expect(await api.getTokenizer('m')).toEqual(new Uint8Array([1, 2, 3]));
    expect(a).toBe(b);
    expect(calls.filter((u) => u.endsWith('/v1/models/m/tokenizer'))).toHaveLength(1);
    await expect(api.getTokenizer('broken')).rejects.toThrow();
    expect(await api.getTokenizer('broken')).toEqual(new Uint8Array([1, 2, 3]));
    expect(calls.filter((u) => u.includes('/broken/'))).toHaveLength(2);
  });
});

describe('retries', () => {
  it('retries a 429 that carries Retry-After, and not one without (a spent query budget)', async () => {
    let calls = 0;
    const answer = (retryAfter: boolean) => async (): Promise<Response> => {
      calls++;
      const headers: Record<string, string> = { 'content-type': 'application/json', ...(retryAfter && calls === 1 ? { 'retry-after': '0' } : {}) };
      if (retryAfter && calls > 1) return new Response(new Uint8Array([7]), { status: 200 });
      return new Response(JSON.stringify({ error: { code: 'query_budget_exceeded', message: 'spent' } }), { status: 429, headers });
    };
    const spent = new RelayApi({ relayUrl: 'http://relay.test', fetch: answer(false) as typeof fetch, timeoutMs: 5_000, retries: 3 });
    await expect(spent.getTokenizer('m')).rejects.toMatchObject({ name: 'RelayError', status: 429, code: 'query_budget_exceeded' });
    expect(calls).toBe(1);
    calls = 0;
    const waiting = new RelayApi({ relayUrl: 'http://relay.test', fetch: answer(true) as typeof fetch, timeoutMs: 5_000, retries: 3 });
    expect(await waiting.getTokenizer('m')).toEqual(new Uint8Array([7]));
    expect(calls).toBe(2);
  });
});

describe('step requests', () => {
  it('send the very body bytes with the merged headers on every attempt, retrying a 503 with Retry-After', async () => {
    const body = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);
    const seen: { url: string; body: unknown; auth: string | null; type: string | null; app: string | null }[] = [];
    const fetchStub = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
      const headers = new Headers(init?.headers);
      seen.push({ url: String(input instanceof Request ? input.url : input), body: init?.body, auth: headers.get('authorization'), type: headers.get('content-type'), app: headers.get('x-app') });
      if (seen.length === 1) return new Response(JSON.stringify({ error: { code: 'overloaded', message: 'busy' } }), { status: 503, headers: { 'retry-after': '0' } });
      return new Response(new Uint8Array([9, 9]), { status: 200, headers: { 'server-timing': 'worker;dur=5.0, worker-cpu;dur=4.5' } });
    };
    const api = new RelayApi({ relayUrl: 'http://relay.test', fetch: fetchStub as typeof fetch, timeoutMs: 5_000, retries: 2, headers: { 'x-app': 'demo' } });
    const answer = await api.evaluateStep('m', 3, 'tok', body, 1000);
    expect(answer).toEqual({ bytes: new Uint8Array([9, 9]), relayMs: 4.5 });
    expect(seen).toHaveLength(2);
    for (const call of seen) {
      expect(call.body).toBe(body);
      expect(call).toMatchObject({ url: 'http://relay.test/v1/models/m/steps/3', auth: 'Bearer tok', type: 'application/octet-stream', app: 'demo' });
    }
  });

  it('turn relay errors, answers larger than the plan allows and timeouts into typed errors', async () => {
    const refusing = new RelayApi({
      relayUrl: 'http://relay.test',
      fetch: (async () => new Response(JSON.stringify({ error: { code: 'bad_scale', message: 'no' } }), { status: 422 })) as typeof fetch,
      timeoutMs: 5_000,
      retries: 2,
    });
    await expect(refusing.evaluateStep('m', 0, 't', new Uint8Array(4), 1000)).rejects.toMatchObject({ name: 'RelayError', status: 422, code: 'bad_scale' });
    const hanging = (async (_: unknown, init?: RequestInit) => new Promise<Response>((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)))) as typeof fetch;
    const flooding = new RelayApi({ relayUrl: 'http://relay.test', fetch: (async () => new Response(new Uint8Array(1001))) as typeof fetch, timeoutMs: 5_000, retries: 0 });
    await expect(flooding.evaluateStep('m', 0, 't', new Uint8Array(4), 1000)).rejects.toMatchObject({ name: 'ProtocolError', code: 'bad_response' });
    const slow = new RelayApi({ relayUrl: 'http://relay.test', fetch: hanging, timeoutMs: 50, retries: 0 });
    await expect(slow.evaluateStep('m', 0, 't', new Uint8Array(4), 1000)).rejects.toMatchObject({ name: 'RelayTimeoutError' });
  });
});

describe('readAtMost (the client table is read within its descriptor size)', () => {
  const body = (n: number, length?: string) => new Response(new Uint8Array(n).fill(1), length ? { headers: { 'content-length': length } } : {});
  it('returns a body within the bound and refuses one beyond it, by header or while reading', async () => {
    expect((await readAtMost(body(8), 8)).length).toBe(8);
    expect((await readAtMost(body(3), 8)).length).toBe(3);
    await expect(readAtMost(body(9), 8)).rejects.toMatchObject({ name: 'ProtocolError', code: 'bad_response' });
    await expect(readAtMost(body(4, '1000000000'), 8)).rejects.toMatchObject({ name: 'ProtocolError', got: 1e9 });
  });
});
