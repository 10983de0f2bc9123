import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { InFlightRequests } from './in-flight.ts';

describe('InFlightRequests', () => {
  it('counts running requests and resolves idle() when the last one ends', async () => {
    const inFlight = new InFlightRequests();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const app = new Hono();
    app.use('*', inFlight.middleware());
    app.get('/wait', async (c) => {
      await gate;
      return c.text('done');
    });
    app.get('/boom', () => {
      throw new Error('x');
    });
    app.onError((_error, c) => c.text('failed', 500));
    await expect(inFlight.idle()).resolves.toBeUndefined();
    const pending = app.request('/wait');
    await new Promise((r) => setTimeout(r, 5));
    expect(inFlight.count).toBe(1);
    let idle = false;
    const idled = inFlight.idle().then(() => (idle = true));
    await new Promise((r) => setTimeout(r, 5));
    expect(idle).toBe(false);
    release();
    await pending;
    await idled;
    expect(inFlight.count).toBe(0);
    await app.request('/boom');
    expect(inFlight.count).toBe(0);
  });
});
