import type { MiddlewareHandler } from 'hono';
import { RelayError, notReady } from '../relay-error.ts';
import type { RelayEnv } from '../relay-env.ts';
import type { RelayServices } from '../relay-services.ts';

/** 503 not_ready (with Retry-After) until models are loaded and workers are up. */
export function requireReady(services: RelayServices): MiddlewareHandler<RelayEnv> {
  return async (_c, next) => {
    if (!services.isReady()) throw notReady();
    await next();
  };
}

/**
 * Put the model named by the path parameter `id` (or, with `from: 'query'`,
 * the query parameter `model`) in `c.var.model`; 404 model_not_found when
 * the relay does not host it.
 */
export function modelLookup(services: RelayServices, from: 'path' | 'query' = 'path'): MiddlewareHandler<RelayEnv> {
  return async (c, next) => {
    const id = from === 'path' ? c.req.param('id') : c.req.query('model');
    if (!id) throw new RelayError(400, 'invalid_request', 'name the model: ?model=<id>');
    const model = services.models.get(id);
    if (!model) throw new RelayError(404, 'model_not_found', `no model "${id.slice(0, 64)}" here; see GET /v1/models`);
    c.set('model', model);
    await next();
  };
}
