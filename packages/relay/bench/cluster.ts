// npm run bench:cluster [-- --seconds 60] [-- --clients 100] [-- --burst 1000] [-- --key-cache-mib 128]
// Redis, two relays (the real bin, one worker each, sessions in Redis) and a
// round-robin HTTP balancer on loopback. Phase "steady": N clients, each with
// its own CKKS keys, API key and session, loop over stories260K's 11 steps
// for the window. Each client encrypts one valid request per step once and
// replays it (the relay cannot tell; client CPU stays low), and honours
// Retry-After on 429/503 as the SDK does. Phase "burst": 1,000 step requests
// at once, each on its own connection. One JSON line per phase: status
// histogram, latencies, lost sessions, requests past their deadline, peak RSS
// of each relay. Exits non-zero when a check fails (a 5xx other than 503 with
// Retry-After, a lost session, a hung request).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CkksContext, PlaintextStepRunner, buildSchedule, encodeEnvelope, parseLlama2cCheckpoint, planModelStep, type EncryptedModelDescriptor } from '@fhe-llm/core';
import { needsPublicKey } from '@fhe-llm/core/protocol';
import { CkksClient, decryptStepResponse, encryptStepRequest } from '@fhe-llm/core/client';
import { RedisServer, RelayProcess, freePort } from '../test/cluster-kit.ts';
import { modelsDir } from '../test/relay-test-kit.ts';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => (args.includes(`--${name}`) ? Number(args[args.indexOf(`--${name}`) + 1]) : fallback);
const WINDOW_MS = flag('seconds', 60) * 1000;
const CLIENTS = flag('clients', 100);
const BURST = flag('burst', 1000);
/** Per worker; the deploy manifests' 128 MiB holds ~40 sessions' deserialized keys. */
const KEY_CACHE_MIB = flag('key-cache-mib', 128);
/** The relay's request timeout (30 s) plus slack: an answer later than this counts as hung. */
const DEADLINE_MS = 35_000;

// Never outlive a stuck phase: everything is torn down and the bench fails.
const watchdog = setTimeout(() => void shutdown(1, 'bench watchdog: took too long'), WINDOW_MS + 300_000);

const redis = await RedisServer.start();
const apiKeys = Array.from({ length: CLIENTS }, () => randomBytes(18).toString('base64url'));
const relayArgs = ['--redis-url', redis.url, '--workers', '1', '--key-cache-bytes', String(KEY_CACHE_MIB * 2 ** 20), '--log-level', 'warn'];
const relays = [new RelayProcess(await freePort(), relayArgs, { FHE_LLM_API_KEYS: apiKeys.join(',') }), new RelayProcess(await freePort(), relayArgs, { FHE_LLM_API_KEYS: apiKeys.join(',') })];
await Promise.all(relays.map((r) => r.start()));

const balancerErrors: string[] = [];
// The balancer: plain round robin, no affinity, one keep-alive pool to the relays.
let turn = 0;
const upstreamAgent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
const balancer = http.createServer((req, res) => {
  const port = relays[turn++ % relays.length].port;
  const { connection: _hopByHop, ...headers } = req.headers;
  const upstream = http.request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers, agent: upstreamAgent }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  upstream.on('error', (error) => {
    balancerErrors.push(`${(error as NodeJS.ErrnoException).code ?? error.message} on :${port}${upstream.reusedSocket ? ' (reused connection)' : ''}`);
    if (res.headersSent) res.destroy();
    else res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'bad_gateway', message: error.message } }));
  });
  req.pipe(upstream);
});
await new Promise<void>((resolve) => balancer.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, resolve));
const base = `http://127.0.0.1:${(balancer.address() as AddressInfo).port}`;

let peakRss = relays.map(() => 0);
const rssSampler = setInterval(() => (peakRss = relays.map((r, i) => Math.max(peakRss[i], r.rss()))), 100);
const resetPeaks = () => (peakRss = relays.map((r) => r.rss()));

// Clients: keys, a session each (through the balancer), one encrypted body per step.
const descriptor = (await (await fetch(`${base}/v1/models/stories260K`, { headers: { 'x-api-key': apiKeys[0] } })).json()) as EncryptedModelDescriptor;
const ctx = await CkksContext.create(descriptor.preset);
const STEPS = descriptor.steps.length;
interface Client {
  apiKey: string;
  id: string;
  token: string;
  bodies: Uint8Array<ArrayBuffer>[];
}
const inputOf = (step: number) => Float64Array.from({ length: descriptor.steps[step].dIn }, (_, i) => 0.3 * descriptor.steps[step].bounds.input * Math.sin(i));
const setupStarted = performance.now();
let checked: { ckks: CkksClient; body: Uint8Array<ArrayBuffer> } | undefined;
const clients: Client[] = [];
for (const apiKey of apiKeys) {
  const ckks = CkksClient.generate(ctx);
  const keys = encodeEnvelope({
    kind: 'galoisKeys',
    presetId: descriptor.preset,
    vectors: 0,
    items: [ckks.makeGaloisKeys(descriptor.galoisSteps), ...(needsPublicKey(descriptor.responsePrivacy) ? [ckks.makePublicKey()] : [])],
  });
  const res = await fetch(`${base}/v1/sessions?model=stories260K`, {
    method: 'POST',
    body: keys as Uint8Array<ArrayBuffer>,
    headers: { 'content-type': 'application/octet-stream', 'x-api-key': apiKey },
  });
  if (res.status !== 201) throw new Error(`session: ${res.status} ${await res.text()}`);
  const { id, token } = (await res.json()) as { id: string; token: string };
  const bodies = Array.from({ length: STEPS }, (_, step) => encryptStepRequest(ckks, planModelStep(descriptor, step, 1), [inputOf(step)]) as Uint8Array<ArrayBuffer>);
  clients.push({ apiKey, id, token, bodies });
  // The first client keeps its secret key: one answer is decrypted and checked, so the load is real work.
  if (!checked) checked = { ckks, body: bodies[1] };
  else ckks.delete();
}
const setupSeconds = (performance.now() - setupStarted) / 1000;

const stepHeaders = (c: Client) => ({ 'content-type': 'application/octet-stream', authorization: `Bearer ${c.token}`, 'x-api-key': c.apiKey });
const percentile = (sorted: number[], p: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Tally {
  statuses: Record<string, number>;
  codes: Record<string, number>;
  latencies: number[];
  lost: Set<string>;
  hung: number;
  errors: number;
  bad5xx: number;
  noRetryAfter: number;
}
const tally = (): Tally => ({ statuses: {}, codes: {}, latencies: [], lost: new Set(), hung: 0, errors: 0, bad5xx: 0, noRetryAfter: 0 });
/** Classify one answer; returns the Retry-After seconds to honour, if any. */
function record(t: Tally, c: Client, status: number, retryAfter: string | null | undefined, ms: number, body: Uint8Array): number | undefined {
  t.statuses[status] = (t.statuses[status] ?? 0) + 1;
  if (status !== 200) {
    let code = 'unparsed';
    try {
      code = (JSON.parse(Buffer.from(body).toString()) as { error: { code: string } }).error.code;
    } catch {
      // not the relay's JSON error (the balancer's, or truncated)
    }
    t.codes[code] = (t.codes[code] ?? 0) + 1;
  }
  t.latencies.push(ms);
  if (status === 401 || status === 404) t.lost.add(c.id);
  if (status >= 500 && !(status === 503 && retryAfter)) t.bad5xx++;
  if ((status === 429 || status === 503) && !retryAfter) t.noRetryAfter++;
  return retryAfter ? Number(retryAfter) : undefined;
}
const summary = (t: Tally, seconds: number) => {
  const sorted = t.latencies.sort((x, y) => x - y);
  return {
    requests: sorted.length,
    seconds: Number(seconds.toFixed(1)),
    status: t.statuses,
    error_codes: t.codes,
    ok_per_second: Number(((t.statuses[200] ?? 0) / seconds).toFixed(2)),
    p50_ms: percentile(sorted, 50),
    p99_ms: percentile(sorted, 99),
    max_ms: Math.round(sorted.at(-1) ?? 0),
    balancer_errors: balancerErrors.splice(0),
    lost_sessions: t.lost.size,
    hung: t.hung,
    connection_errors: t.errors,
    bad_5xx: t.bad5xx,
    retryable_without_retry_after: t.noRetryAfter,
    peak_rss_bytes: peakRss,
  };
};

// Phase 1: steady load.
const plaintext = new PlaintextStepRunner(buildSchedule(parseLlama2cCheckpoint(new Uint8Array(readFileSync(new URL('stories260K.bin', modelsDir))))));
const steady = tally();
resetPeaks();
const started = performance.now();
let wrongAnswers = 0;
await Promise.all(
  clients.map(async (c, n) => {
    for (let i = n % STEPS; performance.now() - started < WINDOW_MS; i = (i + 1) % STEPS) {
      const sent = performance.now();
      try {
        const res = await fetch(`${base}/v1/models/stories260K/steps/${i}`, { method: 'POST', body: c.bodies[i], headers: stepHeaders(c), signal: AbortSignal.timeout(DEADLINE_MS) });
        const bytes = new Uint8Array(await res.arrayBuffer());
        if (checked && c === clients[0] && i === 1 && res.status === 200) {
          const [y] = decryptStepResponse(checked.ckks, planModelStep(descriptor, 1, 1), 1, bytes);
          const [want] = await plaintext.runStep(1, [inputOf(1)]);
          if (y.some((v, j) => Math.abs(v - want[j]) > 1e-2 * Math.max(1, descriptor.steps[1].bounds.output))) wrongAnswers++;
        }
        const wait = record(steady, c, res.status, res.headers.get('retry-after'), performance.now() - sent, bytes);
        if (wait !== undefined) await sleep(wait * 1000);
      } catch (error) {
        if ((error as Error).name === 'TimeoutError') steady.hung++;
        else steady.errors++;
      }
    }
  }),
);
console.log(
  JSON.stringify({
    kind: 'cluster',
    phase: 'steady',
    relays: relays.length,
    workers_per_relay: 1,
    key_cache_mib: KEY_CACHE_MIB,
    clients: CLIENTS,
    setup_seconds: Number(setupSeconds.toFixed(1)),
    ...summary(steady, (performance.now() - started) / 1000),
    wrong_answers: wrongAnswers,
  }),
);

// Phase 2: a burst of concurrent connections, each its own TCP connection, no retries.
const burst = tally();
resetPeaks();
const burstStarted = performance.now();
const postOnce = (c: Client, step: number) =>
  new Promise<void>((resolve) => {
    const sent = performance.now();
    const url = new URL(`${base}/v1/models/stories260K/steps/${step}`);
    const req = http.request(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent: false, headers: { ...stepHeaders(c), 'content-length': c.bodies[step].byteLength }, timeout: DEADLINE_MS },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => res.statusCode !== 200 && chunks.push(chunk));
        res.on('end', () => {
          record(burst, c, res.statusCode ?? 0, res.headers['retry-after'], performance.now() - sent, Buffer.concat(chunks));
          resolve();
        });
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('deadline'), { name: 'TimeoutError' })));
    req.on('error', (error) => {
      if (error.name === 'TimeoutError') burst.hung++;
      else burst.errors++;
      resolve();
    });
    req.end(c.bodies[step]);
  });
await Promise.all(Array.from({ length: BURST }, (_, i) => postOnce(clients[i % clients.length], i % STEPS)));
const burstSeconds = (performance.now() - burstStarted) / 1000;

// Every session still there, on either relay.
const sessionsLeft = await Promise.all(clients.map(async (c) => (await fetch(`${base}/v1/sessions/${c.id}`, { headers: stepHeaders(c) })).status === 200));
for (const [i, ok] of sessionsLeft.entries()) if (!ok) burst.lost.add(clients[i].id);
const ready = await Promise.all(relays.map(async (r) => (await fetch(`${r.url}/readyz`)).status === 200));
console.log(
  JSON.stringify({
    kind: 'cluster',
    phase: 'burst',
    connections: BURST,
    ...summary(burst, burstSeconds),
    sessions_alive_after: sessionsLeft.filter(Boolean).length,
    relays_ready_after: ready.every(Boolean),
  }),
);

const failed = [steady, burst].some((t) => t.bad5xx || t.lost.size || t.hung || t.errors || t.noRetryAfter) || wrongAnswers > 0 || !ready.every(Boolean);
await shutdown(failed ? 1 : 0, failed ? 'cluster bench: a check failed (see the JSON lines)' : undefined);

/** Tear down whatever exists by now (the watchdog may fire during any phase), then exit. */
async function shutdown(code: number, message?: string): Promise<never> {
  if (message) console.error(message);
  const steps = [
    () => clearTimeout(watchdog),
    () => clearInterval(rssSampler),
    () => balancer.closeAllConnections(),
    () => balancer.close(),
    () => upstreamAgent.destroy(),
    () => Promise.all(relays.map((r) => r.stop('SIGTERM'))),
    () => redis.dispose(),
  ];
  for (const step of steps)
    await Promise.resolve()
      .then(step)
      .catch(() => {});
  process.exit(code);
}
