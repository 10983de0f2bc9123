import { Hono } from 'hono';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { RelayEnv } from '../relay-env.ts';
import { clientConcurrency } from './client-concurrency.ts';
import { errorHandler } from './error-handler.ts';

describe('clientConcurrency', () => {
  it('lets each client run at most n requests at once; others are not affected; slots come back', async () => {
    let open: (() => void)[] = [];
    const app = new Hono<RelayEnv>();
    app.use('*', async (c, next) => {
      c.set('principal', c.req.header('x-principal'));
      await next();
    });
    app.post('/steps', clientConcurrency(2, 0), async (c) => {
      await new Promise<void>((resolve) => open.push(resolve));
      return c.text('ok');
    });
    app.onError(errorHandler(pino({ level: 'silent' })));
    const post = (principal: string) => app.request('/steps', { method: 'POST', headers: { 'x-principal': principal } }, { incoming: { socket: { remoteAddress: '10.0.0.1' } } });
    const running = [post('key:a'), post('key:a')];
    await new Promise((r) => setTimeout(r, 10));
    const third = await post('key:a');
    expect([third.status, ((await third.json()) as { error: { code: string } }).error.code, third.headers.get('retry-after')]).toEqual([429, 'too_many_concurrent_requests', '1']);
    const other = post('key:b');
    await new Promise((r) => setTimeout(r, 10));
    open.forEach((f) => f());
    open = [];
    expect((await Promise.all([...running, other])).map((r) => r.status)).toEqual([200, 200, 200]);
    const again = post('key:a');
    await new Promise((r) => setTimeout(r, 10));
    open.forEach((f) => f());
    expect((await again).status).toBe(200);
  });
});
