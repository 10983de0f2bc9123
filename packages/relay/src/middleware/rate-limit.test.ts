import { Hono } from 'hono';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisServer } from '../../test/cluster-kit.ts';
import type { RelayEnv } from '../relay-env.ts';
import { createRedisClient } from '../sessions/redis-client.ts';
import { errorHandler } from './error-handler.ts';
import { addressBucket, createRateLimit, rateLimit, type RateLimit } from './rate-limit.ts';

let names = 0;
function appWith(limit: RateLimit | undefined, hops = 0) {
  const app = new Hono<RelayEnv>();
  app.use('*', async (c, next) => {
    c.set('principal', c.req.header('x-test-principal'));
    await next();
  });
  app.post('/steps', rateLimit(limit, hops), (c) => c.text('ok'));
  app.onError(errorHandler(pino({ level: 'silent' })));
  return app;
}
/** As node-server hands requests to the app: with the socket the request came on. */
const from = (address: string) => ({ incoming: { socket: { remoteAddress: address } } });
const post = (app: Hono<RelayEnv>, headers: Record<string, string> = {}, address = '10.0.0.1') => app.request('/steps', { method: 'POST', headers }, from(address));
const statuses = async (app: Hono<RelayEnv>, n: number, headers?: Record<string, string>, address?: string) => {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await post(app, headers, address)).status);
  return out;
};

describe('rateLimit (in memory)', () => {
  it('answers 429 rate_limited with Retry-After once a client used its points', async () => {
    const app = appWith(createRateLimit(`t${++names}`, 'step requests', 3, 60));
    expect(await statuses(app, 3)).toEqual([200, 200, 200]);
    const res = await post(app);
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(59);
    expect(await res.json()).toMatchObject({ error: { code: 'rate_limited', message: expect.stringContaining('step requests') } });
    // Another address, or an authenticated principal, has its own allowance.
    expect(await statuses(app, 1, {}, '10.0.0.2')).toEqual([200]);
    expect(await statuses(app, 4, { 'x-test-principal': 'key:abc' })).toEqual([200, 200, 200, 429]);
  });

  it('counts a principal per address: one user of a shared app key cannot exhaust it for the others', async () => {
    const app = appWith(createRateLimit(`t${++names}`, 'x', 2, 60));
    const shared = { 'x-test-principal': 'key:app' };
    expect(await statuses(app, 3, shared, '198.51.100.1')).toEqual([200, 200, 429]);
    expect(await statuses(app, 2, shared, '198.51.100.2')).toEqual([200, 200]);
  });

  it('groups IPv6 clients by /64 (a host rotating addresses in its prefix gets one allowance)', async () => {
    expect(addressBucket('2001:db8:1:2:aaaa::1')).toBe(addressBucket('2001:db8:1:2:ffff:1:2:3'));
    expect(addressBucket('2001:db8:1:2::1')).not.toBe(addressBucket('2001:db8:1:3::1'));
    expect(addressBucket('::ffff:203.0.113.5')).toBe('ip:203.0.113.5');
    expect(addressBucket('::1')).toBe('ip6:0:0:0:0::/64');
    const app = appWith(createRateLimit(`t${++names}`, 'x', 2, 60));
    expect([
      ...(await statuses(app, 1, {}, '2001:db8:0:7::1')),
      ...(await statuses(app, 1, {}, '2001:db8:0:7::2')),
      ...(await statuses(app, 1, {}, '2001:db8:0:7:1234:5678:9abc:def0')),
      ...(await statuses(app, 1, {}, '2001:db8:0:8::1')),
    ]).toEqual([200, 200, 429, 200]);
  });

  it('takes the client from X-Forwarded-For only as far as the trusted hops', async () => {
    const app = appWith(createRateLimit(`t${++names}`, 'x', 1, 60), 1);
    // The entry the trusted proxy appended counts, not what the client wrote before it.
    expect(await statuses(app, 2, { 'x-forwarded-for': 'forged, 203.0.113.7' }, '10.0.0.9')).toEqual([200, 429]);
    expect(await statuses(app, 1, { 'x-forwarded-for': 'forged-again, 203.0.113.8' }, '10.0.0.9')).toEqual([200]);
    const direct = appWith(createRateLimit(`t${++names}`, 'x', 1, 60));
    expect(await statuses(direct, 2, { 'x-forwarded-for': '203.0.113.9' }, '10.0.0.9')).toEqual([200, 429]);
    expect(await statuses(direct, 1, { 'x-forwarded-for': '203.0.113.10' }, '10.0.0.9')).toEqual([429]);
  });

  it('is off at 0 points, and does not count in-process requests (no client)', async () => {
    expect(createRateLimit('off', 'x', 0, 60)).toBeUndefined();
    expect(await statuses(appWith(undefined), 5)).toEqual([200, 200, 200, 200, 200]);
    const app = appWith(createRateLimit(`t${++names}`, 'x', 1, 60));
    for (let i = 0; i < 3; i++) expect((await app.request('/steps', { method: 'POST' })).status).toBe(200);
  });
});

describe('rateLimit (Redis)', () => {
  let server: RedisServer | undefined;
  const clients: Redis[] = [];
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await server?.dispose();
  });

  it('shares counters between relays, and falls back to memory while Redis is down', async () => {
    server = await RedisServer.start();
    const [ra, rb] = [0, 1].map(() => createRedisClient(server!.url, pino({ level: 'silent' })));
    clients.push(ra, rb);
    await Promise.all([ra, rb].map((r) => new Promise((resolve) => r.once('ready', resolve))));
    const name = `t${++names}`;
    const a = appWith(createRateLimit(name, 'x', 3, 60, ra));
    const b = appWith(createRateLimit(name, 'x', 3, 60, rb));
    expect([...(await statuses(a, 2)), ...(await statuses(b, 2))]).toEqual([200, 200, 200, 429]);
    expect(await ra.keys(`fhe-llm:rl:${name}:*`)).toHaveLength(1);

    await server.stop();
    await new Promise((r) => setTimeout(r, 100));
    const started = performance.now();
    expect(await statuses(a, 4, {}, '10.0.0.3')).toEqual([200, 200, 200, 429]);
    expect(performance.now() - started).toBeLessThan(500);
  });
});
