import { Hono } from 'hono';
import { errorHandler, notFoundHandler } from './middleware/error-handler.ts';
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

/** The relay's HTTP application, testable in-process with `app.request()`. */
export function createApp(services: RelayServices, inFlight?: InFlightRequests): Hono<RelayEnv> {
  const app = new Hono<RelayEnv>();
  if (inFlight) app.use('*', inFlight.middleware());
  app.use('*', requestMetrics(services.metrics, services.logger));
  if (services.config.staticDir) app.use('*', pageHeaders());
  app.use('*', ...securityMiddleware(services.config.corsOrigins));
  app.use('/v1/models/*', requireReady(services));
  app.use('/v1/models', requireReady(services));
  app.use('/v1/sessions/*', requireReady(services));
  app.use('/v1/sessions', requireReady(services));

  app.route('/', healthRoutes(services));
  app.get('/v1/openapi.json', (c) => c.json(openApiDocument));
  app.route('/', modelRoutes(services));
  app.route('/', sessionRoutes(services));
  app.route('/', stepRoutes(services));
  if (services.config.staticDir) app.route('/', staticSite(services.config.staticDir));

  app.onError(errorHandler(services.logger));
  app.notFound(notFoundHandler);
  return app;
}
