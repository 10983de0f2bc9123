import { describe, expect, it } from 'vitest';
import { Float32Transformer } from './forward.ts';
import { generate, sequentialForwarder } from './generate.ts';
import { Sampler } from './sampler.ts';
import { loadStories260K } from './test-model-files.ts';

const { weights, cases } = loadStories260K();

describe('Float32Transformer + generate (greedy)', () => {
  it.each(cases.map((c) => [JSON.stringify(c.prompt), c] as const))('reproduces next_token_ids of the reference for %s', async (_, c) => {
    const model = sequentialForwarder(new Float32Transformer(weights));
    const result = await generate(model, new Sampler({ temperature: 0 }), c.prompt_token_ids, { steps: c.steps });
    expect(result.nextTokenIds).toEqual(c.next_token_ids);
    expect(result.stoppedAtBos).toBe(false);
  });

  it('gives the same tokens with and without prefill, and forces the prompt when steps end inside it', async () => {
    const c = cases[0];
    const run = (prefill: boolean, steps: number) =>
      generate(sequentialForwarder(new Float32Transformer(weights)), new Sampler({ temperature: 0 }), c.prompt_token_ids, {
        steps,
        prefill,
      });
    expect((await run(false, 20)).nextTokenIds).toEqual(c.next_token_ids.slice(0, 20));
    expect((await run(true, 3)).nextTokenIds).toEqual(c.prompt_token_ids.slice(1, 4));
  });

  it('stops when BOS is sampled', async () => {
    const c = cases[0];
    let calls = 0;
    const bosAfterThree = { sample: (logits: Float32Array) => (++calls === 3 ? 1 : logits.indexOf(Math.max(...logits))) };
    const result = await generate(sequentialForwarder(new Float32Transformer(weights)), bosAfterThree, c.prompt_token_ids, {
      steps: 50,
    });
    expect(result).toEqual({ nextTokenIds: c.next_token_ids.slice(0, c.prompt_token_ids.length + 1), stoppedAtBos: true });
  });

  it('rejects positions beyond seqLen and unknown tokens', () => {
    const model = new Float32Transformer(weights);
    expect(() => model.forward(1, 512)).toThrow(RangeError);
    expect(() => model.forward(512, 0)).toThrow(RangeError);
  });
});
