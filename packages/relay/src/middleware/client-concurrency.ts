import type { MiddlewareHandler } from 'hono';
import { RelayError, RETRY_AFTER_SECONDS } from '../relay-error.ts';
import type { RelayEnv } from '../relay-env.ts';
import { clientKey } from './rate-limit.ts';

/**
 * At most `max` requests of one client (principal and address, as rate
 * limits count) in this replica at once; the next is 429
 * `too_many_concurrent_requests` with Retry-After. The queue is shared, so
 * without this one client sending many parallel steps could fill it and
 * starve every other client into 503s.
 */
export function clientConcurrency(max: number, trustProxyHops: number): MiddlewareHandler<RelayEnv> {
  const running = new Map<string, number>();
  return async (c, next) => {
    const key = clientKey(c, trustProxyHops);
    if (key === undefined) return next();
    const now = running.get(key) ?? 0;
    if (now >= max) {
      throw new RelayError(429, 'too_many_concurrent_requests', `at most ${max} requests of one client at a time`, { 'Retry-After': String(RETRY_AFTER_SECONDS) });
    }
    running.set(key, now + 1);
    try {
      await next();
    } finally {
      const left = (running.get(key) ?? 1) - 1;
      if (left > 0) running.set(key, left);
      else running.delete(key);
    }
  };
}
