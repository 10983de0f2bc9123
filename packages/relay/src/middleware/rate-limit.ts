import type { IncomingMessage } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { rateLimited } from '../relay-error.ts';
import type { RelayEnv } from '../relay-env.ts';

/** A limit on one kind of request: `points` per `seconds` for each client. */
export interface RateLimit {
  /** What is counted, for the 429 message ("step requests"). */
  what: string;
  limiter: RateLimiterAbstract;
}

/**
 * `points` per `seconds` per client; undefined when points is 0 (no limit).
 * With Redis the counters are shared by every replica, so a client cannot
 * multiply its allowance by spreading over them; while Redis is unreachable
 * each replica counts in memory instead (the insurance limiter) rather than
 * refusing or admitting everyone.
 */
export function createRateLimit(name: string, what: string, points: number, seconds: number, redis?: Redis): RateLimit | undefined {
  if (points === 0) return undefined;
  const memory = new RateLimiterMemory({ keyPrefix: name, points, duration: seconds });
  const limiter = redis
    ? new RateLimiterRedis({ storeClient: redis, keyPrefix: `fhe-llm:rl:${name}`, points, duration: seconds, rejectIfRedisNotReady: true, insuranceLimiter: memory })
    : memory;
  return { what, limiter };
}

/**
 * The client a request counts against: its authenticated principal (API key
 * or JWT subject) when there is one, else its address. With `trustProxyHops`
 * proxies in front, each appending the address it saw to X-Forwarded-For, the
 * client is the hops-th entry from the right (entries further left are
 * whatever the client claimed). Undefined for requests that did not arrive
 * over HTTP (in-process `app.request()`, as the tests use): nobody to limit.
 */
export function clientKey(c: Context<RelayEnv>, trustProxyHops: number): string | undefined {
  const principal = c.get('principal');
  if (principal) return principal;
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (!incoming) return undefined;
  if (trustProxyHops > 0) {
    const chain = (c.req.header('x-forwarded-for') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    const forwarded = chain[Math.max(0, chain.length - trustProxyHops)];
    if (forwarded) return `ip:${forwarded}`;
  }
  // A socket already closed has no address; such requests share one bucket rather than escape limits.
  return `ip:${incoming.socket?.remoteAddress ?? 'unknown'}`;
}

/** 429 rate_limited with Retry-After once the client has used its allowance; one point per request. */
export function rateLimit(limit: RateLimit | undefined, trustProxyHops: number): MiddlewareHandler<RelayEnv> {
  if (!limit) return async (_c, next) => next();
  return async (c, next) => {
    const key = clientKey(c, trustProxyHops);
    if (key !== undefined) {
      try {
        await limit.limiter.consume(key);
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) throw rateLimited(rejection.msBeforeNext / 1000, limit.what);
        throw rejection;
      }
    }
    await next();
  };
}
