import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelPath } from '@fhe-llm/core/node';
import type { FheLlmClient } from '../src/index.ts';
import { relayWithClient, type RelayProcess } from './relay-process.ts';

const modelsDir = new URL('../../../models/stories260K/', import.meta.url);
const reference = JSON.parse(readFileSync(new URL('reference.json', modelsDir), 'utf8')) as { prompt: string; prompt_token_ids: number[]; next_token_ids: number[] }[];

// The large-vocabulary design on the small model: the relay publishes the
// embedding table, the client looks tokens up itself, CKKS does the rest.
describe('embedding on the client, SDK against a real relay', () => {
  let relay: RelayProcess;
  let client: FheLlmClient;
  let close: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ relay, client, close } = await relayWithClient(['--embedding', 'client']));
  });
  afterAll(async () => close?.());

  it('publishes the table the descriptor implies, with a strong validator', async () => {
    const descriptor = await (await fetch(`${relay.url}/v1/models/stories260K`)).json();
    expect(descriptor.embedding).toBe('client');
    expect(descriptor.steps[0]).toMatchObject({ id: 'qkv0', kind: 'qkv', dIn: 64 });
    const response = await fetch(`${relay.url}/v1/models/stories260K/client-table`);
    expect(response.status).toBe(200);
    const bytes = new Uint8Array(await response.arrayBuffer());
    const { tokenEmbedding, rmsFinal } = loadModelPath(new URL('stories260K.bin', modelsDir).pathname).weights;
    // The token embeddings, then the final RMSNorm gain: the head is tied, so the client computes the logits.
    expect(bytes.length).toBe(tokenEmbedding.byteLength + rmsFinal.byteLength);
    expect(new Float32Array(bytes.buffer, 0, tokenEmbedding.length)).toEqual(tokenEmbedding);
    expect(new Float32Array(bytes.buffer, tokenEmbedding.byteLength)).toEqual(rmsFinal);
    expect(descriptor.steps.at(-1)).toMatchObject({ id: 'ffn-out', kind: 'ffn-out', dOut: 64 });
    const etag = response.headers.get('etag');
    expect(etag).toMatch(/^"[0-9a-f]{64}"$/);
    expect((await fetch(`${relay.url}/v1/models/stories260K/client-table`, { headers: { 'If-None-Match': etag! } })).status).toBe(304);
  });

  it('greedy completion reproduces llama2.c, 11 round trips per pass', async () => {
    const ref = reference.find((c) => c.prompt === 'Once upon a time')!;
    const expected = ref.next_token_ids.slice(ref.prompt_token_ids.length - 1, ref.prompt_token_ids.length - 1 + 24);
    const completion = await client.completions.create({ model: 'stories260K', prompt: ref.prompt, max_tokens: expected.length, speculative: false });
    expect(completion.choices[0].token_ids).toEqual(expected);
    expect(completion.fhe.round_trips).toBe(11 * completion.usage.passes);
  });
});
