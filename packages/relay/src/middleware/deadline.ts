import type { MiddlewareHandler } from 'hono';
import { deadlineExceeded } from '../relay-error.ts';
import type { RelayEnv } from '../relay-env.ts';

/**
 * Give the request `ms` milliseconds. `c.var.signal` aborts at the deadline
 * (with a 503 deadline_exceeded RelayError as its reason) so pool tasks are
 * cancelled, and the client gets its 503 then even if a handler is still
 * waiting on something that ignores the signal.
 */
export function deadline(ms: number): MiddlewareHandler<RelayEnv> {
  return async (c, next) => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(deadlineExceeded(ms)), ms);
    c.set('signal', controller.signal);
    let onAbort: (() => void) | undefined;
    const expired = new Promise<never>((_, reject) => {
      onAbort = () => reject(controller.signal.reason);
      controller.signal.addEventListener('abort', onAbort, { once: true });
    });
    const handled = next();
    // Whichever loses the race must not surface as an unhandled rejection.
    handled.catch(() => {});
    expired.catch(() => {});
    try {
      await Promise.race([handled, expired]);
    } finally {
      clearTimeout(timer);
      if (onAbort) controller.signal.removeEventListener('abort', onAbort);
    }
  };
}
