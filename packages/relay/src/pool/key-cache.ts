/**
 * Least-recently-used cache with a byte budget, for deserialized Galois keys
 * inside a worker. Values own WebAssembly memory, so evicted ones are handed
 * to `dispose` (which calls `.delete()`); nothing is left to the GC.
 */
export class KeyCache<V> {
  readonly budget: number;
  readonly #dispose: (value: V) => void;
  /** Map iteration order is insertion order: the first entry is the least recently used. */
  readonly #entries = new Map<string, { value: V; bytes: number }>();
  #bytes = 0;

  constructor(budget: number, dispose: (value: V) => void) {
    this.budget = budget;
    this.#dispose = dispose;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#entries.size;
  }

  has(key: string): boolean {
    return this.#entries.has(key);
  }

  /** The value for `key`, marked most recently used, or undefined. */
  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.value;
  }

  /**
   * Keep `value` under `key`, evicting least recently used entries until it
   * fits. Returns false (and keeps nothing) when it alone exceeds the budget:
   * the caller then owns it and must dispose of it after use.
   */
  set(key: string, value: V, bytes: number): boolean {
    this.delete(key);
    if (bytes > this.budget) return false;
    while (this.#bytes + bytes > this.budget) {
      const oldest = this.#entries.keys().next().value as string;
      this.delete(oldest);
    }
    this.#entries.set(key, { value, bytes });
    this.#bytes += bytes;
    return true;
  }

  delete(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    this.#bytes -= entry.bytes;
    this.#dispose(entry.value);
  }

  clear(): void {
    for (const key of [...this.#entries.keys()]) this.delete(key);
  }
}
