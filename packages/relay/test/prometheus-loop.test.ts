// A real Prometheus (Debian's `prometheus` package) on loopback scraping a
// real relay process every second with the project's rules loaded. Checks
// that promtool accepts the rules (and their unit tests) and the configs,
// drives real encrypted steps and then an overload through the relay, and
// checks that every dashboard panel's query returns data from the live
// Prometheus and that the overload alert goes pending or firing.
// Needs /usr/bin/prometheus and /usr/bin/promtool (apt-get install prometheus;
// .ci/run installs it): skipped with a warning without them, failed under CI=true.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { PlaintextStepRunner, buildSchedule, parseLlama2cCheckpoint, planModelStep, type EncryptedModelDescriptor } from '@fhe-llm/core';
import { decryptStepResponse, encryptStepRequest } from '@fhe-llm/core/client';
import { RelayProcess, freePort } from './cluster-kit.ts';
import { TestClient, bearer, createSession, modelsDir, type CreatedSession } from './relay-test-kit.ts';

const PROMETHEUS = process.env.PROMETHEUS ?? '/usr/bin/prometheus';
const PROMTOOL = process.env.PROMTOOL ?? '/usr/bin/promtool';
const AMTOOL = process.env.AMTOOL ?? '/usr/bin/amtool';
const monitoring = fileURLToPath(new URL('../../../deploy/monitoring/', import.meta.url));
const RULES = join(monitoring, 'fhe-llm-relay.rules.yaml');
const DASHBOARD = join(monitoring, 'dashboards/fhe-llm-relay.json');
/** The job the rules and the dashboard expect. */
const RELAY_JOB = 'fhe-llm-relay';

/**
 * host:port Prometheus scrapes for a relay's /metrics: the relay's HTTP port
 * today. If /metrics moves to its own port, return that here.
 */
const metricsTarget = (relay: RelayProcess) => `127.0.0.1:${relay.port}`;

const missing = [PROMETHEUS, PROMTOOL].filter((bin) => !existsSync(bin));
const inCi = process.env.CI === 'true';
if (missing.length && !inCi) console.warn(`prometheus-loop.test.ts skipped: ${missing.join(', ')} missing (apt-get install prometheus)`);

describe.runIf(missing.length && inCi)('Prometheus in the loop (CI)', () => {
  it("has Debian's prometheus and promtool installed", () => {
    throw new Error(`${missing.join(', ')} missing: apt-get install prometheus (.ci/run installs it)`);
  });
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function tool(bin: string, args: string[]): { ok: boolean; output: string } {
  const run = spawnSync(bin, args, { encoding: 'utf8', timeout: 30_000 });
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
}

/** Debian's prometheus on a loopback port with a throwaway data directory. */
class PrometheusServer {
  readonly dir = mkdtempSync(join(tmpdir(), 'fhe-llm-prometheus-'));
  readonly port: number;
  #child: ChildProcess | undefined;
  log = '';

  constructor(port: number) {
    this.port = port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(targets: string[]): Promise<void> {
    const config = {
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: [RULES],
      scrape_configs: [{ job_name: RELAY_JOB, static_configs: [{ targets }] }],
    };
    const file = join(this.dir, 'prometheus.yml');
    writeFileSync(file, stringify(config));
    const checked = tool(PROMTOOL, ['check', 'config', file]);
    if (!checked.ok) throw new Error(checked.output);
    const child = spawn(PROMETHEUS, [`--config.file=${file}`, `--storage.tsdb.path=${join(this.dir, 'data')}`, `--web.listen-address=127.0.0.1:${this.port}`, '--log.level=warn'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    child.stdout!.on('data', (d) => (this.log += d));
    child.stderr!.on('data', (d) => (this.log += d));
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(100)) {
      if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}:\n${this.log}`);
      if ((await fetch(`${this.url}/-/ready`).catch(() => undefined))?.ok) return;
    }
    throw new Error(`prometheus not ready after 30 s:\n${this.log}`);
  }

  /** An instant query's samples. */
  async query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
    const res = await fetch(`${this.url}/api/v1/query?${new URLSearchParams({ query: expr })}`);
    const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: any[] } };
    if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`);
    return body.data!.resultType === 'scalar' ? [{ metric: {}, value: body.data!.result as unknown as [number, string] }] : body.data!.result;
  }

  async alerts(): Promise<{ labels: Record<string, string>; state: string }[]> {
    return ((await (await fetch(`${this.url}/api/v1/alerts`)).json()) as { data: { alerts: { labels: Record<string, string>; state: string }[] } }).data.alerts;
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describe.runIf(missing.length === 0)('Prometheus in the loop', () => {
  let relay: RelayProcess;
  let prometheus: PrometheusServer;
  let descriptor: EncryptedModelDescriptor;
  let client: TestClient;
  let session: CreatedSession;

  beforeAll(async () => {
    // One worker and a two-task queue: a handful of concurrent steps overloads it.
    relay = new RelayProcess(await freePort(), ['--workers', '1', '--max-queue', '2', '--rate-limit-steps-per-minute', '0', '--log-level', 'warn']);
    prometheus = new PrometheusServer(await freePort());
    // Generous: calibration takes seconds, longer on a busy machine.
    await relay.start(180_000);
    await prometheus.start([metricsTarget(relay)]);
    descriptor = (await (await fetch(`${relay.url}/v1/models/stories260K`)).json()) as EncryptedModelDescriptor;
    client = await TestClient.create(descriptor);
    session = await createSession((path, init) => fetch(`${relay.url}${path}`, init), descriptor.id, client.keysEnvelope());
  });
  afterAll(async () => {
    client?.delete();
    await prometheus?.stop();
    await relay?.stop('SIGTERM');
  });

  it('promtool accepts the rules, their unit tests pass, and the compose Prometheus and Alertmanager configs are valid', () => {
    for (const args of [
      ['check', 'rules', RULES],
      ['test', 'rules', join(monitoring, 'fhe-llm-relay.rules.test.yaml')],
      ['check', 'config', join(monitoring, 'prometheus.yml')],
    ]) {
      const result = tool(PROMTOOL, args);
      expect(result.ok, `promtool ${args.join(' ')}:\n${result.output}`).toBe(true);
    }
    if (existsSync(AMTOOL) || inCi) {
      const result = tool(AMTOOL, ['check-config', join(monitoring, 'alertmanager.yml')]);
      expect(result.ok, `amtool check-config:\n${result.output}`).toBe(true);
    }
  });

  it('scrapes the relay while it serves real encrypted steps', async () => {
    const step = (i: number) => encryptStepRequest(client.client, planModelStep(descriptor, i, 1), [input(descriptor, i)]) as Uint8Array<ArrayBuffer>;
    // Every step of a token once; one answer decrypted and compared with the plaintext model.
    for (let i = 0; i < descriptor.steps.length; i++) {
      const res = await postStep(i, step(i));
      expect(res.status, `step ${i}`).toBe(200);
      if (i === 1) {
        const [y] = decryptStepResponse(client.client, planModelStep(descriptor, 1, 1), 1, new Uint8Array(await res.arrayBuffer()));
        const plaintext = new PlaintextStepRunner(buildSchedule(parseLlama2cCheckpoint(new Uint8Array(readFileSync(new URL('stories260K.bin', modelsDir))))));
        const [want] = await plaintext.runStep(1, [input(descriptor, 1)]);
        expect(Math.max(...y.map((v, j) => Math.abs(v - want[j])))).toBeLessThan(1e-2 * Math.max(1, descriptor.steps[1].bounds.output));
      } else await res.arrayBuffer();
    }
    // Client mistakes, counted by code: a step that does not exist, a wrong session secret.
    expect((await postStep(descriptor.steps.length, step(0))).status).toBe(404);
    expect((await postStep(0, step(0), `${session.id}.${'0'.repeat(64)}`)).status).toBe(401);
    await waitForScrape();
    const [up] = await prometheus.query(`up{job="${RELAY_JOB}"}`);
    expect(up?.value[1]).toBe('1');
    const served = await prometheus.query(`sum(fhe_relay_steps_served_total{job="${RELAY_JOB}"})`);
    expect(Number(served[0]?.value[1])).toBeGreaterThanOrEqual(descriptor.steps.length);
  });

  it('an overloaded relay makes FheRelayOverloaded go pending or firing', async () => {
    // Bounded load: 8 clients replaying one encrypted step for 6 s, 20 ms pause after a refusal.
    const body = encryptStepRequest(client.client, planModelStep(descriptor, 0, 1), [input(descriptor, 0)]) as Uint8Array<ArrayBuffer>;
    const statuses: Record<number, number> = {};
    const until = Date.now() + 6_000;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (Date.now() < until) {
          const res = await postStep(0, body);
          await res.arrayBuffer();
          statuses[res.status] = (statuses[res.status] ?? 0) + 1;
          if (res.status !== 200) await sleep(20);
        }
      }),
    );
    expect(statuses[200], JSON.stringify(statuses)).toBeGreaterThan(0);
    expect(statuses[503], JSON.stringify(statuses)).toBeGreaterThan(0);
    expect(Object.keys(statuses).sort()).toEqual(['200', '503']);
    let state: string | undefined;
    for (const deadline = Date.now() + 20_000; Date.now() < deadline && !state; await sleep(250)) {
      state = (await prometheus.alerts()).find((a) => a.labels.alertname === 'FheRelayOverloaded' && a.labels.instance === metricsTarget(relay))?.state;
    }
    expect(['pending', 'firing']).toContain(state);
    // The autoscaling signal saw the work: tasks queued or running per worker.
    const work = await prometheus.query('fhe_relay:work_per_worker:rate2m');
    expect(Number(work[0]?.value[1])).toBeGreaterThan(0);
  });

  it("every dashboard panel's query returns data from the live Prometheus", async () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
      panels: { type: string; title: string; targets?: { expr: string }[] }[];
      templating: { list: { name: string; type: string; definition?: string }[] };
    };
    // Grafana's variables as the dashboard's "All" selection and a one-minute rate window.
    const expand = (expr: string) => expr.replace(/\$__rate_interval/g, '1m').replace(/\$\{?(job|instance|model)\}?/g, '.*');
    const empty: string[] = [];
    for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
      for (const target of panel.targets ?? []) {
        const samples = await prometheus.query(expand(target.expr));
        // At least one real number: an empty result or only NaN means a misspelled metric or label.
        if (!samples.some((s) => Number.isFinite(Number(s.value[1])))) empty.push(`${panel.title}: ${target.expr}`);
      }
    }
    for (const variable of dashboard.templating.list.filter((v) => v.type === 'query')) {
      const [, selector, label] = /^label_values\((.+),\s*(\w+)\)$/.exec(variable.definition ?? '') ?? [];
      const samples = await prometheus.query(expand(selector ?? 'absent_definition'));
      if (!samples.some((s) => s.metric[label])) empty.push(`variable ${variable.name}: ${variable.definition}`);
    }
    expect(empty).toEqual([]);
  });

  function postStep(step: number, body: Uint8Array<ArrayBuffer>, token = session.token): Promise<Response> {
    return fetch(`${relay.url}/v1/models/${descriptor.id}/steps/${step}`, { method: 'POST', body, headers: bearer(token) });
  }

  /**
   * Until Prometheus has scraped the relay (its discovery hands new targets
   * over only every 5 s, so the first scrape can come late), then two more
   * scrape intervals: what happened is in Prometheus.
   */
  async function waitForScrape(): Promise<void> {
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(250)) {
      if ((await prometheus.query(`up{job="${RELAY_JOB}"}`)).length > 0) break;
    }
    await sleep(2_500);
  }
});

function input(descriptor: EncryptedModelDescriptor, step: number): Float64Array {
  const { dIn, bounds } = descriptor.steps[step];
  return Float64Array.from({ length: dIn }, (_, i) => 0.3 * bounds.input * Math.sin(i + step));
}
