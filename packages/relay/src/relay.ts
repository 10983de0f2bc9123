import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createApp } from './app.ts';
import { requestParallelism, type RelayConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { metricsApp } from './routes/health-routes.ts';
import { RelayMetrics } from './metrics/relay-metrics.ts';
import { BodyBudget } from './middleware/body-budget.ts';
import { InFlightRequests } from './middleware/in-flight.ts';
import { createRateLimit } from './middleware/rate-limit.ts';
import { loadHostedModel, type HostedModel } from './models/hosted-model.ts';
import { StartupProgress } from './startup-progress.ts';
import { EvaluationPool } from './pool/evaluation-pool.ts';
import type { RelayEnv } from './relay-env.ts';
import type { RelayServices } from './relay-services.ts';
import { MemorySessionStore } from './sessions/memory-session-store.ts';
import { createRedisClient } from './sessions/redis-client.ts';
import { RedisSessionStore } from './sessions/redis-session-store.ts';
import type { SessionStore } from './sessions/session-store.ts';
import type { Tracer } from '@opentelemetry/api';
import { startTracing, type RelayTracing } from './tracing/start-tracing.ts';

export interface RelayOptions {
  logger?: Logger;
  /** Default: a RedisSessionStore when config.redisUrl is set, else a fresh MemorySessionStore. */
  store?: SessionStore;
  /** false: no socket, use `relay.app.request()` (tests). Default true. */
  listen?: boolean;
  /** How long workers may take to load SEAL and the models. Default: config.workerStartupTimeout. */
  startupTimeoutMs?: number;
  /** Models already prepared (by loadHostedModel) for this preset: skips calibrating config.models again. */
  models?: readonly HostedModel[];
  /** Trace with this tracer instead of starting the SDK for config.otlpEndpoint (tests: an in-memory exporter). */
  tracer?: Tracer;
}

/**
 * A running relay: HTTP server (optional), hosted models, worker pool and
 * session store. `start()` listens first, so /healthz answers while models
 * load; `close()` drains in-flight work before stopping the workers.
 */
export class Relay {
  readonly config: RelayConfig;
  readonly services: RelayServices;
  readonly app: Hono<RelayEnv>;
  readonly logger: Logger;
  readonly #inFlight = new InFlightRequests();
  readonly #listen: boolean;
  readonly #startupTimeoutMs: number;
  readonly #preloaded: readonly HostedModel[] | undefined;
  /** The SDK this relay started (config.otlpEndpoint), flushed and stopped by close(). */
  #tracing: RelayTracing | undefined;
  /** Sessions and rate-limit counters share this connection (config.redisUrl). */
  readonly #redis: Redis | undefined;
  #server: Server | undefined;
  #metricsServer: Server | undefined;
  #loaded = false;
  #draining = false;
  readonly #startup: StartupProgress;
  #closed: Promise<void> | undefined;

  constructor(config: RelayConfig, options: RelayOptions = {}) {
    this.config = config;
    this.logger = options.logger ?? createLogger(config.logLevel);
    this.#listen = options.listen ?? true;
    this.#startupTimeoutMs = options.startupTimeoutMs ?? config.workerStartupTimeout * 1000;
    this.#preloaded = options.models;
    this.#startup = new StartupProgress(
      this.logger,
      (options.models ?? config.models).map((m) => m.id),
    );
    const redis = config.redisUrl ? createRedisClient(config.redisUrl, this.logger) : undefined;
    this.#redis = redis;
    const relay = this;
    this.services = {
      config,
      logger: this.logger,
      metrics: new RelayMetrics(),
      store: options.store ?? (redis ? new RedisSessionStore(redis) : new MemorySessionStore()),
      models: new Map<string, HostedModel>(),
      rateLimits: {
        steps: createRateLimit('steps', 'step requests', config.rateLimitStepsPerMinute, 60, redis),
        sessions: createRateLimit('sessions', 'new sessions', config.rateLimitSessionsPerHour, 3600, redis),
      },
      bodyBudget: new BodyBudget(config.bodyBytesInFlight, config.bodyBytesInFlightPerClient),
      pool: undefined,
      tracer: options.tracer,
      isReady: () => relay.#loaded && !relay.#draining && (relay.services.pool?.isReady ?? false),
      startup: () => relay.#startup.snapshot(),
    };
    this.services.metrics.bind({
      pool: () => this.services.pool?.readings(),
      sessions: () => this.services.store.count(),
      keyBytes: () => this.services.store.keyBytes(),
      storeAvailable: () => this.services.store.isAvailable(),
      ready: () => this.services.isReady(),
    });
    this.app = createApp(this.services, this.#inFlight);
  }

  /** The bound port (after start, when listening). */
  get port(): number {
    return (this.#server?.address() as AddressInfo | null)?.port ?? 0;
  }

  /** The bound metrics port (with --metrics-port, after start). */
  get metricsPort(): number {
    return (this.#metricsServer?.address() as AddressInfo | null)?.port ?? 0;
  }

  get url(): string {
    return `http://${this.config.host.includes(':') ? `[${this.config.host}]` : this.config.host}:${this.port}`;
  }

  /** Listen, then load models and start workers; resolves when ready. */
  async start(): Promise<void> {
    if (!this.services.tracer && this.config.otlpEndpoint) {
      this.#tracing = await startTracing(this.config.otlpEndpoint, this.logger);
      this.services.tracer = this.#tracing.tracer;
    }
    if (this.#listen) await this.#startServer();
    const started = performance.now();
    const progress = this.#startup;
    const models = this.#preloaded
      ? [...this.#preloaded]
      : await Promise.all(
          this.config.models.map(async (spec) => {
            // Unless --tile-parallelism says otherwise: a model 'auto' moves to the large preset is planned for every
            // worker when steps are sharded (PrepareModelOptions.autoParallelism), any other for two (requestParallelism).
            const shardedWorkers = this.config.shardSteps === 'auto' && this.config.workers > 1 ? Math.min(this.config.workers, 64) : 1;
            const model = await loadHostedModel(
              spec,
              this.config.preset,
              this.config.tileParallelism,
              this.config.embedding,
              (p) => progress.model(spec.id, p),
              shardedWorkers,
              requestParallelism(this.config),
            );
            progress.prepared(spec.id, model.calibrationCached);
            return model;
          }),
        );
    // Published with each descriptor: the SDK uploads its public key with the session when the mode needs one.
    const privacy = this.config.responsePrivacy;
    const responsePrivacy = privacy === 'flood' ? { mode: privacy, floodSigma: this.config.responseFloodSigma } : { mode: privacy };
    for (const [i, model] of models.entries()) {
      models[i] = { ...model, descriptor: { ...model.descriptor, responsePrivacy } };
      this.services.models.set(model.id, models[i]);
    }
    const pool = new EvaluationPool({
      workers: this.config.workers,
      maxQueue: this.config.maxQueue,
      keyCacheBytes: this.config.keyCacheBytes,
      ...weightBudget(this.config, models.length),
      heapBudgetBytes: this.config.workerHeapBytes,
      shardSteps: this.config.shardSteps === 'auto',
      sharedPartsMaxBytes: this.config.sharedPartsMaxBytes,
      models: models.map((m) => ({ id: m.id, checkpointPath: m.spec.checkpoint, descriptor: m.descriptor })),
      metrics: this.services.metrics,
      logger: this.logger,
    });
    this.services.pool = pool;
    progress.startingWorkers(() => ({ ready: pool.readyWorkers, total: pool.workers }));
    await pool.waitUntilReady(this.#startupTimeoutMs);
    this.#loaded = true;
    progress.phase = 'ready';
    this.logger.info(
      {
        models: models.map((m) => m.id),
        calibration: Object.fromEntries(models.map((m) => [m.id, m.calibrationCached ? 'cached' : 'calibrated'])),
        workers: this.config.workers,
        shardedSteps: pool.sharded,
        preset: Object.fromEntries(models.map((m) => [m.id, m.descriptor.preset])),
        store: this.services.store.kind,
        ms: Math.round(performance.now() - started),
      },
      'ready',
    );
  }

  /**
   * Stop accepting connections, let in-flight requests finish, stop the
   * workers. Requests end by their deadline, so this takes at most one
   * request timeout plus 4 s (keep pods' termination grace above that + 1 s).
   */
  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    this.#draining = true;
    this.#startup.phase = 'draining';
    const server = this.#server;
    const serverClosed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    server?.closeIdleConnections();
    const drained = await within(this.#inFlight.idle(), this.config.requestTimeoutMs + 3_000);
    if (!drained) this.logger.warn({ inFlight: this.#inFlight.count }, 'shutdown grace period over; closing connections');
    if (server) {
      // Handlers are done, but their responses may still be streaming out: close each keep-alive
      // connection once it goes idle, and cut whatever is left after a second.
      const sweep = setInterval(() => server.closeIdleConnections(), 25);
      if (!drained || !(await within(serverClosed, 1_000))) server.closeAllConnections();
      clearInterval(sweep);
      await serverClosed;
    }
    const metrics = this.#metricsServer;
    if (metrics) await new Promise<void>((resolve) => metrics.close(() => resolve()));
    await this.services.pool?.close();
    await this.services.store.close();
    this.#redis?.disconnect();
    // Last, so the spans of drained requests are exported too; a collector that is down must not hang shutdown.
    if (this.#tracing)
      await within(
        this.#tracing.shutdown().catch(() => {}),
        5_000,
      );
    this.logger.info('stopped');
  }

  async #startServer(): Promise<void> {
    const server = serve({ fetch: this.app.fetch, hostname: this.config.host, port: this.config.port }) as Server;
    // Slow uploads must not hold a connection forever; the deadline covers the rest.
    server.requestTimeout = this.config.requestTimeoutMs + 10_000;
    server.headersTimeout = Math.min(60_000, server.requestTimeout);
    // Node's default (5 s) is shorter than load balancers keep idle upstream connections: a request
    // sent on a connection the relay is just closing fails (ECONNRESET, a 502 for the client).
    server.keepAliveTimeout = this.config.keepAliveTimeoutMs;
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      if (server.listening) return resolve();
      server.once('listening', resolve);
      server.once('error', reject);
    });
    this.logger.info({ host: this.config.host, port: this.port }, 'listening');
    if (this.config.metricsPort !== undefined) {
      const metrics = serve({ fetch: metricsApp(this.services).fetch, hostname: this.config.host, port: this.config.metricsPort }) as Server;
      this.#metricsServer = metrics;
      await new Promise<void>((resolve, reject) => {
        if (metrics.listening) return resolve();
        metrics.once('listening', resolve);
        metrics.once('error', reject);
      });
      this.logger.info({ host: this.config.host, port: this.metricsPort }, 'metrics listening');
    }
  }
}

/** True when `promise` settles within `ms`, false when the time runs out first. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A worker's baseline: Node, SEAL's module and context, transient ciphertexts. */
const WORKER_BASELINE_BYTES = 128 * 1024 * 1024;

/**
 * Split --memory-budget into pre-encoded weight bytes per worker and model:
 * each worker's share, less its key cache and baseline. A budget that leaves
 * nothing for weights is a configuration error, said at start-up.
 */
export function weightBudget(config: Pick<RelayConfig, 'memoryBudget' | 'workers' | 'keyCacheBytes'>, modelCount: number): { weightBudgetBytes?: number } {
  if (config.memoryBudget === undefined) return {};
  const perWorker = Math.floor(config.memoryBudget / config.workers) - config.keyCacheBytes - WORKER_BASELINE_BYTES;
  if (perWorker <= 0) {
    const least = config.workers * (config.keyCacheBytes + WORKER_BASELINE_BYTES) + 1;
    throw new Error(
      `--memory-budget ${config.memoryBudget} leaves no room for weights: ${config.workers} workers each need their key cache (${config.keyCacheBytes}) and a 128 MiB baseline; give at least ${least} bytes or lower --key-cache-bytes`,
    );
  }
  return { weightBudgetBytes: Math.floor(perWorker / Math.max(1, modelCount)) };
}
