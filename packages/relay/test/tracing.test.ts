// OpenTelemetry spans of a step request, in-process with an in-memory
// exporter: the HTTP span, the evaluation under it and each task's queue
// wait and worker time under that, with shapes and timings as attributes and
// nothing a client would want kept from the relay's operator's tracing backend.
import { planModelStep } from '@fhe-llm/core';
import { encryptStepRequest } from '@fhe-llm/core/client';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostedModel } from '../src/models/hosted-model.ts';
import type { Relay } from '../src/relay.ts';
import { ATTR, SPAN } from '../src/tracing/span-attributes.ts';
import { TestClient, bearer, createSession, loadStories, startRelay, testConfig, type CreatedSession } from './relay-test-kit.ts';

const PRESET = 'insecure-n2048-q109';
const KEY = 'tracing-test-key-0123456789abcdef';
const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
let model: HostedModel;
let relay: Relay;
let client: TestClient;
let session: CreatedSession;

beforeAll(async () => {
  model = await loadStories(PRESET);
  relay = await startRelay(testConfig({ workers: 2, preset: PRESET, apiKeys: [KEY] }), { models: [model], tracer: provider.getTracer('test') });
  client = await TestClient.create(model.descriptor);
  session = await createSession((path, init) => relay.app.request(path, init), 'stories260K', client.keysEnvelope(), { 'x-api-key': KEY });
});
afterAll(async () => {
  client?.delete();
  await relay?.close();
  await provider.shutdown();
});

const post = (step: number | string, body: Uint8Array) =>
  relay.app.request(`/v1/models/stories260K/steps/${step}`, { method: 'POST', body: body as Uint8Array<ArrayBuffer>, headers: { ...bearer(session.token), 'x-api-key': KEY } });
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

describe('tracing', () => {
  it('traces a step request: HTTP span, evaluation under it, queue wait and worker time per task', async () => {
    exporter.reset();
    const count = 34; // more than one group at this preset: several tasks
    const xs = Array.from({ length: count }, () => new Float64Array(model.descriptor.steps[1].dIn).fill(0.01));
    const body = encryptStepRequest(client.client, planModelStep(model.descriptor, 1, count), xs);
    expect((await post(1, body)).status).toBe(200);
    const spans = exporter.getFinishedSpans();

    const http = spans.find((s) => s.kind === SpanKind.SERVER)!;
    expect(http.name).toBe('POST /v1/models/:id/steps/:step');
    expect(parentOf(http)).toBeUndefined();
    expect(http.attributes).toEqual({
      [ATTR.method]: 'POST',
      [ATTR.route]: '/v1/models/:id/steps/:step',
      [ATTR.status]: 200,
      [ATTR.model]: 'stories260K',
      [ATTR.step]: 1,
      [ATTR.vectors]: count,
    });
    expect(http.status.code).toBe(SpanStatusCode.UNSET);

    const evaluate = spans.find((s) => s.name === SPAN.evaluate)!;
    expect(parentOf(evaluate)).toBe(http.spanContext().spanId);
    expect(evaluate.attributes).toMatchObject({ [ATTR.model]: 'stories260K', [ATTR.step]: 1, [ATTR.vectors]: count });
    const tasks = evaluate.attributes[ATTR.tasks] as number;
    const groups = evaluate.attributes[ATTR.groups] as number;
    expect(groups).toBeGreaterThan(1);
    // One task per group, or per (group, worker) when the step's tiles are sharded across workers.
    expect([groups, 2 * groups]).toContain(tasks);
    expect(evaluate.attributes[ATTR.workerBusyMs]).toBeGreaterThan(0);
    expect(evaluate.attributes[ATTR.queueWaitMs]).toBeGreaterThanOrEqual(0);

    const waits = spans.filter((s) => s.name === SPAN.queueWait);
    const workers = spans.filter((s) => s.name === SPAN.worker);
    expect([waits.length, workers.length]).toEqual([tasks, tasks]);
    for (const s of [...waits, ...workers]) {
      expect(parentOf(s)).toBe(evaluate.spanContext().spanId);
      expect(s.spanContext().traceId).toBe(http.spanContext().traceId);
    }
    for (const w of workers) expect(w.attributes[ATTR.evalMs]).toBeGreaterThan(0);
    expect(spans).toHaveLength(2 + 2 * tasks);
  });

  it('marks a client mistake with its code but not as a span error', async () => {
    exporter.reset();
    expect((await post(999, new Uint8Array(8))).status).toBe(404);
    const [http] = exporter.getFinishedSpans();
    expect(http.attributes).toMatchObject({ [ATTR.status]: 404, [ATTR.errorCode]: 'step_not_found' });
    expect(http.status.code).toBe(SpanStatusCode.UNSET);
  });

  it("continues a caller's W3C trace, and starts its own on a malformed traceparent", async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpan = '00f067aa0ba902b7';
    exporter.reset();
    await relay.app.request('/v1/models', { headers: { 'x-api-key': KEY, traceparent: `00-${traceId}-${callerSpan}-01` } });
    const [joined] = exporter.getFinishedSpans();
    expect(joined.spanContext().traceId).toBe(traceId);
    expect(parentOf(joined)).toBe(callerSpan);
    exporter.reset();
    await relay.app.request('/v1/models', { headers: { 'x-api-key': KEY, traceparent: `00-${'0'.repeat(32)}-${callerSpan}-01` } });
    const [own] = exporter.getFinishedSpans();
    expect(own.spanContext().traceId).not.toBe('0'.repeat(32));
    expect(parentOf(own)).toBeUndefined();
  });

  it('puts no ciphertext bytes, tokens, session ids, keys or credentials on any span', async () => {
    exporter.reset();
    await relay.app.request(`/v1/sessions/${session.id}`, { headers: { ...bearer(session.token), 'x-api-key': KEY } });
    const xs = [new Float64Array(model.descriptor.steps[2].dIn).fill(0.02)];
    await post(2, encryptStepRequest(client.client, planModelStep(model.descriptor, 2, 1), xs));
    const spans = exporter.getFinishedSpans();
    expect(spans.length).toBeGreaterThan(3);
    const known = new Set<string>(Object.values(ATTR));
    const secrets = [session.token, session.id, session.token.split('.')[1], KEY];
    for (const span of spans) {
      for (const [name, value] of Object.entries(span.attributes)) {
        expect(known.has(name), name).toBe(true);
        // Numbers and short labels only: no byte arrays, no blobs.
        expect(typeof value === 'number' || (typeof value === 'string' && value.length <= 64), name).toBe(true);
      }
      const text = JSON.stringify({ name: span.name, attributes: span.attributes, events: span.events, status: span.status, resource: span.resource.attributes });
      for (const secret of secrets) expect(text).not.toContain(secret);
    }
    expect(spans.some((s) => s.attributes[ATTR.route] === '/v1/sessions/:id')).toBe(true);
  });
});
