import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeGpt2Model } from './formats/node-write-model.ts';
import { loadSplitModelPath, tokenizerForModel } from './formats/node-model-files.ts';
import { generate } from './generate.ts';
import { Gpt2Transformer, type Gpt2Weights } from './gpt2.ts';
import { buildGpt2Schedule } from './gpt2-schedule.ts';
import { describeModel } from './model-descriptor.ts';
import { PlaintextStepRunner } from './plaintext-runner.ts';
import { Sampler } from './sampler.ts';
import { SplitInferenceClient } from './split-client.ts';
import { syntheticGpt2 } from './synthetic-gpt2.ts';

describe('syntheticGpt2', () => {
  it('writes a GGUF gpt2 file and tokenizer that load back for the relay, with decisive greedy logits', async () => {
    const weights = syntheticGpt2('gpt2-tiny', { seed: 5 });
    const dir = mkdtempSync(join(tmpdir(), 'fhe-llm-synth-gpt2-'));
    try {
      const written = writeGpt2Model(weights, join(dir, 'model.gguf'));
      const loaded = loadSplitModelPath(written.model);
      expect(loaded.architecture).toBe('gpt2');
      const back = loaded.weights as Gpt2Weights;
      expect({ ...back.config, normEps: 0 }).toEqual({ ...weights.config, normEps: 0 });
      expect(back.config.normEps).toBeCloseTo(weights.config.normEps, 9); // a float32 in GGUF
      expect(back.layers[1].wproj).toEqual(weights.layers[1].wproj);
      expect(tokenizerForModel(loaded, written.tokenizer).kind).toBe('hf-json');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // The split schedule's greedy tokens equal GPT-2's, and the top-2 gaps are far above float error.
    const plain = new Gpt2Transformer(weights);
    let minGap = Infinity;
    const recorded = {
      forward: async (t: number[], p: number) =>
        t.map((token, i) => {
          const row = plain.forward(token, p + i);
          const sorted = [...row].sort((a, b) => b - a);
          minGap = Math.min(minGap, sorted[0] - sorted[1]);
          return row;
        }),
    };
    const want = await generate(recorded, new Sampler({ temperature: 0 }), [299, 5, 9], { steps: 24, stopTokenId: 299 });
    const schedule = buildGpt2Schedule(weights);
    const split = new SplitInferenceClient(
      describeModel(
        'g',
        schedule,
        schedule.steps.map(() => ({ input: 1e3, output: 1e3 })),
      ),
      new PlaintextStepRunner(schedule),
      { clientTable: schedule.clientTable },
    );
    const got = await generate(split, new Sampler({ temperature: 0 }), [299, 5, 9], { steps: 24, stopTokenId: 299 });
    expect(got.nextTokenIds).toEqual(want.nextTokenIds);
    expect(minGap).toBeGreaterThan(1e-3);
  });
});
