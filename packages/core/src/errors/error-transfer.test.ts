import { describe, expect, it } from 'vitest';
import { ModelFormatError } from '../model/model-format-error.ts';
import { PrecisionError } from '../model/precision-error.ts';
import { StepOutputError } from '../model/step-output-error.ts';
import { errorFromTransfer, errorToTransfer } from './error-transfer.ts';
import { FheLlmError, isFheLlmError } from './fhe-error.ts';
import { PlanError } from './plan-error.ts';

// One error family, one way across threads: structuredClone is what
// postMessage (worker_threads, Web Workers, comlink) does to the data.
describe('errorToTransfer / errorFromTransfer', () => {
  const cases: FheLlmError[] = [
    new StepOutputError('wrong_length', 'qkv0', 864, 12),
    new PrecisionError('qkv0', 0, 1, 7, 1e9, 40),
    new ModelFormatError('size_mismatch', 'checkpoint is short', 1000, 10),
    new PlanError('out_of_range', 'does not fit', { expected: '<= 2^53', got: 2 ** 60 }),
  ];

  it.each(cases.map((e) => [e.name, e] as const))('%s is an FheLlmError and keeps name, code, expected and got across a clone', (name, error) => {
    expect(error).toBeInstanceOf(FheLlmError);
    const back = errorFromTransfer(structuredClone(errorToTransfer(error)));
    expect(isFheLlmError(back, name)).toBe(true);
    expect(back).toMatchObject({ name, message: error.message, code: error.code, expected: error.expected, got: error.got });
  });

  it('keeps a plain Error plain and turns values that cannot be cloned into strings', () => {
    const plain = errorFromTransfer(structuredClone(errorToTransfer(new TypeError('nope'))));
    expect(plain).toMatchObject({ name: 'TypeError', message: 'nope' });
    expect(isFheLlmError(plain)).toBe(false);
    const odd = errorToTransfer(new FheLlmError('x', 'odd', { got: () => 1 }));
    expect(() => structuredClone(odd)).not.toThrow();
    expect(errorToTransfer('thrown string')).toEqual({ name: 'Error', message: 'thrown string' });
  });
});
