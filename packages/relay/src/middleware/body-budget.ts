import { RelayError, RETRY_AFTER_SECONDS } from '../relay-error.ts';

/**
 * Bytes of request bodies still being read, globally and per client. A body
 * reserves its declared length before the first byte is read (a body without
 * one, chunk by chunk as it arrives) and gives it back once read or
 * abandoned, so many
 * slow uploads cannot pin the relay's memory, and one client cannot take the
 * whole allowance from the others. Over budget: 503 `body_budget_exhausted`
 * (global) or 429 `too_many_uploads` (this client), both with Retry-After.
 */
export class BodyBudget {
  readonly totalBytes: number;
  readonly perClientBytes: number;
  #used = 0;
  readonly #byClient = new Map<string, number>();

  constructor(totalBytes: number, perClientBytes: number) {
    this.totalBytes = totalBytes;
    this.perClientBytes = perClientBytes;
  }

  get usedBytes(): number {
    return this.#used;
  }

  /**
   * Start counting a body of `client`: `add` reserves more bytes (the
   * declared length up front, or each chunk of a body without one as it
   * arrives) and throws once over budget; `release` gives everything back.
   */
  open(client: string): { add(bytes: number): void; release(): void } {
    let held = 0;
    let released = false;
    return {
      add: (bytes: number) => {
        const mine = this.#byClient.get(client) ?? 0;
        if (mine + bytes > this.perClientBytes) {
          throw new RelayError(429, 'too_many_uploads', 'this client has too many request bodies in flight; retry shortly', { 'Retry-After': String(RETRY_AFTER_SECONDS) });
        }
        if (this.#used + bytes > this.totalBytes) {
          throw new RelayError(503, 'body_budget_exhausted', 'the relay is reading as many request bodies as it may; retry shortly', { 'Retry-After': String(RETRY_AFTER_SECONDS) });
        }
        this.#used += bytes;
        this.#byClient.set(client, mine + bytes);
        held += bytes;
      },
      release: () => {
        if (released) return;
        released = true;
        this.#used -= held;
        const left = (this.#byClient.get(client) ?? held) - held;
        if (left > 0) this.#byClient.set(client, left);
        else this.#byClient.delete(client);
      },
    };
  }
}
