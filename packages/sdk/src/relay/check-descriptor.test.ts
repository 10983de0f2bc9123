import { readFileSync } from 'node:fs';
import { buildSchedule, describeEncryptedModel, describeModel, parseLlama2cCheckpoint, PLANNER_VERSION, presetIds, type EncryptedModelDescriptor } from '@fhe-llm/core';
import { describe, expect, it } from 'vitest';
import { checkEncryptedModelDescriptor } from './check-descriptor.ts';

// A descriptor as a relay publishes it (through JSON), for stories260K with
// small bounds: planning needs only the preset's parameters, no SEAL.
const weights = parseLlama2cCheckpoint(readFileSync(new URL('../../../../models/stories260K/stories260K.bin', import.meta.url)));
const schedule = buildSchedule(weights);
const published: EncryptedModelDescriptor = JSON.parse(
  JSON.stringify(
    describeEncryptedModel(
      describeModel(
        'stories260K',
        schedule,
        schedule.steps.map(() => ({ input: 4, output: 4 })),
      ),
      presetIds[0],
      { maxVectors: 8 },
    ),
  ),
);

/** A copy of the published descriptor with one change. */
function tampered(change: (d: Record<string, unknown> & { plans: Record<string, unknown>[] }) => void): unknown {
  const copy = structuredClone(published) as unknown as Record<string, unknown> & { plans: Record<string, unknown>[] };
  change(copy);
  return copy;
}

function failure(value: unknown, modelId = 'stories260K'): { name: string; code: string; expected?: unknown; got?: unknown } {
  try {
    checkEncryptedModelDescriptor(value, modelId);
  } catch (error) {
    return error as { name: string; code: string };
  }
  throw new Error('the descriptor was accepted');
}

describe('checkEncryptedModelDescriptor', () => {
  it('accepts what a relay publishes and returns it', () => {
    expect(checkEncryptedModelDescriptor(published, 'stories260K')).toBe(published);
  });

  it('refuses another planner version with planner_mismatch, expected vs got', () => {
    const e = failure(tampered((d) => void (d.planner = PLANNER_VERSION + 1)));
    expect(e).toMatchObject({ name: 'ProtocolError', code: 'planner_mismatch', expected: PLANNER_VERSION, got: PLANNER_VERSION + 1 });
  });

  it('refuses plans that differ from this SDK planner even at the same version', () => {
    const e = failure(tampered((d) => void (d.plans[1] = { ...d.plans[1], giantSteps: Number(d.plans[1].giantSteps) + 1 })));
    expect(e).toMatchObject({ name: 'ProtocolError', code: 'planner_mismatch' });
  });

  it('refuses an unknown preset with unknown_preset', () => {
    expect(failure(tampered((d) => void (d.preset = 'ckks-n1-q1')))).toMatchObject({ name: 'ProtocolError', code: 'unknown_preset', got: 'ckks-n1-q1' });
  });

  it.each([
    ['not an object', () => 'hello'],
    ['a wrong model layout', () => tampered((d) => void (d.steps as unknown[]).pop())],
    ['a zero rotation step', () => tampered((d) => void (d.galoisSteps = [0, 1]))],
    ['a rotation beyond the slots', () => tampered((d) => void (d.galoisSteps = [1, 1 << 20]))],
    ['duplicate rotation steps', () => tampered((d) => void (d.galoisSteps = [1, 1]))],
    ['no rotation steps', () => tampered((d) => void (d.galoisSteps = []))],
    ['a fractional maxVectors', () => tampered((d) => void (d.maxVectors = 1.5))],
    ['a huge maxBatch', () => tampered((d) => void (d.maxBatch = 1e9))],
    ['parallelism as text', () => tampered((d) => void (d.parallelism = '2'))],
    ['a missing plan', () => tampered((d) => void d.plans.pop())],
  ])('refuses %s with bad_descriptor', (_what, make) => {
    expect(failure(make())).toMatchObject({ name: 'ProtocolError', code: 'bad_descriptor' });
  });

  it('refuses a descriptor of another model than the one asked for', () => {
    expect(failure(published, 'other')).toMatchObject({ code: 'bad_descriptor', expected: 'other', got: 'stories260K' });
  });
});
