import { describe, expect, it } from 'vitest';
import { workerMs } from './relay-api.ts';

describe('workerMs (the relay CPU figure from Server-Timing)', () => {
  it('prefers worker-cpu, falls back to worker, and is 0 when absent or malformed', () => {
    expect(workerMs('worker;dur=12.5, worker-cpu;dur=9.5')).toBe(9.5);
    expect(workerMs('worker;dur=12.5')).toBe(12.5);
    expect(workerMs('db;dur=3, worker;desc="x";dur=4')).toBe(4);
    expect(workerMs('coworker;dur=7')).toBe(0);
    expect(workerMs('worker;dur=abc')).toBe(0);
    expect(workerMs(null)).toBe(0);
  });
});
