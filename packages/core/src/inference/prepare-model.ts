import type { LlamaWeights } from '../model/checkpoint.ts';
import { loadModelBytes } from '../model/formats/load-model.ts';
import { parseTokenizerFile, type TextTokenizer } from '../model/tokenizer-file.ts';
import { buildSchedule, type Schedule } from '../model/schedule.ts';
import { calibrateBounds } from '../model/calibrate.ts';
import { describeModel } from '../model/model-descriptor.ts';
import { describeEncryptedModel, type EncryptedModelDescriptor } from './encrypted-model.ts';

/** Prompts whose activations set each step's bounds; varied openings of the TinyStories style. */
export const CALIBRATION_PROMPTS = ['Once upon a time', '', 'The little dog was sad because', 'Tom and Lily went to the park. They saw a big', 'One day, a bird'];

export interface PrepareModelOptions {
  id: string;
  /** A llama2.c or GGUF file in memory; or give `weights` already loaded (any format). */
  checkpoint?: Uint8Array;
  weights?: LlamaWeights;
  /** llama2.c tokenizer.bin or Hugging Face tokenizer.json bytes. */
  tokenizer: Uint8Array;
  /** CKKS preset. Default `ckks-n4096-q109`. */
  preset?: string;
  /** Most vectors per step request. Default 64. */
  maxVectors?: number;
  /** Relay workers sharing one ciphertext group (see DescribeOptions). Default 1. */
  parallelism?: number;
  /** Positions generated per calibration prompt. Default 256. */
  calibrationSteps?: number;
}

export interface PreparedModel {
  weights: LlamaWeights;
  tokenizer: TextTokenizer;
  schedule: Schedule;
  descriptor: EncryptedModelDescriptor;
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
  const schedule = buildSchedule(weights);
  const samples = CALIBRATION_PROMPTS.map((p) => tokenizer.encode(p, { bos: true, eos: false }));
  const { bounds } = await calibrateBounds(schedule, samples, { steps: options.calibrationSteps ?? 256 });
  const descriptor = describeEncryptedModel(describeModel(options.id, schedule, bounds), options.preset ?? 'ckks-n4096-q109', {
    maxVectors: options.maxVectors ?? 64,
    parallelism: options.parallelism ?? 1,
  });
  return { weights, tokenizer, schedule, descriptor };
}
