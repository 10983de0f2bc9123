import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './env.ts';

/** One case of models/stories260K/reference.json (llama2.c at temperature 0). */
export interface ReferenceCase {
  prompt: string;
  steps: number;
  temperature: number;
  prompt_token_ids: number[];
  next_token_ids: number[];
  text: string;
}

const modelDir = join(repoRoot, 'models', 'stories260K');
const BOS = 1;
const EOS = 2;

export function referenceCase(prompt: string): ReferenceCase {
  const cases = JSON.parse(readFileSync(join(modelDir, 'reference.json'), 'utf8')) as ReferenceCase[];
  const found = cases.find((c) => c.prompt === prompt);
  if (!found) throw new Error(`reference.json has no case for ${JSON.stringify(prompt)}`);
  return found;
}

/** tok512.bin: int32 max_token_length, then per token float32 score, int32 length, bytes. */
function readPieces(vocabSize = 512): Uint8Array[] {
  const bytes = readFileSync(join(modelDir, 'tok512.bin'));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pieces: Uint8Array[] = [];
  let offset = 4;
  for (let i = 0; i < vocabSize; i++) {
    const length = view.getInt32(offset + 4, true);
    pieces.push(bytes.subarray(offset + 8, offset + 8 + length));
    offset += 8 + length;
  }
  return pieces;
}

/**
 * What the page must show after greedy generation of `tokens` tokens: the
 * prompt, then llama2.c's decoding of the first `tokens` greedy choices
 * (each decoded after its predecessor: no leading-space strip since none
 * follows BOS, `<0xXX>` pieces as raw bytes, UTF-8 reassembled).
 */
export function expectedGreedyOutput(c: ReferenceCase, tokens: number): string {
  const pieces = readPieces();
  const forced = c.prompt_token_ids.length - 1;
  const ids = c.next_token_ids.slice(forced, forced + tokens);
  if (ids.length !== tokens) throw new Error(`reference has only ${ids.length} generated tokens for ${JSON.stringify(c.prompt)}`);
  if (ids.includes(BOS)) throw new Error('reference generation ends early (BOS) within the requested tokens');
  const decoder = new TextDecoder();
  let text = '';
  let prev = c.prompt_token_ids[c.prompt_token_ids.length - 1];
  for (const id of ids) {
    if (id !== EOS) {
      let piece = pieces[id];
      if (prev === BOS && piece[0] === 0x20) piece = piece.subarray(1);
      const byte = /^<0x([0-9A-Fa-f]{1,2})>/.exec(String.fromCharCode(...piece));
      text += decoder.decode(byte ? Uint8Array.of(parseInt(byte[1], 16)) : piece, { stream: true });
    }
    prev = id;
  }
  return c.prompt + text + decoder.decode();
}
