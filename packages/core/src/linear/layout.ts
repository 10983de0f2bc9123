import { PlanError } from '../errors/plan-error.ts';
import type { LinearPlan } from './plan.ts';

/**
 * Slot layouts of a LinearPlan, in plain Float64: what the client encodes,
 * what each pre-encoded weight plaintext holds, and where outputs land.
 * Both the CKKS evaluator and its Float64 twin use exactly these functions.
 */

/** Dense weights of y = W x + b; `weight` is row-major [dOut][dIn]. */
export interface LinearWeights {
  readonly dOut: number;
  readonly dIn: number;
  readonly weight: Float64Array | Float32Array;
  readonly bias?: Float64Array | Float32Array;
}

export function checkWeights(plan: LinearPlan, w: LinearWeights): void {
  if (w.dOut !== plan.dOut || w.dIn !== plan.dIn || w.weight.length !== w.dOut * w.dIn) {
    throw new PlanError('shape_mismatch', 'weights do not match the plan', {
      expected: `${plan.dOut}x${plan.dIn}`,
      got: `${w.dOut}x${w.dIn} (${w.weight.length} values)`,
    });
  }
  if (w.bias && w.bias.length !== w.dOut) throw new PlanError('shape_mismatch', 'bias length differs from dOut', { expected: w.dOut, got: w.bias.length });
}

/** Slot where vector t, chunk m, offset i of a block lives. */
export function slotOf(plan: LinearPlan, t: number, m: number, i: number): number {
  return (m * plan.batch + t) * plan.blockSize + i;
}

/** Rotate left by k (slot j receives slot j + k), as SEAL's rotate_vector does. */
export function rotateSlots(v: Float64Array, k: number): Float64Array {
  const n = v.length;
  const s = ((k % n) + n) % n;
  const out = new Float64Array(n);
  out.set(v.subarray(s), 0);
  out.set(v.subarray(0, s), n - s);
  return out;
}

/** Index of input ciphertext (tile c, baby-step shift b) in the upload. */
export function inputIndex(plan: LinearPlan, c: number, b: number): number {
  return plan.preRotated ? c * plan.babySteps + b : c;
}

/**
 * Slot vectors the client encrypts for up to `plan.batch` input vectors, in
 * upload order. Each block holds its vector's tile repeated periodically and
 * shifted by the block's first diagonal (and by the baby step when the plan
 * is pre-rotated), so relay rotations never need to mask anything.
 */
export function packInput(plan: LinearPlan, vectors: readonly ArrayLike<number>[]): Float64Array[] {
  if (vectors.length < 1 || vectors.length > plan.batch) {
    throw new PlanError('bad_count', `a ciphertext group carries 1..${plan.batch} vectors`, { expected: plan.batch, got: vectors.length });
  }
  for (const x of vectors) {
    if (x.length !== plan.dIn) throw new PlanError('shape_mismatch', 'input vector length differs from dIn', { expected: plan.dIn, got: x.length });
  }
  const shifts = plan.preRotated ? plan.babySteps : 1;
  const out: Float64Array[] = [];
  for (let c = 0; c < plan.inTiles; c++) {
    for (let b = 0; b < shifts; b++) {
      const slots = new Float64Array(plan.slots);
      vectors.forEach((x, t) => {
        for (let m = 0; m < plan.chunks; m++) {
          const base = slotOf(plan, t, m, 0);
          const shift = m * plan.diagonals + b;
          for (let j = 0; j < plan.blockSize; j++) {
            const col = c * plan.tileIn + ((j + shift) % plan.tileIn);
            if (col < plan.dIn) slots[base + j] = x[col];
          }
        }
      });
      out.push(slots);
    }
  }
  return out;
}

/**
 * Diagonal k = g*n1 + b of tile (r, c), laid out for every block and
 * pre-rotated right by g*n1 so it meets the baby-step-rotated input before the
 * giant-step rotation. Returns null when the diagonal is all zero.
 */
export function diagonalSlots(plan: LinearPlan, w: LinearWeights, r: number, c: number, g: number, b: number): Float64Array | null {
  const k = g * plan.babySteps + b;
  if (k >= plan.diagonals) return null;
  const slots = new Float64Array(plan.slots);
  const shift = g * plan.babySteps;
  let nonzero = false;
  for (let m = 0; m < plan.chunks; m++) {
    const d = m * plan.diagonals + k;
    if (d >= plan.tileIn) continue;
    for (let i = 0; i < plan.tileOut; i++) {
      const row = r * plan.tileOut + i;
      const col = c * plan.tileIn + ((i + d) % plan.tileIn);
      if (row >= plan.dOut || col >= plan.dIn) continue;
      const value = w.weight[row * plan.dIn + col];
      if (value === 0) continue;
      for (let t = 0; t < plan.batch; t++) slots[(slotOf(plan, t, m, i) + shift) % plan.slots] = value;
      nonzero = true;
    }
  }
  return nonzero ? slots : null;
}

/**
 * Bias of output tile r in every block of the first `vectors` vectors (so
 * folded blocks all read W x + b). Slots of vectors the request did not carry
 * stay zero: a response never reveals b on its own.
 */
export function biasSlots(plan: LinearPlan, w: LinearWeights, r: number, vectors: number): Float64Array | null {
  if (!w.bias) return null;
  const slots = new Float64Array(plan.slots);
  let nonzero = false;
  for (let i = 0; i < plan.tileOut; i++) {
    const row = r * plan.tileOut + i;
    if (row >= plan.dOut || w.bias[row] === 0) continue;
    nonzero = true;
    for (let t = 0; t < vectors; t++) for (let m = 0; m < plan.chunks; m++) slots[slotOf(plan, t, m, i)] = w.bias[row];
  }
  return nonzero ? slots : null;
}

/** Read `count` output vectors from the decrypted slots of the output tiles. */
export function unpackOutput(plan: LinearPlan, tiles: readonly ArrayLike<number>[], count: number): Float64Array[] {
  if (tiles.length !== plan.outTiles) throw new PlanError('bad_count', 'wrong number of output tiles', { expected: plan.outTiles, got: tiles.length });
  const out: Float64Array[] = [];
  for (let t = 0; t < count; t++) {
    const y = new Float64Array(plan.dOut);
    for (let r = 0; r < plan.outTiles; r++) {
      for (let i = 0; i < plan.tileOut; i++) {
        const row = r * plan.tileOut + i;
        if (row < plan.dOut) y[row] = tiles[r][slotOf(plan, t, 0, i)];
      }
    }
    out.push(y);
  }
  return out;
}

/**
 * For every output slot: the output row it must equal, or -1 when it must be
 * zero. Used to test that a response reveals W x + b and nothing else.
 */
export function outputSlotRows(plan: LinearPlan, r: number, vectors: number): Int32Array {
  const rows = new Int32Array(plan.slots).fill(-1);
  for (let t = 0; t < vectors; t++) {
    for (let m = 0; m < plan.chunks; m++) {
      for (let i = 0; i < plan.tileOut; i++) {
        const row = r * plan.tileOut + i;
        if (row < plan.dOut) rows[slotOf(plan, t, m, i)] = t * plan.dOut + row;
      }
    }
  }
  return rows;
}
