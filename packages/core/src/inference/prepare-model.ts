import type { LlamaWeights } from '../model/checkpoint.ts';
import { gpt2ParameterCount, type Gpt2Weights } from '../model/gpt2.ts';
import { llamaParameterCount } from '../model/formats/loaded-model.ts';
import { buildGpt2Schedule } from '../model/gpt2-schedule.ts';
import { loadModelBytes } from '../model/formats/load-model.ts';
import { parseTokenizerFile, type TextTokenizer } from '../model/tokenizer-file.ts';
import { buildSchedule, type EmbeddingPlacement, type Schedule, type ScheduleOptions, type StepShape } from '../model/schedule.ts';
import { calibrateBounds } from '../model/calibrate.ts';
import { describeModel, type StepBounds } from '../model/model-descriptor.ts';
import { calibrationKey, validCachedBounds, type CalibrationCache } from './calibration-cache.ts';
import { DEFAULT_PRESET, getPreset } from '../seal/presets.ts';
import { describeEncryptedModel, type EncryptedModelDescriptor } from './encrypted-model.ts';

/** Prompts whose activations set each step's bounds; varied openings of the TinyStories style. */
export const CALIBRATION_PROMPTS = ['Once upon a time', '', 'The little dog was sad because', 'Tom and Lily went to the park. They saw a big', 'One day, a bird'];

export interface PrepareModelOptions {
  id: string;
  /** A llama2.c or GGUF file in memory; or give `weights` already loaded (any format; LLaMA or GPT-2). */
  checkpoint?: Uint8Array;
  weights?: LlamaWeights | Gpt2Weights;
  /** llama2.c tokenizer.bin or Hugging Face tokenizer.json bytes. */
  tokenizer: Uint8Array;
  /** CKKS preset, or 'auto' (see autoPlanning). Default DEFAULT_PRESET. */
  preset?: string;
  /** Most vectors per step request. Default 64. */
  maxVectors?: number;
  /** Relay workers sharing one ciphertext group (see DescribeOptions). Default `autoParallelism` or `defaultParallelism` (below), else 1. */
  parallelism?: number;
  /**
   * The parallelism a model gets when 'auto' moves it to LARGE_MODEL_PRESET
   * and `parallelism` is not given: a relay passes its worker count when it
   * shards steps. That preset's plans need few output tiles (often one), and
   * a one-tile step runs on one worker and is held whole by every worker;
   * planned for n workers, steps keep a tile per worker, which divides both
   * their latency and their plaintexts. Default 1.
   */
  autoParallelism?: number;
  /** The parallelism of any other model when `parallelism` is not given (a relay with 2+ workers passes 2: shared giant steps). Default 1. */
  defaultParallelism?: number;
  /** Positions generated per calibration prompt. Default defaultCalibrationSteps (256 down to 32 as models grow). */
  calibrationSteps?: number;
  /** Reuse bounds calibrated before for the same files and settings (see CalibrationCache). */
  calibrationCache?: CalibrationCache;
  /** Where tokens are embedded (see EmbeddingPlacement). Default 'auto': on the client for large vocabularies. */
  embedding?: EmbeddingPlacement | 'auto';
  /** Calibration progress: positions run so far and in all (not called when the bounds come from the cache). */
  onCalibrationProgress?: (done: number, total: number) => void;
}

export interface PreparedModel {
  weights: LlamaWeights | Gpt2Weights;
  tokenizer: TextTokenizer;
  schedule: Schedule;
  descriptor: EncryptedModelDescriptor;
  /** True when the bounds came from `calibrationCache` instead of a calibration run. */
  calibrationCached: boolean;
}

/**
 * Positions per calibration prompt: 256 for small models, fewer as models
 * grow (each position reads every composed matrix: about 1 s for GPT-2 small
 * in JavaScript), never below 32. Bounds carry a 1.5x margin and a flat
 * preset 8x headroom above them, and the client rejects implausible outputs.
 */
export function defaultCalibrationSteps(params: number): number {
  const steps = 2 ** Math.floor(Math.log2((256 * 8e6) / params));
  return Math.min(256, Math.max(32, steps));
}

/** `preset: 'auto'`: the planning a model gets by its size (autoPlanning). */
export const AUTO_PRESET = 'auto';
/** The preset 'auto' picks for models whose vectors outgrow DEFAULT_PRESET's slots (GPT-2 small and up). */
export const LARGE_MODEL_PRESET = 'ckks-flat-n8192-q120';
/**
 * What 'auto' has the planner charge per uploaded byte for those models:
 * 5e-4 ms (2 MB/s, a home uplink), ten times a downloaded byte. On GPT-2
 * small it cuts the upload from 7.7 to 3.4 MB per token (and the download
 * from 12.2 to 3.5 MB) for 14% more plaintext products (planner counts).
 */
export const LARGE_MODEL_MS_PER_UPLOAD_BYTE = 5e-4;

/**
 * 'auto': DEFAULT_PRESET unless some step's input is wider than its slots
 * (2048; GPT-2 small's MLP is 3072 wide), where an input spans several
 * ciphertexts and, since that preset's relay never rotates the input, many
 * more are uploaded (31 MB per GPT-2 token). Those models get
 * LARGE_MODEL_PRESET, whose 4096 slots hold such vectors and whose relay
 * rotates the input, with uploads priced as above, planned for
 * `autoParallelism` workers (PrepareModelOptions). Small models (the
 * stories ones up to 15M) keep the default and its plans unchanged.
 */
export function autoPlanning(steps: readonly StepShape[], autoParallelism = 1): { preset: string; msPerUploadByte?: number; parallelism?: number } {
  const widest = Math.max(...steps.map((s) => s.dIn));
  if (widest <= getPreset(DEFAULT_PRESET).slots) return { preset: DEFAULT_PRESET };
  return { preset: LARGE_MODEL_PRESET, msPerUploadByte: LARGE_MODEL_MS_PER_UPLOAD_BYTE, parallelism: autoParallelism };
}

export function isGpt2Weights(w: LlamaWeights | Gpt2Weights): w is Gpt2Weights {
  return 'positionEmbedding' in w;
}

/** Every tensor of a model, in a fixed order, as bytes (views, no copies). */
function weightTensors(w: LlamaWeights | Gpt2Weights): Uint8Array[] {
  const tensors: Float32Array[] = [];
  if (isGpt2Weights(w)) {
    tensors.push(w.tokenEmbedding, w.positionEmbedding, w.lnfGain, w.lnfBias, w.wcls);
    for (const l of w.layers) tensors.push(l.ln1Gain, l.ln1Bias, l.wqkv, l.bqkv, l.wo, l.bo, l.ln2Gain, l.ln2Bias, l.wfc, l.bfc, l.wproj, l.bproj);
  } else {
    tensors.push(w.tokenEmbedding, w.rmsFinal, w.wcls);
    for (const l of w.layers) tensors.push(l.rmsAtt, l.wq, l.wk, l.wv, l.wo, l.rmsFfn, l.w1, l.w2, l.w3);
  }
  return tensors.map((t) => new Uint8Array(t.buffer, t.byteOffset, t.byteLength));
}

/** The split schedule of a LLaMA (embedding placement as asked) or GPT-2 (embedding on the client) model. */
export function buildSplitSchedule(weights: LlamaWeights | Gpt2Weights, options: ScheduleOptions = {}): Schedule {
  return isGpt2Weights(weights) ? buildGpt2Schedule(weights, options) : buildSchedule(weights, options);
}

/**
 * Parse a llama2.c model, cut it into the split schedule, calibrate each
 * step's value range on sample prompts (plaintext), and describe it for a
 * CKKS preset. The relay publishes `descriptor`; the weights stay here.
 */
export async function prepareModel(options: PrepareModelOptions): Promise<PreparedModel> {
  const weights = options.weights ?? (options.checkpoint ? loadModelBytes(options.checkpoint).weights : undefined);
  if (!weights) throw new TypeError('prepareModel needs checkpoint bytes or weights');
  const tokenizer = parseTokenizerFile(options.tokenizer, weights.config.vocabSize);
  const schedule = buildSplitSchedule(weights, { embedding: options.embedding });
  const steps = options.calibrationSteps ?? defaultCalibrationSteps(isGpt2Weights(weights) ? gpt2ParameterCount(weights.config) : llamaParameterCount(weights.config));
  const cache = options.calibrationCache;
  // Keyed by the weights as loaded (any format, after dequantization), not the file's bytes.
  const key = cache
    ? await calibrationKey([...weightTensors(weights), options.tokenizer], {
        prompts: CALIBRATION_PROMPTS,
        steps,
        config: weights.config,
        embedding: schedule.embedding,
        architecture: schedule.architecture,
      })
    : '';
  const cached = cache ? await cache.read(key) : undefined;
  let bounds: StepBounds[];
  const calibrationCached = cached !== undefined && validCachedBounds(cached, schedule.steps.length);
  if (calibrationCached) {
    bounds = cached;
  } else {
    const samples = CALIBRATION_PROMPTS.map((p) => tokenizer.encode(p, { bos: true, eos: false }));
    bounds = (await calibrateBounds(schedule, samples, { steps, onProgress: options.onCalibrationProgress })).bounds;
    await cache?.write(key, bounds);
  }
  const planning: ReturnType<typeof autoPlanning> = options.preset === AUTO_PRESET ? autoPlanning(schedule.steps, options.autoParallelism) : { preset: options.preset ?? DEFAULT_PRESET };
  const descriptor = describeEncryptedModel(describeModel(options.id, schedule, bounds), planning.preset, {
    maxVectors: options.maxVectors ?? 64,
    parallelism: options.parallelism ?? planning.parallelism ?? options.defaultParallelism ?? 1,
    ...(planning.msPerUploadByte === undefined ? {} : { msPerUploadByte: planning.msPerUploadByte }),
  });
  return { weights, tokenizer, schedule, descriptor, calibrationCached };
}
