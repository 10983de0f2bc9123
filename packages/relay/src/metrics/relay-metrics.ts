import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What the evaluation pool reports at scrape time (sums over its live workers). */
export interface PoolReadings {
  /** Worker threads configured (FHE_LLM_WORKERS). */
  workers: number;
  /** Tasks waiting for a worker. */
  queueDepth: number;
  /** Tasks queued or running: the relay's in-flight work. */
  tasksInFlight: number;
  /** V8 heap used by the workers' isolates. */
  heapBytes: number;
  /** Memory outside the V8 heap (SEAL's WebAssembly memory, buffers) of the workers' isolates. */
  externalBytes: number;
  /** Deserialized Galois keys the workers hold in their key caches. */
  keyCacheBytes: number;
}

/** Readings the gauges take at scrape time, so they are never stale. */
export interface GaugeSources {
  pool(): PoolReadings | undefined;
  sessions(): Promise<number>;
  keyBytes(): Promise<number>;
  storeAvailable(): Promise<boolean>;
  /** Models loaded, workers up, not draining (the first half of /readyz; the store is the other). */
  ready(): boolean;
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
 * Rejections an operator alerts on, exported at 0 from the start: `rate()`
 * over a counter that appears with its first increment misses that increment.
 */
const PREDECLARED_REJECTIONS = [
  { status: '503', code: 'overloaded' },
  { status: '503', code: 'deadline_exceeded' },
  { status: '503', code: 'store_unavailable' },
  { status: '503', code: 'not_ready' },
  { status: '429', code: 'rate_limited' },
  { status: '500', code: 'internal' },
];

/** Request latency buckets (seconds): a step is 50-110 ms on an idle worker, seconds in a full queue. */
const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * Every Prometheus metric of one relay, in its own registry (several relays
 * can live in one process, as in the tests). Labels are bounded by the code:
 * route patterns, status codes, error codes, model ids and step indices,
 * never session ids or client input. docs/deploy.md lists them all.
 */
export class RelayMetrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly rejections: Counter<'status' | 'code'>;
  readonly stepEvaluation: Histogram<'model' | 'step'>;
  readonly stepDuration: Histogram<'model'>;
  readonly stepsServed: Counter<'model'>;
  readonly sessionsCreated: Counter<'model'>;
  readonly queueWait: Histogram;
  readonly workerBusy: Counter;
  readonly workerCpu: Counter<'part'>;
  readonly workerRestarts: Counter;
  readonly keyCacheLookups: Counter<'result'>;
  readonly zeroEncryptions: Counter<'source'>;
  readonly plainProducts: Counter<'path'>;
  readonly rotations: Counter<'path'>;
  #sources: GaugeSources | undefined;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.httpRequests = new Counter({ name: 'fhe_relay_http_requests_total', help: 'HTTP requests by route pattern and status', labelNames: ['method', 'route', 'status'], registers });
    this.httpDuration = new Histogram({
      name: 'fhe_relay_http_request_duration_seconds',
      help: 'HTTP request latency by route pattern and status',
      labelNames: ['method', 'route', 'status'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.rejections = new Counter({ name: 'fhe_relay_rejections_total', help: 'Answers with an error body, by HTTP status and stable error code', labelNames: ['status', 'code'], registers });
    for (const labels of PREDECLARED_REJECTIONS) this.rejections.inc(labels, 0);
    this.stepEvaluation = new Histogram({
      name: 'fhe_relay_step_evaluation_seconds',
      help: 'Encrypted evaluation time of one ciphertext group, by model and step',
      labelNames: ['model', 'step'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.stepDuration = new Histogram({
      name: 'fhe_relay_step_duration_seconds',
      help: 'Time from a step request being read to its answer (queue wait plus evaluation), successful steps, by model',
      labelNames: ['model'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.stepsServed = new Counter({ name: 'fhe_relay_steps_served_total', help: 'Step requests answered with results, by model', labelNames: ['model'], registers });
    this.sessionsCreated = new Counter({ name: 'fhe_relay_sessions_created_total', help: 'Sessions created on this relay, by model', labelNames: ['model'], registers });
    this.queueWait = new Histogram({
      name: 'fhe_relay_queue_wait_seconds',
      help: 'Time an evaluation task waited for a worker',
      buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.workerBusy = new Counter({ name: 'fhe_relay_worker_busy_seconds_total', help: 'Time workers spent running tasks', registers });
    this.workerRestarts = new Counter({ name: 'fhe_relay_worker_restarts_total', help: 'Workers replaced after starting (a task terminated at its deadline, or a crash)', registers });
    // Counters over a fixed set of label values, each series present (at 0) from the first scrape.
    const enumerated = <L extends string>(name: string, help: string, label: L, values: readonly string[]): Counter<L> => {
      const counter = new Counter<L>({ name, help, labelNames: [label], registers });
      for (const value of values) counter.inc({ [label]: value } as Record<L, string>, 0);
      return counter;
    };
    this.workerCpu = enumerated(
      'fhe_relay_worker_cpu_seconds_total',
      "CPU time of the evaluation workers' threads, by part: task (running tasks) or upkeep (between tasks: spare encryptions of zero, task messages, garbage collection; start-up warming excluded)",
      'part',
      ['task', 'upkeep'],
    );
    this.keyCacheLookups = enumerated('fhe_relay_key_cache_lookups_total', "Lookups of a session's deserialized Galois keys in a worker's cache, by result (hit, miss)", 'result', ['hit', 'miss']);
    this.zeroEncryptions = enumerated(
      'fhe_relay_zero_encryptions_total',
      'Encryptions of zero added to responses (re-randomization), by source: spare (made between tasks) or on_request (made on the request path: workers too busy to prepare them)',
      'source',
      ['spare', 'on_request'],
    );
    this.plainProducts = enumerated(
      'fhe_relay_plain_products_total',
      "Ciphertext-plaintext products evaluated, by path: kernel (summed in place over SEAL's memory, core's plain-mac.ts) or seal (SEAL's own multiply_plain, where the kernel is unavailable)",
      'path',
      ['kernel', 'seal'],
    );
    this.rotations = enumerated(
      'fhe_relay_rotations_total',
      "Ciphertext rotations evaluated, by path: kernel (giant steps summed and folds hoisted with shared key switches in SEAL's memory, core's rotation-sum.ts) or seal (SEAL's own key switch per rotation: baby steps, Horner chains and doubling folds, or all where the kernel is unavailable)",
      'path',
      ['kernel', 'seal'],
    );

    const metrics = this;
    const pool = () => metrics.#sources?.pool();
    const poolGauge = (name: string, help: string, read: (p: PoolReadings) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read(pool() ?? EMPTY_POOL));
        },
      });
    poolGauge('fhe_relay_queue_depth', 'Evaluation tasks waiting for a worker', (p) => p.queueDepth);
    poolGauge('fhe_relay_tasks_in_flight', 'Evaluation tasks queued or running', (p) => p.tasksInFlight);
    poolGauge('fhe_relay_workers', 'Evaluation worker threads configured', (p) => p.workers);
    poolGauge('fhe_relay_key_cache_bytes', "Deserialized Galois keys held in the workers' caches", (p) => p.keyCacheBytes);
    new Gauge({
      name: 'fhe_relay_worker_heap_bytes',
      help: 'Memory of the worker threads by space: v8 (JavaScript heap) or external (SEAL WebAssembly memory and buffers)',
      labelNames: ['space'],
      registers,
      collect() {
        const p = pool() ?? EMPTY_POOL;
        this.set({ space: 'v8' }, p.heapBytes);
        this.set({ space: 'external' }, p.externalBytes);
      },
    });
    new Gauge({
      name: 'fhe_relay_sessions',
      help: 'Live sessions (in Redis: of every replica)',
      registers,
      async collect() {
        await lastKnown(metrics.#sources?.sessions, (v) => this.set(v));
      },
    });
    new Gauge({
      name: 'fhe_relay_key_bytes',
      help: 'Bytes of stored Galois key blobs',
      registers,
      async collect() {
        await lastKnown(metrics.#sources?.keyBytes, (v) => this.set(v));
      },
    });
    new Gauge({
      name: 'fhe_relay_store_up',
      help: '1 while the session store answers, 0 while it is unreachable',
      registers,
      async collect() {
        this.set((await metrics.#sources?.storeAvailable()) === false ? 0 : 1);
      },
    });
    new Gauge({
      name: 'fhe_relay_ready',
      help: '1 while models are loaded, workers up and the relay not draining',
      registers,
      collect() {
        this.set(metrics.#sources?.ready() ? 1 : 0);
      },
    });
  }

  /** Connect the gauges to the live pool and store once they exist. */
  bind(sources: GaugeSources): void {
    this.#sources = sources;
  }
}

const EMPTY_POOL: PoolReadings = { workers: 0, queueDepth: 0, tasksInFlight: 0, heapBytes: 0, externalBytes: 0, keyCacheBytes: 0 };
