import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  CkksContext,
  Float32Transformer,
  Gpt2Transformer,
  SplitInferenceClient,
  isFheLlmError,
  isGpt2Weights,
  parseTokenizerFile,
  perSequenceForwarder,
  prepareModel,
  sequentialForwarder,
  splitBatchForwarder,
} from '@fhe-llm/core';
import { CkksClient } from '@fhe-llm/core/client';
import { StepOperators } from '@fhe-llm/core/server';
import { LocalFheStepRunner } from '@fhe-llm/core/local';
import { applyHeapGrowth, DEFAULT_HEAP_GROWTH_PERCENT, loadSplitModelPath, tokenizerForModel } from '@fhe-llm/core/node';
import { GENERATE_USAGE, parseGenerateArgs, UsageError, type GenerateArgs } from './generate-args.ts';
import { runGeneration, type RunGenerationOptions } from './run-generation.ts';

// The package's own copy (models/, written by its build for npm), else the repository's.
const BUNDLED =
  [new URL('../../models/stories260K/', import.meta.url), new URL('../../../../models/stories260K/', import.meta.url)].find((url) => existsSync(new URL('stories260K.bin', url))) ??
  new URL('../../models/stories260K/', import.meta.url);
const DEFAULTS = {
  modelFile: fileURLToPath(new URL('stories260K.bin', BUNDLED)),
  tokenizerFile: fileURLToPath(new URL('tok512.bin', BUNDLED)),
};

const USAGE = `Usage: fhe-llm <command> [options]

Commands:
  generate     generate text (fhe-llm generate --help)
  synth-model  write a synthetic model of a real shape (fhe-llm synth-model --help)
`;

/** CLI entry: returns the process exit code (0 ok, 1 failure, 2 usage). */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help') {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === 'synth-model') {
    const { synthModelCommand, SYNTH_USAGE } = await import('./synth-model.ts');
    try {
      return synthModelCommand(rest);
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      process.stderr.write(`fhe-llm synth-model: ${error.message}\n\n${SYNTH_USAGE}`);
      return 2;
    }
  }
  if (command !== 'generate') {
    process.stderr.write(`fhe-llm: unknown command "${command}"\n${USAGE}`);
    return 2;
  }
  let args: GenerateArgs | 'help';
  try {
    args = parseGenerateArgs(rest, DEFAULTS);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`fhe-llm generate: ${error.message}\n\n${GENERATE_USAGE}`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(GENERATE_USAGE);
    return 0;
  }
  try {
    const report = await generateCommand(args);
    if (args.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    return 0;
  } catch (error) {
    const e = error as Error & { code?: string };
    const code = isFheLlmError(error) ? ` [${e.code}]` : '';
    process.stderr.write(`fhe-llm generate: ${e.name}${code}: ${e.message}\n`);
    return 1;
  }
}

async function generateCommand(args: GenerateArgs) {
  // This process is ours: collect its small heaps less often, as the relay does (core/src/heap-growth.ts).
  applyHeapGrowth(DEFAULT_HEAP_GROWTH_PERCENT);
  const onText = args.stream && !args.json ? (t: string) => process.stdout.write(t) : args.stream ? (t: string) => process.stderr.write(t) : undefined;
  const finish = <T extends { text: string }>(report: T) => {
    if (args.stream) (args.json ? process.stderr : process.stdout).write('\n');
    else if (!args.json) process.stdout.write(`${report.text}\n`);
    return report;
  };
  const base = { prompt: args.prompt, maxTokens: args.maxTokens, temperature: args.temperature, topP: args.topP, seed: args.seed, speculative: args.speculative, onText };

  if (args.mode === 'relay') {
    const { generateThroughRelay } = await import('./relay-mode.ts');
    return finish(await generateThroughRelay(args, base));
  }
  const loaded = loadSplitModelPath(args.modelFile);
  const tokenizerBytes = tokenizerForModel(loaded, args.tokenizerFile).bytes;
  if (args.mode === 'plaintext') {
    const weights = loaded.weights;
    const tokenizer = parseTokenizerFile(tokenizerBytes, weights.config.vocabSize);
    const forwarder = perSequenceForwarder([sequentialForwarder(isGpt2Weights(weights) ? new Gpt2Transformer(weights) : new Float32Transformer(weights))]);
    return finish(await runGeneration({ ...base, forwarder, tokenizer, seqLen: weights.config.seqLen }));
  }
  const model = await prepareModel({ id: 'local', weights: loaded.weights, tokenizer: tokenizerBytes, preset: args.preset });
  const ctx = await CkksContext.create(model.descriptor.preset);
  const client = CkksClient.generate(ctx);
  const operators = new StepOperators(ctx, model.descriptor, model.schedule);
  const runner = new LocalFheStepRunner(client, operators);
  try {
    const options: RunGenerationOptions = {
      ...base,
      forwarder: splitBatchForwarder(new SplitInferenceClient(model.descriptor, runner, { clientTable: model.schedule.clientTable }), 1),
      tokenizer: model.tokenizer,
      seqLen: model.weights.config.seqLen,
      counters: runner.counters,
    };
    return finish(await runGeneration(options));
  } finally {
    runner.delete();
    operators.delete();
    client.delete();
    ctx.delete();
  }
}
