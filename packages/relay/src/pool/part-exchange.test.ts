import { describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { PartAbandonedError, awaitPart, claimPart, createPartExchange, failPart, publishPart } from './part-exchange.ts';

const noCancel = () => new Int32Array(new SharedArrayBuffer(4));

describe('part exchange', () => {
  it('hands a part to exactly one claimant', () => {
    const exchange = createPartExchange(2, 1, 64);
    expect(claimPart(exchange, 1)).toBe(true);
    expect(claimPart(exchange, 1)).toBe(false);
  });

  it('passes published partial sums intact, tile by tile', () => {
    const exchange = createPartExchange(3, 2, 16);
    const tiles = [Uint8Array.from([1, 2, 3]), Uint8Array.from({ length: 16 }, (_, i) => i)];
    claimPart(exchange, 2);
    publishPart(exchange, 2, tiles);
    expect(awaitPart(exchange, 2, noCancel(), 1000)).toEqual(tiles);
  });

  it('refuses partial sums larger than their buffer', () => {
    const exchange = createPartExchange(2, 1, 8);
    expect(() => publishPart(exchange, 1, [new Uint8Array(9)])).toThrow(RangeError);
  });

  it('stops waiting when the part failed, when a sibling task failed, and at its timeout', () => {
    const failed = createPartExchange(2, 1, 8);
    claimPart(failed, 1);
    failPart(failed, 1);
    expect(() => awaitPart(failed, 1, noCancel(), 1000)).toThrow(PartAbandonedError);
    const cancelled = noCancel();
    Atomics.store(cancelled, 0, 1);
    const running = createPartExchange(2, 1, 8);
    claimPart(running, 1);
    expect(() => awaitPart(running, 1, cancelled, 1000)).toThrow(/sibling/);
    const started = performance.now();
    expect(() => awaitPart(running, 1, noCancel(), 50)).toThrow(/not published within 50 ms/);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('wakes a waiting thread when another thread publishes', async () => {
    const exchange = createPartExchange(2, 1, 8);
    claimPart(exchange, 1);
    // The waiter blocks in Atomics.wait on another thread, as a relay worker does.
    const source = `
      const { workerData, parentPort } = require('node:worker_threads');
      const { state, buffer } = workerData;
      while (Atomics.load(state, 1) !== 2) Atomics.wait(state, 1, Atomics.load(state, 1), 1000);
      parentPort.postMessage(Array.from(new Uint8Array(buffer, 8, new DataView(buffer).getUint32(4, true))));`;
    const worker = new Worker(source, { eval: true, workerData: { state: exchange.state, buffer: exchange.buffers[1] } });
    const got = new Promise((resolve) => worker.once('message', resolve));
    await new Promise((r) => setTimeout(r, 20));
    publishPart(exchange, 1, [Uint8Array.from([7, 8, 9])]);
    expect(await got).toEqual([7, 8, 9]);
    await worker.terminate();
  });
});
