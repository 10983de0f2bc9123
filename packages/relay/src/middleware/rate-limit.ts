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
  const limiter = redis ? new RateLimiterRedis({ storeClient: redis, keyPrefix: `fhe-llm:rl:${name}`, points, duration: seconds, rejectIfRedisNotReady: true, insuranceLimiter: memory }) : memory;
  return { what, limiter };
}

/**
 * An address as rate limits see it: IPv4 as is (IPv4-mapped IPv6 too), IPv6
 * by its /64, since one subscriber or host usually holds a whole /64 and
 * could otherwise rotate through 2^64 fresh allowances.
 */
export function addressBucket(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return `ip:${mapped[1]}`;
  if (!address.includes(':')) return `ip:${address}`;
  const bare = address
    .replace(/^\[|\]$/g, '')
    .replace(/%.*$/, '')
    .toLowerCase();
  const [head, tail = ''] = bare.split('::');
  const left = head ? head.split(':') : [];
  const right = bare.includes('::') && tail ? tail.split(':') : [];
  // An embedded IPv4 tail (::1.2.3.4) counts as two groups.
  const groups = bare.includes('::') ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right] : left;
  const prefix = groups.slice(0, 4).map((g) => (parseInt(g, 16) || 0).toString(16));
  return `ip6:${prefix.join(':')}::/64`;
}

/**
 * The client a request counts against: its authenticated principal (API key
 * or JWT subject) together with its address, so that one user of a browser
 * app whose key every user shares cannot exhaust the key for the others;
 * unauthenticated requests count by address alone. With `trustProxyHops`
 * proxies in front, each appending the address it saw to X-Forwarded-For,
 * the client is the hops-th entry from the right (entries further left are
 * whatever the client claimed). In-process requests (`app.request()`, as the
 * tests use) count by principal only, or not at all without one.
 */
export function clientKey(c: Context<RelayEnv>, trustProxyHops: number): string | undefined {
  const principal = c.get('principal');
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (!incoming) return principal || undefined;
  let address: string | undefined;
  if (trustProxyHops > 0) {
    const chain = (c.req.header('x-forwarded-for') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    address = chain[Math.max(0, chain.length - trustProxyHops)];
  }
  // A socket already closed has no address; such requests share one bucket rather than escape limits.
  const bucket = addressBucket(address ?? incoming.socket?.remoteAddress ?? 'unknown');
  return principal ? `${principal}|${bucket}` : bucket;
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
