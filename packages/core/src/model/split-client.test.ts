import { describe, expect, it } from 'vitest';
import { generate } from './generate.ts';
import { describeModel, maxRowNorm, validateModelDescriptor } from './model-descriptor.ts';
import { ModelFormatError } from './model-format-error.ts';
import { PlaintextStepRunner } from './plaintext-runner.ts';
import { PrecisionError } from './precision-error.ts';
import { Sampler } from './sampler.ts';
import { buildSchedule } from './schedule.ts';
import { SplitInferenceClient } from './split-client.ts';
import type { StepRunner } from './split-client.ts';
import { StepOutputError } from './step-output-error.ts';
import { loadStories260K } from './test-model-files.ts';

const { weights, cases } = loadStories260K();
const schedule = buildSchedule(weights);
const descriptor = describeModel('stories260K', schedule);

/** Plaintext runner that logs each call's step index and batch size. */
class CountingRunner implements StepRunner {
  readonly calls: Array<{ step: number; batch: number }> = [];
  readonly #inner = new PlaintextStepRunner(schedule);
  runStep(step: number, inputs: Float64Array[], signal?: AbortSignal): Promise<Float64Array[]> {
    this.calls.push({ step, batch: inputs.length });
    return this.#inner.runStep(step, inputs, signal);
  }
}

describe('buildSchedule', () => {
  it('cuts stories260K into 11 single-matmul steps with the planned shapes', () => {
    expect(schedule.steps.map((s) => [s.id, s.kind, s.layer, s.dIn, s.dOut])).toEqual([
      ['embed+qkv0', 'embed', 0, 512, 192],
      ['attn-out+ffn-in0', 'attn-ffn', 0, 128, 408],
      ['ffn-out+qkv1', 'ffn-qkv', 0, 236, 192],
      ['attn-out+ffn-in1', 'attn-ffn', 1, 128, 408],
      ['ffn-out+qkv2', 'ffn-qkv', 1, 236, 192],
      ['attn-out+ffn-in2', 'attn-ffn', 2, 128, 408],
      ['ffn-out+qkv3', 'ffn-qkv', 2, 236, 192],
      ['attn-out+ffn-in3', 'attn-ffn', 3, 128, 408],
      ['ffn-out+qkv4', 'ffn-qkv', 3, 236, 192],
      ['attn-out+ffn-in4', 'attn-ffn', 4, 128, 408],
      ['ffn-out+logits', 'ffn-logits', 4, 236, 576],
    ]);
    for (const s of schedule.steps) expect(s.weight.length).toBe(s.dIn * s.dOut);
  });

  it('publishes a JSON descriptor without weights that validates after a round trip', () => {
    const json = JSON.stringify(
      describeModel(
        'stories260K',
        schedule,
        schedule.steps.map(() => ({ input: 2, output: 3 })),
      ),
    );
    expect(json.length).toBeLessThan(3000);
    expect(validateModelDescriptor(JSON.parse(json)).steps[10].bounds).toEqual({ input: 2, output: 3, rowNorm: maxRowNorm(schedule.steps[10].weight, schedule.steps[10].dIn) });
    const broken = JSON.parse(json);
    broken.steps[3].dOut = 407;
    expect(() => validateModelDescriptor(broken)).toThrow(ModelFormatError);
    // Infinity (uncalibrated) turns into null in JSON and is refused.
    expect(() => validateModelDescriptor(JSON.parse(JSON.stringify(descriptor)))).toThrow(/bounds/);
  });
});

describe('SplitInferenceClient + PlaintextStepRunner', () => {
  it.each(cases.map((c) => [JSON.stringify(c.prompt), c] as const))('greedy generation reproduces next_token_ids for %s, prompt prefilled in one batch', async (_, c) => {
    const runner = new CountingRunner();
    const client = new SplitInferenceClient(descriptor, runner);
    const forwardCalls: number[][] = [];
    const model = {
      forward: (tokens: number[], startPos: number) => {
        forwardCalls.push(tokens);
        return client.forward(tokens, startPos);
      },
    };
    const result = await generate(model, new Sampler({ temperature: 0 }), c.prompt_token_ids, { steps: c.steps });
    expect(result.nextTokenIds).toEqual(c.next_token_ids);

    const perForward = 2 * weights.config.nLayers + 1;
    expect(forwardCalls[0]).toEqual(c.prompt_token_ids);
    expect(forwardCalls).toHaveLength(c.steps - c.prompt_token_ids.length + 1);
    expect(client.roundTrips).toBe(perForward * forwardCalls.length);
    expect(runner.calls).toHaveLength(client.roundTrips);
    // The prefill call sends every prompt token through each step as one batch.
    expect(runner.calls.slice(0, perForward)).toEqual(Array.from({ length: perForward }, (_, step) => ({ step, batch: c.prompt_token_ids.length })));
  });

  it('batches several sequences and rewinds a sequence, matching one-by-one results', async () => {
    const c = cases[0];
    const tokens = [1, ...c.next_token_ids.slice(0, 9)];
    const single = new SplitInferenceClient(descriptor, new PlaintextStepRunner(schedule));
    const expected: Float32Array[] = [];
    for (let i = 0; i < tokens.length; i++) expected.push(...(await single.forward([tokens[i]], i)));

    const client = new SplitInferenceClient(descriptor, new PlaintextStepRunner(schedule));
    const other = client.createCache();
    await client.forwardBatch([{ cache: other, tokens: [1, 2, 3], startPos: 0 }]);
    const [a, b] = await client.forwardBatch([
      { cache: client.cache, tokens: tokens.slice(0, 6), startPos: 0 },
      { cache: other, tokens: tokens.slice(0, 4), startPos: 0 }, // rewinds over [1, 2, 3]
    ]);
    const close = (x: Float32Array, y: Float32Array) => expect(Math.max(...x.map((v, i) => Math.abs(v - y[i])))).toBeLessThan(1e-5);
    a.forEach((logits, i) => close(logits, expected[i]));
    b.forEach((logits, i) => close(logits, expected[i]));
    const [rest] = await client.forwardBatch([{ cache: client.cache, tokens: tokens.slice(6), startPos: 6 }]);
    rest.forEach((logits, i) => close(logits, expected[6 + i]));
    expect(client.roundTrips).toBe(3 * 11);
    await expect(client.forward([5], 11)).rejects.toThrow(RangeError); // gap after position 9
  });

  it('throws PrecisionError instead of sampling from garbage', async () => {
    const bounded = describeModel(
      'stories260K',
      schedule,
      schedule.steps.map(() => ({ input: 10, output: 10 })),
    );
    const inner = new PlaintextStepRunner(schedule);
    const garbage = (bad: number, atStep: number): StepRunner => ({
      async runStep(step, inputs) {
        const out = await inner.runStep(step, inputs);
        if (step === atStep) out[0][7] = bad;
        return out;
      },
    });
    const huge = new SplitInferenceClient(bounded, garbage(1e6, 3));
    const error = await huge.forward([1, 403], 0).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PrecisionError);
    expect(error).toMatchObject({
      code: 'implausible_value',
      stepId: 'attn-out+ffn-in1',
      stepIndex: 3,
      row: 0,
      index: 7,
      value: 1e6,
      bound: 40,
    });
    const nan = new SplitInferenceClient(descriptor, garbage(NaN, 0)); // unbounded still rejects non-finite
    await expect(nan.forward([1], 0)).rejects.toMatchObject({ code: 'implausible_value', value: NaN });
    expect(nan.cache.length).toBe(0);
  });

  it('stops between steps when aborted, leaving the cache length untouched', async () => {
    const controller = new AbortController();
    const inner = new PlaintextStepRunner(schedule);
    const abortAfterTwo: StepRunner = {
      async runStep(step, inputs, signal) {
        if (step === 1) controller.abort();
        return inner.runStep(step, inputs, signal);
      },
    };
    const client = new SplitInferenceClient(descriptor, abortAfterTwo);
    await expect(client.forward([1, 403], 0, controller.signal)).rejects.toMatchObject({ name: 'AbortError' });
    expect(client.roundTrips).toBe(2);
    expect(client.cache.length).toBe(0);
  });

  it('rejects answers of the wrong shape', async () => {
    const short: StepRunner = { runStep: async (_, inputs) => inputs.slice(1).map(() => new Float64Array(192)) };
    await expect(new SplitInferenceClient(descriptor, short).forward([1, 2], 0)).rejects.toBeInstanceOf(StepOutputError);
    const narrow: StepRunner = { runStep: async (_, inputs) => inputs.map(() => new Float64Array(191)) };
    await expect(new SplitInferenceClient(descriptor, narrow).forward([1], 0)).rejects.toMatchObject({
      code: 'wrong_length',
      expected: 192,
      got: 191,
    });
  });
});
