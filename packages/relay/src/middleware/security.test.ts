import { Hono } from 'hono';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { overloaded } from '../relay-error.ts';
import { errorHandler } from './error-handler.ts';
import { originMatcher, securityMiddleware } from './security.ts';

describe('originMatcher', () => {
  it('wildcards one port or label only', () => {
    const match = originMatcher(['http://localhost:*', 'https://*.example.com']);
    expect(match('http://localhost:5173')).toBe('http://localhost:5173');
    expect(match('https://app.example.com')).toBe('https://app.example.com');
    for (const bad of ['http://localhost.evil.com:80', 'http://localhost:80/x', 'https://a.b.example.com', 'https://example.com', '']) expect(match(bad)).toBeNull();
  });

  it('a lone * admits every origin', () => {
    expect(originMatcher(['*'])('https://anything.test')).toBe('https://anything.test');
  });
});

describe('securityMiddleware', () => {
  const app = new Hono();
  app.use('*', ...securityMiddleware(['http://localhost:*']));
  app.get('/x', (c) => c.text('ok', 503, { 'Retry-After': '1' }));
  app.get('/busy', () => {
    throw overloaded();
  });
  app.onError(errorHandler(pino({ level: 'silent' })));

  it('answers allowed origins with CORS headers exposing Retry-After', async () => {
    const res = await app.request('/x', { headers: { origin: 'http://localhost:3000' } });
    expect(res.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
    expect(res.headers.get('access-control-expose-headers')).toContain('Retry-After');
  });

  it('leaves other origins without an allow header', async () => {
    const res = await app.request('/x', { headers: { origin: 'https://evil.test' } });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers preflights for the bearer and client credential headers', async () => {
    const res = await app.request('/x', {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-headers')).toContain('Authorization');
    expect(res.headers.get('access-control-allow-headers')).toContain('X-API-Key');
    expect(res.headers.get('access-control-allow-headers')).toContain('X-Client-Token');
    expect(res.headers.get('access-control-allow-methods')).toContain('DELETE');
  });

  it('sets security headers', async () => {
    const res = await app.request('/x');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(res.headers.get('strict-transport-security')).toBeTruthy();
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
  });

  it('applies to error responses too, so browsers can read Retry-After', async () => {
    const res = await app.request('/busy', { headers: { origin: 'http://localhost:3000' } });
    expect(res.status).toBe(503);
    expect(res.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
    expect(res.headers.get('retry-after')).toBe('1');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });
});
