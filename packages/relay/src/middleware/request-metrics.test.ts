import { Hono } from 'hono';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { RelayMetrics } from '../metrics/relay-metrics.ts';
import { overloaded } from '../relay-error.ts';
import { errorHandler, notFoundHandler } from './error-handler.ts';
import { requestMetrics } from './request-metrics.ts';

describe('requestMetrics', () => {
  it('counts and times requests by route pattern and status, logging no raw path', async () => {
    const metrics = new RelayMetrics();
    const lines: string[] = [];
    const app = new Hono();
    app.use('*', requestMetrics(metrics, pino({ level: 'info' }, { write: (l: string) => lines.push(l) })));
    app.get('/v1/sessions/:id', (c) => c.text('ok'));
    app.get('/fail', (c) => c.text('no', 422));
    await app.request('/v1/sessions/0123456789abcdef');
    await app.request('/v1/sessions/fedcba');
    await app.request('/fail');
    await app.request('/missing');
    const text = await metrics.registry.metrics();
    expect(text).toContain('fhe_relay_http_requests_total{method="GET",route="/v1/sessions/:id",status="200"} 2');
    expect(text).toContain('fhe_relay_http_requests_total{method="GET",route="/fail",status="422"} 1');
    expect(text).toContain('fhe_relay_http_requests_total{method="GET",route="unmatched",status="404"} 1');
    expect(text).toContain('fhe_relay_http_request_duration_seconds_count{method="GET",route="/v1/sessions/:id",status="200"} 2');
    expect(lines).toHaveLength(4);
    expect(lines.join('')).not.toContain('0123456789abcdef');
  });

  it('counts error answers by status and stable code, with the alerting codes exported at 0 from the start', async () => {
    const metrics = new RelayMetrics();
    const before = await metrics.registry.metrics();
    expect(before).toContain('fhe_relay_rejections_total{status="503",code="overloaded"} 0');
    expect(before).toContain('fhe_relay_rejections_total{status="500",code="internal"} 0');
    const app = new Hono();
    app.use('*', requestMetrics(metrics, pino({ level: 'silent' })));
    app.get('/busy', () => {
      throw overloaded();
    });
    app.get('/bug', () => {
      throw new Error('boom');
    });
    app.get('/ok', (c) => c.text('ok'));
    app.onError(errorHandler(pino({ level: 'silent' })));
    app.notFound(notFoundHandler);
    for (const path of ['/busy', '/busy', '/bug', '/missing', '/ok']) await app.request(path);
    const text = await metrics.registry.metrics();
    expect(text).toContain('fhe_relay_rejections_total{status="503",code="overloaded"} 2');
    expect(text).toContain('fhe_relay_rejections_total{status="500",code="internal"} 1');
    expect(text).toContain('fhe_relay_rejections_total{status="404",code="not_found"} 1');
    expect(text).not.toMatch(/fhe_relay_rejections_total\{status="200"/);
  });
});
