import { Hono } from 'hono';
import { notReady, storeUnavailable } from '../relay-error.ts';
import type { RelayServices } from '../relay-services.ts';

/**
 * Liveness, readiness and Prometheus metrics; no authentication, no session
 * data. Readiness includes the session store: a replica that cannot reach
 * Redis cannot serve a session, so it leaves the load balancer's rotation
 * (503 store_unavailable) and returns by itself once Redis answers again.
 */
export function healthRoutes(services: RelayServices): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    if (!services.isReady()) throw notReady();
    if (!(await services.store.isAvailable())) throw storeUnavailable();
    // A full store still serves its sessions (so stays ready) but says so; new ones get 503 too_many_sessions.
    const sessions = await services.store.count().catch(() => undefined);
    const max = services.config.maxSessions;
    return c.json({
      status: 'ready',
      models: [...services.models.keys()],
      workers: services.pool?.workers ?? 0,
      store: services.store.kind,
      sessions: { count: sessions ?? null, max, full: sessions !== undefined && sessions >= max },
    });
  });
  app.get('/metrics', async (c) => {
    const registry = services.metrics.registry;
    return c.body(await registry.metrics(), 200, { 'Content-Type': registry.contentType });
  });
  return app;
}
