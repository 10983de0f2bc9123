import { describe, expect, it } from 'vitest';
import { decode, perSequenceForwarder, splitBatchForwarder, type BatchForwarder, type DecodeEvent, type DecodeOptions, type PassReport } from './decode.ts';
import { Float32Transformer } from './forward.ts';
import { sequentialForwarder } from './generate.ts';
import { describeModel } from './model-descriptor.ts';
import { PlaintextStepRunner } from './plaintext-runner.ts';
import { Sampler } from './sampler.ts';
import { buildSchedule } from './schedule.ts';
import { SpeculationController } from './speculation-controller.ts';
import { SplitInferenceClient } from './split-client.ts';
import { loadStories260K } from './test-model-files.ts';

const { weights, cases } = loadStories260K();
const schedule = buildSchedule(weights);
const descriptor = describeModel('stories260K', schedule);
const seqLen = weights.config.seqLen;

/** Always sends `k` drafts (when prompt lookup has them), whatever the measured costs. */
class FixedDrafts extends SpeculationController {
  readonly #k: number;
  constructor(k: number) {
    super({ maxDraft: k });
    this.#k = k;
  }
  override draftsFor(): number {
    return this.#k;
  }
}

async function run(forwarder: BatchForwarder, options: DecodeOptions) {
  const events: DecodeEvent[] = [];
  const generator = decode(forwarder, options);
  for (;;) {
    const step = await generator.next();
    if (step.done) return { events, stats: step.value, tokens: (s: number) => events.filter((e) => e.sequence === s && e.token !== undefined).map((e) => e.token!) };
    events.push(step.value);
  }
}

describe('decode: speculative multi-token passes', () => {
  it.each(cases.map((c) => [JSON.stringify(c.prompt), c] as const))('greedy with k = 3 drafts reproduces llama2.c for %s through the split client, in fewer passes', async (_, c) => {
    const generated = c.next_token_ids.slice(c.prompt_token_ids.length - 1);
    const client = new SplitInferenceClient(descriptor, new PlaintextStepRunner(schedule));
    const { stats, tokens, events } = await run(splitBatchForwarder(client, 1), {
      promptTokens: c.prompt_token_ids,
      maxTokens: generated.length,
      seqLen,
      samplers: [new Sampler({ temperature: 0 })],
      speculation: new FixedDrafts(3),
    });
    expect(tokens(0)).toEqual(generated);
    expect(events.at(-1)?.finish).toBe('length');
    expect(stats.tokens).toBe(generated.length);
    // Drafts were sent and some accepted: fewer passes than tokens, 11 round trips per pass.
    expect(stats.draftTokens).toBeGreaterThan(0);
    expect(stats.acceptedDraftTokens).toBeGreaterThan(0);
    expect(stats.passes).toBe(generated.length - stats.acceptedDraftTokens);
    expect(client.roundTrips).toBe(11 * stats.passes);
    // The cache holds exactly the positions that were run and kept.
    expect(client.cache.length).toBe(c.prompt_token_ids.length + generated.length - 1);
  });

  it('without speculation, one pass per token and the same tokens', async () => {
    const c = cases[0];
    const generated = c.next_token_ids.slice(c.prompt_token_ids.length - 1);
    const client = new SplitInferenceClient(descriptor, new PlaintextStepRunner(schedule));
    const { stats, tokens } = await run(splitBatchForwarder(client, 1), {
      promptTokens: c.prompt_token_ids,
      maxTokens: 40,
      seqLen,
      samplers: [new Sampler({ temperature: 0 })],
    });
    expect(tokens(0)).toEqual(generated.slice(0, 40));
    expect(stats).toEqual({ passes: 40, sequencePasses: 40, tokens: 40, draftTokens: 0, acceptedDraftTokens: 0 });
  });

  it('the Float32 reference (llama2.c port) gives the same tokens with rolled-back drafts', async () => {
    const c = cases[0];
    const generated = c.next_token_ids.slice(c.prompt_token_ids.length - 1);
    const { tokens, stats } = await run(perSequenceForwarder([sequentialForwarder(new Float32Transformer(weights))]), {
      promptTokens: c.prompt_token_ids,
      maxTokens: generated.length,
      seqLen,
      samplers: [new Sampler({ temperature: 0 })],
      speculation: new FixedDrafts(2),
    });
    expect(tokens(0)).toEqual(generated);
    expect(stats.draftTokens - stats.acceptedDraftTokens).toBeGreaterThan(0); // some drafts were rolled back
  });

  it('seeded sampling gives the same text with speculation on or off, for two sequences in one batch', async () => {
    const prompt = [1, 403, 407, 261, 378, 403, 407];
    const options = (speculation?: SpeculationController): DecodeOptions => ({
      promptTokens: prompt,
      maxTokens: 48,
      seqLen,
      samplers: [new Sampler({ temperature: 0.8, topp: 0.9, seed: 5 }), new Sampler({ temperature: 1, topp: 0.9, seed: 6 })],
      speculation,
    });
    const plain = await run(splitBatchForwarder(new SplitInferenceClient(descriptor, new PlaintextStepRunner(schedule)), 2), options());
    const client = new SplitInferenceClient(descriptor, new PlaintextStepRunner(schedule));
    const passes: PassReport[] = [];
    const spec = await run(splitBatchForwarder(client, 2), { ...options(new FixedDrafts(3)), onPass: (p) => passes.push(p) });
    // The relay sees k + 1 vectors per sequence whether or not prompt lookup found drafts (padding).
    expect(passes[0]).toMatchObject({ sequences: 2, vectors: 2 * prompt.length, drafts: 0 });
    for (const p of passes.slice(1, 6)) expect(p).toMatchObject({ sequences: 2, vectors: 8, drafts: 6 });
    expect(spec.tokens(0)).toEqual(plain.tokens(0));
    expect(spec.tokens(1)).toEqual(plain.tokens(1));
    expect(spec.tokens(0)).not.toEqual(spec.tokens(1));
    expect(spec.stats.acceptedDraftTokens).toBeGreaterThan(0);
    expect(spec.stats.passes).toBeLessThan(plain.stats.passes);
  });

  it('stops a sequence at BOS and at the model length, and refuses bad prompts', async () => {
    const client = new SplitInferenceClient(descriptor, new PlaintextStepRunner(schedule));
    const forwarder = splitBatchForwarder(client, 1);
    const base = { seqLen, samplers: [new Sampler({ temperature: 0 })], speculation: new FixedDrafts(3) };
    // seqLen bounds the budget: a prompt of seqLen - 2 tokens leaves room for 3 tokens.
    const long = Array.from({ length: seqLen - 2 }, (_, i) => (i === 0 ? 1 : 300 + (i % 7)));
    const { tokens } = await run(forwarder, { ...base, promptTokens: long, maxTokens: 50 });
    expect(tokens(0)).toHaveLength(3);
    await expect(run(forwarder, { ...base, promptTokens: [], maxTokens: 5 })).rejects.toThrow(RangeError);
    await expect(run(forwarder, { ...base, promptTokens: new Array(seqLen + 1).fill(1), maxTokens: 5 })).rejects.toThrow(RangeError);
    // A model that always prefers BOS ends at once, with no token.
    const bos: BatchForwarder = {
      sequences: 1,
      forward: async (requests) => requests.map((r) => r.tokens.map(() => Float32Array.from({ length: 512 }, (_, i) => (i === 1 ? 5 : 0)))),
      truncate: () => undefined,
    };
    const ended = await run(bos, { ...base, promptTokens: [1, 2, 1, 2], maxTokens: 9 });
    expect(ended.events).toEqual([{ sequence: 0, finish: 'stop' }]);
  });
});
