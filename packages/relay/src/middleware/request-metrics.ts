import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { Logger } from 'pino';
import type { RelayMetrics } from '../metrics/relay-metrics.ts';

/**
 * The route pattern (`/v1/sessions/:id`), never the raw path: labels stay
 * few, and session ids stay out of metrics and logs.
 */
export function routeLabel(c: Context): string {
  // The first route that matched: a static site's catch-all `/*` is mounted last.
  const handlers = matchedRoutes(c).filter((r) => r.method !== 'ALL');
  return handlers[0]?.path ?? 'unmatched';
}

const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

/** Count and time every request by method, route pattern and status; one access log line each. */
export function requestMetrics(metrics: RelayMetrics, logger: Logger): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const seconds = (performance.now() - started) / 1000;
    const labels = { method: c.req.method, route: routeLabel(c), status: String(c.res.status) };
    metrics.httpRequests.inc(labels);
    metrics.httpDuration.observe(labels, seconds);
    // Error answers carry a stable code (set by the error handlers); a bounded set, so a label.
    if (c.res.status >= 400) metrics.rejections.inc({ status: labels.status, code: (c.get('errorCode') as string | undefined) ?? 'unknown' });
    // Probes and scrapes arrive every few seconds; keep them out of the info log.
    const level = PROBES.has(labels.route) && c.res.status < 500 ? 'debug' : 'info';
    logger[level]({ ...labels, ms: Math.round(seconds * 1e4) / 10 }, 'request');
  };
}
