import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.ts';
import { Relay } from '../src/relay.ts';
import { testConfig } from './relay-test-kit.ts';

// /readyz while a relay starts: a 503 that says how far it is, then ready
// with each model's calibration source; the same in the logs.
describe('start-up progress', () => {
  it('is reported by /readyz while not ready and in the logs', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    const relay = new Relay(testConfig({ workers: 1 }), { logger: createLogger('info', sink), listen: false });
    const polls: { status: number; body: { startup?: { phase: string; models: Record<string, { phase: string }> }; error?: { code: string } } }[] = [];
    let starting = true;
    const started = relay.start().finally(() => (starting = false));
    while (starting) {
      const response = await relay.app.request('/readyz');
      polls.push({ status: response.status, body: await response.json() });
      await new Promise((r) => setTimeout(r, 50));
    }
    await started;
    try {
      const early = polls.filter((p) => p.status === 503);
      expect(early.length).toBeGreaterThan(0);
      for (const p of early) {
        expect(p.body.error?.code).toBe('not_ready');
        expect(['preparing-models', 'starting-workers']).toContain(p.body.startup?.phase);
        expect(Object.keys(p.body.startup!.models)).toEqual(['stories260K']);
      }
      const ready = await relay.app.request('/readyz');
      expect(ready.status).toBe(200);
      const { startup } = await ready.json();
      expect(startup).toMatchObject({ phase: 'ready', workers: { ready: 1, total: 1 }, models: { stories260K: { phase: 'prepared', fraction: 1 } } });
      expect(['cached', 'calibrated']).toContain(startup.models.stories260K.calibration);
      const messages = lines.map((l) => l.msg);
      expect(messages).toContain('preparing model');
      expect(messages).toContain('model prepared');
      expect(messages).toContain('starting evaluation workers');
      expect(messages.indexOf('model prepared')).toBeLessThan(messages.indexOf('ready'));
    } finally {
      await relay.close();
    }
  });
});
