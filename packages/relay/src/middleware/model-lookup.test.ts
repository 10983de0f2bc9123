import { Hono } from 'hono';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { HostedModel } from '../models/hosted-model.ts';
import type { RelayEnv } from '../relay-env.ts';
import type { RelayServices } from '../relay-services.ts';
import { errorHandler } from './error-handler.ts';
import { modelLookup, requireReady } from './model-lookup.ts';

let ready = false;
const services = { models: new Map([['m1', { id: 'm1' } as HostedModel]]), isReady: () => ready } as unknown as RelayServices;
const app = new Hono<RelayEnv>();
app.use('*', requireReady(services));
app.get('/models/:id', modelLookup(services), (c) => c.text(c.var.model.id));
app.get('/q', modelLookup(services, 'query'), (c) => c.text(c.var.model.id));
app.onError(errorHandler(pino({ level: 'silent' })));
const code = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

describe('requireReady and modelLookup', () => {
  it('answers 503 not_ready with Retry-After before the relay is ready', async () => {
    ready = false;
    const res = await app.request('/models/m1');
    expect([res.status, res.headers.get('retry-after'), await code(res)]).toEqual([503, '1', 'not_ready']);
  });

  it('finds models by path or query, 404 model_not_found otherwise', async () => {
    ready = true;
    expect(await (await app.request('/models/m1')).text()).toBe('m1');
    expect(await (await app.request('/q?model=m1')).text()).toBe('m1');
    const missing = await app.request('/models/nope');
    expect([missing.status, await code(missing)]).toEqual([404, 'model_not_found']);
    const unnamed = await app.request('/q');
    expect([unnamed.status, await code(unnamed)]).toEqual([400, 'invalid_request']);
  });
});
