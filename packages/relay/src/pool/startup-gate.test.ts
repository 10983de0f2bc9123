import { describe, expect, it } from 'vitest';
import { StartupGate } from './startup-gate.ts';

describe('StartupGate', () => {
  it('releases waiters when every worker is ready, and is open from then on', async () => {
    const gate = new StartupGate();
    const waiting = gate.wait(10_000, false);
    expect(gate.opened).toBe(false);
    gate.open();
    await waiting;
    expect(gate.opened).toBe(true);
    await gate.wait(10_000, true);
  });

  it('rejects every waiter, now and later, with the first failure; open() no longer releases them', async () => {
    const gate = new StartupGate();
    const first = gate.wait(10_000, false);
    const second = gate.wait(10_000, false);
    gate.fail(new Error('no heap room'));
    gate.fail(new Error('a later reason'));
    gate.open();
    await expect(first).rejects.toThrow('no heap room');
    await expect(second).rejects.toThrow('no heap room');
    await expect(gate.wait(10_000, true)).rejects.toThrow('no heap room');
    expect(gate.opened).toBe(false);
  });

  it('rejects a waiter whose timeout passes', async () => {
    await expect(new StartupGate().wait(5, false)).rejects.toThrow('not ready after 5 ms');
  });
});
