import type { QueryBudgetLimits, QueryBudgetUsage } from './query-budget.ts';

/**
 * What the relay remembers about a session. The secret itself is never
 * stored, only its SHA-256, so a store dump cannot impersonate anyone.
 */
export interface SessionRecord {
  /** 128-bit random, hex. Public: it appears in URLs. */
  readonly id: string;
  /** SHA-256 of the bearer secret, hex. */
  readonly secretHash: string;
  readonly model: string;
  /** SHA-256 of the serialized Galois keys, hex; the key blob is stored once per hash. */
  readonly keysHash: string;
  readonly keyBytes: number;
  /** The authenticated principal (API key digest or JWT subject) that created it; only it may use the session. */
  readonly principal?: string;
  /** The client it counts against for the per-client session quota (principal and address, as rate limits count). */
  readonly owner?: string;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  readonly expiresAt: number;
}

/**
 * Sessions and their Galois key blobs, both expiring. Shaped for a key-value
 * store with TTLs (Redis: `session:<id>` hash with PEXPIREAT, `keys:<hash>`
 * string whose expiry is pushed to the latest expiry of any session using
 * it), so every method is async and takes absolute expiry times. A store
 * that cannot be reached throws a 503 `store_unavailable` RelayError.
 */
export interface SessionStore {
  /** Shown by /readyz. */
  readonly kind: 'memory' | 'redis';
  /** Whether the store answers now (readiness). Never throws. */
  isAvailable(): Promise<boolean>;
  /** Store a session; stores `keys` under `record.keysHash` unless a blob with that hash exists. */
  create(record: SessionRecord, keys: Uint8Array): Promise<void>;
  /** The live session, or undefined when unknown, expired or deleted. */
  get(id: string): Promise<SessionRecord | undefined>;
  /** Push a live session's expiry (and its key blob's) to `expiresAt`; undefined when it is gone. */
  touch(id: string, expiresAt: number): Promise<SessionRecord | undefined>;
  /** Forget a session; its key blob goes when no live session uses it. True when it existed. */
  delete(id: string): Promise<boolean>;
  /** Live sessions. */
  count(): Promise<number>;
  /** Live sessions whose `owner` is `owner`. */
  countOwned(owner: string): Promise<number>;
  /** The key blob stored under `hash`, or undefined. */
  getKeys(hash: string): Promise<Uint8Array | undefined>;
  /**
   * Count `vectors` against `principal`'s query budget if they fit its
   * limits, atomically (replicas sharing a store cannot both take the last
   * vectors); refused charges count nothing.
   */
  chargeQueryBudget(principal: string, vectors: number, limits: QueryBudgetLimits): Promise<QueryBudgetUsage>;
  /** Bytes of all stored key blobs (each blob once). */
  keyBytes(): Promise<number>;
  close(): Promise<void>;
}
