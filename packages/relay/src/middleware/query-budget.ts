import type { Context } from 'hono';
import type { RelayConfig } from '../config.ts';
import { QueryBudgetExceeded } from '../query-budget-error.ts';
import type { RelayEnv } from '../relay-env.ts';
import type { QueryBudgetLimits, QueryBudgetUsage } from '../sessions/query-budget.ts';
import type { SessionStore } from '../sessions/session-store.ts';
import { clientKey } from './rate-limit.ts';

/** The configured budget, or undefined when both limits are off (nothing is counted then). */
export function queryBudgetLimits(config: Pick<RelayConfig, 'queryBudgetVectorsPerWindow' | 'queryBudgetWindowSeconds' | 'queryBudgetVectorsTotal'>): QueryBudgetLimits | undefined {
  if (config.queryBudgetVectorsPerWindow === 0 && config.queryBudgetVectorsTotal === 0) return undefined;
  return { perWindow: config.queryBudgetVectorsPerWindow, windowMs: config.queryBudgetWindowSeconds * 1000, total: config.queryBudgetVectorsTotal };
}

/**
 * Who a budget counts against: the principal (API key digest or JWT
 * subject) alone, not (principal, address) as rate limits count, because
 * extraction is attributed to a credential whatever addresses it comes from.
 * Without authentication, the address (IPv6 by /64) is all there is.
 */
export function budgetKey(c: Context<RelayEnv>, trustProxyHops: number): string | undefined {
  return c.get('principal') || clientKey(c, trustProxyHops);
}

/** Exposed to browser pages by CORS. */
export const QUERY_BUDGET_HEADERS = ['Query-Budget-Limit', 'Query-Budget-Remaining', 'Query-Budget-Reset', 'Query-Budget-Total-Limit', 'Query-Budget-Total-Remaining'];

/**
 * Headers in the style of Retry-After (whole seconds, at least 1 while a
 * window runs), so a client can pace itself before it meets the 429:
 * Query-Budget-Limit / -Remaining / -Reset for the window and
 * Query-Budget-Total-Limit / -Total-Remaining for the total.
 */
export function budgetHeaders(limits: QueryBudgetLimits, usage: QueryBudgetUsage, now = Date.now()): Record<string, string> {
  const headers: Record<string, string> = {};
  if (limits.perWindow > 0) {
    headers['Query-Budget-Limit'] = String(limits.perWindow);
    headers['Query-Budget-Remaining'] = String(Math.max(0, limits.perWindow - usage.windowUsed));
    headers['Query-Budget-Reset'] = String(Math.max(1, Math.ceil((usage.windowResetAt - now) / 1000)));
  }
  if (limits.total > 0) {
    headers['Query-Budget-Total-Limit'] = String(limits.total);
    headers['Query-Budget-Total-Remaining'] = String(Math.max(0, limits.total - usage.totalUsed));
  }
  return headers;
}

/**
 * Charge a step's `vectors` to its principal before they are evaluated:
 * 429 `query_budget_exceeded` when they do not fit, else the budget headers
 * on the answer. A charged request that then fails (overload, deadline)
 * stays charged: refunds would let a client probe for free by timing out.
 */
export async function chargeQueryBudget(c: Context<RelayEnv>, store: SessionStore, limits: QueryBudgetLimits | undefined, vectors: number, trustProxyHops: number): Promise<void> {
  if (!limits) return;
  const key = budgetKey(c, trustProxyHops);
  if (key === undefined) return;
  const usage = await store.chargeQueryBudget(key, vectors, limits);
  const headers = budgetHeaders(limits, usage);
  if (!usage.allowed) {
    const totalSpent = limits.total > 0 && usage.totalUsed + vectors > limits.total;
    if (totalSpent) throw new QueryBudgetExceeded(`this client's total budget of ${limits.total} vectors is spent (${usage.totalUsed} used, ${vectors} requested)`, headers);
    // Larger than a whole window: waiting cannot help, so no Retry-After (the SDK would wait for nothing).
    if (vectors > limits.perWindow) throw new QueryBudgetExceeded(`${vectors} vectors exceed this client's whole budget of ${limits.perWindow} per window; send fewer per request`, headers);
    const seconds = headers['Query-Budget-Reset'];
    throw new QueryBudgetExceeded(`${vectors} more vectors exceed this client's budget of ${limits.perWindow} per window (${usage.windowUsed} used); retry in ${seconds} s`, {
      ...headers,
      'Retry-After': seconds,
    });
  }
  for (const [name, value] of Object.entries(headers)) c.header(name, value);
}
