import { toSharedBytes } from '../pool/shared-bytes.ts';
import { MemoryQueryBudget, type QueryBudgetLimits, type QueryBudgetUsage } from './query-budget.ts';
import type { SessionRecord, SessionStore } from './session-store.ts';

interface KeyBlob {
  bytes: Uint8Array;
  /** Live sessions referring to this blob. */
  users: Set<string>;
}

/**
 * The default store: a Map in this process. Key blobs live in
 * SharedArrayBuffers (handed to workers without copying) and are dropped as
 * soon as no session refers to them. Everything is lost on restart, which
 * the SDK handles by re-uploading on `session_not_found`.
 */
export class MemorySessionStore implements SessionStore {
  readonly kind = 'memory';
  readonly #sessions = new Map<string, SessionRecord>();
  readonly #blobs = new Map<string, KeyBlob>();
  readonly #now: () => number;
  readonly #budget: MemoryQueryBudget;
  readonly #sweeper: ReturnType<typeof setInterval>;

  constructor(options: { now?: () => number; sweepIntervalMs?: number } = {}) {
    this.#now = options.now ?? Date.now;
    this.#budget = new MemoryQueryBudget(this.#now);
    // Expired sessions are also dropped lazily on access; the sweep frees memory of abandoned ones.
    this.#sweeper = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 60_000);
    this.#sweeper.unref();
  }

  async isAvailable(): Promise<boolean> {
    return true;
  }

  async create(record: SessionRecord, keys: Uint8Array): Promise<void> {
    let blob = this.#blobs.get(record.keysHash);
    if (!blob) {
      blob = { bytes: toSharedBytes(keys), users: new Set() };
      this.#blobs.set(record.keysHash, blob);
    }
    blob.users.add(record.id);
    this.#sessions.set(record.id, { ...record });
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    return this.#live(id);
  }

  async touch(id: string, expiresAt: number): Promise<SessionRecord | undefined> {
    const session = this.#live(id);
    if (!session) return undefined;
    const updated = { ...session, expiresAt: Math.max(session.expiresAt, expiresAt) };
    this.#sessions.set(id, updated);
    return updated;
  }

  async delete(id: string): Promise<boolean> {
    const existed = this.#live(id) !== undefined;
    this.#remove(id);
    return existed;
  }

  async count(): Promise<number> {
    this.sweep();
    return this.#sessions.size;
  }

  async countOwned(owner: string): Promise<number> {
    this.sweep();
    let n = 0;
    for (const session of this.#sessions.values()) if (session.owner === owner) n++;
    return n;
  }

  async getKeys(hash: string): Promise<Uint8Array | undefined> {
    return this.#blobs.get(hash)?.bytes;
  }

  async chargeQueryBudget(principal: string, vectors: number, limits: QueryBudgetLimits): Promise<QueryBudgetUsage> {
    return this.#budget.charge(principal, vectors, limits);
  }

  async keyBytes(): Promise<number> {
    let total = 0;
    for (const blob of this.#blobs.values()) total += blob.bytes.byteLength;
    return total;
  }

  /** Drop every expired session (and blobs nobody uses any more). */
  sweep(): void {
    const now = this.#now();
    for (const [id, session] of this.#sessions) if (session.expiresAt <= now) this.#remove(id);
    this.#budget.sweep();
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    this.#sessions.clear();
    this.#blobs.clear();
    this.#budget.clear();
  }

  #live(id: string): SessionRecord | undefined {
    const session = this.#sessions.get(id);
    if (session && session.expiresAt <= this.#now()) {
      this.#remove(id);
      return undefined;
    }
    return session;
  }

  #remove(id: string): void {
    const session = this.#sessions.get(id);
    if (!session) return;
    this.#sessions.delete(id);
    const blob = this.#blobs.get(session.keysHash);
    blob?.users.delete(id);
    if (blob && blob.users.size === 0) this.#blobs.delete(session.keysHash);
  }
}
