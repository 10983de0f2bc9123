import { Hono } from 'hono';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import type { RelayEnv } from '../relay-env.ts';
import { MemorySessionStore } from '../sessions/memory-session-store.ts';
import { errorHandler } from './error-handler.ts';
import { budgetHeaders, chargeQueryBudget, queryBudgetLimits } from './query-budget.ts';

const stores: MemorySessionStore[] = [];
afterAll(() => Promise.all(stores.map((s) => s.close())));

/** `POST /?n=<vectors>` charges n vectors to the principal in X-Principal (none without it). */
function appWith(perWindow: number, total: number) {
  const store = new MemorySessionStore();
  stores.push(store);
  const limits = queryBudgetLimits({ queryBudgetVectorsPerWindow: perWindow, queryBudgetWindowSeconds: 60, queryBudgetVectorsTotal: total });
  const app = new Hono<RelayEnv>();
  app.post('/', async (c) => {
    c.set('principal', c.req.header('x-principal') || undefined);
    await chargeQueryBudget(c, store, limits, Number(c.req.query('n')), 0);
    return c.body('ok', 200, { 'Cache-Control': 'no-store' });
  });
  app.onError(errorHandler(pino({ level: 'silent' })));
  return (n: number, principal = 'key:a') => app.request(`/?n=${n}`, { method: 'POST', headers: { 'x-principal': principal } });
}

describe('query budget', () => {
  it('is off (nothing counted, no headers) with both limits 0', async () => {
    expect(queryBudgetLimits({ queryBudgetVectorsPerWindow: 0, queryBudgetWindowSeconds: 60, queryBudgetVectorsTotal: 0 })).toBeUndefined();
    const res = await appWith(0, 0)(1_000_000);
    expect(res.status).toBe(200);
    expect(res.headers.get('query-budget-limit')).toBeNull();
  });

  it('says what is left on every answer, then 429 query_budget_exceeded with Retry-After', async () => {
    const post = appWith(10, 0);
    const ok = await post(6);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('cache-control')).toBe('no-store');
    expect([ok.headers.get('query-budget-limit'), ok.headers.get('query-budget-remaining'), ok.headers.get('query-budget-reset')]).toEqual(['10', '4', '60']);
    expect(ok.headers.get('query-budget-total-limit')).toBeNull();
    const refused = await post(5);
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('query_budget_exceeded');
    expect(refused.headers.get('retry-after')).toBe('60');
    expect(refused.headers.get('query-budget-remaining')).toBe('4');
    // Budgets are per principal.
    expect((await post(10, 'sub:b')).status).toBe(200);
    expect((await post(4)).headers.get('query-budget-remaining')).toBe('0');
  });

  it('gives no Retry-After when waiting cannot help: a spent total, or a request larger than a window', async () => {
    const post = appWith(10, 15);
    expect((await post(10)).headers.get('query-budget-total-remaining')).toBe('5');
    expect((await post(11, 'sub:c')).headers.get('retry-after')).toBeNull();
    const res = await post(6, 'key:a');
    expect(res.status).toBe(429);
    // The window is spent too, but the total would not recover: no point waiting for the window.
    expect(res.headers.get('retry-after')).toBeNull();
    expect(res.headers.get('query-budget-total-remaining')).toBe('5');
  });

  it('counts in-process requests without a principal not at all (no address to count by)', async () => {
    const post = appWith(1, 0);
    expect((await post(5, '')).status).toBe(200);
  });

  it('rounds the reset up to whole seconds, at least 1', () => {
    const limits = { perWindow: 5, windowMs: 60_000, total: 0 };
    expect(budgetHeaders(limits, { allowed: true, windowUsed: 2, windowResetAt: 1_001, totalUsed: 2 }, 1_000)['Query-Budget-Reset']).toBe('1');
    expect(budgetHeaders(limits, { allowed: true, windowUsed: 7, windowResetAt: 2_500, totalUsed: 7 }, 1_000)).toMatchObject({ 'Query-Budget-Reset': '2', 'Query-Budget-Remaining': '0' });
  });
});
