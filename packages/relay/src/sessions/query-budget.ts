/**
 * Query budgets: activation vectors a principal may have evaluated per window
 * and in total. Counted in vectors, not requests, because extraction cost is
 * what matters: a step request with N vectors reveals N columns' worth of a
 * matrix (see docs/split-inference.md), whatever N is.
 */

/** 0 switches a limit off. */
export interface QueryBudgetLimits {
  /** Vectors per window. */
  readonly perWindow: number;
  /** A window starts with the first vector charged after the previous one ended. */
  readonly windowMs: number;
  /** Vectors ever (until the store forgets: a restart of the memory store, a flush of Redis). */
  readonly total: number;
}

/** A charge's outcome. Counts include this charge when it was allowed, and exclude it when refused. */
export interface QueryBudgetUsage {
  readonly allowed: boolean;
  readonly windowUsed: number;
  /** Milliseconds since the epoch when the current window ends. */
  readonly windowResetAt: number;
  readonly totalUsed: number;
}

/** Whether `vectors` more fit; a request larger than a limit never fits (the limit should be at least a model's maxVectors). */
export function fits(limits: QueryBudgetLimits, windowUsed: number, totalUsed: number, vectors: number): boolean {
  if (limits.perWindow > 0 && windowUsed + vectors > limits.perWindow) return false;
  if (limits.total > 0 && totalUsed + vectors > limits.total) return false;
  return true;
}

interface Counters {
  windowUsed: number;
  windowResetAt: number;
  totalUsed: number;
}

/**
 * The memory store's counters. Entries whose window has ended are swept
 * unless a total limit needs them, so memory grows with active principals,
 * or with every principal ever seen while a total limit is on (as it must).
 */
export class MemoryQueryBudget {
  readonly #counters = new Map<string, Counters>();
  readonly #now: () => number;
  /** Whether the last charge had a total limit: then totals must outlive their windows. */
  #keepTotals = false;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** Check and count in one step: JavaScript runs it without interleaving, like the Redis script. */
  charge(principal: string, vectors: number, limits: QueryBudgetLimits): QueryBudgetUsage {
    const now = this.#now();
    this.#keepTotals = limits.total > 0;
    let counters = this.#counters.get(principal);
    if (!counters) {
      counters = { windowUsed: 0, windowResetAt: now + limits.windowMs, totalUsed: 0 };
      this.#counters.set(principal, counters);
    }
    if (counters.windowResetAt <= now) {
      counters.windowUsed = 0;
      counters.windowResetAt = now + limits.windowMs;
    }
    const allowed = fits(limits, counters.windowUsed, counters.totalUsed, vectors);
    if (allowed) {
      counters.windowUsed += vectors;
      counters.totalUsed += vectors;
    }
    return { allowed, ...counters };
  }

  /** Forget ended windows, unless a total limit still needs the principal's total. */
  sweep(): void {
    if (this.#keepTotals) return;
    const now = this.#now();
    for (const [principal, counters] of this.#counters) if (counters.windowResetAt <= now) this.#counters.delete(principal);
  }

  clear(): void {
    this.#counters.clear();
  }
}
