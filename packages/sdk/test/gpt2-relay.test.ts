import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate, Gpt2Transformer, loadGpt2Folder, memoryFolder, parseTokenizerFile, Sampler, sequentialForwarder, stopTokenOf } from '@fhe-llm/core';
import { vocabularyFor } from '@fhe-llm/core/node';
import { readFileSync } from 'node:fs';
import type { FheLlmClient } from '../src/index.ts';
import { relayWithClient, type RelayProcess } from './relay-process.ts';

// GPT-2 end to end: a Hugging Face GPT2LMHeadModel folder (the tiny random
// fixture, with a byte-level tokenizer.json beside it) served by a real relay
// process, generated through the SDK under CKKS, against GPT-2's plaintext
// forward pass.
describe('GPT-2 through a real relay', () => {
  const fixture = new URL('../../core/test/fixtures/gpt2-tiny/', import.meta.url);
  const dir = mkdtempSync(join(tmpdir(), 'fhe-llm-gpt2-'));
  const weights = loadGpt2Folder(memoryFolder('gpt2-tiny', new Map(['config.json', 'model.safetensors'].map((f) => [f, new Uint8Array(readFileSync(new URL(f, fixture)))])))).weights;
  const tokenizerJson = new TextEncoder().encode(JSON.stringify(vocabularyFor(weights.config.vocabSize).tokenizerJson));
  let relay: RelayProcess;
  let client: FheLlmClient;
  let close: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    for (const f of ['config.json', 'model.safetensors']) copyFileSync(new URL(f, fixture), join(dir, f));
    writeFileSync(join(dir, 'tokenizer.json'), tokenizerJson);
    ({ relay, client, close } = await relayWithClient(['--model', `gpt2-tiny=${dir}`]));
  });
  afterAll(async () => {
    await close?.();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is listed as gpt2 with its client table', async () => {
    const { models } = await (await fetch(`${relay.url}/v1/models`)).json();
    expect(models[0]).toMatchObject({ id: 'gpt2-tiny', architecture: 'gpt2', embedding: 'client', format: 'safetensors' });
    expect((await fetch(`${relay.url}/v1/models/gpt2-tiny/client-table`)).status).toBe(200);
  });

  it('greedy completion equals GPT-2 in plaintext, 2 round trips per layer + 1 per pass', async () => {
    const prompt = 'hello world';
    const tokenizer = parseTokenizerFile(tokenizerJson, weights.config.vocabSize);
    const ids = tokenizer.encode(prompt, { bos: true, eos: false });
    const reference = await generate(sequentialForwarder(new Gpt2Transformer(weights)), new Sampler({ temperature: 0 }), ids, { steps: ids.length + 11, stopTokenId: stopTokenOf(tokenizer) });
    const expected = reference.nextTokenIds.slice(ids.length - 1);
    const completion = await client.completions.create({ model: 'gpt2-tiny', prompt, max_tokens: 12, speculative: false });
    expect(expected.length).toBeGreaterThan(0);
    expect(completion.choices[0].token_ids).toEqual(expected);
    expect(completion.choices[0].finish_reason).toBe(reference.stoppedAtBos ? 'stop' : 'length');
    expect(completion.fhe.round_trips).toBe(5 * completion.usage.passes);
  });
});
