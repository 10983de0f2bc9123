import { describe, expect, it } from 'vitest';
import { BATCHED_PLAN_BYTES, defaultMaxBatch } from './encrypted-model.ts';

describe('defaultMaxBatch', () => {
  it('keeps 8-vector groups for small models and single vectors when one plan is gigabytes', () => {
    expect(defaultMaxBatch(15e6)).toBe(8); // stories260K-like: 15 MB of single-vector plaintexts
    expect(defaultMaxBatch(230e6)).toBe(4); // stories15M with its classifier on the client
    expect(defaultMaxBatch(BATCHED_PLAN_BYTES / 2)).toBe(1);
    expect(defaultMaxBatch(3e9)).toBe(1); // GPT-2 small
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
