import { Hono } from 'hono';
import type { RelayServices } from '../relay-services.ts';

/** Liveness, readiness and Prometheus metrics; no authentication, no session data. */
export function healthRoutes(services: RelayServices): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', (c) => {
    if (services.isReady()) return c.json({ status: 'ready', models: [...services.models.keys()], workers: services.pool?.workers ?? 0 });
    return c.json({ error: { code: 'not_ready', message: 'models loading, workers starting, or shutting down' } }, 503, { 'Retry-After': '1' });
  });
  app.get('/metrics', async (c) => {
    const registry = services.metrics.registry;
    return c.body(await registry.metrics(), 200, { 'Content-Type': registry.contentType });
  });
  return app;
}
