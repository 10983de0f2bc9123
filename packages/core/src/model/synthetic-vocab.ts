// A deterministic GPT-2-style byte-level BPE vocabulary of any size, for
// synthetic models whose vocabulary no bundled tokenizer has (49,152, 50,257):
// the 256 byte symbols, then letter n-grams ("Ġ" marks a leading space), each
// a merge of an earlier token and one letter, and <|endoftext|> last.

const ENDOFTEXT = '<|endoftext|>';

export interface ByteLevelVocab {
  tokens: string[];
  merges: string[];
  /** llama.cpp token types: 1 normal, 3 control. */
  types: number[];
}

function byteSymbols(): string[] {
  const bytes: number[] = [];
  for (let b = 33; b <= 126; b++) bytes.push(b);
  for (let b = 161; b <= 172; b++) bytes.push(b);
  for (let b = 174; b <= 255; b++) bytes.push(b);
  const symbols = bytes.map((b) => String.fromCodePoint(b));
  for (let n = 0; symbols.length < 256; n++) symbols.push(String.fromCodePoint(256 + n));
  return symbols;
}

export function syntheticByteLevelVocab(size: number): ByteLevelVocab {
  if (size < 258) throw new RangeError(`a byte-level vocabulary needs at least 258 tokens, got ${size}`);
  const tokens = byteSymbols();
  const merges: string[] = [];
  const letters = 'etaoinshrdlucmfwypvbgkjqxz'.split('');
  let frontier = ['Ġ', ...letters];
  while (tokens.length < size - 1) {
    const next: string[] = [];
    for (const prefix of frontier) {
      for (const l of letters) {
        if (tokens.length >= size - 1) break;
        const t = prefix + l;
        tokens.push(t);
        merges.push(`${prefix} ${l}`);
        next.push(t);
      }
    }
    frontier = next;
  }
  tokens.push(ENDOFTEXT);
  return { tokens, merges, types: tokens.map((t) => (t === ENDOFTEXT ? 3 : 1)) };
}
