import type { Redis } from 'ioredis';
import { KeyCache } from '../pool/key-cache.ts';
import { toSharedBytes } from '../pool/shared-bytes.ts';
import { RelayError } from '../relay-error.ts';
import { redisCall } from './redis-client.ts';
import { sha256Hex } from './session-credentials.ts';
import type { QueryBudgetLimits, QueryBudgetUsage } from './query-budget.ts';
import { CHARGE_QUERY_BUDGET, COUNT_OWNED, COUNT_SESSIONS, CREATE_SESSION, DELETE_SESSION, KEY_BYTES, TOUCH_SESSION } from './redis-scripts.ts';
import type { SessionRecord, SessionStore } from './session-store.ts';

export interface RedisSessionStoreOptions {
  /** Namespace for every key; several relays (or tests) share a Redis under different prefixes. Default "fhe-llm:". */
  prefix?: string;
  /** Serialized key blobs kept in this process, least recently used out. Default 64 MiB. */
  blobCacheBytes?: number;
}

/** The custom commands defineCommand adds (EVALSHA, re-sent as EVAL after a Redis restart). */
interface ScriptCommands {
  fheCreateSession(...args: (string | number | Buffer)[]): Promise<number>;
  fheTouchSession(...args: (string | number)[]): Promise<string[] | null>;
  fheDeleteSession(...args: (string | number)[]): Promise<number>;
  fheCountSessions(...args: (string | number)[]): Promise<number>;
  fheKeyBytes(...args: (string | number)[]): Promise<number>;
  fheCountOwned(...args: (string | number)[]): Promise<number>;
  fheChargeQueryBudget(...args: (string | number)[]): Promise<[number, number, number, number]>;
}

const SCRIPTS = {
  fheCreateSession: CREATE_SESSION,
  fheTouchSession: TOUCH_SESSION,
  fheDeleteSession: DELETE_SESSION,
  fheCountSessions: COUNT_SESSIONS,
  fheKeyBytes: KEY_BYTES,
  fheCountOwned: COUNT_OWNED,
  fheChargeQueryBudget: CHARGE_QUERY_BUDGET,
};

/**
 * Sessions and their Galois key blobs in Redis, so every replica serves every
 * session and a restarted relay loses none. Each multi-key change is one Lua
 * script (redis-scripts.ts has the layout). Blobs are content-addressed (the
 * key is their SHA-256), so this process keeps recently used ones in a small
 * cache in front of Redis: a step whose keys the workers already hold
 * deserialized costs no blob transfer. Sessions themselves are never cached:
 * a delete or expiry on one replica holds on all at once.
 *
 * Outages surface as 503 `store_unavailable` (see redisCall); the client
 * (createRedisClient) never queues, so nothing hangs while Redis is away.
 */
export class RedisSessionStore implements SessionStore {
  readonly kind = 'redis';
  readonly #redis: Redis & ScriptCommands;
  readonly #prefix: string;
  readonly #blobs: KeyCache<Uint8Array>;
  readonly #fetching = new Map<string, Promise<Uint8Array | undefined>>();

  constructor(redis: Redis, options: RedisSessionStoreOptions = {}) {
    for (const [name, lua] of Object.entries(SCRIPTS)) if (!(name in redis)) redis.defineCommand(name, { numberOfKeys: 0, lua });
    this.#redis = redis as Redis & ScriptCommands;
    this.#prefix = options.prefix ?? 'fhe-llm:';
    this.#blobs = new KeyCache(options.blobCacheBytes ?? 64 * 1024 * 1024, () => {});
  }

  async isAvailable(): Promise<boolean> {
    if (this.#redis.status !== 'ready') return false;
    try {
      return (await this.#redis.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async create(record: SessionRecord, keys: Uint8Array): Promise<void> {
    const r = record;
    const blob = Buffer.from(keys.buffer, keys.byteOffset, keys.byteLength);
    await redisCall(() =>
      this.#redis.fheCreateSession(this.#prefix, r.id, r.secretHash, r.model, r.keysHash, r.keyBytes, r.createdAt, r.expiresAt, Date.now(), blob, r.principal ?? '', r.owner ?? ''),
    );
    this.#blobs.set(r.keysHash, toSharedBytes(keys), keys.byteLength);
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    const fields = await redisCall(() => this.#redis.hgetall(`${this.#prefix}session:${id}`));
    return live(id, fields);
  }

  async touch(id: string, expiresAt: number): Promise<SessionRecord | undefined> {
    const flat = await redisCall(() => this.#redis.fheTouchSession(this.#prefix, id, expiresAt, Date.now()));
    if (!flat) return undefined;
    const fields: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]] = flat[i + 1];
    return live(id, fields);
  }

  async delete(id: string): Promise<boolean> {
    return (await redisCall(() => this.#redis.fheDeleteSession(this.#prefix, id, Date.now()))) === 1;
  }

  async count(): Promise<number> {
    return redisCall(() => this.#redis.fheCountSessions(this.#prefix, Date.now()));
  }

  async countOwned(owner: string): Promise<number> {
    return redisCall(() => this.#redis.fheCountOwned(this.#prefix, owner, Date.now()));
  }

  async chargeQueryBudget(principal: string, vectors: number, limits: QueryBudgetLimits): Promise<QueryBudgetUsage> {
    const [allowed, windowUsed, leftMs, totalUsed] = await redisCall(() => this.#redis.fheChargeQueryBudget(this.#prefix, principal, vectors, limits.perWindow, limits.windowMs, limits.total));
    return { allowed: allowed === 1, windowUsed, windowResetAt: Date.now() + leftMs, totalUsed };
  }

  /** From this process's cache, else from Redis (concurrent requests for one hash share the fetch). */
  async getKeys(hash: string): Promise<Uint8Array | undefined> {
    const cached = this.#blobs.get(hash);
    if (cached) return cached;
    let pending = this.#fetching.get(hash);
    if (!pending) {
      pending = this.#fetchKeys(hash).finally(() => this.#fetching.delete(hash));
      this.#fetching.set(hash, pending);
    }
    return pending;
  }

  async keyBytes(): Promise<number> {
    return redisCall(() => this.#redis.fheKeyBytes(this.#prefix, Date.now()));
  }

  /** Forgets the local blob cache; the connection belongs to whoever made it (the Relay closes it). */
  async close(): Promise<void> {
    this.#blobs.clear();
  }

  async #fetchKeys(hash: string): Promise<Uint8Array | undefined> {
    const bytes = await redisCall(() => this.#redis.getBuffer(`${this.#prefix}keys:${hash}`));
    if (!bytes) return undefined;
    // Redis is not trusted with the keys' integrity: a blob is used only if it still hashes to its name.
    if (sha256Hex(bytes) !== hash) throw new RelayError(503, 'store_corrupt', 'a stored key blob does not match its hash', { 'Retry-After': '60' });
    // Shared memory: workers read the blob without a copy per task (see toSharedBytes).
    const shared = toSharedBytes(bytes);
    this.#blobs.set(hash, shared, shared.byteLength);
    return shared;
  }
}

/** A session record from its Redis hash, or undefined when missing or past its expiry. */
function live(id: string, fields: Record<string, string>): SessionRecord | undefined {
  if (!fields.secretHash) return undefined;
  const record: SessionRecord = {
    id,
    secretHash: fields.secretHash,
    model: fields.model,
    keysHash: fields.keysHash,
    keyBytes: Number(fields.keyBytes),
    createdAt: Number(fields.createdAt),
    expiresAt: Number(fields.expiresAt),
    ...(fields.principal ? { principal: fields.principal } : {}),
    ...(fields.owner ? { owner: fields.owner } : {}),
  };
  return record.expiresAt > Date.now() ? record : undefined;
}
