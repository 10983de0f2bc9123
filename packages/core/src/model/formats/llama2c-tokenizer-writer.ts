/**
 * llama2.c's tokenizer.bin: int32 max_token_length, then per token a float32
 * score, an int32 byte length and the bytes (see parseLlama2cTokenizer).
 */
export function writeLlama2cTokenizer(pieces: readonly Uint8Array[], scores: ArrayLike<number>): Uint8Array {
  let size = 4;
  let maxLength = 1;
  for (const p of pieces) {
    size += 8 + p.length;
    maxLength = Math.max(maxLength, p.length);
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setInt32(0, maxLength, true);
  let o = 4;
  pieces.forEach((p, i) => {
    view.setFloat32(o, scores[i], true);
    view.setInt32(o + 4, p.length, true);
    out.set(p, o + 8);
    o += 8 + p.length;
  });
  return out;
}
