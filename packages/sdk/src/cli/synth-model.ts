import { statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { GPT2_SHAPES, gpt2ParameterCount, greedyMargins, llamaParameterCount, SYNTHETIC_SHAPES, syntheticGpt2, syntheticLlama, type Gpt2Shape, type SyntheticShape } from '@fhe-llm/core';
import { WRITE_FORMATS, writeGpt2Model, writeModel, type WriteFormat } from '@fhe-llm/core/node';
import { UsageError } from './generate-args.ts';

export const SYNTH_USAGE = `Usage: fhe-llm synth-model --shape NAME --format FORMAT --out PATH [options]

Write a seeded synthetic LLaMA model of a real shape, with a tokenizer, in any
supported format (for tests and benchmarks without downloads). Prints one JSON
line: parameters, paths, and the greedy top-2 logit gaps.

  --arch llama|gpt2      the block (default llama); gpt2 writes GGUF gpt2 with a tokenizer.json beside it
  --shape NAME           llama: ${Object.keys(SYNTHETIC_SHAPES).join(' | ')}; gpt2: ${Object.keys(GPT2_SHAPES).join(' | ')}
  --format FORMAT        ${WRITE_FORMATS.join(' | ')} (gpt2: gguf | gguf-f16)
  --out PATH             the file (llama2c*, gguf*) or folder (hf*) to write
  --seed N               weight seed (default 1)
  --separate-classifier  an untied classifier (llama2.c: negative vocab size)
  --logit-scale S        logit standard deviation (default 4)
  --check-tokens N       greedy tokens to decode for the margin check (default 8, 0 = skip)
`;

export function synthModelCommand(argv: string[]): number {
  let v;
  try {
    v = parseArgs({
      args: argv,
      strict: true,
      options: {
        arch: { type: 'string' },
        shape: { type: 'string' },
        format: { type: 'string' },
        out: { type: 'string' },
        seed: { type: 'string' },
        'separate-classifier': { type: 'boolean' },
        'logit-scale': { type: 'string' },
        'check-tokens': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (v.help) {
    process.stdout.write(SYNTH_USAGE);
    return 0;
  }
  if (v.arch === 'gpt2') return writeSyntheticGpt2(v);
  if (v.arch !== undefined && v.arch !== 'llama') throw new UsageError(`--arch must be llama or gpt2, got "${v.arch}"`);
  const shape = v.shape as SyntheticShape;
  if (!(shape in SYNTHETIC_SHAPES)) throw new UsageError(`--shape must be one of ${Object.keys(SYNTHETIC_SHAPES).join(', ')}, got "${v.shape}"`);
  const format = v.format as WriteFormat;
  if (!WRITE_FORMATS.includes(format)) throw new UsageError(`--format must be one of ${WRITE_FORMATS.join(', ')}, got "${v.format}"`);
  if (!v.out) throw new UsageError('--out PATH is required');
  const int = (name: string, raw: string | undefined, fallback: number) => {
    const n = raw === undefined ? fallback : Number(raw);
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} got "${raw}"`);
    return n;
  };
  const seed = int('seed', v.seed, 1);
  const checkTokens = int('check-tokens', v['check-tokens'], 8);
  const logitScale = v['logit-scale'] === undefined ? 4 : Number(v['logit-scale']);
  if (!(logitScale > 0)) throw new UsageError(`--logit-scale got "${v['logit-scale']}"`);

  const started = performance.now();
  const weights = syntheticLlama(shape, { seed, separateClassifier: v['separate-classifier'] ?? false, logitScale });
  const paths = writeModel(weights, format, v.out);
  const seconds = (performance.now() - started) / 1000;
  const margins = checkTokens > 0 ? greedyMargins(weights, checkTokens) : undefined;
  const bytes = statSync(paths.model).isDirectory() ? undefined : statSync(paths.model).size;
  process.stdout.write(
    `${JSON.stringify({
      shape,
      format,
      seed,
      params: llamaParameterCount(weights.config),
      ...paths,
      bytes,
      write_seconds: Number(seconds.toFixed(2)),
      ...(margins && { greedy_tokens: margins.tokens, min_top2_gap: margins.minTop2Gap, mean_top2_gap: margins.meanTop2Gap, max_abs_logit: margins.maxAbsLogit }),
    })}\n`,
  );
  return 0;
}

function writeSyntheticGpt2(v: { shape?: string; format?: string; out?: string; seed?: string }): number {
  const shape = v.shape as Gpt2Shape;
  if (!(shape in GPT2_SHAPES)) throw new UsageError(`--shape must be one of ${Object.keys(GPT2_SHAPES).join(', ')} with --arch gpt2, got "${v.shape}"`);
  const format = v.format ?? 'gguf';
  if (format !== 'gguf' && format !== 'gguf-f16') throw new UsageError(`--format must be gguf or gguf-f16 with --arch gpt2, got "${format}"`);
  if (!v.out) throw new UsageError('--out PATH is required');
  const seed = v.seed === undefined ? 1 : Number(v.seed);
  if (!Number.isInteger(seed) || seed < 0) throw new UsageError(`--seed got "${v.seed}"`);
  const started = performance.now();
  const weights = syntheticGpt2(shape, { seed });
  const paths = writeGpt2Model(weights, v.out, format === 'gguf' ? 'F32' : 'F16');
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(
    `${JSON.stringify({ arch: 'gpt2', shape, format, seed, params: gpt2ParameterCount(weights.config), ...paths, bytes: statSync(paths.model).size, write_seconds: Number(seconds.toFixed(2)) })}\n`,
  );
  return 0;
}
