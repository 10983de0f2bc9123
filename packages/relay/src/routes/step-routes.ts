import { Hono, type MiddlewareHandler } from 'hono';
import { decodeEnvelope } from '@fhe-llm/core';
import { encodeStepResponse, splitOutputTiles, splitRequestGroups } from '@fhe-llm/core/server';
import { OCTET_STREAM, binaryBody, relayBodyOptions } from '../middleware/binary-body.ts';
import { deadline } from '../middleware/deadline.ts';
import { modelLookup } from '../middleware/model-lookup.ts';
import { chargeQueryBudget, queryBudgetLimits } from '../middleware/query-budget.ts';
import { rateLimit } from '../middleware/rate-limit.ts';
import { sessionAuth } from '../middleware/session-auth.ts';
import { RelayError, notReady } from '../relay-error.ts';
import { admitBeforeReading } from '../middleware/admission.ts';
import { clientConcurrency } from '../middleware/client-concurrency.ts';
import { sessionExpiry } from '../sessions/session-expiry.ts';
import { ATTR } from '../tracing/span-attributes.ts';
import { traceEvaluation } from '../tracing/evaluation-spans.ts';
import type { RelayEnv } from '../relay-env.ts';
import type { RelayServices } from '../relay-services.ts';

/**
 * `Server-Timing: worker;dur=<ms>, worker-cpu;dur=<ms>` on every step answer:
 * the evaluation workers' busy (wall) time and CPU time, summed over its
 * tasks; the CPU includes each worker's upkeep since its previous task
 * (spare encryptions of zero, task messages), so that clients' per-token
 * relay CPU adds up to what the workers' threads use.
 */
function serverTiming(busyMs: number, cpuMs: number): string {
  return `worker;dur=${busyMs.toFixed(1)}, worker-cpu;dur=${cpuMs.toFixed(1)}`;
}

const sessionNotFound = () => new RelayError(404, 'session_not_found', 'unknown or expired session; create a new one');

/** The step index from the path; 404 step_not_found unless it is one of the model's steps. */
function stepIndex(text: string, steps: number): number {
  const step = /^\d{1,6}$/.test(text) ? Number(text) : -1;
  if (step < 0 || step >= steps) throw new RelayError(404, 'step_not_found', `steps are 0..${steps - 1}`);
  return step;
}

/** Checked before reading the body: unknown steps and foreign sessions cost nothing. */
function stepAndSessionMatch(): MiddlewareHandler<RelayEnv> {
  return async (c, next) => {
    stepIndex(c.req.param('step') ?? '', c.var.model.descriptor.steps.length);
    if (c.var.session.model !== c.var.model.id) {
      throw new RelayError(409, 'session_model_mismatch', `this session belongs to model ${c.var.session.model}`);
    }
    await next();
  };
}

/**
 * One linear step on ciphertexts: the body is a `ciphertexts` envelope whose
 * `vectors` picks the plan (the same one the client derived); its groups are
 * evaluated in parallel on the worker pool and returned in order.
 */
export function stepRoutes(services: RelayServices): Hono<RelayEnv> {
  const { store, config } = services;
  const budget = queryBudgetLimits(config);
  const app = new Hono<RelayEnv>();
  app.post(
    '/v1/models/:id/steps/:step',
    deadline(config.requestTimeoutMs),
    rateLimit(services.rateLimits.steps, config.trustProxyHops),
    clientConcurrency(config.maxConcurrentStepsPerClient, config.trustProxyHops),
    modelLookup(services),
    sessionAuth(store),
    stepAndSessionMatch(),
    admitBeforeReading(services),
    binaryBody((c) => c.var.model.stepBodyLimit, relayBodyOptions(services)),
    async (c) => {
      const { model, session } = c.var;
      const started = performance.now();
      const pool = services.pool;
      if (!pool) throw notReady();
      const step = stepIndex(c.req.param('step'), model.descriptor.steps.length);
      const envelope = decodeEnvelope(c.var.body, { kind: 'ciphertexts', presetId: model.descriptor.preset });
      const shape = { [ATTR.model]: model.id, [ATTR.step]: step, [ATTR.vectors]: envelope.vectors };
      c.var.span?.setAttributes(shape);
      const plan = model.plans.get(step, envelope.vectors);
      const groups = splitRequestGroups(plan, envelope);
      // Charged once the body has proved well formed (a malformed one costs nothing), before any evaluation.
      await chargeQueryBudget(c, store, budget, envelope.vectors, config.trustProxyHops);
      const keys = await store.getKeys(session.keysHash);
      if (!keys) throw sessionNotFound();
      // Unsharded, a lone group's output tiles go to several workers when the model was planned for it;
      // a sharded pool sends each tile to its owner instead (see EvaluationPool.evaluateGroups).
      const runs = groups.length === 1 && model.descriptor.parallelism > 1 ? splitOutputTiles(plan, model.descriptor.parallelism) : [[]];
      const tiling = { outTiles: plan.outTiles, runs, giantParts: plan.giantParts, plainMults: plan.cost.plainMults };
      const { outputs, busyMs, cpuMs } = await traceEvaluation(services.tracer, c.var.span, { ...shape, [ATTR.groups]: groups.length }, () =>
        pool.evaluateGroups(model.id, step, envelope.vectors, groups, { hash: session.keysHash, bytes: keys }, c.var.signal, tiling),
      );
      await store.touch(session.id, sessionExpiry(config, session.createdAt, Date.now()));
      const response = encodeStepResponse(plan, envelope.vectors, outputs) as Uint8Array<ArrayBuffer>;
      services.metrics.stepsServed.inc({ model: model.id });
      services.metrics.stepDuration.observe({ model: model.id }, (performance.now() - started) / 1000);
      // The evaluation workers' busy time for this request, so clients can report relay CPU per token.
      return c.body(response, 200, { 'Content-Type': OCTET_STREAM, 'Cache-Control': 'no-store', 'Server-Timing': serverTiming(busyMs, cpuMs) });
    },
  );
  return app;
}
