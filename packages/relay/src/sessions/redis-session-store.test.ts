// Against a real redis-server (started here on a free loopback port).
import type { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer } from '../../test/cluster-kit.ts';
import { isRelayError } from '../relay-error.ts';
import { createRedisClient } from './redis-client.ts';
import { RedisSessionStore } from './redis-session-store.ts';
import { sha256Hex } from './session-credentials.ts';
import type { SessionRecord } from './session-store.ts';

let server: RedisServer;
let redis: Redis;
let other: Redis;
let prefixes = 0;
const logger = pino({ level: 'silent' });
beforeAll(async () => {
  server = await RedisServer.start();
  redis = createRedisClient(server.url, logger);
  other = createRedisClient(server.url, logger);
  await Promise.all([redis, other].map((r) => new Promise((resolve) => r.once('ready', resolve))));
});
afterAll(async () => {
  redis?.disconnect();
  other?.disconnect();
  await server?.dispose();
});

/** Two relays' stores over one Redis, under a prefix of their own. */
function stores() {
  const prefix = `t${++prefixes}:`;
  return { a: new RedisSessionStore(redis, { prefix }), b: new RedisSessionStore(other, { prefix }), prefix };
}
const record = (id: string, keysHash: string, ttlMs = 60_000): SessionRecord => ({
  id,
  secretHash: 'ab'.repeat(32),
  model: 'm',
  keysHash,
  keyBytes: 3,
  createdAt: Date.now(),
  expiresAt: Date.now() + ttlMs,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('RedisSessionStore', () => {
  it('verifies a key blob against its hash when fetched: a blob changed inside Redis is refused', async () => {
    const { a, b, prefix } = stores();
    const blob = new Uint8Array([1, 2, 3]);
    const hash = sha256Hex(blob);
    await a.create(record('v1', hash), blob);
    expect(await b.getKeys(hash)).toEqual(blob);
    await redis.set(`${prefix}keys:${hash}`, Buffer.from([6, 6, 6]));
    const fresh = new RedisSessionStore(other, { prefix });
    await expect(fresh.getKeys(hash)).rejects.toMatchObject({ status: 503, code: 'store_corrupt' });
  });

  it("keeps principal and owner, and counts each owner's live sessions for the quota", async () => {
    const { a, b } = stores();
    await a.create({ ...record('o1', 'h1'), principal: 'key:aa', owner: 'key:aa|ip:1.2.3.4' }, new Uint8Array([1]));
    await a.create({ ...record('o2', 'h1', 200), principal: 'key:aa', owner: 'key:aa|ip:1.2.3.4' }, new Uint8Array([1]));
    await a.create(record('o3', 'h1'), new Uint8Array([1]));
    expect(await b.get('o1')).toMatchObject({ principal: 'key:aa', owner: 'key:aa|ip:1.2.3.4' });
    expect((await b.get('o3'))?.principal).toBeUndefined();
    expect(await b.countOwned('key:aa|ip:1.2.3.4')).toBe(2);
    await b.delete('o1');
    expect(await a.countOwned('key:aa|ip:1.2.3.4')).toBe(1);
    await sleep(250);
    expect(await a.countOwned('key:aa|ip:1.2.3.4')).toBe(0);
  });

  it('shares sessions and one key blob per hash between relays', async () => {
    const { a, b } = stores();
    // Blobs are named by their SHA-256, which getKeys checks.
    const h1 = sha256Hex(new Uint8Array([1, 2, 3]));
    const first = record('a', h1);
    await a.create(first, new Uint8Array([1, 2, 3]));
    await a.create(record('b', h1), new Uint8Array([1, 2, 3]));
    expect(await b.get('a')).toEqual(first);
    expect(await b.count()).toBe(2);
    expect(await b.keyBytes()).toBe(3);
    const keys = await b.getKeys(h1);
    expect(keys?.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect([...keys!]).toEqual([1, 2, 3]);
    expect(await b.getKeys('nope')).toBeUndefined();
    expect(await b.get('nope')).toBeUndefined();
  });

  it('deletes a key blob with its last session', async () => {
    const { a, b, prefix } = stores();
    await a.create(record('a', 'h1'), new Uint8Array([1]));
    await a.create(record('b', 'h1'), new Uint8Array([1]));
    expect(await b.delete('a')).toBe(true);
    expect(await redis.exists(`${prefix}keys:h1`)).toBe(1);
    expect(await b.delete('b')).toBe(true);
    expect(await b.delete('b')).toBe(false);
    expect(await redis.exists(`${prefix}keys:h1`, `${prefix}keyusers:h1`)).toBe(0);
    expect(await b.keyBytes()).toBe(0);
    expect(await a.get('a')).toBeUndefined();
  });

  it('expires sessions in Redis; the blob lives as long as its longest session, touch pushes both', async () => {
    const { a, b, prefix } = stores();
    await a.create(record('short', 'h1', 300), new Uint8Array([1]));
    await a.create(record('long', 'h1', 60_000), new Uint8Array([1]));
    await a.create(record('touched', 'h2', 300), new Uint8Array([2, 2]));
    expect(await redis.pttl(`${prefix}keys:h1`)).toBeGreaterThan(50_000);
    expect(await redis.pttl(`${prefix}keys:h2`)).toBeLessThanOrEqual(300);
    const touched = await b.touch('touched', Date.now() + 30_000);
    expect(touched?.expiresAt).toBeGreaterThan(Date.now() + 20_000);
    expect((await b.touch('touched', Date.now()))?.expiresAt).toBe(touched?.expiresAt);
    expect(await redis.pttl(`${prefix}keys:h2`)).toBeGreaterThan(20_000);
    await sleep(400);
    expect(await b.get('short')).toBeUndefined();
    expect(await b.touch('short', Date.now() + 60_000)).toBeUndefined();
    expect(await b.get('touched')).toBeDefined();
    expect(await b.count()).toBe(2);
    expect(await b.keyBytes()).toBe(3);
  });

  it('charges query budgets atomically across replicas, per window and in total', async () => {
    const { a, b, prefix } = stores();
    const limits = { perWindow: 10, windowMs: 400, total: 25 };
    // Twenty concurrent charges of one vector from two replicas: exactly ten fit the window.
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).chargeQueryBudget('key:a', 1, limits)));
    expect(results.filter((r) => r.allowed)).toHaveLength(10);
    expect(await a.chargeQueryBudget('key:a', 1, limits)).toMatchObject({ allowed: false, windowUsed: 10, totalUsed: 10 });
    expect(await b.chargeQueryBudget('sub:other', 10, limits)).toMatchObject({ allowed: true, windowUsed: 10, totalUsed: 10 });
    const refused = await b.chargeQueryBudget('key:a', 3, limits);
    expect(refused.windowResetAt).toBeGreaterThan(Date.now());
    expect(refused.windowResetAt).toBeLessThanOrEqual(Date.now() + 400);
    // Charging keeps the window's end; the total has no expiry.
    expect(await redis.pttl(`${prefix}budget:window:key:a`)).toBeLessThanOrEqual(400);
    expect(await redis.pttl(`${prefix}budget:total:key:a`)).toBe(-1);
    await sleep(450);
    expect(await a.chargeQueryBudget('key:a', 10, limits)).toMatchObject({ allowed: true, windowUsed: 10, totalUsed: 20 });
    await sleep(450);
    expect(await b.chargeQueryBudget('key:a', 6, limits)).toMatchObject({ allowed: false, windowUsed: 0, totalUsed: 20 });
    expect(await b.chargeQueryBudget('key:a', 5, limits)).toMatchObject({ allowed: true, windowUsed: 5, totalUsed: 25 });
  });

  it('answers 503 store_unavailable at once while Redis is down, and recovers by itself', async () => {
    const { a } = stores();
    await a.create(record('x', 'h1'), new Uint8Array([1]));
    await server.stop();
    await sleep(100);
    expect(await a.isAvailable()).toBe(false);
    for (const call of [() => a.get('x'), () => a.count(), () => a.create(record('y', 'h2'), new Uint8Array([2])), () => a.touch('x', Date.now()), () => a.getKeys('h3')]) {
      const started = performance.now();
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(performance.now() - started).toBeLessThan(500);
      expect(isRelayError(error) && [error.status, error.code, error.headers['Retry-After']]).toEqual([503, 'store_unavailable', '2']);
    }
    await server.start();
    const deadline = Date.now() + 5_000;
    while (!(await a.isAvailable()) && Date.now() < deadline) await sleep(100);
    expect(await a.isAvailable()).toBe(true);
    // No persistence in this server: the data went with it, the service did not.
    expect(await a.get('x')).toBeUndefined();
    await a.create(record('z', 'h1'), new Uint8Array([1]));
    expect(await a.count()).toBe(1);
  });
});
