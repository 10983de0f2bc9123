import { describe, expect, it } from 'vitest';
import { stories260K } from '../../test/model-files.ts';
import type { StepBounds } from '../model/model-descriptor.ts';
import { calibrationKey, type CalibrationCache } from './calibration-cache.ts';
import { prepareModel } from './prepare-model.ts';

function memoryCache() {
  const entries = new Map<string, StepBounds[]>();
  const cache: CalibrationCache = {
    read: async (key) => entries.get(key),
    write: async (key, bounds) => void entries.set(key, [...bounds]),
  };
  return { cache, entries };
}

describe('calibration cache', () => {
  it('keys by the files and the settings', async () => {
    const a = Uint8Array.of(1, 2, 3);
    const key = await calibrationKey([a, Uint8Array.of(4)], { steps: 8 });
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(await calibrationKey([a, Uint8Array.of(4)], { steps: 8 })).toBe(key);
    expect(await calibrationKey([a, Uint8Array.of(5)], { steps: 8 })).not.toBe(key);
    expect(await calibrationKey([a, Uint8Array.of(4)], { steps: 9 })).not.toBe(key);
    // File boundaries count: [1,2,3],[4] is not [1,2],[3,4].
    expect(await calibrationKey([Uint8Array.of(1, 2), Uint8Array.of(3, 4)], { steps: 8 })).not.toBe(key);
  });

  it('a second start-up reuses the bounds; other settings or damaged entries calibrate again', async () => {
    const { cache, entries } = memoryCache();
    const files = { id: 'stories260K', checkpoint: stories260K.checkpoint(), tokenizer: stories260K.tokenizer(), calibrationSteps: 16, calibrationCache: cache };
    const first = await prepareModel(files);
    expect(first.calibrationCached).toBe(false);
    expect(entries.size).toBe(1);
    const second = await prepareModel(files);
    expect(second.calibrationCached).toBe(true);
    expect(second.descriptor).toEqual(first.descriptor);

    const other = await prepareModel({ ...files, calibrationSteps: 8 });
    expect(other.calibrationCached).toBe(false);
    expect(entries.size).toBe(2);

    const [key] = entries.keys();
    entries.set(key, [{ input: -1, output: 2 }] as StepBounds[]);
    const repaired = await prepareModel(files);
    expect(repaired.calibrationCached).toBe(false);
    expect(repaired.descriptor).toEqual(first.descriptor);
  });
});
