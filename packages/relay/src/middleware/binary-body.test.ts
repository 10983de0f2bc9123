import { Hono } from 'hono';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { RelayEnv } from '../relay-env.ts';
import { binaryBody } from './binary-body.ts';
import { BodyBudget } from './body-budget.ts';
import { errorHandler } from './error-handler.ts';

const app = new Hono<RelayEnv>();
app.post('/upload', binaryBody(8), (c) => c.json({ length: c.var.body.length, first: c.var.body[0] ?? null }));
app.onError(errorHandler(pino({ level: 'silent' })));

const post = (body: BodyInit | null, headers: Record<string, string> = { 'content-type': 'application/octet-stream' }) =>
  app.request('/upload', { method: 'POST', body, headers, ...(body instanceof ReadableStream ? { duplex: 'half' } : {}) } as RequestInit);

function streamOf(...chunks: number[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const n of chunks) controller.enqueue(new Uint8Array(n).fill(7));
      controller.close();
    },
  });
}

describe('binaryBody', () => {
  it('passes an octet-stream body within the limit', async () => {
    const res = await post(new Uint8Array([5, 6, 7]));
    expect(await res.json()).toEqual({ length: 3, first: 5 });
    expect(await (await post(streamOf(3, 5))).json()).toEqual({ length: 8, first: 7 });
    expect(await (await post(null)).json()).toEqual({ length: 0, first: null });
  });

  it('accepts a content type with parameters', async () => {
    expect((await post(new Uint8Array([1]), { 'content-type': 'Application/Octet-Stream; charset=binary' })).status).toBe(200);
  });

  it('answers 415 unsupported_media_type for any other content type', async () => {
    for (const headers of [{ 'content-type': 'application/json' }, {} as Record<string, string>]) {
      const res = await post(new Uint8Array([1]), headers);
      expect(res.status).toBe(415);
      expect(await res.json()).toMatchObject({ error: { code: 'unsupported_media_type' } });
    }
  });

  it('answers 413 body_too_large from the declared length or while streaming', async () => {
    const declared = await post(new Uint8Array(9), { 'content-type': 'application/octet-stream', 'content-length': '9' });
    expect(declared.status).toBe(413);
    const streamed = await post(streamOf(4, 4, 4));
    expect(streamed.status).toBe(413);
    expect(await streamed.json()).toMatchObject({ error: { code: 'body_too_large' } });
  });
});

describe('binaryBody against slow and many senders', () => {
  /** A body that sends `first` bytes and then never another. */
  const stalled = (first: number) =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array(first));
      },
    });
  const octet = { 'content-type': 'application/octet-stream' };

  it('cuts off a sender that stalls with 408 body_timeout', async () => {
    const slow = new Hono<RelayEnv>();
    slow.post('/upload', binaryBody(1024, { readTimeoutMs: 150 }), (c) => c.json({ length: c.var.body.length }));
    slow.onError(errorHandler(pino({ level: 'silent' })));
    const started = performance.now();
    const res = await slow.request('/upload', { method: 'POST', body: stalled(10), headers: octet, duplex: 'half' } as RequestInit);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(res.status).toBe(408);
    expect(await res.json()).toMatchObject({ error: { code: 'body_timeout' } });
  });

  it('reserves bytes before reading: per client 429 too_many_uploads, globally 503 body_budget_exhausted, released after', async () => {
    const budget = new BodyBudget(1000, 600);
    const app = new Hono<RelayEnv>();
    app.post('/upload', binaryBody(1000, { readTimeoutMs: 300, budget: { budget, client: (c) => c.req.header('x-client') ?? 'anon' } }), (c) => c.json({ length: c.var.body.length }));
    app.onError(errorHandler(pino({ level: 'silent' })));
    const send = (client: string, length: number, body: BodyInit = stalled(1)) =>
      app.request('/upload', { method: 'POST', body, headers: { ...octet, 'x-client': client, 'content-length': String(length) }, duplex: 'half' } as RequestInit);
    // Client a holds 500 bytes of stalled upload; its next 200 would pass its 600.
    const holding = send('a', 500);
    await new Promise((r) => setTimeout(r, 20));
    const [mine, theirs] = await Promise.all([send('a', 200, new Uint8Array(200)), send('b', 400, new Uint8Array(400))]);
    expect([mine.status, (await mine.json()).error.code, mine.headers.get('retry-after')]).toEqual([429, 'too_many_uploads', '1']);
    expect(theirs.status).toBe(200);
    const holdingB = send('b', 450);
    await new Promise((r) => setTimeout(r, 20));
    const full = await send('c', 100, new Uint8Array(100));
    expect([full.status, (await full.json()).error.code]).toEqual([503, 'body_budget_exhausted']);
    expect((await holding).status).toBe(408);
    expect((await holdingB).status).toBe(408);
    expect(budget.usedBytes).toBe(0);
    expect((await send('c', 100, new Uint8Array(100))).status).toBe(200);
  });
});
