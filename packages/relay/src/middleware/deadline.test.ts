import { Hono } from 'hono';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { RelayEnv } from '../relay-env.ts';
import { deadline } from './deadline.ts';
import { errorHandler } from './error-handler.ts';

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });

describe('deadline', () => {
  const seen: { aborted?: boolean } = {};
  const app = new Hono<RelayEnv>();
  app.get('/fast', deadline(200), async (c) => {
    await sleep(5, c.var.signal);
    return c.text('ok');
  });
  app.get('/slow-cooperative', deadline(30), async (c) => {
    await sleep(5_000, c.var.signal);
    return c.text('late');
  });
  app.get('/slow-ignoring', deadline(30), async (c) => {
    await sleep(300);
    seen.aborted = c.var.signal.aborted;
    return c.text('late');
  });
  app.onError(errorHandler(pino({ level: 'silent' })));

  it('lets requests that finish in time through', async () => {
    expect(await (await app.request('/fast')).text()).toBe('ok');
  });

  it('aborts the signal and answers 503 deadline_exceeded with Retry-After', async () => {
    for (const path of ['/slow-cooperative', '/slow-ignoring']) {
      const started = performance.now();
      const res = await app.request(path);
      expect(performance.now() - started).toBeLessThan(250);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(await res.json()).toMatchObject({ error: { code: 'deadline_exceeded' } });
    }
    await sleep(350);
    expect(seen.aborted).toBe(true);
  });
});
