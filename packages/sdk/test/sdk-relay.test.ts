import { DEFAULT_PRESET } from '@fhe-llm/core';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { deserialize } from 'node:v8';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type FheLlmClient, type ProgressEvent } from '../src/index.ts';
import { freePort, RelayProcess } from './relay-process.ts';

const reference = JSON.parse(readFileSync(new URL('../../../models/stories260K/reference.json', import.meta.url), 'utf8')) as {
  prompt: string;
  prompt_token_ids: number[];
  next_token_ids: number[];
  text: string;
}[];
const generatedOf = (c: (typeof reference)[number]) => c.next_token_ids.slice(c.prompt_token_ids.length - 1);

// The SDK in Node against a real relay process over HTTP, with real CKKS.
describe('SDK against a real relay', () => {
  let relay: RelayProcess;
  let client: FheLlmClient;
  const progress: ProgressEvent[] = [];

  beforeAll(async () => {
    relay = new RelayProcess(await freePort());
    await relay.start();
    client = createClient({ relayUrl: relay.url, storage: 'memory', onProgress: (e) => progress.push(e), retries: 6 });
    await client.ready;
  });
  afterAll(async () => {
    await client?.close();
    await relay?.kill();
  });

  it('lists the hosted model', async () => {
    const [model] = await client.models.list();
    expect(model).toMatchObject({ id: 'stories260K', object: 'model', preset: DEFAULT_PRESET, roundTripsPerToken: 11 });
  });

  it('greedy completion reproduces llama2.c for "Once upon a time" (124 tokens)', async () => {
    const ref = reference.find((c) => c.prompt === 'Once upon a time')!;
    const completion = await client.completions.create({ model: 'stories260K', prompt: ref.prompt, max_tokens: generatedOf(ref).length });
    expect(completion.choices[0].token_ids).toEqual(generatedOf(ref));
    expect(ref.prompt + completion.choices[0].text).toBe(ref.text);
    expect(completion.choices[0].finish_reason).toBe('length');
    expect(completion.usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 124, total_tokens: 129 });
    // The prompt is prefilled in one pass, then each pass yields its token plus accepted drafts: 11 round trips per pass.
    const { passes, accepted_draft_tokens: accepted, draft_tokens: drafts } = completion.usage;
    expect(passes + accepted).toBe(124);
    expect(accepted).toBeLessThanOrEqual(drafts);
    expect(completion.usage.tokens_per_pass).toBeCloseTo(124 / passes, 2);
    expect(completion.fhe.round_trips).toBe(11 * passes);
    // Cost accounting: the relay's worker time (Server-Timing) and the client's CPU, both measured.
    expect(completion.fhe.relay_cpu_ms).toBeGreaterThan(0);
    expect(completion.fhe.client_crypto_ms).toBeGreaterThan(0);
    expect(completion.fhe.client_cpu_ms).toBeGreaterThanOrEqual(completion.fhe.client_crypto_ms);
    expect(completion.fhe.relay_cpu_ms + completion.fhe.client_cpu_ms).toBeLessThan(2 * completion.fhe.ms);
  });

  it('keeps the embedding table of a small vocabulary on the relay', async () => {
    const response = await fetch(`${relay.url}/v1/models/stories260K/client-table`);
    expect(response.status).toBe(404);
    expect((await response.json()).error.code).toBe('client_table_not_served');
  });

  it('speculative: false runs one pass per token, with the same tokens', async () => {
    const ref = reference.find((c) => c.prompt === 'Once upon a time')!;
    const completion = await client.completions.create({ model: 'stories260K', prompt: ref.prompt, max_tokens: 12, speculative: false });
    expect(completion.choices[0].token_ids).toEqual(generatedOf(ref).slice(0, 12));
    expect(completion.usage).toMatchObject({ passes: 12, tokens_per_pass: 1, draft_tokens: 0, accepted_draft_tokens: 0 });
    expect(completion.fhe.round_trips).toBe(11 * 12);
  });

  it('streaming yields the reference text token by token for the empty prompt', async () => {
    const ref = reference.find((c) => c.prompt === '')!;
    const stream = await client.completions.create({ model: 'stories260K', prompt: '', max_tokens: generatedOf(ref).length, stream: true });
    const pieces: string[] = [];
    for await (const chunk of stream) pieces.push(chunk.choices[0].text);
    expect(pieces.length).toBe(generatedOf(ref).length);
    expect(pieces.join('')).toBe(ref.text);
    expect((await stream.completion).choices[0].token_ids).toEqual(generatedOf(ref));
  });

  it('keys were made once, and sampling with a seed is reproducible', async () => {
    expect(progress.filter((e) => e.phase === 'generating-keys' && e.progress === 0)).toHaveLength(1);
    const params = { model: 'stories260K', prompt: 'The dog', max_tokens: 8, temperature: 0.9, seed: 7 };
    const a = await client.completions.create(params);
    const b = await client.completions.create(params);
    expect(a.choices[0].token_ids).toEqual(b.choices[0].token_ids);
  });

  it('n = 2 sequences share the same ciphertexts and match their single runs', async () => {
    const params = { model: 'stories260K', prompt: 'Once upon a time', max_tokens: 6, temperature: 1, seed: 11 };
    const both = await client.completions.create({ ...params, n: 2 });
    expect(both.choices).toHaveLength(2);
    expect(both.fhe.round_trips).toBe(11 * both.usage.passes);
    const second = await client.completions.create({ ...params, seed: 12 });
    expect(both.choices[1].token_ids).toEqual(second.choices[0].token_ids);
  });

  it('the CLI in relay mode reports the reference tokens, and reuses its stored keys on a second run', async () => {
    const ref = reference.find((c) => c.prompt === 'Once upon a time')!;
    const keyDir = mkdtempSync(join(tmpdir(), 'fhe-llm-cli-keys-'));
    const bin = new URL('../bin/fhe-llm.js', import.meta.url).pathname;
    const run = () => promisify(execFile)(process.execPath, [bin, 'generate', '--relay', relay.url, '--prompt', ref.prompt, '--max-tokens', '4', '--json', '--key-dir', keyDir]);
    const first = JSON.parse((await run()).stdout);
    expect(first.token_ids).toEqual(ref.next_token_ids.slice(0, ref.prompt_token_ids.length - 1 + 4));
    expect(first.round_trips_per_token * 4).toBe(11 * first.passes);
    expect(first.relay_cpu_ms_per_token).toBeGreaterThan(0);
    expect(first.client_cpu_ms_per_token).toBeGreaterThan(0);
    expect(first.bytes_up).toBeGreaterThan(0);
    const ringFile = () => readdirSync(keyDir).find((f) => f.startsWith('ring'))!;
    const createdAt = () => (deserialize(readFileSync(join(keyDir, ringFile()))) as { createdAt: string }).createdAt;
    const made = createdAt();
    const second = JSON.parse((await run()).stdout);
    expect(second.token_ids).toEqual(first.token_ids);
    expect(createdAt()).toBe(made);
  });

  it('abort stops generation within one step', async () => {
    const controller = new AbortController();
    const stream = await client.completions.create({ model: 'stories260K', prompt: 'Once upon a time', max_tokens: 50, stream: true, signal: controller.signal });
    let chunks = 0;
    let abortedAt = 0;
    await expect(
      (async () => {
        for await (const _ of stream) {
          if (++chunks === 3) {
            controller.abort();
            abortedAt = performance.now();
          }
        }
      })(),
    ).rejects.toMatchObject({ name: 'AbortError' });
    expect(chunks).toBe(3);
    expect(performance.now() - abortedAt).toBeLessThan(2_000);
  });

  it('survives a relay restart mid-generation: keys re-uploaded from storage, not regenerated, same tokens', async () => {
    const ref = reference.find((c) => c.prompt === 'Once upon a time')!;
    const uploadsBefore = progress.filter((e) => e.phase === 'uploading-keys' && e.progress === 1).length;
    const stream = await client.completions.create({ model: 'stories260K', prompt: ref.prompt, max_tokens: 24, stream: true });
    const tokens: number[] = [];
    for await (const chunk of stream) {
      tokens.push(chunk.choices[0].token_id!);
      if (tokens.length === 8) {
        await relay.kill();
        await relay.start();
      }
    }
    expect(tokens).toEqual(generatedOf(ref).slice(0, 24));
    expect(progress.filter((e) => e.phase === 'generating-keys' && e.progress === 0)).toHaveLength(1);
    expect(progress.filter((e) => e.phase === 'uploading-keys' && e.progress === 1).length).toBe(uploadsBefore + 1);
  });
});

describe('SDK against a relay that answers garbage', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': req.url?.startsWith('/v1/models/') && !req.url.includes('tokenizer') ? 'application/json' : 'application/octet-stream' });
      res.end(Buffer.from('not what you wanted \x00\xff'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  it('rejects with a typed ProtocolError instead of hanging', async () => {
    const client = createClient({ relayUrl: url, storage: 'memory', timeoutMs: 5_000, retries: 0 });
    try {
      await expect(client.completions.create({ model: 'stories260K', prompt: 'hi', max_tokens: 2 })).rejects.toMatchObject({ name: 'ProtocolError' });
      await expect(client.models.list()).rejects.toMatchObject({ name: 'ProtocolError' });
    } finally {
      await client.close();
    }
  });

  it('a relay that is down gives RelayUnavailableError', async () => {
    const client = createClient({ relayUrl: `http://127.0.0.1:${await freePort()}`, storage: 'memory', retries: 1 });
    try {
      await expect(client.models.list()).rejects.toMatchObject({ name: 'RelayUnavailableError', code: 'relay_unavailable' });
    } finally {
      await client.close();
    }
  });
});
