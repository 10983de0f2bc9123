import type { LinearPlan } from './plan.ts';
import { biasSlots, diagonalSlots, inputIndex, rotateSlots, type LinearWeights } from './layout.ts';

/**
 * Float64 twin of the relay's evaluation: the same rotations, products and
 * sums as `LinearOperator.evaluate`, on plain slot vectors. Tests compare the
 * CKKS result against it slot by slot, and it proves a layout right without
 * any encryption.
 */
export function evaluatePlanPlain(plan: LinearPlan, w: LinearWeights, inputs: readonly Float64Array[], vectors: number): Float64Array[] {
  const babies: Float64Array[][] = [];
  for (let c = 0; c < plan.inTiles; c++) {
    const row: Float64Array[] = [];
    for (let b = 0; b < plan.babySteps; b++) {
      row.push(plan.preRotated ? inputs[inputIndex(plan, c, b)] : rotateSlots(inputs[inputIndex(plan, c, 0)], b));
    }
    babies.push(row);
  }
  const out: Float64Array[] = [];
  const parts = plan.giantParts;
  for (let r = 0; r < plan.outTiles; r++) {
    // Each part's Horner chain over g = p (mod P) with step P*n1, shifted by p*n1, then summed: the
    // same split as LinearOperator.evaluatePart/combineParts (P = 1: the whole chain).
    let y: Float64Array = new Float64Array(plan.slots);
    for (let p = 0; p < parts; p++) {
      let acc: Float64Array | null = null;
      for (let g = p + parts * Math.floor((plan.giantSteps - 1 - p) / parts); g >= p; g -= parts) {
        const part = new Float64Array(plan.slots);
        for (let c = 0; c < plan.inTiles; c++) {
          for (let b = 0; b < plan.babySteps; b++) {
            const d = diagonalSlots(plan, w, r, c, g, b);
            if (!d) continue;
            const x = babies[c][b];
            for (let j = 0; j < plan.slots; j++) part[j] += x[j] * d[j];
          }
        }
        acc = acc === null ? part : addSlots(rotateSlots(acc, parts * plan.babySteps), part);
      }
      if (acc) y = addSlots(y, rotateSlots(acc, p * plan.babySteps));
    }
    for (let s = plan.batch * plan.blockSize; s < plan.batch * plan.blockSize * plan.chunks; s *= 2) y = addSlots(y, rotateSlots(y, s));
    const bias = biasSlots(plan, w, r, vectors);
    out.push(bias ? addSlots(y, bias) : y);
  }
  return out;
}

function addSlots(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] + b[i];
  return out;
}

/** The definition: y = W x + b in Float64, row-major W. */
export function linearReference(w: LinearWeights, x: ArrayLike<number>): Float64Array {
  const y = new Float64Array(w.dOut);
  for (let i = 0; i < w.dOut; i++) {
    let sum = w.bias ? w.bias[i] : 0;
    const row = i * w.dIn;
    for (let j = 0; j < w.dIn; j++) sum += w.weight[row + j] * x[j];
    y[i] = sum;
  }
  return y;
}
