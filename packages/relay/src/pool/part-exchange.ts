/**
 * How the workers sharing one group's giant steps hand partial sums over,
 * without a round trip through the main thread: shared memory the relay
 * allocates per group and posts with every part's task.
 *
 * Part 0's task computes its own share, then for each other part either
 * claims it (nobody started it: the worker meant for it is busy elsewhere,
 * so part 0 computes it too) or waits for the worker that did to publish it.
 * A part task that finds its part already claimed returns at once. So no
 * worker ever waits on a task that has not started, and a lone request uses
 * every idle worker.
 */

/** Per part p >= 1: state[p] and the bytes of its partial sums. */
export interface PartExchange {
  /** 0 free, 1 claimed, 2 published, 3 failed (index 0 unused). */
  readonly state: Int32Array;
  /** Per part: u32 count, then per tile u32 length and the serialized ciphertext. */
  readonly buffers: readonly SharedArrayBuffer[];
}

const FREE = 0;
const CLAIMED = 1;
const PUBLISHED = 2;
const FAILED = 3;

/** Room for `tiles` serialized ciphertexts of at most `ciphertextBytes` each, per part. */
export function createPartExchange(parts: number, tiles: number, ciphertextBytes: number): PartExchange {
  const bytes = 4 + tiles * (4 + ciphertextBytes);
  return { state: new Int32Array(new SharedArrayBuffer(4 * parts)), buffers: Array.from({ length: parts }, (_, p) => new SharedArrayBuffer(p === 0 ? 0 : bytes)) };
}

/** Take part `part` if nobody has: true means the caller must compute it. */
export function claimPart(exchange: PartExchange, part: number): boolean {
  return Atomics.compareExchange(exchange.state, part, FREE, CLAIMED) === FREE;
}

/** Hand over a claimed part's partial sums and wake the worker waiting for them. */
export function publishPart(exchange: PartExchange, part: number, tiles: readonly Uint8Array[]): void {
  const buffer = exchange.buffers[part];
  const view = new DataView(buffer);
  const bytes = new Uint8Array(buffer);
  let offset = 4;
  view.setUint32(0, tiles.length, true);
  for (const tile of tiles) {
    if (offset + 4 + tile.length > buffer.byteLength) throw new RangeError(`partial sums of part ${part} exceed their ${buffer.byteLength}-byte buffer`);
    view.setUint32(offset, tile.length, true);
    bytes.set(tile, offset + 4);
    offset += 4 + tile.length;
  }
  Atomics.store(exchange.state, part, PUBLISHED);
  Atomics.notify(exchange.state, part);
}

/** A claimed part could not be computed: the waiting worker gives up instead of waiting on. */
export function failPart(exchange: PartExchange, part: number): void {
  Atomics.store(exchange.state, part, FAILED);
  Atomics.notify(exchange.state, part);
}

/** Why a worker stopped waiting for a part. */
export class PartAbandonedError extends Error {
  override readonly name = 'PartAbandonedError';
}

/**
 * Block until another worker publishes `part`, checking `cancelled` (set by
 * the relay when any task of the request failed, a worker died included)
 * every few milliseconds; throws PartAbandonedError when it will not come.
 */
export function awaitPart(exchange: PartExchange, part: number, cancelled: Int32Array, timeoutMs: number): Uint8Array[] {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const state = Atomics.load(exchange.state, part);
    if (state === PUBLISHED) break;
    if (state === FAILED) throw new PartAbandonedError(`part ${part} failed on its worker`);
    if (Atomics.load(cancelled, 0) !== 0) throw new PartAbandonedError('a sibling task failed');
    if (performance.now() > deadline) throw new PartAbandonedError(`part ${part} not published within ${timeoutMs} ms`);
    Atomics.wait(exchange.state, part, state, 10);
  }
  const buffer = exchange.buffers[part];
  const view = new DataView(buffer);
  const tiles: Uint8Array[] = [];
  let offset = 4;
  for (let t = view.getUint32(0, true); t > 0; t--) {
    const length = view.getUint32(offset, true);
    // A copy: SEAL loads from ordinary memory, and the buffer may be reused by nobody else meanwhile.
    tiles.push(new Uint8Array(buffer, offset + 4, length).slice());
    offset += 4 + length;
  }
  return tiles;
}
