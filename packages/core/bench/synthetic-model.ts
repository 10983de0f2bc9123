// npm run bench:synthetic [-- --shape stories15M --tokens 16 --calibration-steps 32]
// Encrypted (--local-fhe style, CKKS in process) greedy generation on a
// synthetic model of a real shape, against the float32 plaintext reference.
// Prints one JSON line: timings, whether the tokens match, the largest logit
// error and the smallest top-2 logit gap of the plaintext run.
import { parseArgs } from 'node:util';
import {
  CkksContext,
  Float32Transformer,
  Sampler,
  SplitInferenceClient,
  generate,
  llamaParameterCount,
  parseTokenizerFile,
  prepareModel,
  sequentialForwarder,
  syntheticLlama,
  type SyntheticShape,
  type TokenForwarder,
} from '../src/index.ts';
import { CkksClient } from '../src/client/index.ts';
import { StepOperators } from '../src/server/index.ts';
import { LocalFheStepRunner } from '../src/local/index.ts';
import { vocabularyFor } from '../src/node.ts';

const { values } = parseArgs({ options: { shape: { type: 'string' }, tokens: { type: 'string' }, 'calibration-steps': { type: 'string' }, prompt: { type: 'string' }, preset: { type: 'string' } } });
const shape = (values.shape ?? 'stories15M') as SyntheticShape;
const tokens = Number(values.tokens ?? 16);
const prompt = values.prompt ?? 'Once upon a time';

/** Records the logits of every position a forwarder produces. */
function recording(inner: TokenForwarder): { forwarder: TokenForwarder; logits: Float32Array[] } {
  const logits: Float32Array[] = [];
  return {
    logits,
    forwarder: {
      forward: async (t, p) => {
        const out = await inner.forward(t, p);
        logits.push(...out);
        return out;
      },
    },
  };
}

const t0 = performance.now();
const weights = syntheticLlama(shape, { seed: 1 });
const vocab = vocabularyFor(weights.config.vocabSize);
const tokenizerBytes = vocab.llama2cBin ?? new TextEncoder().encode(JSON.stringify(vocab.tokenizerJson));
const tokenizer = parseTokenizerFile(tokenizerBytes, weights.config.vocabSize);
const promptIds = tokenizer.encode(prompt, { bos: true, eos: false });
const steps = Math.min(promptIds.length - 1 + tokens, weights.config.seqLen);
const buildS = (performance.now() - t0) / 1000;

const plain = recording(sequentialForwarder(new Float32Transformer(weights)));
const tPlain = performance.now();
const plainRun = await generate(plain.forwarder, new Sampler({ temperature: 0 }), promptIds, { steps });
const plainS = (performance.now() - tPlain) / 1000;

const tPrep = performance.now();
const model = await prepareModel({
  id: shape,
  weights,
  tokenizer: tokenizerBytes,
  calibrationSteps: Number(values['calibration-steps'] ?? steps + 8),
  ...(values.preset && { preset: values.preset }),
});
const ctx = await CkksContext.create(model.descriptor.preset);
const client = CkksClient.generate(ctx);
const operators = new StepOperators(ctx, model.descriptor, model.schedule);
const runner = new LocalFheStepRunner(client, operators);
const prepareS = (performance.now() - tPrep) / 1000;
try {
  const enc = recording(new SplitInferenceClient(model.descriptor, runner, { clientTable: model.schedule.clientTable }));
  const tEnc = performance.now();
  const encRun = await generate(enc.forwarder, new Sampler({ temperature: 0 }), promptIds, { steps });
  const encS = (performance.now() - tEnc) / 1000;
  let maxErr = 0;
  let minGap = Infinity;
  plain.logits.forEach((row, p) => {
    const sorted = [...row].sort((a, b) => b - a);
    minGap = Math.min(minGap, sorted[0] - sorted[1]);
    row.forEach((v, i) => {
      if (enc.logits[p]) maxErr = Math.max(maxErr, Math.abs(v - enc.logits[p][i]));
    });
  });
  const generated = encRun.nextTokenIds.length - (promptIds.length - 1);
  console.log(
    JSON.stringify({
      bench: 'synthetic-model',
      shape,
      params: llamaParameterCount(weights.config),
      preset: model.descriptor.preset,
      prompt_tokens: promptIds.length,
      tokens: generated,
      tokens_match_plaintext: JSON.stringify(encRun.nextTokenIds) === JSON.stringify(plainRun.nextTokenIds),
      max_logit_error: maxErr,
      min_top2_gap: minGap,
      build_s: buildS,
      plaintext_s: plainS,
      prepare_s: prepareS,
      encrypted_s: encS,
      encrypted_s_per_position: encS / encRun.nextTokenIds.length,
      round_trips: runner.counters.roundTrips,
      bytes_up: runner.counters.bytesUp,
      bytes_down: runner.counters.bytesDown,
      rss_mb: Math.round(process.memoryUsage().rss / 2 ** 20),
    }),
  );
} finally {
  runner.delete();
  operators.delete();
  client.delete();
  ctx.delete();
}
