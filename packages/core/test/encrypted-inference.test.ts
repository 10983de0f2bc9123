import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CkksContext, DEFAULT_PRESET, FLAT_HEADROOM_FACTOR, PlaintextStepRunner, Sampler, SplitInferenceClient, generate, planModelStep, prepareModel, type PreparedModel } from '../src/index.ts';
import { CkksClient } from '../src/client/index.ts';
import { StepOperators } from '../src/server/index.ts';
import { LocalFheStepRunner } from '../src/local/index.ts';
import { stories260K } from './model-files.ts';

// The whole split schedule with real CKKS encryption, no HTTP: the client
// encrypts each step's inputs, the relay's operators evaluate them, the
// client decrypts. Greedy decoding must reproduce llama2.c exactly.
describe('stories260K under the default preset, in process', () => {
  let model: PreparedModel;
  let ctx: CkksContext;
  let client: CkksClient;
  let operators: StepOperators;
  let runner: LocalFheStepRunner;

  beforeAll(async () => {
    model = await prepareModel({ id: 'stories260K', checkpoint: stories260K.checkpoint(), tokenizer: stories260K.tokenizer() });
    ctx = await CkksContext.create(DEFAULT_PRESET);
    client = CkksClient.generate(ctx);
    operators = new StepOperators(ctx, model.descriptor, model.schedule);
    runner = new LocalFheStepRunner(client, operators);
  });
  afterAll(() => {
    runner.delete();
    operators.delete();
    client.delete();
    ctx.delete();
  });

  it('publishes a schedule of 2 x layers + 1 steps whose keys fit in 2 MB', () => {
    const d = model.descriptor;
    expect(d.steps).toHaveLength(2 * d.config.nLayers + 1);
    expect(client.makeGaloisKeys(d.galoisSteps).length).toBeLessThan(2_000_000);
    for (const [i, step] of d.steps.entries()) {
      const plan = planModelStep(d, i, 1);
      expect(step.bounds.output * FLAT_HEADROOM_FACTOR * 2 ** (plan.inputScaleBits + plan.weightScaleBits)).toBeLessThan(2 ** (ctx.preset.dataPrimeBits[0] - 1));
    }
  });

  it('greedy generation of "Once upon a time" matches llama2.c for 64 positions', async () => {
    const ref = stories260K.reference().find((c) => c.prompt === 'Once upon a time')!;
    const split = new SplitInferenceClient(model.descriptor, runner);
    const result = await generate(split, new Sampler({ temperature: 0 }), ref.prompt_token_ids, { steps: 64 });
    expect(result.nextTokenIds).toEqual(ref.next_token_ids.slice(0, 64));
    // Prefill: the 5 prompt tokens cost one forward pass; then one per token.
    expect(runner.counters.roundTrips).toBe(11 * (64 - ref.prompt_token_ids.length + 1));
  });

  it('every step decrypts to its Float64 twin within 1e-3 on a batch of tokens', async () => {
    const plain = new PlaintextStepRunner(model.schedule);
    const ids = model.tokenizer.encode('The cat sat on the mat and looked at the sun', { bos: true, eos: false });
    const oneHots = ids.map((t) => Float64Array.from({ length: 512 }, (_, i) => (i === t ? 1 : 0)));
    expect(planModelStep(model.descriptor, 0, oneHots.length).batch).toBeGreaterThan(1);
    const [got, want] = await Promise.all([runner.runStep(0, oneHots), plain.runStep(0, oneHots)]);
    for (let t = 0; t < ids.length; t++) for (let i = 0; i < want[t].length; i++) expect(Math.abs(got[t][i] - want[t][i])).toBeLessThan(1e-3);
  });
});
