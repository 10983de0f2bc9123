import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gpt2Transformer, loadGpt2Folder, memoryFolder, prepareModel, type PreparedModel } from '../src/index.ts';
import { vocabularyFor } from '../src/node.ts';
import { openLocalFhe, type LocalFhe } from './local-fhe.ts';

// GPT-2 (a tiny random one in transformers' layout) through the whole split
// schedule under real CKKS, against GPT-2's own plaintext forward pass.
describe('GPT-2 under the default preset, in process', () => {
  const dir = new URL('fixtures/gpt2-tiny/', import.meta.url);
  const files = new Map(['config.json', 'model.safetensors'].map((f) => [f, new Uint8Array(readFileSync(new URL(f, dir)))]));
  const reference = JSON.parse(readFileSync(new URL('reference.json', dir), 'utf8')) as { tokens: number[] };
  const weights = loadGpt2Folder(memoryFolder('gpt2-tiny', files)).weights;
  let model: PreparedModel;
  let fhe: LocalFhe | undefined;

  beforeAll(async () => {
    const tokenizer = new TextEncoder().encode(JSON.stringify(vocabularyFor(weights.config.vocabSize).tokenizerJson));
    model = await prepareModel({ id: 'gpt2-tiny', weights, tokenizer, calibrationSteps: 32 });
    fhe = await openLocalFhe(model);
  });
  afterAll(() => fhe?.delete());

  it('gives GPT-2 greedy tokens and logits within 0.01 at every position', async () => {
    expect(model.descriptor).toMatchObject({ architecture: 'gpt2', embedding: 'client' });
    const split = fhe!.splitClient();
    const plain = new Gpt2Transformer(weights);
    const tokens = reference.tokens;
    const got = [...(await split.forward(tokens.slice(0, 3), 0))];
    for (let p = 3; p < tokens.length; p++) got.push(...(await split.forward([tokens[p]], p)));
    let maxError = 0;
    tokens.forEach((t, p) => {
      const want = plain.forward(t, p);
      want.forEach((v, i) => (maxError = Math.max(maxError, Math.abs(v - got[p][i]))));
      const argmax = (row: ArrayLike<number>) => Array.prototype.indexOf.call(row, Math.max(...Array.from(row)));
      expect(argmax(got[p]), `position ${p}`).toBe(argmax(want));
    });
    console.log(`gpt2-tiny under CKKS: ${tokens.length} positions, largest logit error ${maxError.toExponential(2)}`);
    expect(maxError).toBeLessThan(0.01);
  });
});
