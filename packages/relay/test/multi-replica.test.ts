// Two relay processes sharing sessions through a real redis-server: a session
// created on one is served by the other, survives a kill -9 of the relay that
// created it, and a Redis outage gives clear 503 store_unavailable answers
// until Redis is back, with no relay restarted.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlaintextStepRunner, buildSchedule, parseLlama2cCheckpoint, planModelStep, type EncryptedModelDescriptor } from '@fhe-llm/core';
import { decryptStepResponse, encryptStepRequest } from '@fhe-llm/core/client';
import { RedisServer, RelayProcess, freePort } from './cluster-kit.ts';
import { TestClient, bearer, createSession, modelsDir, octet, type CreatedSession } from './relay-test-kit.ts';

const STEP = 1;
let redis: RedisServer;
let a: RelayProcess;
let b: RelayProcess;
let descriptor: EncryptedModelDescriptor;
let client: TestClient;
const plaintext = new PlaintextStepRunner(buildSchedule(parseLlama2cCheckpoint(new Uint8Array(readFileSync(new URL('stories260K.bin', modelsDir))))));

beforeAll(async () => {
  redis = await RedisServer.start();
  const args = ['--redis-url', redis.url, '--workers', '1', '--preset', 'insecure-n2048-q109', '--allow-insecure-preset'];
  [a, b] = [new RelayProcess(await freePort(), args), new RelayProcess(await freePort(), args)];
  await Promise.all([a.start(), b.start()]);
  descriptor = (await (await fetch(`${a.url}/v1/models/stories260K`)).json()) as EncryptedModelDescriptor;
  client = await TestClient.create(descriptor);
});
afterAll(async () => {
  client?.delete();
  await Promise.all([a?.stop(), b?.stop()]);
  await redis?.dispose();
});

const open = (relay: RelayProcess) => createSession((path, init) => fetch(`${relay.url}${path}`, init), 'stories260K', client.keysEnvelope());

/** One encrypted step on `relay`, checked against the plaintext model; returns the HTTP status. */
async function step(relay: RelayProcess, session: CreatedSession): Promise<number> {
  const { dIn, bounds } = descriptor.steps[STEP];
  const x = Float64Array.from({ length: dIn }, (_, i) => 0.4 * bounds.input * Math.sin(i + relay.port));
  const plan = planModelStep(descriptor, STEP, 1);
  const res = await fetch(`${relay.url}/v1/models/stories260K/steps/${STEP}`, {
    method: 'POST',
    body: encryptStepRequest(client.client, plan, [x]) as Uint8Array<ArrayBuffer>,
    headers: bearer(session.token),
  });
  if (res.status !== 200) return res.status;
  const [y] = decryptStepResponse(client.client, plan, 1, new Uint8Array(await res.arrayBuffer()));
  const [want] = await plaintext.runStep(STEP, [x]);
  const tolerance = 1e-2 * Math.max(1, bounds.output);
  expect(Math.max(...y.map((v, i) => Math.abs(v - want[i])))).toBeLessThan(tolerance);
  return 200;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The answer and how long it took; never more than a couple of seconds while Redis is down. */
async function timed(request: Promise<Response>) {
  const started = performance.now();
  const res = await request;
  const body = res.headers.get('content-type')?.includes('json') ? ((await res.json()) as { error?: { code: string } }) : {};
  return { status: res.status, code: body.error?.code, retryAfter: res.headers.get('retry-after'), ms: performance.now() - started };
}

describe('two relays on one Redis', () => {
  it('a session created on relay A is served by relay B, and both report the Redis store', async () => {
    for (const relay of [a, b]) expect(await (await fetch(`${relay.url}/readyz`)).json()).toMatchObject({ status: 'ready', store: 'redis' });
    const session = await open(a);
    expect(await step(b, session)).toBe(200);
    expect((await fetch(`${b.url}/v1/sessions/${session.id}`, { headers: bearer(session.token) })).status).toBe(200);
    // Deleted on B, gone on A.
    expect((await fetch(`${b.url}/v1/sessions/${session.id}`, { method: 'DELETE', headers: bearer(session.token) })).status).toBe(204);
    expect(await step(a, session)).toBe(404);
  });

  it('kill -9 and restart of the relay that created a session loses nothing', async () => {
    const session = await open(a);
    expect(await step(a, session)).toBe(200);
    await a.stop('SIGKILL');
    // Meanwhile B serves it, then the restarted A does too.
    expect(await step(b, session)).toBe(200);
    await a.start();
    expect(await step(a, session)).toBe(200);
  });

  it('Redis down: 503 store_unavailable with Retry-After at once; back: service resumes without restarting relays', async () => {
    const session = await open(b);
    expect(await step(a, session)).toBe(200);
    await redis.stop();

    const plan = planModelStep(descriptor, STEP, 1);
    const body = encryptStepRequest(client.client, plan, [new Float64Array(descriptor.steps[STEP].dIn)]) as Uint8Array<ArrayBuffer>;
    for (const relay of [a, b]) {
      const answers = [
        await timed(fetch(`${relay.url}/v1/models/stories260K/steps/${STEP}`, { method: 'POST', body, headers: bearer(session.token) })),
        await timed(fetch(`${relay.url}/v1/sessions?model=stories260K`, { method: 'POST', body: client.keysEnvelope() as Uint8Array<ArrayBuffer>, headers: octet })),
        await timed(fetch(`${relay.url}/v1/sessions/${session.id}`, { headers: bearer(session.token) })),
        await timed(fetch(`${relay.url}/readyz`)),
      ];
      for (const answer of answers) {
        expect(answer).toMatchObject({ status: 503, code: 'store_unavailable', retryAfter: '2' });
        expect(answer.ms).toBeLessThan(2_500);
      }
      // What needs no store keeps working.
      expect((await fetch(`${relay.url}/v1/models/stories260K`)).status).toBe(200);
      expect((await fetch(`${relay.url}/healthz`)).status).toBe(200);
      expect(await (await fetch(`${relay.url}/metrics`)).text()).toContain('fhe_relay_store_up 0');
    }

    await redis.start();
    for (const relay of [a, b]) await until(`relay ${relay.port} ready again`, async () => (await fetch(`${relay.url}/readyz`)).status === 200);
    // This Redis keeps nothing on disk: the old session is gone (404, the SDK re-uploads its keys); new ones work everywhere.
    expect(await step(a, session)).toBe(404);
    const again = await open(a);
    expect(await step(b, again)).toBe(200);
    expect(await step(a, again)).toBe(200);
    for (const relay of [a, b]) expect(relay.logs.join('\n')).not.toContain(again.token.split('.')[1]);
  });
});
