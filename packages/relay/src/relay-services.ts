import type { Tracer } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { RelayConfig } from './config.ts';
import type { RelayMetrics } from './metrics/relay-metrics.ts';
import type { HostedModel } from './models/hosted-model.ts';
import type { BodyBudget } from './middleware/body-budget.ts';
import type { RateLimit } from './middleware/rate-limit.ts';
import type { EvaluationPool } from './pool/evaluation-pool.ts';
import type { SessionStore } from './sessions/session-store.ts';
import type { StartupSnapshot } from './startup-progress.ts';

/** Everything the routes use. `models` and `pool` fill in while the relay starts. */
export interface RelayServices {
  readonly config: RelayConfig;
  readonly logger: Logger;
  readonly metrics: RelayMetrics;
  readonly store: SessionStore;
  readonly models: Map<string, HostedModel>;
  /** Per-client limits; undefined when switched off (0). */
  readonly rateLimits: { readonly steps?: RateLimit; readonly sessions?: RateLimit };
  /** Request-body bytes being read (admission before buffering). */
  readonly bodyBudget: BodyBudget;
  pool: EvaluationPool | undefined;
  /** Set when tracing is on (--otlp-endpoint, or a tracer a test hands in); undefined: no spans at all. */
  tracer: Tracer | undefined;
  /** Models loaded, workers up, not shutting down. */
  isReady(): boolean;
  /** How far start-up is (what /readyz says while not ready). */
  startup(): StartupSnapshot;
}
