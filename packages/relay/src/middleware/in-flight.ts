import type { MiddlewareHandler } from 'hono';

/**
 * Counts requests being handled so shutdown can wait for them: `idle()`
 * resolves when none are left.
 */
export class InFlightRequests {
  #count = 0;
  #waiters: (() => void)[] = [];

  get count(): number {
    return this.#count;
  }

  middleware(): MiddlewareHandler {
    return async (_c, next) => {
      this.#count++;
      try {
        await next();
      } finally {
        if (--this.#count === 0) for (const wake of this.#waiters.splice(0)) wake();
      }
    };
  }

  idle(): Promise<void> {
    return this.#count === 0 ? Promise.resolve() : new Promise((resolve) => this.#waiters.push(resolve));
  }
}
