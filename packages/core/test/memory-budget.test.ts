import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CkksContext, DEFAULT_PRESET, PlaintextStepRunner, SplitInferenceClient, buildSplitSchedule, planVectorCounts, prepareModel, type PreparedModel, type ScheduleStep } from '../src/index.ts';
import { CkksClient } from '../src/client/index.ts';
import { StepOperators, evaluateGroup } from '../src/server/index.ts';
import { LocalFheStepRunner } from '../src/local/index.ts';
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

  it('drops a matrix only once every plan of its step is pre-encoded, and evaluates the same from the plaintexts alone', async () => {
    // As a relay worker builds it: each step encoded as it is composed (a shard of 2, so some tiles are not held).
    const steps: ScheduleStep[] = [];
    const operators = new StepOperators(ctx, model.descriptor, { steps }, { shard: { index: 1, count: 2 } });
    const lazy = new StepOperators(ctx, model.descriptor, { steps: model.schedule.steps }, { memoryBudgetBytes: 0 });
    try {
      const onStep = (step: ScheduleStep, i: number) => {
        steps[i] = step;
        operators.get(i, 1);
      };
      buildSplitSchedule(model.weights, { precision: 'float32', clientTable: false, onStep });
      expect(model.descriptor.maxBatch).toBeGreaterThan(1);
      // Batched plans are not built yet: nothing may be dropped.
      expect(steps.map((_, i) => operators.releaseIfEncoded(i))).not.toContain(true);
      operators.warm(planVectorCounts(model.descriptor.maxVectors));
      expect(steps.map((_, i) => operators.releaseIfEncoded(i))).not.toContain(false);
      expect(steps.every((s) => s.weight.length === 0)).toBe(true);
      // An operator encoded on use keeps its matrix.
      lazy.warm(planVectorCounts(model.descriptor.maxVectors));
      expect(lazy.releaseIfEncoded(0)).toBe(false);
      expect(model.schedule.steps[0].weight.length).toBe(model.schedule.steps[0].dIn * model.schedule.steps[0].dOut);

      // This worker's tiles, from plaintexts alone, against the plaintext twin (a tile it does not hold fails loudly).
      const [step, n] = steps.flatMap((_, i) => planVectorCounts(model.descriptor.maxVectors).map((v) => [i, v])).find(([i, v]) => operators.get(i, v).plan.outTiles > 1) as number[];
      const { plan, operator } = operators.get(step, n);
      const held = operator.heldTiles;
      expect(held.length).toBeLessThan(plan.outTiles);
      // An input within the step's calibrated norm (the scales are chosen for it; step 0's inputs are one-hot).
      const raw = Float64Array.from({ length: plan.dIn }, (_, j) => Math.sin(j));
      const norm = model.descriptor.steps[step].bounds.inputNorm ?? Math.hypot(...raw);
      const x = raw.map((v) => (v * norm) / Math.hypot(...raw));
      const want = (await new PlaintextStepRunner(model.schedule).runStep(step, [x]))[0];
      const group = { vectors: 1, items: client.encryptVectors(plan, [x]) };
      const keys = ctx.loadGaloisKeys(client.makeGaloisKeys(model.descriptor.galoisSteps), model.descriptor.galoisSteps.length);
      try {
        const tiles = client.decryptSlots(evaluateGroup(operator, keys, group, held));
        let worst = 0;
        held.forEach((r, k) => {
          for (let i = 0; i < plan.tileOut && r * plan.tileOut + i < plan.dOut; i++) worst = Math.max(worst, Math.abs(tiles[k][i] - want[r * plan.tileOut + i]));
        });
        expect(worst).toBeGreaterThan(0);
        expect(worst / model.descriptor.steps[step].bounds.output).toBeLessThan(1e-4);
        const other = Array.from({ length: plan.outTiles }, (_, r) => r).find((r) => !held.includes(r)) as number;
        expect(() => evaluateGroup(operator, keys, group, [other])).toThrow(expect.objectContaining({ code: 'weights_released' }));
      } finally {
        keys.delete();
      }
    } finally {
      operators.delete();
      lazy.delete();
    }
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
