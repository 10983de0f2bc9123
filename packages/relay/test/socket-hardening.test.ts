// Over a real socket. Attack suite, stalled bodies: a sender that declares a
// body and then stalls is cut off with 408 body_timeout and its connection
// closed, while another client is served meanwhile. And /metrics moved to
// --metrics-port is not on the public port.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Relay } from '../src/relay.ts';
import { TestClient, createSession, loadStories, startRelay, testConfig, type CreatedSession } from './relay-test-kit.ts';

let relay: Relay;
let client: TestClient;
let session: CreatedSession;

beforeAll(async () => {
  const model = await loadStories('insecure-n2048-q109');
  relay = await startRelay(testConfig({ workers: 1, preset: 'insecure-n2048-q109', port: 0, metricsPort: 0, bodyReadTimeoutMs: 300 }), { models: [model], listen: true });
  client = await TestClient.create(model.descriptor);
  session = await createSession((path, init) => fetch(`${relay.url}${path}`, init), 'stories260K', client.keysEnvelope());
});
afterAll(async () => {
  client?.delete();
  await relay?.close();
});

/** Send headers declaring `length` bytes and `sent` of them, then stall; resolves with what the relay answered. */
function stalledUpload(path: string, length: number, sent: number, headers: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(relay.port, '127.0.0.1');
    let answer = '';
    socket.on('data', (d) => (answer += d.toString('latin1')));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
    const lines = [`POST ${path} HTTP/1.1`, 'Host: relay', 'Content-Type: application/octet-stream', `Content-Length: ${length}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''];
    socket.write(lines.join('\r\n'));
    socket.write(Buffer.alloc(sent, 1));
    setTimeout(() => socket.destroy(), 5_000);
  });
}

describe('stalled bodies', () => {
  it('cuts off a stalled key upload and a stalled step with 408 body_timeout; others are served meanwhile', async () => {
    const started = performance.now();
    const uploads = [stalledUpload('/v1/sessions?model=stories260K', 1_000_000, 1000), stalledUpload('/v1/models/stories260K/steps/1', 100_000, 10, { Authorization: `Bearer ${session.token}` })];
    const other = await fetch(`${relay.url}/v1/sessions/${session.id}`, { headers: { authorization: `Bearer ${session.token}` } });
    expect(other.status).toBe(200);
    const answers = await Promise.all(uploads);
    expect(performance.now() - started).toBeLessThan(3_000);
    for (const answer of answers) {
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
      expect(answer).toContain('"code":"body_timeout"');
    }
    expect(relay.services.bodyBudget.usedBytes).toBe(0);
    expect((await fetch(`${relay.url}/readyz`)).status).toBe(200);
  });
});

describe('--metrics-port', () => {
  it('serves /metrics on its own port only, content unchanged', async () => {
    expect(relay.metricsPort).toBeGreaterThan(0);
    expect(relay.metricsPort).not.toBe(relay.port);
    expect((await fetch(`${relay.url}/metrics`)).status).toBe(404);
    const metrics = await fetch(`http://127.0.0.1:${relay.metricsPort}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('fhe_relay_http_requests_total');
    expect((await fetch(`http://127.0.0.1:${relay.metricsPort}/v1/models`)).status).toBe(404);
  });
});
