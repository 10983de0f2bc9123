import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { storeUnavailable } from '../relay-error.ts';

/** A Redis command never holds a request longer than this (a hung or overloaded Redis). */
export const REDIS_COMMAND_TIMEOUT_MS = 2_000;

/**
 * The relay's one Redis connection (sessions, key blobs, rate-limit
 * counters). Built to fail fast rather than queue: while disconnected every
 * command is refused at once (`enableOfflineQueue: false`), a command sent
 * when the link drops is retried at most once, and no command waits longer
 * than REDIS_COMMAND_TIMEOUT_MS. Reconnection runs forever, at most a second
 * apart, so the relay recovers by itself when Redis is back.
 */
export function createRedisClient(url: string, logger: Logger): Redis {
  const redis = new Redis(url, {
    connectionName: 'fhe-llm-relay',
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(100 * attempt, 1_000),
    // After a failover the old primary answers READONLY: reconnect to find the new one.
    reconnectOnError: (error) => error.message.startsWith('READONLY'),
  });
  const where = redactedUrl(url);
  let lost = false;
  redis.on('ready', () => {
    logger.info({ redis: where }, lost ? 'session store reconnected' : 'session store connected');
    lost = false;
  });
  redis.on('close', () => {
    if (!lost) logger.warn({ redis: where }, 'session store connection lost; reconnecting');
    lost = true;
  });
  // Every failed reconnection attempt emits 'error'; the transitions above are what operators need.
  redis.on('error', (error: Error) => logger.debug({ err: error.message }, 'redis error'));
  return redis;
}

/** The URL without its password, for logs. */
export function redactedUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = 'redacted';
  return parsed.toString();
}

/** Replies that mean "Redis cannot serve now" rather than "the command is wrong". */
const TRANSIENT_REPLY = /^(LOADING|OOM|READONLY|MASTERDOWN|BUSY|TRYAGAIN|CLUSTERDOWN|NOREPLICAS|MISCONF)\b/;

/**
 * Run one Redis call; outages (refused while disconnected, connection lost,
 * timeout, a loading or full server) become 503 `store_unavailable`. Any
 * other reply error is a relay bug and stays a 500.
 */
export async function redisCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const e = error as Error;
    if (e?.name === 'ReplyError' && !TRANSIENT_REPLY.test(e.message)) throw error;
    throw storeUnavailable(error);
  }
}
