import { Hono } from 'hono';
import { errorHandler, notFoundHandler } from './middleware/error-handler.ts';
import { clientAuth } from './middleware/client-auth.ts';
import type { InFlightRequests } from './middleware/in-flight.ts';
import { requireReady } from './middleware/model-lookup.ts';
import { requestMetrics } from './middleware/request-metrics.ts';
import { securityMiddleware } from './middleware/security.ts';
import { openApiDocument } from './openapi/openapi-document.ts';
import type { RelayEnv } from './relay-env.ts';
import type { RelayServices } from './relay-services.ts';
import { healthRoutes } from './routes/health-routes.ts';
import { modelRoutes } from './routes/model-routes.ts';
import { sessionRoutes } from './routes/session-routes.ts';
import { pageHeaders, staticSite } from './routes/static-site.ts';
import { stepRoutes } from './routes/step-routes.ts';
import { traceRequests } from './tracing/trace-requests.ts';

/** The relay's HTTP application, testable in-process with `app.request()`. */
export function createApp(services: RelayServices, inFlight?: InFlightRequests): Hono<RelayEnv> {
  const { config } = services;
  const app = new Hono<RelayEnv>();
  // Outermost, so the span covers everything the relay does with the request.
  app.use(
    '*',
    traceRequests(() => services.tracer),
  );
  if (inFlight) app.use('*', inFlight.middleware());
  app.use('*', requestMetrics(services.metrics, services.logger));
  if (config.staticDir) app.use('*', pageHeaders());
  app.use('*', ...securityMiddleware(config.corsOrigins));
  // Health, readiness, metrics and this API's description stay open; models and sessions may need a credential.
  const auth = clientAuth({
    apiKeys: config.apiKeys,
    jwt: config.jwksUrl ? { jwksUrl: config.jwksUrl, issuer: config.jwtIssuer!, audience: config.jwtAudience!, maxAgeSeconds: config.jwtMaxAgeSeconds } : undefined,
  });
  // `/x/*` also matches `/x` itself.
  for (const path of ['/v1/models/*', '/v1/sessions/*']) app.use(path, requireReady(services), auth);

  app.route('/', healthRoutes(services));
  app.get('/v1/openapi.json', (c) => c.json(openApiDocument));
  app.route('/', modelRoutes(services));
  app.route('/', sessionRoutes(services));
  app.route('/', stepRoutes(services));
  if (config.staticDir) app.route('/', staticSite(config.staticDir));

  app.onError(errorHandler(services.logger));
  app.notFound(notFoundHandler);
  return app;
}
