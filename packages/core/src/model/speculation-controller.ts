/**
 * Chooses how many draft tokens a speculative pass sends, from what it
 * measures: how often drafts are accepted, and how long a pass takes for
 * each number of vectors. It
 * picks the k that maximises expected tokens per millisecond, so k falls to 0
 * when an extra vector costs more than it earns (today's presets) and rises
 * when the marginal cost of a vector falls (cheaper presets, batched plans,
 * a far relay whose round trips dominate). No cost is hard-coded: the plain
 * pass is measured first, an unmeasured larger count gets an optimistic
 * guess from it, is tried once, and from then on its measured cost decides.
 */
export interface SpeculationOptions {
  /** Most drafts per sequence in one pass (default 3; the simulated gain flattens beyond). 0 turns speculation off. k is 0, 1, 3, 7… up to this. */
  maxDraft?: number;
  /** While k sits at 0, try k = 1 again after this many passes, to notice costs that changed (default 32). */
  probeEvery?: number;
  /** Weight of the newest observation in the running acceptance rate (default 0.1). */
  smoothing?: number;
  /**
   * Guess for an unmeasured vector count: each extra vector costs this
   * fraction of a one-vector pass (default 0.1). Optimistic on purpose, so
   * the count gets tried and measured.
   */
  priorMarginalCost?: number;
}

/** Pass times kept per vector count; the estimate is their median (robust to a one-off plan encoding). */
const COST_WINDOW = 5;

export class SpeculationController {
  readonly maxDraft: number;
  readonly #probeEvery: number;
  readonly #smoothing: number;
  readonly #prior: number;
  /** Probability that a draft is accepted given the drafts before it were. */
  #acceptance = 0.5;
  readonly #costs = new Map<number, number[]>();
  #passesAtZero = 0;

  constructor(options: SpeculationOptions = {}) {
    const maxDraft = options.maxDraft ?? 3;
    if (!Number.isInteger(maxDraft) || maxDraft < 0) throw new RangeError(`maxDraft must be an integer >= 0, got ${maxDraft}`);
    this.maxDraft = maxDraft;
    this.#probeEvery = options.probeEvery ?? 32;
    this.#smoothing = options.smoothing ?? 0.1;
    this.#prior = options.priorMarginalCost ?? 0.1;
  }

  get acceptanceRate(): number {
    return this.#acceptance;
  }

  /** Drafts per sequence for the next pass of `sequences` sequences. */
  draftsFor(sequences: number): number {
    if (this.maxDraft === 0 || sequences <= 0) return 0;
    // The plain pass is measured first: every other cost is judged against it (a guess
    // extrapolated down from one costly measurement would keep a useless k alive).
    if (!this.#costs.has(sequences)) return 0;
    let best = 0;
    let bestRate = -Infinity;
    // Only k with 1 + k a power of two: the planner batches vectors in powers of two, so a
    // pass of 3 vectors costs about what one of 4 does (and the relay warms those plans).
    for (let k = 0; k <= this.maxDraft; k = 2 * k + 1) {
      // Every sequence sends exactly k drafts (padded when prompt lookup has fewer).
      const rate = this.expectedTokens(k) / this.estimateCost(sequences * (1 + k));
      if (rate > bestRate * (1 + 1e-9)) {
        best = k;
        bestRate = rate;
      }
    }
    if (best === 0 && this.#passesAtZero >= this.#probeEvery) return 1;
    return best;
  }

  /** Expected tokens per sequence-pass with k drafts: the pass's own token plus the accepted prefix. */
  expectedTokens(k: number): number {
    let expected = 1;
    let chain = 1;
    for (let i = 1; i <= k; i++) {
      chain *= this.#acceptance;
      expected += chain;
    }
    return expected;
  }

  /** Estimated milliseconds of a pass carrying `vectors` vectors. */
  estimateCost(vectors: number): number {
    const own = this.#costs.get(vectors);
    if (own) return median(own);
    const known = [...this.#costs.entries()].map(([v, ms]) => [v, median(ms)] as const).sort((a, b) => a[0] - b[0]);
    if (known.length === 0) return 1 + this.#prior * (vectors - 1); // nothing measured yet: the optimistic prior
    // Interpolate (or extrapolate) between the nearest measured counts; never let more vectors look cheaper.
    const below = known.filter(([v]) => v < vectors).at(-1);
    const above = known.find(([v]) => v > vectors);
    if (below && above) return Math.max(below[1], below[1] + ((above[1] - below[1]) * (vectors - below[0])) / (above[0] - below[0]));
    const [v0, c0] = below ?? above!;
    const perVector = known.length >= 2 ? Math.max(0, slope(known)) : this.#prior * (c0 / v0);
    return Math.max(1e-9, c0 + perVector * (vectors - v0));
  }

  /** After each pass: how many sequences it carried, how many vectors in all, how long it took. */
  recordPass(sequences: number, vectors: number, ms: number): void {
    if (!(ms >= 0) || vectors <= 0) return;
    const window = this.#costs.get(vectors) ?? [];
    window.push(ms);
    if (window.length > COST_WINDOW) window.shift();
    this.#costs.set(vectors, window);
    this.#passesAtZero = vectors > sequences ? 0 : this.#passesAtZero + 1;
  }

  /** One verified draft position (padding included): accepted, or the first rejection of its pass. */
  recordDraft(accepted: boolean): void {
    this.#acceptance += this.#smoothing * ((accepted ? 1 : 0) - this.#acceptance);
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Least-squares slope of cost over vector count. */
function slope(points: readonly (readonly [number, number])[]): number {
  const n = points.length;
  const mx = points.reduce((s, [v]) => s + v, 0) / n;
  const my = points.reduce((s, [, c]) => s + c, 0) / n;
  let num = 0;
  let den = 0;
  for (const [v, c] of points) {
    num += (v - mx) * (c - my);
    den += (v - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}
