// npm run bench:e2e [-- --tokens 64 --speculative on,off --relay-args="--workers 2" --relay-log FILE --warm-up-tokens 64]
// stories260K greedy generation through a local relay process over HTTP,
// with the SDK in Node (crypto in a worker thread): one JSON line per
// speculation setting. Beside wall-clock tokens/s it reports where the CPU
// went, per generated token: the relay's evaluation-worker CPU time (its
// Server-Timing answers) and the client's CPU (this process: the SDK's
// crypto worker, HTTP and model arithmetic), as the SDK accounts them, and,
// as a cross-check, the CPU the OS charged to the whole relay process
// (HTTP and envelope handling beside its workers). On a 2-core machine where both share the cores, these keep
// the two costs apart. machine_rotate_ms reads this machine's speed before and after
// each run (machine-speed.ts). --relay-log keeps the relay's output, e.g. with RELAY_NODE_ARGS=--trace-gc (relay-process.ts).
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createClient, type ProgressEvent } from '../src/index.ts';
import { freePort, RelayProcess } from '../test/relay-process.ts';
import { rotationMs } from '../../core/bench/machine-speed.ts';
import { processCpuMs } from './process-stats.ts';

const { values } = parseArgs({
  options: {
    tokens: { type: 'string', default: '64' },
    speculative: { type: 'string', default: 'on,off' },
    'relay-args': { type: 'string', default: '' },
    'relay-log': { type: 'string' },
    'warm-up-tokens': { type: 'string', default: '64' },
  },
});
const tokens = Number(values.tokens);
const relay = new RelayProcess(await freePort(), values['relay-args'] ? values['relay-args'].split(' ') : []);
await relay.start();

let keygenStarted = 0;
let keygenMs = 0;
const client = createClient({
  relayUrl: relay.url,
  storage: 'memory',
  onProgress: (e: ProgressEvent) => {
    if (e.phase === 'generating-keys' && e.progress === 0) keygenStarted = performance.now();
    if (e.phase === 'storing-keys' && e.progress === 1) keygenMs = performance.now() - keygenStarted;
  },
});
try {
  await client.ready;
  // Keys, the relay session and the batched plans are set up on first use; measure generation separately. After
  // an 8-token warm-up the first mode measured ran about 10% slower than the same mode run again (both processes'
  // JIT still tiering up, plans met first), so the warm-up is as long as a default run.
  await client.completions.create({ model: 'stories260K', prompt: 'Once upon a time', max_tokens: Number(values['warm-up-tokens']) });
  const setupBytes = (await client.keys.status('stories260K')).evaluationKeyBytes;
  for (const mode of values.speculative.split(',')) {
    const speculative = mode === 'on';
    // This machine's speed (one SEAL rotation, relay idle) just before and after the run: it drifts within minutes.
    const rotateBefore = await rotationMs();
    const relayCpuBefore = processCpuMs(relay.pid);
    const started = performance.now();
    let firstTokenMs = 0;
    const stream = await client.completions.create({ model: 'stories260K', prompt: 'Once upon a time', max_tokens: tokens, speculative, stream: true });
    let count = 0;
    for await (const _ of stream) if (++count === 1) firstTokenMs = performance.now() - started;
    const done = await stream.completion;
    const seconds = (performance.now() - started - firstTokenMs) / 1000;
    const relayProcessMs = processCpuMs(relay.pid) - relayCpuBefore;
    const rotateAfter = await rotationMs();
    const perToken = (x: number) => Number((x / count).toFixed(1));
    console.log(
      JSON.stringify({
        model: 'stories260K',
        preset: (await client.models.list()).find((m) => m.id === 'stories260K')?.preset,
        relay_args: values['relay-args'],
        machine_rotate_ms: { before: rotateBefore, after: rotateAfter },
        speculative,
        tokens: count,
        tokens_per_second: Number(((count - 1) / seconds).toFixed(3)),
        first_token_ms: Math.round(firstTokenMs),
        passes: done.usage.passes,
        tokens_per_pass: done.usage.tokens_per_pass,
        draft_tokens: done.usage.draft_tokens,
        accepted_draft_tokens: done.usage.accepted_draft_tokens,
        relay_cpu_ms_per_token: perToken(done.fhe.relay_cpu_ms),
        client_cpu_ms_per_token: perToken(done.fhe.client_cpu_ms),
        client_crypto_ms_per_token: perToken(done.fhe.client_crypto_ms),
        relay_process_cpu_ms_per_token: perToken(relayProcessMs),
        round_trips_per_token: Number((done.fhe.round_trips / count).toFixed(2)),
        bytes_up_per_token: Math.round(done.fhe.bytes_up / count),
        bytes_down_per_token: Math.round(done.fhe.bytes_down / count),
        setup_bytes: setupBytes,
        keygen_ms: Math.round(keygenMs),
      }),
    );
  }
} finally {
  await client.close();
  if (values['relay-log']) writeFileSync(values['relay-log'], relay.log);
  await relay.end();
}
