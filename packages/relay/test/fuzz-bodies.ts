// Mutators for the fuzz test: random bytes, truncations, bit flips, header
// field rewrites in real envelopes, item surgery and huge counts. All
// driven by one seeded generator so a failure can be replayed.
import { decodeEnvelope, encodeEnvelope } from '@fhe-llm/core';

export class Rng {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0 || 1;
  }
  /** xorshift32 in [0, 1). */
  next(): number {
    let x = this.#state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#state = x >>> 0;
    return this.#state / 2 ** 32;
  }
  int(max: number): number {
    return Math.floor(this.next() * max);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  bytes(length: number): Uint8Array {
    return Uint8Array.from({ length }, () => this.int(256));
  }
}

const INTERESTING_U32 = [0, 1, 2, 3, 7, 8, 31, 32, 63, 64, 65, 127, 4096, 4097, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

function u32(rng: Rng): number {
  return rng.next() < 0.6 ? rng.pick(INTERESTING_U32) : rng.int(2 ** 32);
}

/** Offsets of each item's u32 length field in a well-formed envelope. */
function itemLengthOffsets(body: Uint8Array): number[] {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const offsets: number[] = [];
  let offset = 17 + body[16];
  const count = view.getUint32(12, true);
  for (let i = 0; i < count && offset + 4 <= body.length; i++) {
    offsets.push(offset);
    offset += 4 + view.getUint32(offset, true);
  }
  return offsets;
}

type Mutator = (rng: Rng, seed: Uint8Array) => Uint8Array;

const mutators: Record<string, Mutator> = {
  random: (rng) => rng.bytes(rng.int(rng.next() < 0.8 ? 64 : 8192)),
  magicThenRandom: (rng) => {
    const body = rng.bytes(17 + rng.int(4096));
    body.set([0x46, 0x48, 0x4c, 0x4d, 1, rng.int(3)], 0);
    return body;
  },
  truncate: (rng, seed) => seed.slice(0, rng.int(seed.length)),
  append: (rng, seed) => {
    const body = new Uint8Array(seed.length + 1 + rng.int(64));
    body.set(seed);
    body.set(rng.bytes(body.length - seed.length), seed.length);
    return body;
  },
  bitFlips: (rng, seed) => {
    const body = seed.slice();
    for (let n = 1 + rng.int(8); n > 0; n--) body[rng.int(body.length)] ^= 1 << rng.int(8);
    return body;
  },
  headerBitFlips: (rng, seed) => {
    const body = seed.slice();
    for (let n = 1 + rng.int(3); n > 0; n--) body[rng.int(Math.min(body.length, 17 + body[16] + 8))] ^= 1 << rng.int(8);
    return body;
  },
  itemHeaderFlips: (rng, seed) => {
    // SEAL's own serialization header (magic, version, compression, sizes) at the start of an item.
    const body = seed.slice();
    const offsets = itemLengthOffsets(body);
    const at = rng.pick(offsets) + 4;
    for (let n = 1 + rng.int(3); n > 0; n--) body[Math.min(body.length - 1, at + rng.int(16))] ^= 1 << rng.int(8);
    return body;
  },
  headerField: (rng, seed) => {
    const body = seed.slice();
    const view = new DataView(body.buffer);
    switch (rng.int(6)) {
      case 0:
        body[4] = rng.int(256);
        break; // version
      case 1:
        body[5] = rng.int(256);
        break; // kind
      case 2:
        view.setUint16(6, rng.int(65536), true);
        break; // reserved
      case 3:
        view.setUint32(8, u32(rng), true);
        break; // vectors
      case 4:
        view.setUint32(12, u32(rng), true);
        break; // item count
      default:
        body[16] = rng.int(256);
        break; // preset length
    }
    return body;
  },
  itemLength: (rng, seed) => {
    const body = seed.slice();
    const offsets = itemLengthOffsets(body);
    new DataView(body.buffer).setUint32(rng.pick(offsets), u32(rng), true);
    return body;
  },
  itemSurgery: (rng, seed) => {
    const env = decodeEnvelope(seed);
    const items = [...env.items];
    switch (rng.int(5)) {
      case 0:
        items.splice(rng.int(items.length), 1);
        break;
      case 1:
        items.push(rng.pick(env.items));
        break;
      case 2:
        items.reverse();
        break;
      case 3:
        items[rng.int(items.length)] = rng.bytes(rng.int(2048));
        break;
      default:
        items[rng.int(items.length)] = rng.pick(env.items).subarray(0, rng.int(rng.pick(env.items).length));
        break;
    }
    return encodeEnvelope({ ...env, items });
  },
  fieldRewrite: (rng, seed) => {
    const env = decodeEnvelope(seed);
    switch (rng.int(4)) {
      case 0:
        return encodeEnvelope({ ...env, vectors: u32(rng) });
      case 1:
        return encodeEnvelope({ ...env, kind: env.kind === 'ciphertexts' ? 'galoisKeys' : 'ciphertexts' });
      case 2:
        return encodeEnvelope({ ...env, presetId: rng.pick(['ckks-n4096-q109', 'ckks-n8192-q218', 'x', '']) });
      default:
        return encodeEnvelope({ ...env, vectors: 1 + rng.int(70) });
    }
  },
};

export const MUTATOR_NAMES = Object.keys(mutators);

/** One mutated body from `seed` and the mutator's name. */
export function mutate(rng: Rng, seed: Uint8Array): { body: Uint8Array; mutator: string } {
  const mutator = rng.pick(MUTATOR_NAMES);
  return { body: mutators[mutator](rng, seed), mutator };
}
