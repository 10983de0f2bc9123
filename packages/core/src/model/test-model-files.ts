// Test support only (not exported from index.ts): loads the stories260K files.
import { readFileSync } from 'node:fs';
import { parseLlama2cCheckpoint } from './checkpoint.ts';
import type { LlamaWeights } from './checkpoint.ts';
import { parseLlama2cTokenizer } from './tokenizer.ts';
import type { Tokenizer } from './tokenizer.ts';

export interface ReferenceCase {
  prompt: string;
  steps: number;
  temperature: number;
  prompt_token_ids: number[];
  next_token_ids: number[];
  text: string;
}

const dir = new URL('../../../../models/stories260K/', import.meta.url);

export function readModelFile(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(name, dir)));
}

let cached: { weights: LlamaWeights; tokenizer: Tokenizer; cases: ReferenceCase[] } | undefined;

export function loadStories260K(): { weights: LlamaWeights; tokenizer: Tokenizer; cases: ReferenceCase[] } {
  if (cached) return cached;
  const weights = parseLlama2cCheckpoint(readModelFile('stories260K.bin'));
  const tokenizer = parseLlama2cTokenizer(readModelFile('tok512.bin'), weights.config.vocabSize);
  const cases = JSON.parse(new TextDecoder().decode(readModelFile('reference.json'))) as ReferenceCase[];
  cached = { weights, tokenizer, cases };
  return cached;
}
