import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { secureHeaders } from 'hono/secure-headers';
import { API_KEY_HEADER, CLIENT_TOKEN_HEADER } from './client-auth.ts';
import { QUERY_BUDGET_HEADERS } from './query-budget.ts';

/**
 * `*` in an allowed origin stands for one port or host label (letters,
 * digits, hyphens): `http://localhost:*` admits `http://localhost:5173` but
 * not `http://localhost.evil.example`. A lone `*` admits every origin.
 */
export function originMatcher(patterns: readonly string[]): (origin: string) => string | null {
  if (patterns.includes('*')) return (origin) => origin || null;
  const escapeRegExp = (s: string) => s.replace(/[.+?^${}()|[\]\\/]/g, '\\$&');
  const regexes = patterns.map((p) => new RegExp(`^${p.split('*').map(escapeRegExp).join('[A-Za-z0-9-]+')}$`));
  return (origin) => (regexes.some((r) => r.test(origin)) ? origin : null);
}

/**
 * CORS for the browser SDK (bearer tokens and the optional X-API-Key /
 * X-Client-Token headers, not cookies: no credentials) and
 * conservative security headers for an API that serves no HTML. Resource
 * policy is cross-origin because pages on other origins are the clients.
 */
export function securityMiddleware(corsOrigins: readonly string[]): MiddlewareHandler[] {
  const allowed = originMatcher(corsOrigins);
  return [
    secureHeaders({
      contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
      crossOriginResourcePolicy: 'cross-origin',
      crossOriginEmbedderPolicy: false,
    }),
    cors({
      origin: (origin) => allowed(origin),
      allowMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
      allowHeaders: ['Authorization', 'Content-Type', API_KEY_HEADER, CLIENT_TOKEN_HEADER],
      exposeHeaders: ['Retry-After', 'Content-Length', 'Server-Timing', ...QUERY_BUDGET_HEADERS],
      maxAge: 600,
    }),
  ];
}
