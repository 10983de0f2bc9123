import { PlanError } from '../errors/plan-error.ts';
import { operatorScales, type OperatorBounds, type Preset } from '../seal/presets.ts';

/**
 * How one linear operator y = W x + b is evaluated on CKKS ciphertexts.
 *
 * Slots are cut into blocks of B slots. For the `blocked` packing each input
 * vector owns G blocks; block m handles the diagonals [mK, (m+1)K) of a tile
 * and the client fills it with its own vector already shifted by mK (it knows
 * its input, so this costs the relay nothing). Within a block, diagonal k of
 * W is applied by rotating the input by k (baby step b, giant step g:
 * k = g*n1 + b), multiplying by the pre-rotated diagonal and summing; the G
 * blocks are then folded together by rotations of T*B, 2T*B, ... Because the
 * fold is cyclic, every block of a vector ends holding the whole output: no
 * slot ever decrypts to a partial product of the weights.
 * T vectors are interleaved block by block (block index m*T + t), so one
 * ciphertext carries T vectors at once (SIMD batching) and the fold stays
 * within each vector.
 *
 * The `cyclic` packing is Halevi-Shoup on the whole ciphertext: the tile
 * width divides the slot count, the client repeats its vector over all slots,
 * and rotation wraps around correctly, so no block padding is needed.
 *
 * Operators larger than one ciphertext are cut into tiles of tileOut x tileIn:
 * one input ciphertext per input tile, one output ciphertext per output tile,
 * products of all input tiles summed before the single rescale.
 *
 * Baby steps and folds rotate by powers of two (baby steps are built as
 * chains of power-of-two rotations). Giant steps are added either by Horner's
 * rule with the single step n1 (a power of two) or, on presets with one data
 * prime, summed as Σ_g rot_{g*n1}(part_g) with one shared key switch
 * (`giantRotations`), which needs a key per g*n1 up to MAX_SUMMED_STEP, and
 * fold hoisted (`folds`), with a key per m*T*B for m < G <= MAX_HOISTED_FOLD
 * + 1. So a model's keys are the powers of two, at most MAX_SUMMED_STEP
 * small steps, and a few multiples of each folded plan's T*B.
 */
export interface LinearPlan {
  readonly presetId: string;
  readonly dOut: number;
  readonly dIn: number;
  readonly slots: number;
  readonly packing: 'blocked' | 'cyclic';
  /** T: vectors carried by one ciphertext group. */
  readonly batch: number;
  /** G: diagonal chunks (blocks) per vector. */
  readonly chunks: number;
  /** B: slots per block. */
  readonly blockSize: number;
  readonly tileOut: number;
  readonly tileIn: number;
  readonly inTiles: number;
  readonly outTiles: number;
  /** K: diagonals per chunk. */
  readonly diagonals: number;
  /** n1: baby steps (a power of two). */
  readonly babySteps: number;
  /** n2 = ceil(K / n1). */
  readonly giantSteps: number;
  /** When true the client uploads the n1 baby-step shifts itself instead of the relay rotating. */
  readonly preRotated: boolean;
  /**
   * P: workers that share one output tile's giant steps (1: no split). Part p
   * takes the giant steps g = p (mod P) by Horner's rule with the step P*n1,
   * then rotates its sum by p*n1; the relay adds the P partial sums and folds
   * once (see giantPartSteps). Total rotations stay n2 - 1, the latency of
   * the giant steps drops to about n2 / P: a lone request uses every worker.
   */
  readonly giantParts: number;
  /**
   * How the relay adds up the rotated giant steps. `horner`: Horner's rule
   * with the single step n1 (P*n1 between a part's steps), n2 - 1 SEAL
   * rotations, each a full key switch. `summed` (presets with one data
   * prime): Σ_g rot_{g*n1}(part_g) with one shared key switch
   * (CkksContext.sumRotations), which needs a Galois key for every g*n1.
   */
  readonly giantRotations: 'horner' | 'summed';
  /**
   * How the relay folds the G blocks together. `doubling`: log2(G) SEAL
   * rotations by T*B, 2T*B, ... each added to the running sum. `hoisted`
   * (presets with one data prime, G <= MAX_HOISTED_FOLD + 1): the G - 1
   * rotations by m*T*B of the one sum, decomposed once and switched down
   * once (CkksContext.hoistedRotations), which needs a key per m*T*B.
   */
  readonly folds: 'doubling' | 'hoisted';
  /** Rotation steps the relay needs Galois keys for. */
  readonly galoisSteps: readonly number[];
  /** The client encrypts at 2^inputScaleBits, the relay encodes weights at 2^weightScaleBits (see operatorScales). */
  readonly inputScaleBits: number;
  readonly weightScaleBits: number;
  readonly cost: PlanCost;
}

export interface PlanCost {
  /** Rotations per ciphertext group. */
  readonly rotations: number;
  readonly plainMults: number;
  readonly inputCiphertexts: number;
  readonly outputCiphertexts: number;
  /** Estimated relay + client milliseconds per group and bytes moved, as the planner weighed them. */
  readonly estimatedMs: number;
}

export interface PlanOptions {
  /** Vectors evaluated together in one ciphertext group. Default 1. Must be a power of two. */
  batch?: number;
  /** Allow the client to upload pre-rotated copies of its input. Default true. */
  allowPreRotation?: boolean;
  /** Milliseconds charged per byte moved (both ways). Default 5e-5 (about 20 MB/s, a good web uplink). */
  msPerByte?: number;
  /**
   * Milliseconds charged per uploaded byte instead, where uplinks are slower
   * than downlinks (see DescribeOptions.msPerUploadByte). Default msPerByte.
   */
  msPerUploadByte?: number;
  /** Largest giant-step rotation of a summed plan (see MAX_SUMMED_STEP). */
  maxSummedStep?: number;
  /** Restrict rotations to these steps (for example a key set already generated). Default: any power of two. */
  galoisSteps?: readonly number[];
  /**
   * Relay workers that may share one ciphertext group. Default 1. Above 1 the
   * planner may cut the output into more tiles than it must, because output
   * tiles are independent and the relay evaluates them on different workers
   * (each repeating the input's baby steps): the cost becomes latency.
   */
  parallelism?: number;
  /**
   * Calibrated bounds of the operator's values. A flat preset picks the
   * operator's scales from them; a rescaling preset checks the output bound
   * against its headroom. Default: none (the preset's default scales, no check).
   */
  bounds?: OperatorBounds;
}

const isPow2 = (n: number) => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
const log2 = (n: number) => Math.round(Math.log2(n));
const ceilDiv = (a: number, b: number) => Math.ceil(a / b);

/** The giant steps part `part` of `parts` evaluates: g = part, part + P, ... below n2. */
export function giantPartSteps(plan: Pick<LinearPlan, 'giantSteps' | 'giantParts'>, part: number): number[] {
  const steps: number[] = [];
  for (let g = part; g < plan.giantSteps; g += plan.giantParts) steps.push(g);
  return steps;
}

/**
 * Relay-side cost of combining P partial sums, beyond the rotations and
 * products: each part's ciphertext serialized, posted to the main thread and
 * loaded again by the worker that adds them, and one more task round trip.
 * Measured about 1 ms on this machine for one ciphertext at N=4096.
 */
const GIANT_PART_COMBINE_MS = 1;

/**
 * Share of the work a split adds beyond its critical path, charged on top of
 * it: a relay serves many requests, so work that only shortens one request's
 * wait is not free. At 0.5 a plan that halves the latency for the same total
 * work wins, and one that halves it by doubling the work (more output tiles,
 * each repeating the giant steps) loses.
 */
const PARALLEL_WORK_WEIGHT = 0.5;

/** Powers of two needed to build every baby-step rotation 1..n1-1 as a chain. */
function babyStepKeys(n1: number): number[] {
  const steps: number[] = [];
  for (let s = 1; s < n1; s *= 2) steps.push(s);
  return steps;
}

/** Serialized sizes, for the cost model. Seeded uploads are half a full ciphertext. */
export function ciphertextBytes(preset: Preset, level: 'upload' | 'response'): number {
  const primes = level === 'upload' ? preset.dataPrimeBits.length : 1;
  const polys = level === 'upload' ? 1 : 2;
  return polys * primes * preset.polyModulusDegree * 8 + 100;
}

interface Candidate extends Omit<LinearPlan, 'galoisSteps' | 'cost' | 'presetId' | 'dOut' | 'dIn' | 'slots' | 'inputScaleBits' | 'weightScaleBits'> {}

function costOf(preset: Preset, c: Candidate, msPerByte: number, msPerUploadByte: number, parallelism: number): PlanCost & { galoisSteps: number[] } {
  const babyRotations = c.preRotated ? 0 : c.inTiles * (c.babySteps - 1);
  const hoistedFolds = c.folds === 'hoisted';
  const foldRotations = hoistedFolds ? c.chunks - 1 : log2(c.chunks);
  // Split giant steps keep the total at n2 - 1: P chains of Horner steps plus P - 1 final shifts.
  const rotations = babyRotations + c.outTiles * (c.giantSteps - 1 + foldRotations);
  const plainMults = c.inTiles * c.outTiles * c.diagonals;
  // The slowest worker's share when output tiles are spread over `parallelism` workers,
  // or when one tile's giant steps are (each part repeats the baby steps; the folds follow the combine).
  const tilesPerWorker = Math.ceil(c.outTiles / Math.min(parallelism, c.outTiles));
  const P = c.giantParts;
  const longestChain = P === 1 ? c.giantSteps - 1 : Math.max(...Array.from({ length: P }, (_, p) => giantPartSteps(c, p).length - 1 + (p > 0 ? 1 : 0)));
  const criticalRotations = babyRotations + tilesPerWorker * (longestChain + foldRotations);
  const criticalMults = c.inTiles * tilesPerWorker * Math.ceil(c.diagonals / P);
  const inputCiphertexts = c.inTiles * (c.preRotated ? c.babySteps : 1);
  const outputCiphertexts = c.outTiles;
  const upBytes = inputCiphertexts * ciphertextBytes(preset, 'upload');
  const downBytes = outputCiphertexts * ciphertextBytes(preset, 'response');
  const k = preset.cost;
  // Giant-step and fold rotations run at the last level when the preset allows it.
  const laterMs = preset.rotateAtLastLevel ? k.rotateLastLevelMs : k.rotateMs;
  // Summed giant steps (see giantRotations) cost a share of one key switch each, and one mod-down per sum.
  const summed = c.giantRotations === 'summed';
  const giantMs = (chain: number, sums: number) => (summed ? chain * (k.summedRotationMs ?? laterMs) + sums * (k.modDownMs ?? 0) : chain * laterMs);
  const criticalLater = criticalRotations - babyRotations - tilesPerWorker * foldRotations;
  // One fold: log2(G) SEAL rotations, or a decomposition, G - 1 hoisted rotations and a mod-down.
  const foldMs = hoistedFolds ? (k.summedRotationMs ?? laterMs) + foldRotations * (k.hoistedRotationMs ?? laterMs) + (k.modDownMs ?? 0) : foldRotations * laterMs;
  const criticalRelayMs = babyRotations * k.rotateMs + giantMs(criticalLater, tilesPerWorker) + tilesPerWorker * foldMs + criticalMults * k.multiplyPlainMs + (P > 1 ? GIANT_PART_COMBINE_MS : 0);
  // Every worker taking part repeats the baby steps.
  const workersUsed = P > 1 ? P : Math.min(parallelism, c.outTiles);
  const giantRotations = c.outTiles * (c.giantSteps - 1);
  const totalRelayMs = workersUsed * babyRotations * k.rotateMs + giantMs(giantRotations, c.outTiles * P) + c.outTiles * foldMs + plainMults * k.multiplyPlainMs + (P > 1 ? GIANT_PART_COMBINE_MS : 0);
  const extraWorkMs = Math.max(0, totalRelayMs - criticalRelayMs);
  const estimatedMs = criticalRelayMs + PARALLEL_WORK_WEIGHT * extraWorkMs + inputCiphertexts * k.encryptMs + outputCiphertexts * k.decryptMs + upBytes * msPerUploadByte + downBytes * msPerByte;
  const steps = new Set<number>(c.preRotated ? [] : babyStepKeys(c.babySteps));
  if (summed) for (let g = 1; g < c.giantSteps; g++) steps.add(g * c.babySteps);
  else {
    if (c.giantSteps > 1) steps.add(c.babySteps);
    if (P > 1) steps.add(P * c.babySteps);
  }
  const fold = c.batch * c.blockSize;
  if (hoistedFolds) for (let m = 1; m < c.chunks; m++) steps.add(m * fold);
  else for (let s = fold; s < fold * c.chunks; s *= 2) steps.add(s);
  return { rotations, plainMults, inputCiphertexts, outputCiphertexts, estimatedMs, galoisSteps: [...steps].sort((a, b) => a - b) };
}

/**
 * Largest rotation a summed plan's giant steps may use. A summed plan needs
 * one Galois key per giant step (g*n1 for g < n2), so a model's plans could
 * otherwise ask for a key per slot count up to the largest operator:
 * stories260K's plans asked for 80 keys (4.9 MB). With giant steps of at
 * most MAX_SUMMED_STEP slots, a model needs at most that many keys beside
 * the powers of two, and larger operators use Horner's rule as before.
 */
export const MAX_SUMMED_STEP = 16;

/** Most rotations a hoisted fold may make (G - 1): each needs its own key, where doubling needs log2(G). */
export const MAX_HOISTED_FOLD = 7;

/** Fold choices: hoisted where the kernel can run it and its keys stay few, and doubling. */
function* foldChoices(preset: Preset, chunks: number): Generator<LinearPlan['folds']> {
  if (preset.flat && chunks > 1 && chunks - 1 <= MAX_HOISTED_FOLD) yield 'hoisted';
  yield 'doubling';
}

/**
 * How a candidate may add its giant steps: summed where the relay's kernel
 * can share one key switch among them (presets with one data prime) and the
 * steps stay within `maxSummedStep`, else (and as the alternative) Horner.
 */
function* giantRotationChoices(preset: Preset, babySteps: number, giantSteps: number, maxSummedStep: number): Generator<LinearPlan['giantRotations']> {
  if (preset.flat && giantSteps > 1 && (giantSteps - 1) * babySteps <= maxSummedStep) yield 'summed';
  yield 'horner';
}

/**
 * Baby-step choices. `relayRotatesInput` false (Preset.relayRotatesInput:
 * flat presets whose input scale is too small for it) keeps only plans where
 * the relay never rotates the client's input: one rotation adds
 * key-switching noise about fifteen times that of a fresh encryption, which at
 * ckks-flat-n4096-q109's input scale would dominate the error (measured: 6e-3
 * instead of 1.6e-3 on stories260K's logits). Products, at scale 2^(in+w), are
 * rotated freely.
 */
function* babyStepChoices(diagonals: number, allowPreRotation: boolean, relayRotatesInput: boolean) {
  for (let n1 = 1; n1 <= diagonals; n1 *= 2) {
    const giantSteps = ceilDiv(diagonals, n1);
    if (n1 === 1 || relayRotatesInput) yield { babySteps: n1, giantSteps, preRotated: false };
    if (allowPreRotation && n1 > 1) yield { babySteps: n1, giantSteps, preRotated: true };
  }
}

/**
 * Ways to share one output tile's giant steps: not at all, or over P workers
 * (a power of two, so the chain step P*n1 is one more power-of-two Galois
 * key) when the tile is alone (several tiles already spread) and each part
 * gets at least two giant steps. Memory does not limit it: a relay holds a
 * large operator's parts apart, each by the one worker that computes it
 * (tile-shards.ts, partsHeldApart), so sharing adds no plaintexts.
 */
function* giantPartChoices(giantSteps: number, outTiles: number, parallelism: number) {
  yield 1;
  if (outTiles !== 1) return;
  for (let parts = 2; parts <= parallelism && 2 * parts <= giantSteps; parts *= 2) yield parts;
}

function* candidates(preset: Preset, dOut: number, dIn: number, batch: number, allowPreRotation: boolean, parallelism: number, maxSummedStep: number): Generator<Candidate> {
  const { slots, relayRotatesInput } = preset;
  // Blocked packing: B from small to the whole ciphertext.
  for (let blockSize = 1; blockSize <= slots; blockSize *= 2) {
    const totalBlocks = slots / blockSize;
    if (totalBlocks < batch) break;
    const chunks = totalBlocks / batch;
    const maxInTiles = Math.max(1, ceilDiv(dIn, 1));
    for (let inTiles = 1; inTiles <= Math.min(maxInTiles, 64); inTiles++) {
      const tileIn = ceilDiv(dIn, inTiles);
      if (inTiles > 1 && ceilDiv(dIn, inTiles - 1) === tileIn) continue;
      const diagonals = ceilDiv(tileIn, chunks);
      const rowsPerTile = blockSize - diagonals + 1;
      if (rowsPerTile < 1) continue;
      const fewestOutTiles = ceilDiv(dOut, rowsPerTile);
      if (fewestOutTiles > 64) continue;
      // Extra output tiles only pay when workers evaluate them side by side.
      for (let outTiles = fewestOutTiles; outTiles <= Math.min(dOut, fewestOutTiles * parallelism); outTiles++) {
        const tileOut = ceilDiv(dOut, outTiles);
        if (outTiles > fewestOutTiles && ceilDiv(dOut, outTiles - 1) === tileOut) continue;
        for (const bs of babyStepChoices(diagonals, allowPreRotation, relayRotatesInput)) {
          for (const giantParts of giantPartChoices(bs.giantSteps, outTiles, parallelism)) {
            for (const giantRotations of giantRotationChoices(preset, bs.babySteps, bs.giantSteps, maxSummedStep)) {
              for (const folds of foldChoices(preset, chunks)) {
                yield { packing: 'blocked', batch, chunks, blockSize, tileOut, tileIn, inTiles, outTiles, diagonals, ...bs, giantParts, giantRotations, folds };
              }
            }
          }
        }
      }
      if (tileIn <= chunks) break; // more input tiles cannot help once each chunk holds one diagonal
    }
  }
  // Cyclic packing: one vector per ciphertext, tile width a power of two dividing the slots.
  if (batch === 1) {
    const outTiles = ceilDiv(dOut, slots);
    const tileOut = ceilDiv(dOut, outTiles);
    for (let tileIn = 1; tileIn <= slots; tileIn *= 2) {
      const inTiles = ceilDiv(dIn, tileIn);
      if (inTiles > 64) continue;
      for (const bs of babyStepChoices(tileIn, allowPreRotation, relayRotatesInput)) {
        for (const giantParts of giantPartChoices(bs.giantSteps, outTiles, parallelism)) {
          for (const giantRotations of giantRotationChoices(preset, bs.babySteps, bs.giantSteps, maxSummedStep)) {
            yield { packing: 'cyclic', batch: 1, chunks: 1, blockSize: slots, tileOut, tileIn, inTiles, outTiles, diagonals: tileIn, ...bs, giantParts, giantRotations, folds: 'doubling' };
          }
        }
      }
    }
  }
}

/**
 * Choose the cheapest evaluation of a dOut x dIn operator under `preset`,
 * weighing rotations, plaintext products, client encryptions and bytes on
 * the wire. Deterministic: the same inputs always give the same plan, so the
 * relay and the client agree without negotiating.
 */
export function planLinear(preset: Preset, dOut: number, dIn: number, options: PlanOptions = {}): LinearPlan {
  const batch = options.batch ?? 1;
  const msPerByte = options.msPerByte ?? 5e-5;
  const msPerUploadByte = options.msPerUploadByte ?? msPerByte;
  const allowed = options.galoisSteps ? new Set(options.galoisSteps) : undefined;
  const parallelism = options.parallelism ?? 1;
  if (!Number.isInteger(parallelism) || parallelism < 1) throw new PlanError('bad_parallelism', 'parallelism must be a positive integer', { got: parallelism });
  if (!(msPerUploadByte >= 0) || !(msPerByte >= 0)) throw new PlanError('bad_cost', 'byte costs must be non-negative numbers', { got: { msPerByte, msPerUploadByte } });
  for (const [name, v] of [
    ['dOut', dOut],
    ['dIn', dIn],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new PlanError('bad_shape', `${name} must be a positive integer`, { got: v });
  }
  if (!isPow2(batch) || batch > preset.slots) {
    throw new PlanError('bad_batch', `batch must be a power of two at most ${preset.slots}`, { got: batch });
  }
  const scales = operatorScales(preset, options.bounds);
  let best: LinearPlan | undefined;
  for (const c of candidates(preset, dOut, dIn, batch, options.allowPreRotation ?? true, parallelism, options.maxSummedStep ?? MAX_SUMMED_STEP)) {
    const { galoisSteps, ...cost } = costOf(preset, c, msPerByte, msPerUploadByte, parallelism);
    if (allowed && !galoisSteps.every((s) => allowed.has(s))) continue;
    if (best && cost.estimatedMs >= best.cost.estimatedMs) continue;
    best = { presetId: preset.id, dOut, dIn, slots: preset.slots, ...c, galoisSteps, ...scales, cost };
  }
  if (!best) throw new PlanError('no_plan', `no evaluation of ${dOut}x${dIn} fits preset ${preset.id} with batch ${batch}`);
  return best;
}

/**
 * The plan that evaluates `vectors` input vectors most cheaply per vector:
 * tries every power-of-two batch up to the next power of two above `vectors`
 * and charges each for the ciphertext groups it needs.
 */
export function planForVectors(preset: Preset, dOut: number, dIn: number, vectors: number, options: Omit<PlanOptions, 'batch'> & { maxBatch?: number } = {}): LinearPlan {
  let best: LinearPlan | undefined;
  let bestMs = Infinity;
  const { maxBatch = preset.slots, ...planOptions } = options;
  for (let batch = 1; batch <= Math.min(preset.slots, maxBatch); batch *= 2) {
    let plan: LinearPlan;
    try {
      plan = planLinear(preset, dOut, dIn, { ...planOptions, batch });
    } catch {
      break;
    }
    const total = Math.ceil(vectors / batch) * plan.cost.estimatedMs;
    if (total < bestMs) [best, bestMs] = [plan, total];
    if (batch >= vectors) break;
  }
  if (!best) return planLinear(preset, dOut, dIn, planOptions);
  return best;
}

/** Union of the Galois steps of several plans: the keys a client must make. */
export function unionGaloisSteps(plans: Iterable<LinearPlan>): number[] {
  const steps = new Set<number>();
  for (const p of plans) for (const s of p.galoisSteps) steps.add(s);
  return [...steps].sort((a, b) => a - b);
}
