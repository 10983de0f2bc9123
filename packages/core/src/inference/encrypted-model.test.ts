import { describe, expect, it } from 'vitest';
import { BATCHED_PLAN_BYTES, REQUEST_WORK_MS, defaultMaxBatch, defaultMaxVectors } from './encrypted-model.ts';

describe('defaultMaxBatch', () => {
  it('keeps 8-vector groups for small models and single vectors when one plan is gigabytes', () => {
    expect(defaultMaxBatch(15e6)).toBe(8); // stories260K-like: 15 MB of single-vector plaintexts
    expect(defaultMaxBatch(230e6)).toBe(4); // stories15M with its classifier on the client
    expect(defaultMaxBatch(BATCHED_PLAN_BYTES / 2)).toBe(1);
    expect(defaultMaxBatch(3e9)).toBe(1); // GPT-2 small
  });
});

describe('defaultMaxVectors', () => {
  it('keeps 64 vectors per request for small models and fewer as one vector of the costliest step grows', () => {
    expect(defaultMaxVectors(41)).toBe(64); // stories260K's costliest step, as planned
    expect(defaultMaxVectors(102)).toBe(64); // stories15M
    expect(defaultMaxVectors(732)).toBe(8); // GPT-2 small's FFN-out + QKV under ckks-flat-n8192-q120
    expect(defaultMaxVectors(REQUEST_WORK_MS * 2)).toBe(1);
  });

  it('keeps requests of a GPT-2 small step inside the deadline, unless told otherwise', async () => {
    const { describeEncryptedModel } = await import('./encrypted-model.ts');
    const step = { id: 's', kind: 'qkv' as const, layer: 0, dIn: 3840, dOut: 3072, bounds: { output: 16, inputNorm: 100, rowNorm: 3 } };
    const model = { format: 'fhe-llm-model/1', id: 'm', config: {}, normEps: 1e-5, ropeTheta: 1e4, embedding: 'client', architecture: 'gpt2', steps: [step] } as never;
    const d = describeEncryptedModel(model, 'ckks-flat-n8192-q120', { parallelism: 2, msPerUploadByte: 5e-4 });
    expect(d.maxVectors).toBe(8);
    expect(d.maxVectors * d.plans[0].cost.estimatedMs).toBeLessThanOrEqual(REQUEST_WORK_MS);
    expect(describeEncryptedModel(model, 'ckks-flat-n8192-q120', { maxVectors: 32, maxBatch: 1 }).maxVectors).toBe(32);
  });
});

describe('defaultCalibrationSteps', () => {
  it('runs 256 positions per prompt for small models and fewer, down to 32, as they grow', async () => {
    const { defaultCalibrationSteps } = await import('./prepare-model.ts');
    expect(defaultCalibrationSteps(260e3)).toBe(256); // stories260K
    expect(defaultCalibrationSteps(15.2e6)).toBe(128); // stories15M
    expect(defaultCalibrationSteps(124e6)).toBe(32); // GPT-2 small
  });
});

describe("preset 'auto'", () => {
  it('keeps the default for models whose vectors fit its slots and picks the large preset, uploads priced, beyond', async () => {
    const { autoPlanning, LARGE_MODEL_MS_PER_UPLOAD_BYTE, LARGE_MODEL_PRESET } = await import('./prepare-model.ts');
    const { DEFAULT_PRESET } = await import('../seal/presets.ts');
    const { scheduleLayout } = await import('../model/schedule.ts');
    const { gpt2SplitConfig } = await import('../model/gpt2-schedule.ts');
    const shape = (dim: number, hiddenDim: number) => ({ dim, hiddenDim, nLayers: 2, nHeads: 4, nKvHeads: 4, vocabSize: 512, seqLen: 64, headSize: dim / 4, kvDim: dim, sharedClassifier: true });
    expect(autoPlanning(scheduleLayout(shape(64, 172)), 2)).toEqual({ preset: DEFAULT_PRESET }); // stories260K
    expect(autoPlanning(scheduleLayout(shape(288, 768)), 2)).toEqual({ preset: DEFAULT_PRESET }); // stories15M
    const gpt2 = gpt2SplitConfig({ dim: 768, hiddenDim: 3072, nLayers: 12, nHeads: 12, vocabSize: 50257, seqLen: 1024, headSize: 64, normEps: 1e-5 });
    expect(autoPlanning(scheduleLayout(gpt2, 'client', 'gpt2'))).toEqual({ preset: LARGE_MODEL_PRESET, msPerUploadByte: LARGE_MODEL_MS_PER_UPLOAD_BYTE, parallelism: 1 });
    // A relay that shards steps over 2 workers plans them for both.
    expect(autoPlanning(scheduleLayout(gpt2, 'client', 'gpt2'), 2).parallelism).toBe(2);
  });

  it('records the upload price in the descriptor, so client and relay plan alike', async () => {
    const { describeEncryptedModel, planModelStep } = await import('./encrypted-model.ts');
    const step = { id: 's', kind: 'qkv' as const, layer: 0, dIn: 3840, dOut: 3072, bounds: { output: 16, inputNorm: 100, rowNorm: 3 } };
    const model = { format: 'fhe-llm-model/1', id: 'm', config: {}, normEps: 1e-5, ropeTheta: 1e4, embedding: 'client', architecture: 'gpt2', steps: [step] } as never;
    const plain = describeEncryptedModel(model, 'ckks-flat-n8192-q120', { maxVectors: 1 });
    const priced = describeEncryptedModel(model, 'ckks-flat-n8192-q120', { maxVectors: 1, msPerUploadByte: 5e-4 });
    expect(plain.msPerUploadByte).toBeUndefined();
    expect(priced.msPerUploadByte).toBe(5e-4);
    expect(planModelStep(priced, 0, 1)).toEqual(priced.plans[0]);
    expect(priced.plans[0].cost.inputCiphertexts).toBeLessThan(plain.plans[0].cost.inputCiphertexts);
  });
});
