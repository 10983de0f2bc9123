import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Readings the gauges take at scrape time, so they are never stale. */
export interface GaugeSources {
  queueDepth(): number;
  sessions(): Promise<number>;
  keyBytes(): Promise<number>;
  storeAvailable(): Promise<boolean>;
}

/** A gauge read from the store keeps its last value while the store is unreachable (a scrape must not fail). */
async function lastKnown(read: (() => Promise<number>) | undefined, set: (value: number) => void): Promise<void> {
  if (!read) return;
  try {
    set(await read());
  } catch {
    // store unreachable: fhe_relay_store_up says so
  }
}

/**
 * Every Prometheus metric of one relay, in its own registry (several relays
 * can live in one process, as in the tests).
 */
export class RelayMetrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly stepEvaluation: Histogram<'model' | 'step'>;
  readonly workerBusy: Counter;
  #sources: GaugeSources | undefined;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.httpRequests = new Counter({ name: 'fhe_relay_http_requests_total', help: 'HTTP requests by route pattern and status', labelNames: ['method', 'route', 'status'], registers });
    this.httpDuration = new Histogram({
      name: 'fhe_relay_http_request_duration_seconds',
      help: 'HTTP request latency by route pattern and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.stepEvaluation = new Histogram({
      name: 'fhe_relay_step_evaluation_seconds',
      help: 'Encrypted evaluation time of one ciphertext group, by model and step',
      labelNames: ['model', 'step'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.workerBusy = new Counter({ name: 'fhe_relay_worker_busy_seconds_total', help: 'Time workers spent running tasks', registers });
    const metrics = this;
    new Gauge({ name: 'fhe_relay_queue_depth', help: 'Evaluation tasks waiting for a worker', registers, collect() { this.set(metrics.#sources?.queueDepth() ?? 0); } });
    new Gauge({ name: 'fhe_relay_sessions', help: 'Live sessions (in Redis: of every replica)', registers, async collect() { await lastKnown(metrics.#sources?.sessions, (v) => this.set(v)); } });
    new Gauge({ name: 'fhe_relay_key_bytes', help: 'Bytes of stored Galois key blobs', registers, async collect() { await lastKnown(metrics.#sources?.keyBytes, (v) => this.set(v)); } });
    new Gauge({ name: 'fhe_relay_store_up', help: '1 while the session store answers, 0 while it is unreachable', registers, async collect() { this.set((await metrics.#sources?.storeAvailable()) === false ? 0 : 1); } });
  }

  /** Connect the gauges to the live pool and store once they exist. */
  bind(sources: GaugeSources): void {
    this.#sources = sources;
  }
}
