// npm run bench:model -- --shape stories15M[,stories110M,...] [--shape gpt2] [--tokens 4]
//   [--prompt "Once upon a time"] [--speculative] [--dir DIR] [--relay-args="--workers 1"]
// A synthetic model of a real shape (seeded weights) served by a real relay
// child process on loopback, generated greedily through the SDK in Node over
// HTTP, against the float32 plaintext reference on the same weights. One JSON
// line per shape: per-token wall time, CPU (relay and client kept apart),
// traffic, keys, the relay's startup (calibration included unless cached)
// and its peak resident memory.
//
// Per-token figures cover decode passes only: a warm-up completion first makes
// the keys and session and has the relay encode the weights of both the
// prompt's and a single token's batch size (it does so on each batch size's
// first request), then the measured completion's round trips after its first
// token (the prompt's prefill) are counted. Without --speculative each of
// those is one pass per token.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  Float32Transformer,
  GPT2_SHAPES,
  Gpt2Transformer,
  gpt2ParameterCount,
  llamaParameterCount,
  parseTokenizerFile,
  SYNTHETIC_SHAPES,
  syntheticGpt2,
  syntheticLlama,
  type Gpt2Shape,
  type SyntheticShape,
} from '@fhe-llm/core';
import { writeGpt2Model, writeModel } from '@fhe-llm/core/node';
import { createClient, type RoundTripEvent } from '../src/index.ts';
import { freePort, RelayProcess } from '../test/relay-process.ts';
import { rotationMs } from '../../core/bench/machine-speed.ts';
import { processCpuMs, sampleRss } from './process-stats.ts';

const { values } = parseArgs({
  options: {
    shape: { type: 'string', multiple: true, default: ['stories15M'] },
    tokens: { type: 'string', default: '4' },
    prompt: { type: 'string', default: 'Once upon a time' },
    speculative: { type: 'boolean', default: false },
    dir: { type: 'string' },
    'relay-args': { type: 'string', default: '' },
  },
});
const shapes = values.shape
  .flatMap((s) => s.split(','))
  .map((s) => s.trim())
  .filter(Boolean);
// GPT-2's names (gpt2, gpt2-medium, gpt2-tiny) run the GPT-2 block itself; the others are LLaMA shapes.
const isGpt2 = (s: string): s is Gpt2Shape => s in GPT2_SHAPES;
for (const s of shapes) if (!(s in SYNTHETIC_SHAPES) && !isGpt2(s)) throw new Error(`--shape must be among ${[...Object.keys(SYNTHETIC_SHAPES), ...Object.keys(GPT2_SHAPES)].join(', ')}, got "${s}"`);
const tokens = Number(values.tokens);
// One token is all prefill: no decode pass to measure.
if (!Number.isInteger(tokens) || tokens < 2) throw new Error(`--tokens must be an integer >= 2, got "${values.tokens}"`);
const SEED = 1;
// Calibration of the larger shapes on a shared 2-core machine can take many minutes.
const STARTUP_TIMEOUT_MS = 60 * 60_000;
// The largest shapes' steps can run for minutes on 2 cores; a benchmark would rather wait than retry.
const CLIENT_TIMEOUT_MS = 30 * 60_000;

/** Cleanup that must also run when the process is interrupted: kill the relay, remove the temp files. */
const pending = { relayPid: undefined as number | undefined, tempDir: undefined as string | undefined };
function cleanUpNow(): void {
  if (pending.relayPid) {
    try {
      process.kill(pending.relayPid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (pending.tempDir) rmSync(pending.tempDir, { recursive: true, force: true });
  pending.relayPid = pending.tempDir = undefined;
}
process.once('exit', cleanUpNow);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    cleanUpNow();
    process.exit(130);
  });
}

interface Reference {
  tokens: number[];
  /** Smallest gap between the two largest logits at a generated token: how close greedy was to a tie. */
  minTop2Gap: number;
}

/** Greedy tokens of the float32 plaintext model after `promptIds`. */
function greedyReference(model: { forward(token: number, pos: number): Float32Array }, promptIds: number[], count: number): Reference {
  let logits: Float32Array = new Float32Array();
  promptIds.forEach((token, pos) => (logits = model.forward(token, pos)));
  const out: number[] = [];
  let minTop2Gap = Infinity;
  for (let pos = promptIds.length; out.length < count; pos++) {
    let best = 0;
    let second = -Infinity;
    for (let i = 1; i < logits.length; i++) {
      if (logits[i] > logits[best]) [second, best] = [logits[best], i];
      else if (logits[i] > second) second = logits[i];
    }
    minTop2Gap = Math.min(minTop2Gap, logits[best] - second);
    out.push(best);
    if (out.length < count) logits = model.forward(best, pos);
  }
  return { tokens: out, minTop2Gap };
}

/**
 * Writes the shape's synthetic model (llama2.c file, streamed chunk by chunk,
 * and its tokenizer) into `dir` and runs the plaintext reference, so the
 * weights can be collected before the relay starts.
 */
function prepareShape(shape: SyntheticShape | Gpt2Shape, dir: string) {
  const started = performance.now();
  const gpt2 = isGpt2(shape) ? syntheticGpt2(shape, { seed: SEED }) : undefined;
  const llama = isGpt2(shape) ? undefined : syntheticLlama(shape, { seed: SEED });
  const paths = gpt2 ? writeGpt2Model(gpt2, join(dir, `${shape}.gguf`)) : writeModel(llama!, 'llama2c', join(dir, `${shape}.bin`));
  const vocabSize = (gpt2 ?? llama)!.config.vocabSize;
  const writeS = (performance.now() - started) / 1000;
  const tokenizer = parseTokenizerFile(new Uint8Array(readFileSync(paths.tokenizer!)), vocabSize);
  const promptIds = tokenizer.encode(values.prompt, { bos: true, eos: false });
  const referenceStarted = performance.now();
  const reference = greedyReference(gpt2 ? new Gpt2Transformer(gpt2) : new Float32Transformer(llama!), promptIds, tokens);
  const params = gpt2 ? gpt2ParameterCount(gpt2.config) : llamaParameterCount(llama!.config);
  return { params, architecture: gpt2 ? 'gpt2' : 'llama', paths, promptIds, reference, writeS, referenceS: (performance.now() - referenceStarted) / 1000 };
}

/** The relay's calibration state for `model`, from its info-level "ready" log line. */
function calibrationState(log: string, model: string): string | undefined {
  for (const line of log.split('\n')) {
    try {
      const entry = JSON.parse(line) as { msg?: string; calibration?: Record<string, string> };
      if (entry.msg === 'ready') return entry.calibration?.[model];
    } catch {
      // not a JSON log line
    }
  }
  return undefined;
}

const round = (x: number, digits = 1) => Number(x.toFixed(digits));
const ownCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function benchShape(shape: SyntheticShape | Gpt2Shape): Promise<Record<string, unknown>> {
  const dir = values.dir ? resolve(values.dir) : mkdtempSync(join(tmpdir(), `fhe-llm-bench-${shape}-`));
  if (!values.dir) pending.tempDir = dir;
  const prepared = prepareShape(shape, dir);
  const relayArgs = [
    '--model',
    `${shape}=${prepared.paths.model}:${prepared.paths.tokenizer}`,
    // Override the helper's fixed test settings with the relay's defaults; info for the "ready" line.
    '--workers',
    String(availableParallelism()),
    '--log-level',
    'info',
    ...(values['relay-args'] ? values['relay-args'].split(' ') : []),
  ];
  const relay = new RelayProcess(await freePort(), relayArgs);
  const rss = sampleRss(() => relay.pid);
  const roundTrips: RoundTripEvent[] = [];
  const client = createClient({ relayUrl: relay.url, storage: 'memory', timeoutMs: CLIENT_TIMEOUT_MS, onRoundTrip: (e) => roundTrips.push(e) });
  try {
    const spawned = performance.now();
    const starting = relay.start(STARTUP_TIMEOUT_MS);
    pending.relayPid = relay.pid;
    await starting;
    const startupS = (performance.now() - spawned) / 1000;
    // The log line and the /readyz answer travel separately: give the line a moment to arrive.
    let calibration = calibrationState(relay.log, shape);
    for (let i = 0; i < 20 && calibration === undefined; i++) {
      await new Promise((r) => setTimeout(r, 100));
      calibration = calibrationState(relay.log, shape);
    }
    const rssAfterStartup = rss.peakMb();

    await client.ready;
    const setupStarted = performance.now();
    await client.completions.create({ model: shape, prompt: values.prompt, max_tokens: 2, speculative: values.speculative });
    const warmUpS = (performance.now() - setupStarted) / 1000;
    const keyBytes = (await client.keys.status(shape)).evaluationKeyBytes;
    const model = (await client.models.list()).find((m) => m.id === shape);

    // This machine's speed (one rotation at the default preset, relay idle) around the measured run (machine-speed.ts).
    const rotateBefore = await rotationMs();
    roundTrips.length = 0;
    const started = performance.now();
    const stream = await client.completions.create({ model: shape, prompt: values.prompt, max_tokens: tokens, speculative: values.speculative, stream: true });
    let mark = { ms: 0, roundTrips: 0, clientCpuMs: 0, relayProcessCpuMs: 0 };
    for await (const chunk of stream) {
      // The first token ends the prefill; everything after it is decoding.
      if (chunk.choices[0].token_id !== undefined && mark.ms === 0) {
        mark = { ms: performance.now(), roundTrips: roundTrips.length, clientCpuMs: ownCpuMs(), relayProcessCpuMs: processCpuMs(relay.pid) };
      }
    }
    const ended = performance.now();
    const done = await stream.completion;
    const relayProcessCpuMs = processCpuMs(relay.pid) - mark.relayProcessCpuMs;
    const clientCpuMs = ownCpuMs() - mark.clientCpuMs;
    const rotateAfter = await rotationMs();
    const generated = done.choices[0].token_ids;
    const decoded = Math.max(1, generated.length - 1);
    const decodeTrips = roundTrips.slice(mark.roundTrips);
    const sum = (key: 'bytesUp' | 'bytesDown' | 'relayMs') => decodeTrips.reduce((total, e) => total + e[key], 0);
    const samePrompt = JSON.stringify(done.fhe.prompt_token_ids) === JSON.stringify(prepared.promptIds);
    return {
      bench: 'model',
      shape,
      architecture: prepared.architecture,
      params: prepared.params,
      preset: model?.preset,
      seed: SEED,
      machine_rotate_ms: { before: rotateBefore, after: rotateAfter },
      speculative: values.speculative,
      relay_args: values['relay-args'],
      prompt_tokens: prepared.promptIds.length,
      tokens: generated.length,
      decode_tokens_measured: decoded,
      seconds_per_token: round((ended - mark.ms) / 1000 / decoded, 3),
      first_token_s: round((mark.ms - started) / 1000, 2),
      relay_cpu_ms_per_token: round(sum('relayMs') / decoded),
      relay_process_cpu_ms_per_token: round(relayProcessCpuMs / decoded),
      // Per step kind (the step id without its layer number): which steps a token's relay CPU goes to.
      relay_cpu_ms_per_token_by_step: byStepKind(decodeTrips, decoded),
      client_cpu_ms_per_token: round(clientCpuMs / decoded),
      round_trips_per_token: round(decodeTrips.length / decoded, 2),
      bytes_up_per_token: Math.round(sum('bytesUp') / decoded),
      bytes_down_per_token: Math.round(sum('bytesDown') / decoded),
      key_bytes: keyBytes,
      relay_peak_rss_mb: rss.peakMb(),
      relay_rss_after_startup_mb: rssAfterStartup,
      startup_s: round(startupS, 2),
      calibration_cached: calibration === undefined ? null : calibration === 'cached',
      warm_up_s: round(warmUpS, 2),
      tokens_match_plaintext: samePrompt && JSON.stringify(generated) === JSON.stringify(prepared.reference.tokens.slice(0, generated.length)),
      token_ids: generated,
      plaintext_token_ids: prepared.reference.tokens,
      plaintext_min_top2_gap: round(prepared.reference.minTop2Gap, 5),
      // The SDK's public API returns tokens, not logits: no logit error from here (bench:synthetic has it in-process).
      max_logit_error: null,
      write_s: round(prepared.writeS, 2),
      plaintext_s: round(prepared.referenceS, 2),
      relay_workers: Number(relayArgs[relayArgs.lastIndexOf('--workers') + 1]),
    };
  } catch (error) {
    // What the relay said is usually the explanation (a worker replaced, out of memory, ...).
    const said = relay.log.split('\n').filter((line) => line.trim() && !line.includes('"route":"/readyz"'));
    throw new Error(`${(error as Error).message}\nrelay log (last lines):\n${said.slice(-15).join('\n')}`);
  } finally {
    rss.stop();
    await client.close();
    await relay.kill();
    pending.relayPid = undefined;
    if (!values.dir) rmSync(dir, { recursive: true, force: true });
    pending.tempDir = undefined;
  }
}

let failed = false;
for (const shape of shapes as (SyntheticShape | Gpt2Shape)[]) {
  try {
    console.log(JSON.stringify(await benchShape(shape)));
  } catch (error) {
    failed = true;
    console.log(
      JSON.stringify({
        bench: 'model',
        shape,
        error: (error as Error).message
          .split('\n')
          .filter((line) => !line.includes('"route":"/readyz"'))
          .join('\n')
          .slice(-3000),
      }),
    );
  }
}
process.exitCode = failed ? 1 : 0;

/** Relay CPU per token by step kind ("attn-out+ffn-in", "ffn-out+qkv", ...), wall milliseconds beside it. */
function byStepKind(trips: readonly RoundTripEvent[], tokens: number): Record<string, { relay_cpu_ms: number; wall_ms: number }> {
  const out: Record<string, { relay_cpu_ms: number; wall_ms: number }> = {};
  for (const trip of trips) {
    const kind = trip.stepId.replace(/\d+$/, '');
    const entry = (out[kind] ??= { relay_cpu_ms: 0, wall_ms: 0 });
    entry.relay_cpu_ms += trip.relayMs / tokens;
    entry.wall_ms += trip.ms / tokens;
  }
  for (const entry of Object.values(out)) [entry.relay_cpu_ms, entry.wall_ms] = [Math.round(entry.relay_cpu_ms), Math.round(entry.wall_ms)];
  return out;
}
