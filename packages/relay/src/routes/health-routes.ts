import { Hono, type Context } from 'hono';
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
    if (!services.isReady()) {
      // The usual error body plus how far start-up is: loading and calibrating a large model takes minutes.
      const error = notReady();
      return c.json({ error: { code: error.code, message: error.message }, startup: services.startup() }, 503, error.headers);
    }
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
      startup: services.startup(),
    });
  });
  // With --metrics-port, /metrics lives on its own port (metricsApp) and not on the public one.
  if (services.config.metricsPort === undefined) app.get('/metrics', metricsHandler(services));
  return app;
}

function metricsHandler(services: RelayServices) {
  return async (c: Context) => {
    const registry = services.metrics.registry;
    return c.body(await registry.metrics(), 200, { 'Content-Type': registry.contentType });
  };
}

/** The app behind --metrics-port: /metrics only, content unchanged. */
export function metricsApp(services: RelayServices): Hono {
  const app = new Hono();
  app.get('/metrics', metricsHandler(services));
  return app;
}
