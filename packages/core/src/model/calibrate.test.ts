import { describe, expect, it } from 'vitest';
import { calibrateBounds } from './calibrate.ts';
import { generate } from './generate.ts';
import { describeModel, validateModelDescriptor } from './model-descriptor.ts';
import { PlaintextStepRunner } from './plaintext-runner.ts';
import { Sampler } from './sampler.ts';
import { buildSchedule } from './schedule.ts';
import { SplitInferenceClient } from './split-client.ts';
import { loadStories260K } from './test-model-files.ts';

const { weights, tokenizer, cases } = loadStories260K();
const schedule = buildSchedule(weights);

const PROMPTS = [
  'Once upon a time',
  '',
  'Lily and Tom went to the park',
  'Café ☕ naïve 😀 über straße 日本語 {}[]<>|~ 12345 !!!', // off-distribution text
];

describe('calibrateBounds', () => {
  it('reports progress in positions, rising to the total', async () => {
    const seen: [number, number][] = [];
    await calibrateBounds(schedule, [tokenizer.encode('Once upon a time'), tokenizer.encode('')], { steps: 12, onProgress: (done, total) => seen.push([done, total]) });
    expect(seen.every(([, total]) => total === 24)).toBe(true);
    expect(seen.map(([done]) => done)).toEqual([...seen.map(([done]) => done)].sort((a, b) => a - b));
    expect(seen.at(-1)).toEqual([24, 24]);
    expect(seen.length).toBeGreaterThan(4);
  });

  it('records per-step ranges of stories260K that fit the CKKS headroom', async () => {
    const samples = PROMPTS.map((p) => tokenizer.encode(p));
    const greedy = await calibrateBounds(schedule, samples);
    // Greedy stories often end early (BOS); sampled ones wander further from typical activations.
    const sampled = await calibrateBounds(schedule, samples, {
      sampler: new Sampler({ temperature: 1.2, topp: 1, seed: 1 }),
      steps: 256,
    });
    const bounds = greedy.bounds.map((g, i) => ({
      input: Math.max(g.input, sampled.bounds[i].input),
      output: Math.max(g.output, sampled.bounds[i].output),
    }));
    console.log(
      'stories260K step bounds (max |value| x1.5):\n' +
        schedule.steps.map((s, i) => `  ${String(i).padStart(2)} ${s.id.padEnd(18)} in ${bounds[i].input.toFixed(2).padStart(6)}  out ${bounds[i].output.toFixed(2).padStart(6)}`).join('\n'),
    );
    expect(greedy.bounds[0].input).toBe(1.5); // one-hot input
    for (const b of bounds) {
      expect(b.input).toBeGreaterThan(0);
      expect(b.output).toBeGreaterThan(0);
      expect(Math.max(b.input, b.output)).toBeLessThan(256);
    }

    // A calibrated descriptor survives JSON and its checks do not trip on the reference.
    const descriptor = validateModelDescriptor(JSON.parse(JSON.stringify(describeModel('stories260K', schedule, bounds))));
    const client = new SplitInferenceClient(descriptor, new PlaintextStepRunner(schedule));
    const c = cases[0];
    const result = await generate(client, new Sampler({ temperature: 0 }), c.prompt_token_ids, { steps: c.steps });
    expect(result.nextTokenIds).toEqual(c.next_token_ids);
  });
});
