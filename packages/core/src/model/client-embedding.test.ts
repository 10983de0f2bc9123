import { describe, expect, it } from 'vitest';
import { generate } from './generate.ts';
import { describeModel, validateModelDescriptor } from './model-descriptor.ts';
import { ModelFormatError } from './model-format-error.ts';
import { PlaintextStepRunner } from './plaintext-runner.ts';
import { Sampler } from './sampler.ts';
import { buildSchedule, embeddingPlacementFor, RELAY_EMBEDDING_MAX_VOCAB } from './schedule.ts';
import { SplitInferenceClient } from './split-client.ts';
import { loadStories260K } from './test-model-files.ts';

const { weights, cases } = loadStories260K();
const onClient = buildSchedule(weights, { embedding: 'client' });
const onRelay = buildSchedule(weights, { embedding: 'relay' });

describe('embedding on the client', () => {
  it('makes step 0 a dim -> qkv map, moves the tied classifier to the client, and leaves the layers as they were', () => {
    const { dim, kvDim, hiddenDim, vocabSize } = weights.config;
    expect(onClient.embedding).toBe('client');
    // The token embeddings, then the final RMSNorm gain: the client computes the logits (the head is tied).
    expect(onClient.clientTable!.subarray(0, vocabSize * dim)).toEqual(weights.tokenEmbedding);
    expect(onClient.clientTable!.subarray(vocabSize * dim)).toEqual(weights.rmsFinal);
    const first = onClient.steps[0];
    const last = onClient.steps[onClient.steps.length - 1];
    expect([first.id, first.kind, first.dIn, first.dOut]).toEqual(['qkv0', 'qkv', dim, dim + 2 * kvDim]);
    expect([last.id, last.kind, last.dIn, last.dOut]).toEqual(['ffn-out', 'ffn-out', dim + hiddenDim, dim]);
    expect(first.weight.length).toBe(first.dIn * first.dOut);
    onClient.steps.slice(1, -1).forEach((s, i) => expect(s.weight).toEqual(onRelay.steps[i + 1].weight));
    // The last step keeps only the residual rows of the one-hot schedule's last step.
    expect(last.weight).toEqual(onRelay.steps[onRelay.steps.length - 1].weight.subarray(0, dim * (dim + hiddenDim)));
    expect(onRelay.clientTable).toBeUndefined();
  });

  it('is chosen automatically above RELAY_EMBEDDING_MAX_VOCAB tokens, and on request', () => {
    expect(embeddingPlacementFor(weights.config)).toBe('relay'); // stories260K: 512 tokens
    expect(embeddingPlacementFor({ ...weights.config, vocabSize: RELAY_EMBEDDING_MAX_VOCAB + 1 })).toBe('client');
    expect(embeddingPlacementFor({ ...weights.config, vocabSize: 32_000 }, 'relay')).toBe('relay');
  });

  it('reproduces the reference tokens with the same round trips per forward', async () => {
    const descriptor = describeModel('stories260K', onClient);
    for (const c of cases) {
      const client = new SplitInferenceClient(descriptor, new PlaintextStepRunner(onClient), { clientTable: onClient.clientTable });
      const result = await generate(client, new Sampler({ temperature: 0 }), c.prompt_token_ids, { steps: c.steps });
      expect(result.nextTokenIds).toEqual(c.next_token_ids);
      expect(client.roundTrips % (2 * weights.config.nLayers + 1)).toBe(0);
    }
  });

  it('gives the same logits as the one-hot step (Float64 twins of each other)', async () => {
    const tokens = cases[0].prompt_token_ids;
    const viaClient = await new SplitInferenceClient(describeModel('c', onClient), new PlaintextStepRunner(onClient), { clientTable: onClient.clientTable }).forward(tokens, 0);
    const viaRelay = await new SplitInferenceClient(describeModel('r', onRelay), new PlaintextStepRunner(onRelay)).forward(tokens, 0);
    viaClient.forEach((row, p) => row.forEach((v, i) => expect(Math.abs(v - viaRelay[p][i])).toBeLessThan(1e-4)));
  });

  it('refuses a client without the table, or with a table of the wrong size', () => {
    const descriptor = describeModel('stories260K', onClient);
    const runner = new PlaintextStepRunner(onClient);
    expect(() => new SplitInferenceClient(descriptor, runner)).toThrow(/clientTable needs/);
    expect(() => new SplitInferenceClient(descriptor, runner, { clientTable: new Float32Array(10) })).toThrow(/got 10/);
  });

  it('is part of the descriptor, validated against the step layout', () => {
    const json = JSON.parse(
      JSON.stringify(
        describeModel(
          'stories260K',
          onClient,
          onClient.steps.map(() => ({ input: 2, output: 3 })),
        ),
      ),
    );
    expect(validateModelDescriptor(json).embedding).toBe('client');
    expect(() => validateModelDescriptor({ ...json, embedding: 'relay' })).toThrow(ModelFormatError);
    expect(() => validateModelDescriptor({ ...json, embedding: 'browser' })).toThrow(/embedding/);
    const { embedding: _omitted, ...legacy } = JSON.parse(
      JSON.stringify(
        describeModel(
          'stories260K',
          onRelay,
          onRelay.steps.map(() => ({ input: 2, output: 3 })),
        ),
      ),
    );
    expect(validateModelDescriptor(legacy).steps[0].kind).toBe('embed'); // descriptors from before the field
  });
});
