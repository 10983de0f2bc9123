// npm run bench:e2e [-- --tokens 64 --relay-workers 2 --parallelism 1]
// stories260K greedy generation through a local relay process over HTTP,
// with the SDK in Node (crypto in a worker thread), printed as one JSON line.
import { DEFAULT_PRESET } from '@fhe-llm/core';
import { parseArgs } from 'node:util';
import { createClient, type ProgressEvent } from '../src/index.ts';
import { freePort, RelayProcess } from '../test/relay-process.ts';

const { values } = parseArgs({ options: { tokens: { type: 'string', default: '64' }, 'relay-args': { type: 'string', default: '' } } });
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
  // Keys and the relay session are set up on first use; measure generation separately.
  await client.completions.create({ model: 'stories260K', prompt: '', max_tokens: 1 });
  const started = performance.now();
  let firstTokenMs = 0;
  const stream = await client.completions.create({ model: 'stories260K', prompt: 'Once upon a time', max_tokens: tokens, stream: true });
  let count = 0;
  for await (const _ of stream) if (++count === 1) firstTokenMs = performance.now() - started;
  const done = await stream.completion;
  const setupBytes = (await client.keys.status('stories260K')).evaluationKeyBytes;
  const seconds = (performance.now() - started - firstTokenMs) / 1000;
  console.log(
    JSON.stringify({
      model: 'stories260K',
      preset: DEFAULT_PRESET,
      relay_args: values['relay-args'],
      tokens: count,
      tokens_per_second: Number(((count - 1) / seconds).toFixed(3)),
      first_token_ms: Math.round(firstTokenMs),
      round_trips_per_token: done.fhe.round_trips / count,
      bytes_up_per_token: Math.round(done.fhe.bytes_up / count),
      bytes_down_per_token: Math.round(done.fhe.bytes_down / count),
      setup_bytes: setupBytes,
      keygen_ms: Math.round(keygenMs),
    }),
  );
} finally {
  await client.close();
  await relay.kill();
}
