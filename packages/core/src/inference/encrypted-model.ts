import type { ResponsePrivacy } from '../protocol/response-privacy.ts';
import { PlanError } from '../errors/plan-error.ts';
import { unionGaloisSteps, type LinearPlan } from '../linear/plan.ts';
import type { ModelDescriptor } from '../model/model-descriptor.ts';
import { getPreset, operatorScales, plaintextBytesOf } from '../seal/presets.ts';
import { isFheLlmError } from '../errors/fhe-error.ts';
import { planStep } from '../protocol/step-plan.ts';

/** Version of the planner both sides must run; bumped whenever plans could change. */
export const PLANNER_VERSION = 4;

/**
 * What a relay publishes about a hosted model: the split schedule (shapes and
 * calibrated bounds, no weights), the CKKS preset, the exact Galois steps a
 * client must make keys for, and how many vectors one request may carry.
 */
export interface EncryptedModelDescriptor extends ModelDescriptor {
  readonly preset: string;
  readonly planner: typeof PLANNER_VERSION;
  /** Rotation steps to generate Galois keys for: enough for every plan of every step up to maxVectors. */
  readonly galoisSteps: readonly number[];
  /** Most vectors (tokens x sequences) one step request may carry. */
  readonly maxVectors: number;
  /** Relay workers that share one ciphertext group (the planner may add output tiles for them). */
  readonly parallelism: number;
  /** Most vectors in one ciphertext group: caps the pre-encoded weights a relay holds per step. */
  readonly maxBatch: number;
  /** What the planner charges per uploaded byte (see DescribeOptions.msPerUploadByte); absent: as a downloaded byte. */
  readonly msPerUploadByte?: number;
  /** Each step's plan for a single vector, for inspection and documentation. */
  readonly plans: readonly LinearPlan[];
  /**
   * What the relay adds to responses (see protocol/response-privacy.ts);
   * absent or mode 'off': nothing. Any other mode needs the client's public
   * key as the second item of the session's key envelope.
   */
  readonly responsePrivacy?: ResponsePrivacy;
}

export interface DescribeOptions {
  /** Requests with more vectors are split by the client. Default: see defaultMaxVectors. */
  maxVectors?: number;
  /** Workers the relay spreads one ciphertext group's output tiles over. Default 1 (favours throughput over latency). */
  parallelism?: number;
  /**
   * Most vectors per ciphertext group. A batch of T vectors leaves each
   * vector 1/T of the slots, so its plan needs up to T times more diagonal
   * plaintexts (about 220 MB per worker for stories260K at T=8); longer
   * prompts travel as several groups, which the relay spreads over workers.
   * Default: the largest of 1, 2, 4, 8 whose batched plans (T = 2 .. maxBatch)
   * fit BATCHED_PLAN_BYTES beside the single-vector ones (see defaultMaxBatch).
   */
  maxBatch?: number;
  /**
   * Milliseconds the planner charges per uploaded byte (PlanOptions): above
   * the download's 5e-5 when uploads are what must stay small (home uplinks
   * are several times slower than downlinks). Default: the same as a
   * downloaded byte. See LARGE_MODEL_PLANNING.
   */
  msPerUploadByte?: number;
}

/** What a relay worker may spend on pre-encoded batched plans by default: GPT-2-size models get maxBatch 1. */
export const BATCHED_PLAN_BYTES = 2 * 1024 ** 3;

/**
 * The default maxBatch for single-vector plans holding `singleBytes` of
 * pre-encoded weights: batched plans of 2, 4 and 8 vectors cost about 2, 4
 * and 8 times that, so a model whose single plans are gigabytes (GPT-2
 * size) is evaluated one vector per group rather than exhausting a worker's
 * 4 GiB WebAssembly heap.
 */
export function defaultMaxBatch(singleBytes: number): number {
  let batch = 1;
  let total = singleBytes;
  for (const next of [2, 4, 8]) {
    total += next * singleBytes;
    if (total > BATCHED_PLAN_BYTES) break;
    batch = next;
  }
  return batch;
}

/**
 * Estimated relay milliseconds (the planner's cost model, critical path) that
 * one request may ask for by default: a quarter of the relay's default 30 s
 * deadline, leaving room for machines slower than the model, for queueing and
 * for the other requests of a busy relay.
 */
export const REQUEST_WORK_MS = 7_500;

/**
 * The default maxVectors: 64, halved while a request of that many vectors of
 * the costliest step (`singleVectorMs` each, single-vector plans: batching
 * only makes it cheaper) would be estimated above REQUEST_WORK_MS. Small
 * models keep 64; GPT-2 small (about 0.5 s per vector of its costliest step)
 * gets 8, so a long prompt's prefill travels as several requests that each
 * finish well inside the deadline instead of one that never could.
 */
export function defaultMaxVectors(singleVectorMs: number): number {
  let vectors = 64;
  while (vectors > 1 && vectors * singleVectorMs > REQUEST_WORK_MS) vectors /= 2;
  return vectors;
}

/** Vector counts whose plans can differ: the planner only picks power-of-two batches. */
export function planVectorCounts(maxVectors: number): number[] {
  const counts: number[] = [];
  for (let n = 1; n < maxVectors; n *= 2) counts.push(n);
  counts.push(maxVectors);
  return counts;
}

/**
 * Attach the encryption side to a split-model descriptor. Fails with
 * PlanError 'out_of_range' when a step's calibrated outputs would not fit the
 * preset's headroom (CKKS would silently wrap them).
 */
export function describeEncryptedModel(model: ModelDescriptor, presetId: string, options: DescribeOptions = {}): EncryptedModelDescriptor {
  const preset = getPreset(presetId);
  const parallelism = options.parallelism ?? 1;
  const upload = options.msPerUploadByte;
  const singles = model.steps.map((step) => planStep(preset, step, 1, undefined, parallelism, 1, upload));
  const maxVectors = options.maxVectors ?? defaultMaxVectors(Math.max(...singles.map((plan) => plan.cost.estimatedMs)));
  const maxBatch = options.maxBatch ?? defaultMaxBatch(singles.reduce((bytes, plan) => bytes + plan.cost.plainMults * plaintextBytesOf(preset), 0));
  model.steps.forEach((step) => {
    try {
      operatorScales(preset, step.bounds);
    } catch (error) {
      if (!isFheLlmError(error, 'PresetError')) throw error;
      throw new PlanError('out_of_range', `step ${step.id}: ${error.message}`, { expected: error.expected, got: error.got, cause: error });
    }
  });
  const all: LinearPlan[] = [];
  for (const step of model.steps) for (const n of planVectorCounts(maxVectors)) all.push(planStep(preset, step, n, undefined, parallelism, maxBatch, upload));
  const galoisSteps = unionGaloisSteps(all);
  return {
    ...model,
    preset: presetId,
    planner: PLANNER_VERSION,
    galoisSteps,
    maxVectors,
    parallelism,
    maxBatch,
    ...(upload === undefined ? {} : { msPerUploadByte: upload }),
    plans: model.steps.map((step) => planStep(preset, step, 1, galoisSteps, parallelism, maxBatch, upload)),
  };
}

/** Plans already made per descriptor object (descriptors are not mutated once published; the planner is deterministic). */
const planMemo = new WeakMap<EncryptedModelDescriptor, Map<string, LinearPlan>>();

/** The plan for `vectors` vectors of step `stepIndex`, identical on client and relay. Memoized per descriptor: a search over hundreds of candidates. */
export function planModelStep(model: EncryptedModelDescriptor, stepIndex: number, vectors: number): LinearPlan {
  const step = model.steps[stepIndex];
  if (!step) throw new PlanError('unknown_step', `model ${model.id} has no step ${stepIndex}`, { expected: `0..${model.steps.length - 1}`, got: stepIndex });
  if (vectors > model.maxVectors) throw new PlanError('too_many_vectors', `at most ${model.maxVectors} vectors per request`, { expected: model.maxVectors, got: vectors });
  let plans = planMemo.get(model);
  if (!plans) planMemo.set(model, (plans = new Map()));
  const key = `${stepIndex}:${vectors}`;
  let plan = plans.get(key);
  if (!plan) {
    plan = planStep(getPreset(model.preset), step, vectors, model.galoisSteps, model.parallelism ?? 1, model.maxBatch ?? 8, model.msPerUploadByte);
    plans.set(key, plan);
  }
  return plan;
}
