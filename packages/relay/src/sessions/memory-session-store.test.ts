import { afterEach, describe, expect, it } from 'vitest';
import { MemorySessionStore } from './memory-session-store.ts';
import type { SessionRecord } from './session-store.ts';

let now = 1_000;
const stores: MemorySessionStore[] = [];
const makeStore = () => {
  const store = new MemorySessionStore({ now: () => now });
  stores.push(store);
  return store;
};
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  now = 1_000;
});

const record = (id: string, keysHash: string, expiresAt = 2_000): SessionRecord => ({
  id,
  secretHash: 'ab'.repeat(32),
  model: 'm',
  keysHash,
  keyBytes: 3,
  createdAt: now,
  expiresAt,
});

describe('MemorySessionStore', () => {
  it('stores sessions and shares one key blob per hash, in shared memory', async () => {
    const store = makeStore();
    await store.create(record('a', 'h1'), new Uint8Array([1, 2, 3]));
    await store.create(record('b', 'h1'), new Uint8Array([1, 2, 3]));
    expect(await store.count()).toBe(2);
    expect(await store.keyBytes()).toBe(3);
    const keys = await store.getKeys('h1');
    expect(keys?.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect([...keys!]).toEqual([1, 2, 3]);
  });

  it('drops a key blob when its last session goes', async () => {
    const store = makeStore();
    await store.create(record('a', 'h1'), new Uint8Array([1]));
    await store.create(record('b', 'h1'), new Uint8Array([1]));
    expect(await store.delete('a')).toBe(true);
    expect(await store.getKeys('h1')).toBeDefined();
    expect(await store.delete('b')).toBe(true);
    expect(await store.delete('b')).toBe(false);
    expect(await store.getKeys('h1')).toBeUndefined();
    expect(await store.keyBytes()).toBe(0);
  });

  it('expires sessions, and touch pushes the expiry forward only', async () => {
    const store = makeStore();
    await store.create(record('a', 'h1', 2_000), new Uint8Array([1]));
    now = 1_500;
    expect((await store.touch('a', 1_200))?.expiresAt).toBe(2_000);
    expect((await store.touch('a', 3_000))?.expiresAt).toBe(3_000);
    now = 2_500;
    expect(await store.get('a')).toBeDefined();
    now = 3_000;
    expect(await store.get('a')).toBeUndefined();
    expect(await store.touch('a', 9_000)).toBeUndefined();
    expect(await store.getKeys('h1')).toBeUndefined();
  });

  it('sweep removes expired sessions nobody asks about', async () => {
    const store = makeStore();
    await store.create(record('a', 'h1', 2_000), new Uint8Array([1]));
    await store.create(record('b', 'h2', 5_000), new Uint8Array([2, 2]));
    now = 2_000;
    expect(await store.count()).toBe(1);
    expect(await store.keyBytes()).toBe(2);
  });

  it('charges query budgets per principal: per window and in total, refusing without counting', async () => {
    const store = makeStore();
    const limits = { perWindow: 10, windowMs: 1_000, total: 25 };
    expect(await store.chargeQueryBudget('key:a', 6, limits)).toEqual({ allowed: true, windowUsed: 6, windowResetAt: 2_000, totalUsed: 6 });
    // 6 + 5 > 10: refused, and the refused vectors are not counted.
    expect(await store.chargeQueryBudget('key:a', 5, limits)).toMatchObject({ allowed: false, windowUsed: 6, totalUsed: 6 });
    expect(await store.chargeQueryBudget('key:a', 4, limits)).toMatchObject({ allowed: true, windowUsed: 10 });
    // Another principal has its own counters.
    expect(await store.chargeQueryBudget('sub:b', 10, limits)).toMatchObject({ allowed: true, windowUsed: 10, totalUsed: 10 });
    now = 2_000;
    expect(await store.chargeQueryBudget('key:a', 10, limits)).toEqual({ allowed: true, windowUsed: 10, windowResetAt: 3_000, totalUsed: 20 });
    now = 3_500;
    // A fresh window, but only 5 of the total are left.
    expect(await store.chargeQueryBudget('key:a', 6, limits)).toMatchObject({ allowed: false, windowUsed: 0, totalUsed: 20 });
    expect(await store.chargeQueryBudget('key:a', 5, limits)).toMatchObject({ allowed: true, totalUsed: 25 });
    store.sweep();
    expect(await store.chargeQueryBudget('key:a', 1, limits)).toMatchObject({ allowed: false, totalUsed: 25 });
  });

  it('forgets ended budget windows when no total limit needs them', async () => {
    const store = makeStore();
    const limits = { perWindow: 10, windowMs: 1_000, total: 0 };
    await store.chargeQueryBudget('key:a', 10, limits);
    now = 5_000;
    store.sweep();
    expect(await store.chargeQueryBudget('key:a', 10, limits)).toEqual({ allowed: true, windowUsed: 10, windowResetAt: 6_000, totalUsed: 10 });
  });
});
