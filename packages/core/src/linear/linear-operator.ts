import type { Ciphertext, GaloisKeys, Plaintext } from 'node-seal';
import { PlanError } from '../errors/plan-error.ts';
import { sealCall } from '../errors/seal-error.ts';
import type { CkksContext } from '../seal/ckks-context.ts';
import { plaintextBytesOf } from '../seal/presets.ts';
import { biasSlots, checkWeights, diagonalSlots, inputIndex, type LinearWeights } from './layout.ts';
import type { LinearPlan } from './plan.ts';

/** One worker's share of a lone output tile's giant steps (see LinearPlan.giantParts). */
export interface GiantPart {
  readonly part: number;
  readonly parts: number;
}

/** Operation counts of one evaluation, to compare against the plan's cost model. */
export interface EvaluationStats {
  rotations: number;
  plainMults: number;
}

/**
 * How an operator holds its weights. `eager`: every diagonal pre-encoded once
 * (fastest; 8 bytes x N x data primes per plaintext). `lazy`: only the Float
 * weights are kept and each diagonal is encoded when an evaluation needs it,
 * then freed (an encode costs about 2.5 plaintext products), so memory stays
 * at the weights' own size. A relay under a memory budget makes the operators
 * that do not fit lazy (see StepOperators).
 */
export type WeightEncoding = 'eager' | 'lazy';

/** What an eager operator pre-encodes: these output tiles and, of a lone tile's shared giant steps, these parts (default all). */
export interface OperatorHolding {
  readonly tiles?: readonly number[];
  readonly parts?: readonly number[];
}

/** Bytes one pre-encoded diagonal holds, for a plan's preset. */
export function plaintextBytes(ctx: CkksContext): number {
  return plaintextBytesOf(ctx.preset);
}

/**
 * The relay half of y = W x + b: weights as the plan's diagonals (pre-encoded
 * once at the top level and reused across evaluations and sessions, or
 * encoded on use, see WeightEncoding) and the evaluation itself. Owns its
 * plaintexts: call `delete()` when done.
 */
export class LinearOperator {
  readonly ctx: CkksContext;
  readonly plan: LinearPlan;
  readonly weights: LinearWeights;
  readonly encoding: WeightEncoding;
  /** diagonals[r][c][g][b], null where the diagonal is all zero; undefined for tiles (or giant steps) not held (all when lazy). */
  readonly #diagonals: (((Plaintext | null)[] | undefined)[][] | undefined)[];
  /** Bias plaintexts per (tile, vector count), encoded on first use. */
  readonly #bias = new Map<string, Plaintext | null>();
  readonly #steps: number[];
  readonly #allTiles: readonly number[];
  readonly #lastParmsId;
  #deleted = false;

  /**
   * `hold`: what to pre-encode when eager (default everything). A relay
   * worker holds only the output tiles it owns, and of a lone tile whose
   * giant steps are held apart only its own parts' giant steps (see
   * tile-shards.ts); anything else is still evaluated correctly, its
   * diagonals encoded on use, while the matrix is kept.
   */
  constructor(ctx: CkksContext, plan: LinearPlan, weights: LinearWeights, encoding: WeightEncoding = 'eager', hold: OperatorHolding = {}) {
    if (plan.presetId !== ctx.preset.id) throw new PlanError('preset_mismatch', 'plan and context use different presets', { expected: ctx.preset.id, got: plan.presetId });
    checkWeights(plan, weights);
    this.ctx = ctx;
    this.plan = plan;
    this.weights = weights;
    this.encoding = encoding;
    this.#steps = [...plan.galoisSteps];
    this.#allTiles = Array.from({ length: plan.outTiles }, (_, r) => r);
    this.#lastParmsId = ctx.context.lastParmsId();
    this.#diagonals = [];
    if (encoding === 'lazy') return;
    const heldTiles = new Set(hold.tiles ?? this.#allTiles);
    const heldParts = hold.parts && new Set(hold.parts);
    try {
      for (let r = 0; r < plan.outTiles; r++) {
        if (!heldTiles.has(r)) {
          this.#diagonals.push(undefined);
          continue;
        }
        const byTile: ((Plaintext | null)[] | undefined)[][] = [];
        for (let c = 0; c < plan.inTiles; c++) {
          const byGiant: ((Plaintext | null)[] | undefined)[] = [];
          for (let g = 0; g < plan.giantSteps; g++) {
            if (heldParts && !heldParts.has(g % plan.giantParts)) {
              byGiant.push(undefined);
              continue;
            }
            const byBaby: (Plaintext | null)[] = [];
            for (let b = 0; b < plan.babySteps; b++) {
              const slots = diagonalSlots(plan, weights, r, c, g, b);
              byBaby.push(slots ? ctx.encode(slots, 2 ** plan.weightScaleBits) : null);
            }
            byGiant.push(byBaby);
          }
          byTile.push(byGiant);
        }
        this.#diagonals.push(byTile);
      }
    } catch (error) {
      this.delete();
      throw error;
    }
  }

  /** Bytes held by the pre-encoded plaintexts (for metrics and sizing); 0 when lazy. */
  get encodedBytes(): number {
    let count = 0;
    for (const t of this.#diagonals) for (const c of t ?? []) for (const g of c) for (const p of g ?? []) if (p) count++;
    return count * plaintextBytes(this.ctx);
  }

  /** Output tiles whose diagonals are held pre-encoded (none when lazy). */
  get heldTiles(): number[] {
    return this.#allTiles.filter((r) => this.#diagonals[r] !== undefined);
  }

  /** Whether the matrix is still here (a relay worker releases it once its plans are pre-encoded). */
  get #hasMatrix(): boolean {
    return this.weights.weight.length === this.plan.dOut * this.plan.dIn;
  }

  /**
   * Whether this operator holds giant-step part `part` of `plan.giantParts`:
   * every one of its diagonals pre-encoded, or lazy (it encodes every
   * diagonal on use anyway). A relay worker answering for a group computes
   * only such parts itself; a part held apart stays with its owner even while
   * this worker still keeps the matrix it could encode it from (a small
   * model's, until its batched plans are warmed), which would be slower and
   * would break the rule that each part runs where it is held.
   */
  holdsPart(part: number): boolean {
    if (this.encoding === 'lazy') return true;
    return this.#allTiles.every((r) => {
      const tile = this.#diagonals[r];
      return tile?.every((byGiant) => byGiant.every((byBaby, g) => byBaby !== undefined || g % this.plan.giantParts !== part)) ?? false;
    });
  }

  /** The diagonal plaintext for (r, c, g, b) and whether the caller must free it (lazy encoding). */
  #diagonal(r: number, c: number, g: number, b: number): { pt: Plaintext | null; owned: boolean } {
    const held = this.#diagonals[r]?.[c][g];
    if (held) return { pt: held[b], owned: false };
    // A relay worker drops matrices it holds encoded (StepOperators.releaseIfEncoded): never read an empty one as zeros.
    if (!this.#hasMatrix) {
      throw new PlanError('weights_released', `output tile ${r}, giant step ${g} is not pre-encoded here and the matrix was released`, { expected: this.heldTiles, got: `${r}:${g}` });
    }
    const slots = diagonalSlots(this.plan, this.weights, r, c, g, b);
    return { pt: slots ? this.ctx.encode(slots, 2 ** this.plan.weightScaleBits) : null, owned: true };
  }

  /** Galois keys missing from `keys` for this plan's rotations (empty when all present). */
  missingSteps(keys: GaloisKeys): number[] {
    return this.#steps.filter((s) => !keys.hasKey(this.ctx.galoisElement(s)));
  }

  /**
   * Check that uploaded ciphertexts are what this plan expects: count, two
   * polynomials, top level, NTT form and the preset's input scale. Throws a
   * PlanError whose code names the failed check.
   */
  checkInputs(inputs: readonly Ciphertext[], vectors: number): void {
    const p = this.plan;
    if (inputs.length !== p.cost.inputCiphertexts) {
      throw new PlanError('bad_count', 'wrong number of input ciphertexts for the plan', { expected: p.cost.inputCiphertexts, got: inputs.length });
    }
    if (!Number.isInteger(vectors) || vectors < 1 || vectors > p.batch) {
      throw new PlanError('bad_count', `a ciphertext group carries 1..${p.batch} vectors`, { expected: p.batch, got: vectors });
    }
    const levels = this.ctx.preset.dataPrimeBits.length;
    const scale = 2 ** p.inputScaleBits;
    for (const ct of inputs) {
      if (ct.size() !== 2) throw new PlanError('bad_size', 'input ciphertexts must have two polynomials', { expected: 2, got: ct.size() });
      if (ct.coeffModulusSize() !== levels) throw new PlanError('bad_level', 'input ciphertexts must be at the top level', { expected: levels, got: ct.coeffModulusSize() });
      if (!ct.isNttForm()) throw new PlanError('bad_form', 'input ciphertexts must be in NTT form');
      if (Math.abs(ct.scale() / scale - 1) > 1e-9) {
        throw new PlanError('bad_scale', 'input scale differs from the plan', { expected: p.inputScaleBits, got: Math.log2(ct.scale()) });
      }
    }
  }

  /**
   * y = W x + b for one ciphertext group carrying `vectors` vectors. Inputs
   * are borrowed; the returned ciphertexts (one per output tile, at the last
   * level) belong to the caller. `outputTiles` evaluates only those tiles, in
   * that order: tiles are independent, so workers can share a group.
   */
  evaluate(inputs: readonly Ciphertext[], vectors: number, keys: GaloisKeys, stats: EvaluationStats = { rotations: 0, plainMults: 0 }, outputTiles: readonly number[] = this.#allTiles): Ciphertext[] {
    this.#checkEvaluation(inputs, vectors, keys, outputTiles);
    const giantSteps = Array.from({ length: this.plan.giantSteps }, (_, g) => g);
    return this.#withBabySteps(inputs, keys, stats, (babies) =>
      this.#perTile(outputTiles, (r) => {
        const acc = this.#giantSum(r, babies, giantSteps, 1, keys, stats);
        this.#finish(acc, r, vectors, keys, stats);
        return acc;
      }),
    );
  }

  /**
   * One worker's share of a lone output tile's giant steps (see
   * `LinearPlan.giantParts`): the sum over g = part (mod parts) of the giant
   * steps rotated into place, before the folds and the bias. The caller
   * owns the result and passes every part's to `combineParts`. A partial sum
   * never leaves the relay: alone it is a product of the weights with fewer
   * diagonals than the answer.
   */
  evaluatePart(inputs: readonly Ciphertext[], vectors: number, keys: GaloisKeys, giant: GiantPart, stats: EvaluationStats = { rotations: 0, plainMults: 0 }): Ciphertext[] {
    const { part, parts } = giant;
    if (!Number.isInteger(parts) || parts < 2 || (parts & (parts - 1)) !== 0 || parts > this.plan.giantSteps || !Number.isInteger(part) || part < 0 || part >= parts) {
      throw new PlanError('bad_part', 'no such giant-step part', { expected: `0..parts-1 of 2..${this.plan.giantSteps} (a power of two)`, got: `${part} of ${parts}` });
    }
    const horner = this.plan.giantRotations === 'horner';
    this.#checkEvaluation(inputs, vectors, keys, this.#allTiles, horner ? parts * this.plan.babySteps : undefined);
    const mine = Array.from({ length: Math.ceil((this.plan.giantSteps - part) / parts) }, (_, i) => part + i * parts);
    return this.#withBabySteps(inputs, keys, stats, (babies) =>
      this.#perTile(this.#allTiles, (r) => {
        const acc = this.#giantSum(r, babies, mine, parts, keys, stats);
        // A summed part is already in place; a Horner chain starts at its first step.
        if (horner && part > 0) {
          this.ctx.rotate(acc, part * this.plan.babySteps, keys);
          stats.rotations++;
        }
        return acc;
      }),
    );
  }

  /**
   * The answer from every part's partial sums (`partials[p][r]`: part p,
   * output tile r, as `evaluatePart` returned them): their sum, folded, with
   * the bias. Borrows the partials; the caller owns the result.
   */
  combineParts(partials: readonly (readonly Ciphertext[])[], vectors: number, keys: GaloisKeys, stats: EvaluationStats = { rotations: 0, plainMults: 0 }): Ciphertext[] {
    if (this.#deleted) throw new PlanError('deleted', 'operator was deleted');
    if (partials.length < 2 || partials.some((tiles) => tiles.length !== this.plan.outTiles)) {
      throw new PlanError('bad_count', 'one partial sum per part and output tile', { expected: `2+ parts x ${this.plan.outTiles} tiles`, got: partials.map((t) => t.length) });
    }
    if (!Number.isInteger(vectors) || vectors < 1 || vectors > this.plan.batch) {
      throw new PlanError('bad_count', `a ciphertext group carries 1..${this.plan.batch} vectors`, { expected: this.plan.batch, got: vectors });
    }
    this.#checkKeys(keys, this.#steps);
    return this.#perTile(this.#allTiles, (r) => {
      const acc = new this.ctx.seal.Ciphertext();
      try {
        acc.assign(partials[0][r]);
        for (let p = 1; p < partials.length; p++) this.ctx.evaluator.addInplace(acc, partials[p][r]);
        this.#finish(acc, r, vectors, keys, stats);
        return acc;
      } catch (error) {
        acc.delete();
        throw error;
      }
    });
  }

  #checkEvaluation(inputs: readonly Ciphertext[], vectors: number, keys: GaloisKeys, outputTiles: readonly number[], extraStep?: number): void {
    if (this.#deleted) throw new PlanError('deleted', 'operator was deleted');
    this.checkInputs(inputs, vectors);
    for (const r of outputTiles) {
      if (!Number.isInteger(r) || r < 0 || r >= this.plan.outTiles) throw new PlanError('bad_tile', 'no such output tile', { expected: `0..${this.plan.outTiles - 1}`, got: r });
    }
    this.#checkKeys(keys, extraStep === undefined ? this.#steps : [...this.#steps, extraStep]);
  }

  #checkKeys(keys: GaloisKeys, steps: readonly number[]): void {
    const missing = steps.filter((s) => !keys.hasKey(this.ctx.galoisElement(s)));
    if (missing.length) throw new PlanError('missing_keys', 'Galois keys lack rotation steps this plan needs', { expected: steps, got: missing });
  }

  /** Run `body` with the baby steps of every input tile (rotation by b is one power-of-two rotation of an earlier baby step); frees the ones made here. */
  #withBabySteps(inputs: readonly Ciphertext[], keys: GaloisKeys, stats: EvaluationStats, body: (babies: Ciphertext[][]) => Ciphertext[]): Ciphertext[] {
    const p = this.plan;
    const owned: Ciphertext[] = [];
    try {
      const babies: Ciphertext[][] = [];
      for (let c = 0; c < p.inTiles; c++) {
        const row: Ciphertext[] = [];
        for (let b = 0; b < p.babySteps; b++) {
          if (p.preRotated || b === 0) row.push(inputs[inputIndex(p, c, b)]);
          else {
            const high = 2 ** Math.floor(Math.log2(b));
            const out = new this.ctx.seal.Ciphertext();
            owned.push(out);
            sealCall('rotation_failed', `rotation by ${high}`, () => this.ctx.rotate(row[b - high], high, keys, out));
            stats.rotations++;
            row.push(out);
          }
        }
        babies.push(row);
      }
      return body(babies);
    } finally {
      for (const ct of owned) ct.delete();
    }
  }

  /** One ciphertext per tile from `make`; on failure frees those already made. */
  #perTile(tiles: readonly number[], make: (r: number) => Ciphertext): Ciphertext[] {
    const outputs: Ciphertext[] = [];
    try {
      for (const r of tiles) outputs.push(make(r));
      return outputs;
    } catch (error) {
      for (const ct of outputs) ct.delete();
      throw error;
    }
  }

  /**
   * Σ over the giant steps `gs` of part_g rotated into place: by g * n1 when
   * the plan sums its giant steps (one shared key switch,
   * CkksContext.sumRotations), else by (g - gs[0]) * n1 (#giantChain).
   */
  #giantSum(r: number, babies: Ciphertext[][], gs: readonly number[], stride: number, keys: GaloisKeys, stats: EvaluationStats): Ciphertext {
    if (this.plan.giantRotations === 'horner') return this.#giantChain(r, babies, gs, stride, keys, stats);
    const parts: [Ciphertext, number][] = [];
    try {
      for (const g of gs) {
        const part = new this.ctx.seal.Ciphertext();
        if (this.#giantPart(r, g, babies, part, stats)) parts.push([part, g * this.plan.babySteps]);
        else part.delete();
      }
      if (parts.length === 0) throw new PlanError('zero_operator', `output tile ${r} has no nonzero weights in these giant steps; nothing to evaluate`);
      const sum = sealCall('rotation_failed', 'sum of rotated giant steps', () => this.ctx.sumRotations(parts, keys));
      stats.rotations += parts.filter(([, step]) => step !== 0).length;
      return sum;
    } finally {
      for (const [part] of parts) part.delete();
    }
  }

  /**
   * Σ over the giant steps `gs` (ascending, evenly spaced by `stride`) of
   * part_g rotated by (g - gs[0]) * n1, by Horner's rule: acc = rot(acc,
   * stride*n1) + part_g, g descending. Each part is a sum of products at
   * scale 2^(in+w), where key-switching noise is negligible. With
   * `rotateAtLastLevel` each part is rescaled and moved to the last level
   * first, so the rotations are cheap one-prime key switches; otherwise
   * everything stays on top and is rescaled once (in #finish).
   */
  #giantChain(r: number, babies: Ciphertext[][], gs: readonly number[], stride: number, keys: GaloisKeys, stats: EvaluationStats): Ciphertext {
    const { seal, evaluator } = this.ctx;
    const p = this.plan;
    const early = this.ctx.preset.rotateAtLastLevel;
    const acc = new seal.Ciphertext();
    const part = new seal.Ciphertext();
    let started = false;
    try {
      for (let i = gs.length - 1; i >= 0; i--) {
        const g = gs[i];
        const hasPart = this.#giantPart(r, g, babies, part, stats);
        if (hasPart && early) this.#toLastLevel(part);
        if (started) {
          this.ctx.rotate(acc, stride * p.babySteps, keys);
          stats.rotations++;
          if (hasPart) evaluator.addInplace(acc, part);
        } else if (hasPart) {
          // Leading all-zero steps add nothing: the chain starts at the highest nonzero one.
          acc.assign(part);
          started = true;
        }
      }
      if (!started) throw new PlanError('zero_operator', `output tile ${r} has no nonzero weights in these giant steps; nothing to evaluate`);
      return acc;
    } catch (error) {
      acc.delete();
      throw error;
    } finally {
      part.delete();
    }
  }

  /**
   * Giant step g's part, Σ over input tiles c and baby steps b of
   * diagonal(r, c, g, b) · babies[c][b], into `part` as one sum of products
   * (CkksContext.sumPlainProducts). False when every diagonal is zero.
   */
  #giantPart(r: number, g: number, babies: Ciphertext[][], part: Ciphertext, stats: EvaluationStats): boolean {
    const terms: [Ciphertext, Plaintext][] = [];
    const owned: Plaintext[] = [];
    try {
      for (let c = 0; c < this.plan.inTiles; c++) {
        for (let b = 0; b < this.plan.babySteps; b++) {
          const { pt, owned: mine } = this.#diagonal(r, c, g, b);
          if (!pt) continue;
          if (mine) owned.push(pt);
          terms.push([babies[c][b], pt]);
        }
      }
      if (terms.length === 0) return false;
      this.ctx.sumPlainProducts(terms, part);
      stats.plainMults += terms.length;
      return true;
    } finally {
      for (const pt of owned) pt.delete();
    }
  }

  /** Folds (rotations by T*B, 2T*B, ...), the move to the last level, and the bias. */
  #finish(acc: Ciphertext, r: number, vectors: number, keys: GaloisKeys, stats: EvaluationStats): void {
    const { seal, evaluator } = this.ctx;
    const p = this.plan;
    const fold = p.batch * p.blockSize;
    const hoisted =
      p.folds === 'hoisted'
        ? sealCall('rotation_failed', 'hoisted fold', () =>
            this.ctx.hoistedRotations(
              acc,
              Array.from({ length: p.chunks - 1 }, (_, m) => (m + 1) * fold),
              keys,
            ),
          )
        : null;
    // Where the kernel cannot run, the hoisted plan's keys still hold every doubling step (2^k * T * B).
    const tmp = new seal.Ciphertext();
    try {
      if (hoisted) {
        acc.assign(hoisted);
        stats.rotations += p.chunks - 1;
      }
      for (let s = fold; !hoisted && s < fold * p.chunks; s *= 2) {
        this.ctx.rotate(acc, s, keys, tmp);
        stats.rotations++;
        evaluator.addInplace(acc, tmp);
      }
    } finally {
      hoisted?.delete();
      tmp.delete();
    }
    // Response at the last level: smallest, and nothing beyond W x + b to learn.
    // A flat preset has one level and never rescales.
    if (!this.ctx.preset.rotateAtLastLevel && !this.ctx.preset.flat) this.#toLastLevel(acc);
    const bias = this.#biasPlaintext(r, vectors, acc.scale());
    if (bias) evaluator.addPlainInplace(acc, bias);
  }

  /** Rescale a sum of products once, then switch to the last level: smallest and cheapest to rotate. */
  #toLastLevel(ct: Ciphertext): void {
    this.ctx.evaluator.rescaleToNextInplace(ct);
    if (ct.coeffModulusSize() > 1) this.ctx.evaluator.cipherModSwitchToInplace(ct, this.#lastParmsId);
  }

  /**
   * Bias for the last level at the result's scale (after the rescale it is
   * 2^(in+w)/q, not a power of two; it is the same for every evaluation).
   */
  #biasPlaintext(r: number, vectors: number, scale: number): Plaintext | null {
    const key = `${r}:${vectors}:${scale}`;
    if (!this.#bias.has(key)) {
      const slots = biasSlots(this.plan, this.weights, r, vectors);
      let pt: Plaintext | null = null;
      if (slots) {
        pt = this.ctx.encode(slots, scale);
        if (!this.ctx.preset.flat) this.ctx.evaluator.plainModSwitchToInplace(pt, this.#lastParmsId);
      }
      this.#bias.set(key, pt);
    }
    return this.#bias.get(key) ?? null;
  }

  delete(): void {
    if (this.#deleted) return;
    this.#deleted = true;
    for (const t of this.#diagonals) for (const c of t ?? []) for (const g of c) for (const p of g ?? []) p?.delete();
    for (const p of this.#bias.values()) p?.delete();
    this.#bias.clear();
    this.#lastParmsId.delete();
  }
}
