// npm run bench:privacy [-- --sigmas 1e-4,1e-3,1e-2] [-- --tokens N]
// What response privacy costs for stories260K under the default preset:
// relay CPU per token (evaluation alone vs. with Enc_pk(0) or flooding
// added to each of the 11 response ciphertexts), the largest error of any
// step output against its Float64 twin, and whether greedy decoding still
// reproduces llama2.c for every reference prompt. One JSON line per mode.
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { CkksContext, DEFAULT_PRESET, PlaintextStepRunner, Sampler, SplitInferenceClient, generate, prepareModel, type StepRunner } from '../src/index.ts';
import type { ResponsePrivacy } from '../src/protocol/index.ts';
import { CkksClient } from '../src/client/index.ts';
import { StepOperators } from '../src/server/index.ts';
import { LocalFheStepRunner } from '../src/local/index.ts';

const { values } = parseArgs({ options: { sigmas: { type: 'string', default: '1e-4,1e-3,3e-3,1e-2,3e-2' }, tokens: { type: 'string', default: '48' } } });
const modelDir = new URL('../../../models/stories260K/', import.meta.url);
const reference = JSON.parse(readFileSync(new URL('reference.json', modelDir), 'utf8')) as { prompt: string; prompt_token_ids: number[]; next_token_ids: number[] }[];
const tokens = Number(values.tokens);

const model = await prepareModel({
  id: 'stories260K',
  checkpoint: readFileSync(new URL('stories260K.bin', modelDir)),
  tokenizer: readFileSync(new URL('tok512.bin', modelDir)),
  preset: DEFAULT_PRESET,
});
const ctx = await CkksContext.create(DEFAULT_PRESET);
const client = CkksClient.generate(ctx);
const operators = new StepOperators(ctx, model.descriptor, model.schedule);
const plain = new PlaintextStepRunner(model.schedule);

/** Wraps a runner: CPU time of its calls (client and relay share this thread) and the worst error against the twin. */
function measured(inner: StepRunner) {
  const state = { cpuMs: 0, maxError: 0, maxRelative: 0 };
  const runner: StepRunner = {
    async runStep(i, xs) {
      const start = process.cpuUsage();
      const got = await inner.runStep(i, xs);
      const used = process.cpuUsage(start);
      state.cpuMs += (used.user + used.system) / 1000;
      const want = await plain.runStep(i, xs);
      const bound = model.descriptor.steps[i].bounds.output;
      got.forEach((y, t) =>
        y.forEach((v, j) => {
          const e = Math.abs(v - want[t][j]);
          state.maxError = Math.max(state.maxError, e);
          state.maxRelative = Math.max(state.maxRelative, e / bound);
        }),
      );
      return got;
    },
  };
  return { runner, state };
}

const modes: ResponsePrivacy[] = [{ mode: 'off' }, { mode: 'rerandomize' }, ...values.sigmas.split(',').map((s) => ({ mode: 'flood' as const, floodSigma: Number(s) }))];
for (const privacy of modes) {
  const local = new LocalFheStepRunner(client, operators, privacy);
  const { runner, state } = measured(local);
  let exact = 0;
  const firstMismatch: number[] = [];
  for (const ref of reference) {
    const want = ref.next_token_ids.slice(0, tokens);
    const result = await generate(new SplitInferenceClient(model.descriptor, runner), new Sampler({ temperature: 0 }), ref.prompt_token_ids, { steps: want.length });
    const got = result.nextTokenIds.slice(0, want.length);
    const mismatch = got.findIndex((t, i) => t !== want[i]);
    if (mismatch < 0) exact++;
    firstMismatch.push(mismatch);
  }
  const passes = local.counters.roundTrips / model.descriptor.steps.length;
  console.log(
    JSON.stringify({
      bench: 'response-privacy',
      model: 'stories260K',
      preset: DEFAULT_PRESET,
      ...privacy,
      prompts_exact: `${exact}/${reference.length}`,
      first_mismatch: firstMismatch,
      tokens_per_prompt: tokens,
      max_abs_error: +state.maxError.toExponential(2),
      max_error_over_bound: +state.maxRelative.toExponential(2),
      cpu_ms_per_pass: +(state.cpuMs / passes).toFixed(1),
      passes,
    }),
  );
  local.delete();
}
operators.delete();
client.delete();
ctx.delete();
