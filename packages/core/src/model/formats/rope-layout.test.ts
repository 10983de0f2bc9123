import { describe, expect, it } from 'vitest';
import { applyRope } from '../weightless-ops.ts';
import { permutePairsToHalves, unpermuteHalvesToPairs } from './loaded-model.ts';

// Hugging Face LLaMA applies RoPE with rotate_half: element i of a head pairs
// with i + head/2. llama2.c and llama.cpp rotate adjacent pairs (2i, 2i+1).
// Loading an HF checkpoint reorders q/k rows; this checks the reorder against
// an independent rotate_half implementation, so every path uses the same RoPE.

function hfRotateHalf(q: Float64Array, pos: number, headSize: number, theta: number): Float64Array {
  const out = new Float64Array(q.length);
  const half = headSize / 2;
  for (let h = 0; h < q.length / headSize; h++) {
    for (let i = 0; i < half; i++) {
      const angle = pos * Math.pow(theta, -(2 * i) / headSize);
      const a = q[h * headSize + i];
      const b = q[h * headSize + half + i];
      out[h * headSize + i] = a * Math.cos(angle) - b * Math.sin(angle);
      out[h * headSize + half + i] = b * Math.cos(angle) + a * Math.sin(angle);
    }
  }
  return out;
}

function matvec(w: Float32Array, x: Float64Array): Float64Array {
  const rows = w.length / x.length;
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) for (let c = 0; c < x.length; c++) out[r] += w[r * x.length + c] * x[c];
  return out;
}

describe('RoPE layouts', () => {
  const heads = 3;
  const headSize = 8;
  const dim = heads * headSize;
  const wPairs = Float32Array.from({ length: dim * dim }, (_, i) => Math.sin(i * 0.37));
  const x = Float64Array.from({ length: dim }, (_, i) => Math.cos(i * 0.11));

  it('permute and unpermute are inverse', () => {
    expect(unpermuteHalvesToPairs(permutePairsToHalves(wPairs, heads, dim), heads, dim)).toEqual(wPairs);
  });

  it('rotate_half on the HF layout equals adjacent-pair RoPE on the loaded layout (row-permuted)', () => {
    const wHf = permutePairsToHalves(wPairs, heads, dim);
    for (const pos of [0, 1, 5, 37]) {
      const hf = hfRotateHalf(matvec(wHf, x), pos, headSize, 10000);
      const ours = matvec(unpermuteHalvesToPairs(wHf, heads, dim), x);
      applyRope(ours, new Float64Array(0), pos, headSize, 10000);
      for (let h = 0; h < heads; h++) {
        for (let i = 0; i < headSize / 2; i++) {
          for (let p = 0; p < 2; p++) {
            expect(ours[h * headSize + 2 * i + p]).toBeCloseTo(hf[h * headSize + p * (headSize / 2) + i], 12);
          }
        }
      }
    }
  });
});
