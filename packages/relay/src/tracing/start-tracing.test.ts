import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Hono } from 'hono';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../config.ts';
import type { RelayEnv } from '../relay-env.ts';
import { startTracing, tracesUrl } from './start-tracing.ts';
import { traceRequests } from './trace-requests.ts';

describe('startTracing', () => {
  it('is configured by --otlp-endpoint, FHE_LLM_OTLP_ENDPOINT or the standard OTEL_EXPORTER_OTLP_ENDPOINT, and off without', () => {
    const parse = (argv: string[], env: Record<string, string> = {}) => (parseCommandLine(argv, env) as { config: { otlpEndpoint?: string } }).config.otlpEndpoint;
    expect(parse([])).toBeUndefined();
    expect(parse([], { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe('http://collector:4318');
    expect(parse([], { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', FHE_LLM_OTLP_ENDPOINT: 'http://b:4318' })).toBe('http://b:4318');
    expect(parse(['--otlp-endpoint', 'https://c/otlp'])).toBe('https://c/otlp');
    expect(() => parse(['--otlp-endpoint', 'grpc://c:4317'])).toThrow(/--otlp-endpoint/);
    expect(tracesUrl('http://c:4318/')).toBe('http://c:4318/v1/traces');
  });

  it('without a tracer, adds no span to requests', async () => {
    const app = new Hono<RelayEnv>();
    app.use(
      '*',
      traceRequests(() => undefined),
    );
    app.get('/', (c) => c.text(c.var.span === undefined ? 'none' : 'span'));
    expect(await (await app.request('/')).text()).toBe('none');
  });

  it('exports spans over OTLP/HTTP to <endpoint>/v1/traces, flushed by shutdown', async () => {
    const received: { path?: string; type?: string; bytes: number }[] = [];
    const server = createServer((req, res) => {
      let bytes = 0;
      req.on('data', (chunk: Buffer) => (bytes += chunk.length));
      req.on('end', () => {
        received.push({ path: req.url, type: req.headers['content-type'], bytes });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const tracing = await startTracing(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, pino({ level: 'silent' }), {});
      tracing.tracer.startSpan('probe').end();
      await tracing.shutdown();
      expect(received).toHaveLength(1);
      expect(received[0]).toMatchObject({ path: '/v1/traces', type: 'application/json' });
      expect(received[0].bytes).toBeGreaterThan(0);
    } finally {
      server.close();
    }
  });
});
