import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadGpt2Folder, memoryFolder } from './formats/load-model.ts';
import { Gpt2Transformer } from './gpt2.ts';
import { buildGpt2Schedule, gpt2ClientTableLayout } from './gpt2-schedule.ts';
import { describeModel, validateModelDescriptor } from './model-descriptor.ts';
import { PlaintextStepRunner } from './plaintext-runner.ts';
import { SplitInferenceClient } from './split-client.ts';

// The GPT-2 split schedule against GPT-2's own forward pass (the Float64 twin
// that already matches an independent NumPy implementation, gpt2.test.ts).
const dir = new URL('../../test/fixtures/gpt2-tiny/', import.meta.url);
const files = new Map(['config.json', 'model.safetensors'].map((f) => [f, new Uint8Array(readFileSync(new URL(f, dir)))]));
const reference = JSON.parse(readFileSync(new URL('reference.json', dir), 'utf8')) as { tokens: number[] };
const weights = loadGpt2Folder(memoryFolder('gpt2-tiny', files)).weights;
const schedule = buildGpt2Schedule(weights);

describe('GPT-2 split schedule', () => {
  it('has LLaMA round trips (2 per layer + 1) with a one-matrix MLP and the client table GPT-2 needs', () => {
    const { dim, hiddenDim, vocabSize, seqLen, nLayers } = weights.config;
    expect(schedule.steps.map((s) => [s.id, s.kind, s.dIn, s.dOut])).toEqual([
      ['qkv0', 'qkv', dim, 3 * dim],
      ['attn-out+ffn-in0', 'attn-ffn', 2 * dim, dim + hiddenDim],
      ['ffn-out+qkv1', 'ffn-qkv', dim + hiddenDim, 4 * dim],
      ['attn-out+ffn-in1', 'attn-ffn', 2 * dim, dim + hiddenDim],
      ['ffn-out', 'ffn-out', dim + hiddenDim, dim], // the tied head runs on the client
    ]);
    expect(schedule.clientTable!.length).toBe(vocabSize * dim + seqLen * dim + nLayers * (5 * dim + hiddenDim) + 2 * dim);
    expect(gpt2ClientTableLayout(schedule.config).length).toBe(schedule.clientTable!.length);
  });

  it('gives GPT-2 logits at every position, prompt prefilled as one batch (Float64 twin)', async () => {
    const descriptor = validateModelDescriptor(
      JSON.parse(
        JSON.stringify(
          describeModel(
            'gpt2-tiny',
            schedule,
            schedule.steps.map(() => ({ input: 1e3, output: 1e3 })),
          ),
        ),
      ),
    );
    expect(descriptor).toMatchObject({ architecture: 'gpt2', embedding: 'client' });
    const split = new SplitInferenceClient(descriptor, new PlaintextStepRunner(schedule), { clientTable: schedule.clientTable });
    const plain = new Gpt2Transformer(weights);
    const tokens = reference.tokens;
    const got = [...(await split.forward(tokens.slice(0, 4), 0))];
    for (let p = 4; p < tokens.length; p++) got.push(...(await split.forward([tokens[p]], p)));
    tokens.forEach((t, p) => {
      const want = plain.forward(t, p);
      let err = 0;
      want.forEach((v, i) => (err = Math.max(err, Math.abs(v - got[p][i]))));
      expect(err, `position ${p}`).toBeLessThan(1e-4);
    });
    expect(split.roundTrips).toBe(5 * (tokens.length - 3));
  });

  it('a gpt2 descriptor must embed on the client and carry its whole table', () => {
    const json = JSON.parse(
      JSON.stringify(
        describeModel(
          'gpt2-tiny',
          schedule,
          schedule.steps.map(() => ({ input: 1e3, output: 1e3 })),
        ),
      ),
    );
    expect(() => validateModelDescriptor({ ...json, embedding: 'relay' })).toThrow();
    expect(() => validateModelDescriptor({ ...json, architecture: 'bert' })).toThrow(/architecture/);
    expect(() => new SplitInferenceClient(json, new PlaintextStepRunner(schedule), { clientTable: weights.tokenEmbedding })).toThrow(/clientTable needs/);
  });
});
