import type { Tracer } from '@opentelemetry/api';
import type { Logger } from 'pino';

/** A started tracing SDK: its tracer, and shutdown to flush what is batched. */
export interface RelayTracing {
  readonly tracer: Tracer;
  shutdown(): Promise<void>;
}

/** `/v1/traces` appended as OTEL_EXPORTER_OTLP_ENDPOINT's specification says for a base endpoint. */
export function tracesUrl(endpoint: string): string {
  return `${endpoint.replace(/\/+$/, '')}/v1/traces`;
}

/**
 * Start the OpenTelemetry SDK exporting spans over OTLP/HTTP to `endpoint`.
 * The SDK is imported here, on demand, so a relay without an endpoint never
 * loads it. Spans are batched (export never delays a request); the exporter
 * itself reads OTEL_EXPORTER_OTLP_HEADERS / _TIMEOUT for collector auth and
 * limits, and OTEL_SERVICE_NAME names the service (default fhe-llm-relay).
 * Nothing is registered globally: the relay passes its tracer explicitly.
 */
export async function startTracing(endpoint: string, logger: Logger, env: Readonly<Record<string, string | undefined>> = process.env): Promise<RelayTracing> {
  const [{ TracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }] = await Promise.all([
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
  ]);
  const url = tracesUrl(endpoint);
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME || 'fhe-llm-relay' }),
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url }) })],
  });
  // The URL may carry credentials in its userinfo: log its origin only.
  logger.info({ otlp: new URL(url).origin }, 'tracing to OTLP');
  return {
    tracer: provider.getTracer('@fhe-llm/relay'),
    shutdown: () => provider.shutdown(),
  };
}
