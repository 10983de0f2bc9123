import type { TextTokenizer } from './tokenizer-file.ts';

/**
 * Incremental text for a stream of generated tokens: feed tokens one at a time
 * and get the text that became complete. UTF-8 characters split over several
 * <0xXX> byte tokens come out whole once their last byte arrives.
 */
export class TokenTextDecoder {
  readonly #tokenizer: TextTokenizer;
  readonly #utf8 = new TextDecoder();
  #prev: number;

  /** `prevToken`: the token before the first one pushed (BOS strips a leading space). */
  constructor(tokenizer: TextTokenizer, prevToken = -1) {
    this.#tokenizer = tokenizer;
    this.#prev = prevToken;
  }

  push(token: number): string {
    const prev = this.#prev;
    this.#prev = token;
    if (token === this.#tokenizer.bosId || token === this.#tokenizer.eosId) return '';
    return this.#utf8.decode(this.#tokenizer.decodeBytes(prev, token), { stream: true });
  }

  /** Whatever incomplete character is pending, as U+FFFD. */
  flush(): string {
    return this.#utf8.decode();
  }
}
