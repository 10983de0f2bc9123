import { ROOT_CONTEXT, SpanKind, SpanStatusCode, type TextMapGetter, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { MiddlewareHandler } from 'hono';
import { routeLabel } from '../middleware/request-metrics.ts';
import type { RelayEnv } from '../relay-env.ts';
import { ATTR } from './span-attributes.ts';

/**
 * One SERVER span per request (a child of the caller's span when the request
 * carries a W3C `traceparent`), named `METHOD /route/pattern`, in `c.var.span`
 * so routes can add attributes and hang child spans under it. `getTracer` is
 * read per request because the tracer exists only once the relay has started
 * tracing (after the app is built); without one this costs a function call.
 * Status is ERROR for 5xx only: a client's 4xx is the relay working.
 */
/** W3C Trace Context (`traceparent`, `tracestate`): a caller's trace continues into the relay's spans. */
const propagator = new W3CTraceContextPropagator();
const headerGetter: TextMapGetter<Headers> = {
  keys: (headers) => [...headers.keys()],
  get: (headers, key) => headers.get(key) ?? undefined,
};

export function traceRequests(getTracer: () => Tracer | undefined): MiddlewareHandler<RelayEnv> {
  return async (c, next) => {
    const tracer = getTracer();
    if (!tracer) return next();
    // A malformed or absent traceparent leaves the root context: the span starts a trace of its own.
    const parent = propagator.extract(ROOT_CONTEXT, c.req.raw.headers, headerGetter);
    const span = tracer.startSpan(c.req.method, { kind: SpanKind.SERVER, attributes: { [ATTR.method]: c.req.method } }, parent);
    c.set('span', span);
    try {
      await next();
    } finally {
      const route = routeLabel(c);
      const status = c.res.status;
      span.updateName(`${c.req.method} ${route}`);
      span.setAttributes({ [ATTR.route]: route, [ATTR.status]: status });
      const code = c.get('errorCode') as string | undefined;
      if (status >= 400 && code) span.setAttribute(ATTR.errorCode, code);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: code ?? String(status) });
      span.end();
    }
  };
}
