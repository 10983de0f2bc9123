import { describe, expect, it } from 'vitest';
import { vocabularyFor } from './formats/node-write-model.ts';
import { loadStories260K } from './test-model-files.ts';
import { parseTokenizerFile, stopTokenOf } from './tokenizer-file.ts';

describe('stopTokenOf', () => {
  it("ends llama2.c stories at BOS (run.c's rule) and other vocabularies at their EOS", () => {
    expect(stopTokenOf(loadStories260K().tokenizer)).toBe(1);
    const json = new TextEncoder().encode(JSON.stringify(vocabularyFor(300).tokenizerJson));
    const byteLevel = parseTokenizerFile(json, 300);
    expect(stopTokenOf(byteLevel)).toBe(byteLevel.eosId);
    expect(byteLevel.eosId).toBe(299); // <|endoftext|>, GPT-2's only special token
  });
});
