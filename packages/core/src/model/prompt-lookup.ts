/**
 * Prompt-lookup drafting: guess the next tokens of a sequence from its own
 * text, with no second model. Find the latest earlier place where the last n
 * tokens (n from `maxNgram` down to `minNgram`) occurred before, and propose
 * what followed there. Everything stays on the client; the drafts travel to
 * the relay only as extra encrypted vectors of the next step.
 */
export interface PromptLookupOptions {
  /** Longest suffix tried first (default 4). */
  maxNgram?: number;
  /** Shortest suffix accepted (default 1). */
  minNgram?: number;
}

/**
 * Up to `k` draft tokens continuing `context` (prompt and generated text so
 * far, the last element being the token about to be fed to the model).
 * Returns [] when no suffix of the context occurred earlier.
 */
export function draftFromContext(context: readonly number[], k: number, options: PromptLookupOptions = {}): number[] {
  const maxNgram = options.maxNgram ?? 4;
  const minNgram = options.minNgram ?? 1;
  const len = context.length;
  if (k <= 0 || len < 2) return [];
  for (let n = Math.min(maxNgram, len - 1); n >= minNgram; n--) {
    const suffix = len - n;
    // Latest match first: recent text predicts better than old text. Starting at most at
    // len - n - 1 leaves at least one token after the match to propose.
    for (let start = len - n - 1; start >= 0; start--) {
      let same = true;
      for (let i = 0; i < n; i++) {
        if (context[start + i] !== context[suffix + i]) {
          same = false;
          break;
        }
      }
      if (!same) continue;
      const from = start + n;
      return context.slice(from, Math.min(from + k, len));
    }
  }
  return [];
}
