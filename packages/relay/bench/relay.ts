// npm run bench:relay [-- --seconds 20] [-- --quick]
// Starts the relay (the real bin, loopback, ephemeral port) as a child
// process, then for 1, 2, 8 and 32 concurrent sessions decodes stories260K
// ("Once upon a time", greedy) through it over HTTP with real encryption.
// One JSON line per level: decode step requests per second, their HTTP
// latency percentiles, the relay's peak resident memory during the level,
// the Galois key bytes each session uploads, the prompt prefill's step
// latency, tokens differing from llama2.c's reference (should be 0), and
// CPU per token: the relay's evaluation-worker time (its Server-Timing
// answers) and the client's (this process: encryption and the model's
// client side for every session), kept apart although they share the cores.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CkksContext, Sampler, SplitInferenceClient, type StepRunner } from '@fhe-llm/core';
import { connect, type HttpStepRunner } from '../test/http-step-runner.ts';
import { referenceCases } from '../test/relay-test-kit.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const secondsFlag = args.indexOf('--seconds');
const WINDOW_MS = 1000 * (secondsFlag >= 0 ? Number(args[secondsFlag + 1]) : quick ? 5 : 15);
const LEVELS = [1, 2, 8, 32];

const bin = fileURLToPath(new URL('../bin/fhe-llm-relay.js', import.meta.url));
const child = spawn(process.execPath, [bin, '--port', '0', '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'inherit'] });
const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

const baseUrl = await new Promise<string>((resolve, reject) => {
  let port = 0;
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (line) => {
    const entry = JSON.parse(line) as { msg?: string; port?: number; workers?: number };
    if (entry.msg === 'listening') port = entry.port!;
    if (entry.msg === 'ready') resolve(`http://127.0.0.1:${port}`);
  });
  child.once('exit', (code) => reject(new Error(`relay exited with ${code} before it was ready`)));
});

/** The relay's resident memory now (Linux /proc; 0 elsewhere). */
function relayRss(): number {
  try {
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** Thrown instead of starting a step after the measuring window: ends a session's loop cleanly. */
class WindowOver extends Error {}

/** Delegates to the HTTP runner until `endsAt`, so only exchanges started inside the window count. */
function windowed(runner: HttpStepRunner): StepRunner & { endsAt: number } {
  return {
    endsAt: Infinity,
    runStep(stepIndex, inputs, signal) {
      if (performance.now() >= this.endsAt) return Promise.reject(new WindowOver());
      return runner.runStep(stepIndex, inputs, signal);
    },
  };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const reference = referenceCases().find((c) => c.prompt === 'Once upon a time')!;
const greedy = new Sampler({ temperature: 0 });
const ctx = await CkksContext.create((await (await fetch(`${baseUrl}/v1/models/stories260K`)).json()).preset);

for (const sessions of LEVELS) {
  const clients = await Promise.all(Array.from({ length: sessions }, () => connect(baseUrl, 'stories260K', ctx)));
  // Warm-up, not measured: each session prefills the prompt (one request per step carrying all five
  // prompt tokens), which also makes both workers deserialize its keys.
  const sequences = await Promise.all(
    clients.map(async ({ runner, descriptor }) => {
      const gate = windowed(runner);
      const split = new SplitInferenceClient(descriptor, gate);
      const logits = await split.forward(reference.prompt_token_ids, 0);
      return { gate, split, token: greedy.sample(logits[logits.length - 1]), pos: reference.prompt_token_ids.length };
    }),
  );
  const prefill = clients.flatMap((c) => c.runner.latencies).sort((a, b) => a - b);
  for (const { runner } of clients) {
    runner.latencies.length = 0;
    runner.counters.roundTrips = 0;
    runner.workerMs = 0;
  }
  const cpuBefore = process.cpuUsage();
  // Measured: steady-state decoding, one token (one vector) per step request, every session at once.
  let peakRss = relayRss();
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, relayRss())), 100);
  const started = performance.now();
  let mismatches = 0;
  await Promise.all(
    sequences.map(async ({ gate, split, token, pos }) => {
      gate.endsAt = started + WINDOW_MS;
      for (;;) {
        if (pos - 1 < reference.next_token_ids.length && token !== reference.next_token_ids[pos - 1]) mismatches++;
        try {
          const [logits] = await split.forward([token], pos);
          token = greedy.sample(logits);
          pos++;
        } catch (error) {
          if (error instanceof WindowOver) return;
          throw error;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  peakRss = Math.max(peakRss, relayRss());
  const latencies = clients.flatMap((c) => c.runner.latencies).sort((a, b) => a - b);
  const steps = clients.reduce((n, c) => n + c.runner.counters.roundTrips, 0);
  const cpu = process.cpuUsage(cpuBefore);
  // One token per forward pass, one request per step per pass.
  const tokens = steps / clients[0].descriptor.steps.length;
  const workerMs = clients.reduce((n, c) => n + c.runner.workerMs, 0);
  console.log(
    JSON.stringify({
      kind: 'relay',
      sessions,
      steps,
      seconds: Number(seconds.toFixed(2)),
      steps_per_second: Number((steps / seconds).toFixed(2)),
      p50_ms: Number(percentile(latencies, 50).toFixed(1)),
      p99_ms: Number(percentile(latencies, 99).toFixed(1)),
      peak_rss_bytes: peakRss,
      key_bytes_per_session: clients[0].keyBytes,
      prefill_p50_ms: Number(percentile(prefill, 50).toFixed(1)),
      token_mismatches: mismatches,
      relay_cpu_ms_per_token: Number((workerMs / tokens).toFixed(1)),
      client_cpu_ms_per_token: Number(((cpu.user + cpu.system) / 1000 / tokens).toFixed(1)),
    }),
  );
  for (const c of clients) await c.close();
}

ctx.delete();
child.kill('SIGTERM');
const code = await exited;
if (code !== 0) {
  console.error(`relay exited with code ${code}`);
  process.exitCode = 1;
}
