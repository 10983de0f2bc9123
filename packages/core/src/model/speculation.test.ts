import { describe, expect, it } from 'vitest';
import { decode, perSequenceForwarder, type DecodeStats } from './decode.ts';
import type { TokenForwarder } from './generate.ts';
import { draftFromContext } from './prompt-lookup.ts';
import { Sampler } from './sampler.ts';
import { SpeculationController } from './speculation-controller.ts';

describe('prompt lookup', () => {
  it('proposes what followed the latest earlier occurrence of the longest suffix', () => {
    expect(draftFromContext([5, 6, 7, 8, 5, 6], 3)).toEqual([7, 8, 5]);
    // [1, 2] occurs at 0 and 3: the later one wins.
    expect(draftFromContext([1, 2, 9, 1, 2, 8, 1, 2], 2)).toEqual([8, 1]);
    // The 2-gram [3, 4] beats the later 1-gram match of 4.
    expect(draftFromContext([3, 4, 10, 4, 11, 3, 4], 1)).toEqual([10]);
    expect(draftFromContext([1, 2, 3], 4)).toEqual([]);
    expect(draftFromContext([1, 2, 1], 0)).toEqual([]);
    expect(draftFromContext([1, 2, 1], 5)).toEqual([2, 1]);
  });
});

describe('SpeculationController', () => {
  const feed = (c: SpeculationController, costs: Record<number, number>, acceptance: number) => {
    for (let i = 0; i < 40; i++) {
      c.recordDraft(i % 10 < acceptance * 10);
    }
    for (const [vectors, ms] of Object.entries(costs)) for (let i = 0; i < 3; i++) c.recordPass(1, Number(vectors), ms);
  };

  it('measures a plain pass first, then is optimistic, so drafts get tried and measured', () => {
    const c = new SpeculationController();
    expect(c.draftsFor(1)).toBe(0);
    c.recordPass(1, 1, 100);
    // k + 1 is a power of two (the planner's batch sizes): 1 or 3, never 2.
    expect([1, 3]).toContain(c.draftsFor(1));
    expect(c.draftsFor(2)).toBe(0); // two sequences: their plain pass is not measured yet
    const off = new SpeculationController({ maxDraft: 0 });
    off.recordPass(1, 1, 100);
    expect(off.draftsFor(1)).toBe(0);
  });

  it('drops a costly k within a few passes once drafts keep failing', () => {
    const c = new SpeculationController();
    c.recordPass(1, 1, 100);
    const k = c.draftsFor(1);
    c.recordPass(1, 1 + k, 400); // the drafted pass cost four times the plain one
    let passes = 0;
    while (c.draftsFor(1) > 0 && passes < 10) {
      c.recordDraft(false);
      c.recordPass(1, 1 + c.draftsFor(1), 400);
      passes++;
    }
    expect(c.draftsFor(1)).toBe(0);
    expect(passes).toBeLessThan(3);
  });

  it('drops k to 0 when an extra vector costs more than the drafts earn, and probes again later', () => {
    const c = new SpeculationController({ probeEvery: 8 });
    feed(c, { 2: 190, 4: 370, 1: 100 }, 0.3);
    expect(c.acceptanceRate).toBeLessThan(0.4);
    expect(c.draftsFor(1)).toBe(0);
    for (let i = 0; i < 7; i++) c.recordPass(1, 1, 100);
    expect(c.draftsFor(1)).toBe(0);
    c.recordPass(1, 1, 100);
    expect(c.draftsFor(1)).toBe(1); // eight passes at k = 0: re-measure k = 1
    c.recordPass(1, 2, 190);
    expect(c.draftsFor(1)).toBe(0);
  });

  it('raises k to its maximum when vectors are nearly free and drafts are good', () => {
    const c = new SpeculationController({ maxDraft: 3 });
    feed(c, { 1: 100, 2: 104, 4: 112 }, 0.9);
    expect(c.acceptanceRate).toBeGreaterThan(0.8);
    expect(c.draftsFor(1)).toBe(3);
    // Same drafts, but every vector costs as much as the first: no speculation.
    feed(c, { 1: 100, 2: 200, 4: 400 }, 0.9);
    expect(c.draftsFor(1)).toBe(0);
  });

  it('estimates unmeasured counts from measured ones, never cheaper for more vectors', () => {
    const c = new SpeculationController();
    c.recordPass(1, 1, 100);
    c.recordPass(1, 4, 160);
    expect(c.estimateCost(2)).toBeCloseTo(120);
    expect(c.estimateCost(8)).toBeCloseTo(240);
    c.recordPass(1, 2, 90);
    expect(c.estimateCost(3)).toBeGreaterThanOrEqual(90);
  });
});

// ---------------------------------------------------------------- the output distribution

const VOCAB = 6; // token 1 is BOS and never likely
const GENERATED = 3;

/** A tiny position-dependent Markov "model": logits depend on (position, previous token) only. */
function markovModel(seed: number): { table: Float32Array[][]; forwarder: () => TokenForwarder } {
  let state = seed;
  const next = () => ((state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32) * 3 - 1.5;
  const table = Array.from({ length: 16 }, () =>
    // A pull towards alternating 0 and 2 makes the prompt's pattern a plausible (not certain) continuation.
    Array.from({ length: VOCAB }, (_, prev) => Float32Array.from({ length: VOCAB }, (_, v) => (v === 1 ? -40 : next() + (v === 2 - prev ? 1.2 : 0)))),
  );
  return { table, forwarder: () => ({ forward: (tokens, startPos) => tokens.map((t, i) => table[startPos + i][t].slice()) }) };
}

/** The sampler's final distribution (temperature, then the top-p nucleus), in Float64. */
function finalDistribution(logits: Float32Array, temperature: number, topp: number): number[] {
  const scaled = Array.from(logits, (l) => l / temperature);
  const max = Math.max(...scaled);
  const e = scaled.map((s) => Math.exp(s - max));
  const sum = e.reduce((a, b) => a + b, 0);
  const p = e.map((x) => x / sum);
  const order = p.map((_, i) => i).sort((a, b) => p[b] - p[a]);
  const out = new Array<number>(p.length).fill(0);
  let mass = 0;
  for (const i of order) {
    out[i] = p[i];
    mass += p[i];
    if (mass > topp) break;
  }
  return out.map((x) => x / mass);
}

/** Exact probability of every sequence of GENERATED tokens after `prompt`. */
function exactJoint(table: Float32Array[][], prompt: number[], temperature: number, topp: number): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (prefix: number[], prob: number) => {
    if (prefix.length === GENERATED) return void out.set(prefix.join(','), prob);
    const pos = prompt.length - 1 + prefix.length;
    const prev = prefix.length ? prefix.at(-1)! : prompt.at(-1)!;
    finalDistribution(table[pos][prev], temperature, topp).forEach((q, t) => q > 0 && walk([...prefix, t], prob * q));
  };
  walk([], 1);
  return out;
}

/** Pearson's chi-square, cells with expected count < 5 pooled; returns the statistic and degrees of freedom. */
function chiSquare(counts: Map<string, number>, expected: Map<string, number>, runs: number): { chi2: number; df: number } {
  let chi2 = 0;
  let df = -1;
  let pooledObserved = 0;
  let pooledExpected = 0;
  for (const [key, p] of expected) {
    const e = p * runs;
    const o = counts.get(key) ?? 0;
    if (e < 5) {
      pooledObserved += o;
      pooledExpected += e;
      continue;
    }
    chi2 += (o - e) ** 2 / e;
    df++;
  }
  if (pooledExpected > 0) {
    chi2 += (pooledObserved - pooledExpected) ** 2 / pooledExpected;
    df++;
  }
  return { chi2, df };
}

/** Upper chi-square quantile (Wilson-Hilferty) for a standard normal quantile z. */
const chiSquareQuantile = (df: number, z: number) => df * (1 - 2 / (9 * df) + z * Math.sqrt(2 / (9 * df))) ** 3;

describe('speculative sampling keeps the output distribution', () => {
  const { table, forwarder } = markovModel(2024);
  const prompt = [1, 0, 2, 0, 2, 0]; // repetitive: prompt lookup drafts at almost every position
  const RUNS = 6000;

  async function sampleMany(temperature: number, topp: number) {
    const counts = new Map<string, number>();
    const totals: DecodeStats = { passes: 0, sequencePasses: 0, tokens: 0, draftTokens: 0, acceptedDraftTokens: 0 };
    for (let seed = 1; seed <= RUNS; seed++) {
      const tokens: number[] = [];
      const generator = decode(perSequenceForwarder([forwarder()]), {
        promptTokens: prompt,
        maxTokens: GENERATED,
        seqLen: table.length,
        samplers: [new Sampler({ temperature, topp, seed: seed * 7919 })],
        speculation: new (class extends SpeculationController {
          override draftsFor() {
            return 2;
          }
        })(),
      });
      for (;;) {
        const step = await generator.next();
        if (step.done) {
          for (const key of Object.keys(totals) as (keyof DecodeStats)[]) totals[key] += step.value[key];
          break;
        }
        if (step.value.token !== undefined) tokens.push(step.value.token);
      }
      const key = tokens.join(',');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return { counts, totals };
  }

  it.each([
    [1, 1],
    [0.7, 0.9],
  ])('temperature %s, top-p %s: chi-square against the exact joint law of 3 tokens', async (temperature, topp) => {
    const { counts, totals } = await sampleMany(temperature, topp);
    // Drafts were both accepted and rejected, so the rule was exercised both ways.
    expect(totals.acceptedDraftTokens).toBeGreaterThan(RUNS / 10);
    expect(totals.draftTokens - totals.acceptedDraftTokens).toBeGreaterThan(RUNS / 10);
    const { chi2, df } = chiSquare(counts, exactJoint(table, prompt, temperature, topp), RUNS);
    expect(df).toBeGreaterThan(10);
    expect(chi2).toBeLessThan(chiSquareQuantile(df, 3.719)); // p = 1e-4
    // The same test rejects a law that is only slightly off (temperature 15% higher): it has power.
    const wrong = chiSquare(counts, exactJoint(table, prompt, temperature * 1.15, topp), RUNS);
    expect(wrong.chi2).toBeGreaterThan(chiSquareQuantile(wrong.df, 3.719));
  });
});
