import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTokenizerFile, syntheticLlama } from '@fhe-llm/core';
import { writeModel } from '@fhe-llm/core/node';
import { loadHostedModel, type HostedModel } from '../src/models/hosted-model.ts';
import type { Relay } from '../src/relay.ts';
import { startRelay, testConfig } from './relay-test-kit.ts';

// The relay hosts models in any supported format: a GGUF file and a Hugging
// Face folder carry their own vocabulary, so `--model id=PATH` needs no
// tokenizer; /v1/models says what each model is.

const dir = mkdtempSync(join(tmpdir(), 'fhe-llm-relay-models-'));
const weights = syntheticLlama('tiny', { seed: 11, overrides: { nLayers: 1 } });
const gguf = writeModel(weights, 'gguf-q8_0', join(dir, 'tiny.gguf'));
const hf = writeModel(weights, 'hf', join(dir, 'tiny-hf'));
let relay: Relay;
let models: HostedModel[];

beforeAll(async () => {
  const preset = testConfig().preset;
  models = await Promise.all([loadHostedModel({ id: 'tiny-gguf', checkpoint: gguf.model }, preset), loadHostedModel({ id: 'tiny-hf', checkpoint: hf.model }, preset)]);
  relay = await startRelay(testConfig({ workers: 1 }), { models });
}, 120_000);

afterAll(async () => {
  await relay?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('models in other formats', () => {
  it('/v1/models reports architecture, parameters, vocabulary, format and source', async () => {
    const res = await relay.app.request('/v1/models');
    const body = (await res.json()) as { models: Array<Record<string, unknown>> };
    const byId = new Map(body.models.map((m) => [m.id, m]));
    expect(byId.get('tiny-gguf')).toMatchObject({
      architecture: 'llama',
      parameters: models[0].info.parameters,
      vocabulary: { size: 512, tokenizer: 'llama2c-bin' },
      format: 'gguf',
      source: 'tiny.gguf',
    });
    expect(byId.get('tiny-hf')).toMatchObject({ architecture: 'llama', vocabulary: { size: 512, tokenizer: 'hf-json' }, format: 'safetensors', source: 'tiny-hf' });
    expect(models[0].info.parameters).toBeGreaterThan(512 * 64);
  });

  it('serves each tokenizer in its own format, and both encode alike', async () => {
    const bin = await relay.app.request('/v1/models/tiny-gguf/tokenizer');
    expect(bin.headers.get('content-type')).toBe('application/octet-stream');
    const json = await relay.app.request('/v1/models/tiny-hf/tokenizer');
    expect(json.headers.get('content-type')).toContain('application/json');
    const a = parseTokenizerFile(new Uint8Array(await bin.arrayBuffer()), 512);
    const b = parseTokenizerFile(new Uint8Array(await json.arrayBuffer()), 512);
    expect(b.encode('Once upon a time, a little girl')).toEqual(a.encode('Once upon a time, a little girl'));
  });
});
