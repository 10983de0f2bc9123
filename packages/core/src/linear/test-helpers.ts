import type { LinearWeights } from './layout.ts';

/** Deterministic uniform [0,1) generator (mulberry32) so test failures reproduce. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Inputs uniform in [-1, 1]. */
export function randomVector(rand: () => number, n: number): Float64Array {
  return Float64Array.from({ length: n }, () => rand() * 2 - 1);
}

/** Weights uniform in [-1, 1]/sqrt(dIn) and bias in [-1, 1], the test distribution. */
export function randomWeights(rand: () => number, dOut: number, dIn: number): LinearWeights {
  const s = 1 / Math.sqrt(dIn);
  return {
    dOut,
    dIn,
    weight: Float64Array.from({ length: dOut * dIn }, () => (rand() * 2 - 1) * s),
    bias: randomVector(rand, dOut),
  };
}

/**
 * Operator shapes (dOut x dIn) every planner and operator check covers: the
 * degenerate ones, squares, and stories260K's narrow and wide matrices.
 * Files add their own larger ones.
 */
export const COMMON_SHAPES: readonly [number, number][] = [
  [1, 1],
  [7, 5],
  [64, 64],
  [64, 128],
  [128, 64],
  [64, 344],
  [172, 64],
  [512, 192],
  [64, 512],
];
