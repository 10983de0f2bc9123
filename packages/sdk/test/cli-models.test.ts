import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { Float32Transformer, Sampler, generate, parseTokenizerFile, sequentialForwarder } from '@fhe-llm/core';
import { loadModelPath, tokenizerForModel } from '@fhe-llm/core/node';

// `fhe-llm synth-model` writes the same seeded weights in every format, and
// `fhe-llm generate --model-file` runs any of them, the tokenizer coming from
// the model (GGUF, HF folder) or from beside it (llama2.c).

const run = promisify(execFile);
const bin = new URL('../bin/fhe-llm.js', import.meta.url).pathname;
const cli = (args: string[]) => run(process.execPath, [bin, ...args], { maxBuffer: 16 * 1024 * 1024 });
const dir = mkdtempSync(join(tmpdir(), 'fhe-llm-cli-models-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function synth(format: string, out: string): Promise<{ params: number; model: string; min_top2_gap: number }> {
  const { stdout } = await cli(['synth-model', '--shape', 'tiny', '--seed', '4', '--format', format, '--out', out, '--check-tokens', '4']);
  return JSON.parse(stdout);
}

async function plaintextTokens(model: string, prompt: string, maxTokens: number): Promise<number[]> {
  const loaded = loadModelPath(model);
  const tokenizer = parseTokenizerFile(tokenizerForModel(loaded).bytes, loaded.weights.config.vocabSize);
  const ids = tokenizer.encode(prompt, { bos: true, eos: false });
  const result = await generate(sequentialForwarder(new Float32Transformer(loaded.weights)), new Sampler({ temperature: 0 }), ids, { steps: ids.length - 1 + maxTokens });
  return result.nextTokenIds;
}

describe('models in every format through the CLI', () => {
  it('synth-model writes llama2.c, GGUF and HF copies; generate --model-file runs each without --tokenizer', async () => {
    const legacy = await synth('llama2c', join(dir, 'l2c', 'model.bin'));
    const gguf = await synth('gguf', join(dir, 'model.gguf'));
    const hf = await synth('hf', join(dir, 'hf'));
    expect(legacy.params).toBe(gguf.params);
    expect(legacy.min_top2_gap).toBeGreaterThan(0);
    const prompt = 'Once upon a time';
    const tokens: number[][] = [];
    for (const model of [legacy.model, gguf.model, hf.model]) {
      const { stdout } = await cli(['generate', '--plaintext', '--json', '--model-file', model, '--prompt', prompt, '--max-tokens', '8']);
      tokens.push(JSON.parse(stdout).token_ids);
    }
    expect(tokens[0]).toEqual(await plaintextTokens(legacy.model, prompt, 8));
    expect(tokens[1]).toEqual(tokens[0]);
    expect(tokens[2]).toEqual(tokens[0]);
  }, 120_000);

  it('a llama2.c checkpoint with no tokenizer anywhere fails with missing_tokenizer, exit 1', async () => {
    const lonely = join(dir, 'lonely');
    mkdirSync(lonely, { recursive: true });
    copyFileSync(join(dir, 'l2c', 'model.bin'), join(lonely, 'model.bin'));
    await expect(cli(['generate', '--plaintext', '--model-file', join(lonely, 'model.bin')])).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('missing_tokenizer') });
  });

  it('synth-model rejects an unknown shape or format with usage, exit 2', async () => {
    await expect(cli(['synth-model', '--shape', 'huge', '--format', 'gguf', '--out', join(dir, 'x')])).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('--shape') });
    await expect(cli(['synth-model', '--shape', 'tiny', '--format', 'onnx', '--out', join(dir, 'x')])).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('--format') });
  });
});
