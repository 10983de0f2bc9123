import { Hono } from 'hono';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { RelayEnv } from '../relay-env.ts';
import { binaryBody } from './binary-body.ts';
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
    expect((await (await post(streamOf(3, 5))).json())).toEqual({ length: 8, first: 7 });
    expect((await (await post(null)).json())).toEqual({ length: 0, first: null });
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
