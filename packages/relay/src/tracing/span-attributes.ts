/**
 * Every attribute the relay puts on a span, in one place so a reviewer (and
 * tracing.test.ts) can see that none carries ciphertext bytes, token
 * content, session ids or secrets, or client credentials: only shapes,
 * counts, timings and outcomes, which the relay learns anyway (see the
 * threat model in docs/split-inference.md). HTTP names follow OpenTelemetry's
 * semantic conventions; the rest are namespaced `fhe_llm.`.
 */
export const ATTR = {
  method: 'http.request.method',
  /** The route pattern (`/v1/sessions/:id`), never the path: session ids stay out of traces. */
  route: 'http.route',
  status: 'http.response.status_code',
  errorCode: 'fhe_llm.error_code',
  model: 'fhe_llm.model',
  step: 'fhe_llm.step',
  vectors: 'fhe_llm.vectors',
  groups: 'fhe_llm.groups',
  tasks: 'fhe_llm.tasks',
  queueWaitMs: 'fhe_llm.queue_wait_ms',
  workerBusyMs: 'fhe_llm.worker_busy_ms',
  workerCpuMs: 'fhe_llm.worker_cpu_ms',
  workerUpkeepCpuMs: 'fhe_llm.worker_upkeep_cpu_ms',
  evalMs: 'fhe_llm.eval_ms',
} as const;

export const SPAN = {
  /** Under the HTTP span: the request's evaluation on the worker pool. */
  evaluate: 'fhe_llm.evaluate',
  /** Under evaluate, one per task: waiting for a worker (and message passing). */
  queueWait: 'fhe_llm.queue_wait',
  /** Under evaluate, one per task: the worker's own time on it. */
  worker: 'fhe_llm.worker_evaluation',
} as const;
