// End to end over a real loopback socket: the relay started as in
// production (it calibrates the bundled model itself), a client that only
// knows the URL, real encryption, greedy decoding of "Once upon a time"
// matching llama2.c's reference tokens.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sampler, SplitInferenceClient, generate, parseLlama2cTokenizer } from '@fhe-llm/core';
import { createLogger } from '../src/logger.ts';
import { Relay } from '../src/relay.ts';
import { connect } from './http-step-runner.ts';
import { referenceCases, testConfig } from './relay-test-kit.ts';

const POSITIONS = 32;
let relay: Relay;

beforeAll(async () => {
  relay = new Relay(testConfig({ port: 0, host: '127.0.0.1' }), { logger: createLogger('silent') });
  await relay.start();
});
afterAll(() => relay?.close());

describe('relay over a socket', () => {
  it(`generates the reference story's first ${POSITIONS} tokens through HTTP with encryption`, async () => {
    expect(relay.port).toBeGreaterThan(0);
    const base = relay.url;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const reference = referenceCases().find((c) => c.prompt === 'Once upon a time')!;
    const { runner, descriptor, close } = await connect(base, 'stories260K');
    try {
      const tokenizerBytes = new Uint8Array(await (await fetch(`${base}/v1/models/stories260K/tokenizer`)).arrayBuffer());
      const tokenizer = parseLlama2cTokenizer(tokenizerBytes, descriptor.config.vocabSize);
      const prompt = tokenizer.encode(reference.prompt, { bos: true, eos: false });
      expect(prompt).toEqual(reference.prompt_token_ids);

      const split = new SplitInferenceClient(descriptor, runner);
      const result = await generate(split, new Sampler({ temperature: 0 }), prompt, { steps: POSITIONS });
      expect(result.nextTokenIds).toEqual(reference.next_token_ids.slice(0, POSITIONS));
      expect(runner.counters.roundTrips).toBe((POSITIONS - prompt.length + 1) * descriptor.steps.length);
    } finally {
      await close();
    }
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/fhe_relay_http_requests_total\{method="POST",route="\/v1\/models\/:id\/steps\/:step",status="200"\} \d+/);
  });
});
