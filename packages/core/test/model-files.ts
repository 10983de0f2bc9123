import { readFileSync } from 'node:fs';

const dir = new URL('../../../models/stories260K/', import.meta.url);

/** The bundled stories260K files and llama2.c's reference outputs. */
export const stories260K = {
  checkpoint: () => readFileSync(new URL('stories260K.bin', dir)),
  tokenizer: () => readFileSync(new URL('tok512.bin', dir)),
  reference: () =>
    JSON.parse(readFileSync(new URL('reference.json', dir), 'utf8')) as {
      prompt: string;
      steps: number;
      prompt_token_ids: number[];
      next_token_ids: number[];
      text: string;
    }[],
};
