import type { Tokenizer } from '../tokenizer.ts';

// llama2.c's tokenizer.bin (SentencePiece pieces and scores) as a Hugging Face
// tokenizer.json, the way the tokenizers library converts a SentencePiece BPE
// model (SentencePieceExtractor): every split of a piece into two pieces is a
// merge, ranked by the merged piece's score. Used to give synthetic Hugging
// Face folders the real LLaMA vocabulary.

const BYTE_PIECE = /^<0x[0-9A-F]{2}>$/;

export function sentencePieceTokenizerJson(tokenizer: Tokenizer): Record<string, unknown> {
  const decoder = new TextDecoder();
  const pieces = tokenizer.pieces.map((p) => decoder.decode(p).replaceAll(' ', '\u2581'));
  const vocab: Record<string, number> = {};
  pieces.forEach((p, id) => {
    if (!(p in vocab)) vocab[p] = id;
  });
  const special = [0, 1, 2];
  const merges: Array<[string, string, number, number, number]> = [];
  pieces.forEach((piece, id) => {
    if (special.includes(id) || BYTE_PIECE.test(piece)) return;
    const chars = [...piece];
    const local: Array<[string, string, number, number, number]> = [];
    for (let i = 1; i < chars.length; i++) {
      const l = chars.slice(0, i).join('');
      const r = chars.slice(i).join('');
      if (l in vocab && r in vocab) local.push([l, r, tokenizer.scores[id], vocab[l], vocab[r]]);
    }
    local.sort((a, b) => a[3] - b[3] || a[4] - b[4]);
    merges.push(...local);
  });
  // Stable sort by score, highest first (Python's sorted(..., reverse=True) keeps ties in order).
  const ranked = merges
    .map((m, i) => [m, i] as const)
    .sort((a, b) => b[0][2] - a[0][2] || a[1] - b[1])
    .map(([m]) => `${m[0]} ${m[1]}`);
  return {
    version: '1.0',
    added_tokens: special.map((id) => ({
      id,
      content: pieces[id].replaceAll('\u2581', ' ').trim() || ['<unk>', '<s>', '</s>'][id],
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: '\u2581' },
        { type: 'Replace', pattern: { String: ' ' }, content: '\u2581' },
      ],
    },
    pre_tokenizer: null,
    post_processor: null,
    decoder: {
      type: 'Sequence',
      decoders: [{ type: 'Replace', pattern: { String: '\u2581' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      vocab: { ...vocab, '<unk>': 0, '<s>': 1, '</s>': 2 },
      merges: ranked,
    },
  };
}
