import type { MiddlewareHandler } from 'hono';
import { notReady } from '../relay-error.ts';
import type { RelayEnv } from '../relay-env.ts';
import type { RelayServices } from '../relay-services.ts';

/** A full evaluation queue answers 503 overloaded before a byte of the body is read. */
export function admitBeforeReading(services: RelayServices): MiddlewareHandler<RelayEnv> {
  return async (_c, next) => {
    if (!services.pool) throw notReady();
    services.pool.admit(1);
    await next();
  };
}
