import { ROOT_CONTEXT, SpanStatusCode, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import type { TaskTiming } from '../pool/evaluation-pool.ts';
import { isRelayError } from '../relay-error.ts';
import { ATTR, SPAN } from './span-attributes.ts';

interface Evaluated {
  busyMs: number;
  cpuMs: number;
  tasks: readonly TaskTiming[];
}

/**
 * Run a request's evaluation inside a `fhe_llm.evaluate` span under
 * `parent` (the request's span), then place each task's queue wait and
 * worker time as child spans. Tasks are timed by the pool and drawn after
 * the fact with explicit timestamps, so nothing crosses into the worker
 * threads. Parents are passed explicitly rather than through a context
 * manager: the relay registers no global OpenTelemetry state. A failure
 * records its stable code only, never a message that might quote input.
 */
export async function traceEvaluation<T extends Evaluated>(tracer: Tracer | undefined, parent: Span | undefined, attributes: Attributes, run: () => Promise<T>): Promise<T> {
  if (!tracer || !parent) return run();
  const context = trace.setSpan(ROOT_CONTEXT, parent);
  const span = tracer.startSpan(SPAN.evaluate, { attributes }, context);
  try {
    const result = await run();
    const queueWaitMs = result.tasks.reduce((sum, t) => sum + t.queueWaitMs, 0);
    span.setAttributes({ [ATTR.tasks]: result.tasks.length, [ATTR.workerBusyMs]: result.busyMs, [ATTR.workerCpuMs]: result.cpuMs, [ATTR.queueWaitMs]: queueWaitMs });
    const inside = trace.setSpan(ROOT_CONTEXT, span);
    for (const task of result.tasks) {
      // The worker's time ends when its result arrives; the wait is everything before it.
      const workerStart = task.settledAt - task.busyMs;
      tracer.startSpan(SPAN.queueWait, { startTime: task.submittedAt, attributes: { [ATTR.queueWaitMs]: task.queueWaitMs } }, inside).end(workerStart);
      tracer
        .startSpan(
          SPAN.worker,
          { startTime: workerStart, attributes: { [ATTR.workerBusyMs]: task.busyMs, [ATTR.workerCpuMs]: task.cpuMs, [ATTR.workerUpkeepCpuMs]: task.upkeepCpuMs, [ATTR.evalMs]: task.evalMs } },
          inside,
        )
        .end(task.settledAt);
    }
    return result;
  } catch (error) {
    const code = isRelayError(error) ? error.code : (((error as { code?: unknown })?.code as string | undefined) ?? 'error');
    span.setAttribute(ATTR.errorCode, String(code));
    span.setStatus({ code: SpanStatusCode.ERROR, message: String(code) });
    throw error;
  } finally {
    span.end();
  }
}
