// npm run bench:token [-- --preset ID] [-- --vectors 1,2,4] [-- --tokens N]
// Per-token cost of stories260K's split schedule in one process, split into
// what the relay spends (loading ciphertexts, evaluating, serializing) and
// what the client spends (encrypting, decrypting), for each vector count per
// step (a decode step carries 1 vector; a speculative pass carries 1 + drafts).
// One JSON line per (preset, vectors). CPU figures are single-threaded
// process time, so they stay meaningful on a busy machine; wall time is not.
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { CkksContext, DEFAULT_PRESET, PlaintextStepRunner, SplitInferenceClient, decodeEnvelope, planModelStep, prepareModel } from '../src/index.ts';
import { CkksClient, decryptStepResponse, encryptStepRequest } from '../src/client/index.ts';
import { StepOperators, encodeStepResponse, evaluateGroup, splitRequestGroups } from '../src/server/index.ts';
import { rotationMs } from './machine-speed.ts';

const { values } = parseArgs({ options: { preset: { type: 'string', multiple: true }, vectors: { type: 'string', default: '1,2,4' }, tokens: { type: 'string', default: '8' } } });
const presets = values.preset ?? [DEFAULT_PRESET];
const vectorCounts = values.vectors.split(',').map(Number);
const tokens = Number(values.tokens);
const modelDir = new URL('../../../models/stories260K/', import.meta.url);

const cpuMs = (fn: () => void): number => {
  const start = process.cpuUsage();
  fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
};

for (const presetId of presets) {
  const model = await prepareModel({ id: 'stories260K', checkpoint: readFileSync(new URL('stories260K.bin', modelDir)), tokenizer: readFileSync(new URL('tok512.bin', modelDir)), preset: presetId });
  const ctx = await CkksContext.create(presetId);
  const client = CkksClient.generate(ctx);
  const operators = new StepOperators(ctx, model.descriptor, model.schedule);
  const keyBytes = client.makeGaloisKeys(model.descriptor.galoisSteps);
  const keys = ctx.loadGaloisKeys(keyBytes, model.descriptor.galoisSteps.length);
  const plain = new PlaintextStepRunner(model.schedule);
  // Real activations: the plaintext twin's inputs for a few tokens of a story.
  const ids = model.tokenizer.encode('Once upon a time there was a little girl', { bos: true, eos: false });
  const stepInputs: Float64Array[][] = model.descriptor.steps.map(() => []);
  const recorder = {
    runStep: async (i: number, xs: Float64Array[]) => {
      stepInputs[i].push(...xs);
      return plain.runStep(i, xs);
    },
  };
  await new SplitInferenceClient(model.descriptor, recorder, { clientTable: model.schedule.clientTable }).forward(ids, 0);
  for (const n of vectorCounts) {
    // This machine's speed just before and after (machine-speed.ts): it drifts within minutes.
    const rotateBefore = await rotationMs();
    operators.warm([n]);
    let relay = 0;
    let clientMs = 0;
    let up = 0;
    let down = 0;
    let rotations = 0;
    let products = 0;
    const wallStart = performance.now();
    for (let t = 0; t < tokens; t++) {
      model.descriptor.steps.forEach((_, i) => {
        const xs = Array.from({ length: n }, (_, k) => stepInputs[i][(t + k) % stepInputs[i].length]);
        const plan = planModelStep(model.descriptor, i, n);
        if (t === 0) [rotations, products] = [rotations + plan.cost.rotations * Math.ceil(n / plan.batch), products + plan.cost.plainMults * Math.ceil(n / plan.batch)];
        let body: Uint8Array = new Uint8Array();
        let response: Uint8Array = new Uint8Array();
        clientMs += cpuMs(() => (body = encryptStepRequest(client, plan, xs)));
        relay += cpuMs(() => {
          const envelope = decodeEnvelope(body, { kind: 'ciphertexts', presetId });
          const { operator } = operators.get(i, n);
          response = encodeStepResponse(
            plan,
            n,
            splitRequestGroups(plan, envelope).map((g) => evaluateGroup(operator, keys, g)),
          );
        });
        clientMs += cpuMs(() => decryptStepResponse(client, plan, n, response));
        up += body.length;
        down += response.length;
      });
    }
    const per = tokens * n;
    console.log(
      JSON.stringify({
        bench: 'token',
        model: 'stories260K',
        preset: presetId,
        vectors_per_step: n,
        machine_rotate_ms: { before: rotateBefore, after: await rotationMs() },
        relay_cpu_ms_per_pass: +(relay / tokens).toFixed(1),
        relay_cpu_ms_per_token: +(relay / per).toFixed(1),
        client_cpu_ms_per_token: +(clientMs / per).toFixed(1),
        wall_ms_per_pass: +((performance.now() - wallStart) / tokens).toFixed(1),
        rotations_per_pass: rotations,
        plain_mults_per_pass: products,
        bytes_up_per_pass: Math.round(up / tokens),
        bytes_down_per_pass: Math.round(down / tokens),
        key_bytes: keyBytes.length,
        encoded_weight_mb: +(operators.encodedBytes / 2 ** 20).toFixed(1),
      }),
    );
  }
  keys.delete();
  operators.delete();
  client.delete();
  ctx.delete();
}
