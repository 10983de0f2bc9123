import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CkksClient, CkksContext, DEFAULT_PRESET, LocalFheStepRunner, PlaintextStepRunner, SplitInferenceClient, StepOperators, prepareModel, type PreparedModel } from '../src/index.ts';
import { stories260K } from './model-files.ts';

// A relay under a memory budget: operators that do not fit are encoded on
// use, and the results are the same.
describe('StepOperators under a memory budget', () => {
  let model: PreparedModel;
  let ctx: CkksContext;
  let client: CkksClient;

  beforeAll(async () => {
    model = await prepareModel({ id: 'stories260K', checkpoint: stories260K.checkpoint(), tokenizer: stories260K.tokenizer(), calibrationSteps: 32 });
    ctx = await CkksContext.create(DEFAULT_PRESET);
    client = CkksClient.generate(ctx);
  });
  afterAll(() => {
    client.delete();
    ctx.delete();
  });

  it('pre-encodes only what fits, in first-use order, and evaluates every step like the plaintext model', async () => {
    const unbounded = new StepOperators(ctx, model.descriptor, model.schedule);
    unbounded.warm([1]);
    const full = unbounded.encodedBytes;
    unbounded.delete();

    const budget = Math.floor(full / 3);
    const operators = new StepOperators(ctx, model.descriptor, model.schedule, { memoryBudgetBytes: budget });
    const runner = new LocalFheStepRunner(client, operators);
    try {
      operators.warm([1]);
      expect(operators.encodedBytes).toBeLessThanOrEqual(budget);
      expect(operators.encodedBytes).toBeGreaterThan(0);
      const counts = operators.encodingCounts;
      expect(counts.eager).toBeGreaterThan(0);
      expect(counts.lazy).toBeGreaterThan(0);
      // Real activations: a prompt through the split client, each step checked against its plaintext twin.
      const plain = new PlaintextStepRunner(model.schedule);
      let worst = 0;
      const checked = {
        async runStep(i: number, xs: Float64Array[]) {
          const [got, want] = await Promise.all([runner.runStep(i, xs), plain.runStep(i, xs)]);
          got.forEach((v, t) => v.forEach((y, j) => (worst = Math.max(worst, Math.abs(y - want[t][j]) / model.descriptor.steps[i].bounds.output))));
          return want;
        },
      };
      await new SplitInferenceClient(model.descriptor, checked).forward(model.tokenizer.encode('Once upon a time', { bos: true, eos: false }), 0);
      expect(worst).toBeGreaterThan(0);
      expect(worst).toBeLessThan(1e-4);
    } finally {
      runner.delete();
      operators.delete();
    }
  });
});
