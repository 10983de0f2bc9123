/**
 * When a pool's start-up is over: waiters resolve once every worker is ready,
 * or all reject with the first reason it cannot serve (a worker without heap
 * room, see heap-room.ts) or when their own timeout passes.
 */
export class StartupGate {
  readonly #waiters = new Set<{ open(): void; fail(error: Error): void }>();
  #failure: Error | undefined;
  #opened = false;

  /** True once some waiter saw every worker ready: later ready messages come from replacements. */
  get opened(): boolean {
    return this.#opened;
  }

  get failure(): Error | undefined {
    return this.#failure;
  }

  /** Every worker is ready: release the waiters (unless start-up already failed). */
  open(): void {
    if (this.#failure) return;
    for (const waiter of this.#waiters) waiter.open();
  }

  /** Start-up cannot succeed: the first reason wins and every waiter rejects with it. */
  fail(error: Error): void {
    if (this.#failure) return;
    this.#failure = error;
    for (const waiter of this.#waiters) waiter.fail(error);
  }

  /** Resolves at once when `ready` (every worker is ready now) or at a later open(); rejects on failure or after `timeoutMs`. */
  wait(timeoutMs: number, ready: boolean): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (ready) {
      this.#opened = true;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        open: () => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          this.#opened = true;
          resolve();
        },
        fail: (error: Error) => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          reject(error);
        },
      };
      const timer = setTimeout(() => waiter.fail(new Error(`evaluation workers not ready after ${timeoutMs} ms`)), timeoutMs);
      this.#waiters.add(waiter);
    });
  }
}
