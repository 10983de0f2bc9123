import type { Ciphertext, Plaintext } from 'node-seal';
import type { CkksContext } from './ckks-context.ts';
import { PLAIN_MAC_WASM_BASE64 } from './plain-mac-wasm.ts';
import { base64Bytes, equalBytes, firstCommonOffset, handlePointer, primesOf, sealMemory } from './seal-memory.ts';

/** One term of a sum of plaintext products: ciphertext times plaintext. */
export type PlainProduct = readonly [Ciphertext, Plaintext];

/** Pointer pairs the kernel takes per call (one 8-byte slot of the list plaintext each). */
const LIST_CAPACITY = 128;

/** Byte offsets inside a seal::Ciphertext / seal::Plaintext: of the coefficient pointer, and of the 32-byte parms_id. */
export interface SealObjectLayout {
  readonly ciphertext: number;
  readonly plaintext: number;
  readonly ciphertextParms: number;
  readonly plaintextParms: number;
}

const PARMS_ID_BYTES = 32;

type MacExport = (
  out: number,
  list: number,
  count: number,
  n: number,
  stride: number,
  q: bigint,
  c1: bigint,
  c2: bigint,
  c3: bigint,
  s0: bigint,
  s1: bigint,
  s2: bigint,
  s3: bigint,
  accumulate: number,
) => void;

/** A prime's constants for the kernel's final reduction: c_k = 2^(30k) mod q (k = 1..3) and the Shoup quotients floor(c_k 2^64 / q) of 1, c1, c2, c3. */
interface PrimeConstants {
  readonly q: bigint;
  readonly c: readonly [bigint, bigint, bigint];
  readonly s: readonly [bigint, bigint, bigint, bigint];
}

function primeConstants(q: bigint): PrimeConstants {
  const c = [1n, 2n, 3n].map((k) => (1n << (30n * k)) % q) as [bigint, bigint, bigint];
  const shoup = (w: bigint) => (w << 64n) / q;
  return { q, c, s: [shoup(1n), shoup(c[0]), shoup(c[1]), shoup(c[2])] };
}

/**
 * Sum of ciphertext-plaintext products, Σ x_i · w_i, in one pass over SEAL's
 * memory (plain-mac.wat) instead of a SEAL product and addition per term.
 * The terms' coefficients are multiplied and added as 128-bit integers and
 * reduced once, so the result is byte-identical to SEAL's chain (tested);
 * measured here it is 4-5x cheaper per product.
 *
 * SEAL's C++ objects are reached through node-seal's object handles: the
 * offset of the coefficient pointer inside a Ciphertext and a Plaintext is
 * found on first use by matching the memory against the objects' own
 * serialization (on two objects of each kind when the sum has them), and
 * likewise the offset of each object's parms_id; the kernel is not used if
 * they cannot be found. It writes the whole sum (writeProducts) after the
 * checks SEAL's multiply_plain makes of the first term (one parms_id, NTT
 * form, the product's scale within the modulus) and after checking each
 * other term has the first one's parms_id, size, form and scales; the
 * output takes the first ciphertext's parameters from SEAL (assign). A SEAL
 * product for the first term cost about three of the kernel's, and a
 * stories260K token has about 190 sums.
 */
export class PlainMac {
  readonly #ctx: CkksContext;
  readonly #memory: WebAssembly.Memory;
  readonly #mac: MacExport;
  /** Per top-level prime: the kernel's reduction constants. */
  readonly #primes: readonly PrimeConstants[];
  readonly #maxCount: number;
  /** Bits of the top-level modulus: a product's scale must stay below (SEAL's is_scale_within_bounds). */
  readonly #modulusBits: number;
  readonly #list: Plaintext;
  #layout: SealObjectLayout | null | undefined;

  private constructor(ctx: CkksContext, memory: WebAssembly.Memory, primes: readonly bigint[]) {
    this.#ctx = ctx;
    this.#memory = memory;
    const module = new WebAssembly.Module(base64Bytes(PLAIN_MAC_WASM_BASE64));
    this.#mac = new WebAssembly.Instance(module, { seal: { memory } }).exports.mac as MacExport;
    this.#primes = primes.map(primeConstants);
    // The kernel's limb sums stay below 2^64 for up to 128 terms per call (16 batches of 8).
    this.#maxCount = LIST_CAPACITY;
    this.#modulusBits = primes.reduce((bits, q) => bits + q.toString(2).length, 0);
    this.#list = new ctx.seal.Plaintext();
    this.#list.resize(LIST_CAPACITY);
  }

  /**
   * A kernel for `ctx`, or null where SEAL's memory is not reachable (a
   * browser) or a top-level prime is 60 bits or more (the kernel's limbs
   * need q < 2^60; every preset here is below).
   */
  static create(ctx: CkksContext): PlainMac | null {
    const memory = sealMemory(ctx.seal);
    if (!memory) return null;
    const primes = primesOf(ctx.context.firstContextData());
    if (primes.some((q) => q >= 1n << 60n)) return null;
    return new PlainMac(ctx, memory, primes);
  }

  /**
   * Where SEAL keeps the coefficient pointers and parms_ids of Ciphertexts
   * and Plaintexts (found once, from these objects when not yet known), or
   * null when the layout was not recognised. Shared with rotation-sum.ts.
   */
  objectLayout(ciphertext: Ciphertext, plaintext: Plaintext): SealObjectLayout | null {
    if (this.#layout === undefined) this.#layout = this.#findLayout([[ciphertext, plaintext]]);
    return this.#layout;
  }

  /** Whether the kernel runs (false once the object layout was not recognised). */
  get active(): boolean {
    return this.#layout !== null;
  }

  /**
   * out = Σ x_i · w_i over `terms`. Returns false, leaving `out` untouched,
   * when the kernel cannot take these terms: the object layout was not
   * recognised; the first ciphertext and plaintext are not at one top-level
   * parms_id in NTT form, or their product's scale reaches the modulus
   * (where SEAL would throw); another term differs from the first in
   * parameters, level, form or scales; or `out` is one of the terms.
   */
  writeProducts(terms: readonly PlainProduct[], out: Ciphertext): boolean {
    if (terms.length === 0) return false;
    if (this.#layout === undefined) this.#layout = this.#findLayout(terms);
    const layout = this.#layout;
    if (!layout || !this.#sameShape(terms, layout) || terms.some(([x]) => x === out)) return false;
    const [x0, w0] = terms[0];
    const scale = x0.scale() * w0.scale();
    if (!(scale > 0) || Math.trunc(Math.log2(scale)) >= this.#modulusBits) return false;
    out.assign(x0);
    out.setScale(scale);
    this.#run(terms, out, layout);
    return true;
  }

  /** Every term with the first term's parms_id (the top level, also the first plaintext's), size, NTT form and scales. */
  #sameShape(terms: readonly PlainProduct[], layout: SealObjectLayout): boolean {
    const k = this.#primes.length;
    const n = this.#ctx.preset.polyModulusDegree;
    const [x0, w0] = terms[0];
    const xScale = x0.scale();
    const wScale = w0.scale();
    const heap = new Uint8Array(this.#memory.buffer);
    const parms = (handle: unknown, offset: number) => {
      const at = handlePointer(handle) + offset;
      return heap.subarray(at, at + PARMS_ID_BYTES);
    };
    const xParms = parms(x0, layout.ciphertextParms);
    const wParms = parms(w0, layout.plaintextParms);
    if (!equalBytes(xParms, wParms)) return false;
    for (const [x, w] of terms) {
      if (x.size() !== 2 || x.coeffModulusSize() !== k || !x.isNttForm() || x.scale() !== xScale) return false;
      if (!w.isNttForm() || w.coeffCount() !== n * k || w.scale() !== wScale) return false;
      if (!equalBytes(parms(x, layout.ciphertextParms), xParms) || !equalBytes(parms(w, layout.plaintextParms), wParms)) return false;
    }
    return true;
  }

  #run(terms: readonly PlainProduct[], out: Ciphertext, layout: SealObjectLayout): void {
    const n = this.#ctx.preset.polyModulusDegree;
    const k = this.#primes.length;
    const view = new DataView(this.#memory.buffer);
    const pointer = (handle: unknown, offset: number) => view.getUint32(handlePointer(handle) + offset, true);
    const list = pointer(this.#list, layout.plaintext);
    const outData = pointer(out, layout.ciphertext);
    const xs = terms.map(([x]) => pointer(x, layout.ciphertext));
    const ws = terms.map(([, w]) => pointer(w, layout.plaintext));
    for (let j = 0; j < k; j++) {
      const { q, c, s } = this.#primes[j];
      const prime = j * n * 8;
      for (let start = 0; start < terms.length; start += this.#maxCount) {
        const count = Math.min(this.#maxCount, terms.length - start);
        for (let i = 0; i < count; i++) {
          view.setUint32(list + 8 * i, xs[start + i] + prime, true);
          view.setUint32(list + 8 * i + 4, ws[start + i] + prime, true);
        }
        // The first call writes the sum, later ones (more terms than a call takes) add to it.
        this.#mac(outData + prime, list, count, n, k * n * 8, q, c[0], c[1], c[2], s[0], s[1], s[2], s[3], start === 0 ? 0 : 1);
      }
    }
  }

  /**
   * Where the coefficient pointers sit inside SEAL's objects: the first offset
   * whose pointer leads to exactly the coefficients each given object
   * serializes (the tail of its uncompressed serialization). The first: the
   * scan reads past small objects, and the allocator keeps a second pointer
   * to the same block in its bookkeeping right after some of them. Null if
   * no offset fits every object.
   */
  #findLayout(terms: readonly PlainProduct[]): SealObjectLayout | null {
    const none = this.#ctx.seal.ComprModeType.none as never;
    const ciphertexts = [...new Set(terms.map(([x]) => x))].slice(0, 2);
    const plaintexts = [...new Set(terms.map(([, w]) => w))].slice(0, 2);
    const ciphertext = this.#pointerOffset(ciphertexts.map((x) => [x, this.#ctx.saveCiphertext(x), 2 * x.coeffModulusSize() * x.polyModulusDegree() * 8] as const));
    const plaintext = this.#pointerOffset(plaintexts.map((w) => [w, w.saveToArray(none) as Uint8Array, w.coeffCount() * 8] as const));
    const ciphertextParms = this.#parmsOffset(ciphertexts);
    const plaintextParms = this.#parmsOffset(plaintexts);
    if (ciphertext === null || plaintext === null || ciphertextParms === null || plaintextParms === null) return null;
    return { ciphertext, plaintext, ciphertextParms, plaintextParms };
  }

  /** The first offset, common to all `objects`, where each holds the 32 bytes of its parms_id. */
  #parmsOffset(objects: readonly (Ciphertext | Plaintext)[]): number | null {
    const heap = new Uint8Array(this.#memory.buffer);
    return firstCommonOffset(objects, (object) => {
      const id = object.parmsId();
      let expected: Uint8Array;
      try {
        const words = id.values() as BigUint64Array;
        expected = new Uint8Array(words.buffer, words.byteOffset, words.byteLength).slice();
      } finally {
        id.delete();
      }
      if (expected.length !== PARMS_ID_BYTES) return [];
      const base = handlePointer(object);
      const found: number[] = [];
      for (let offset = 0; offset + PARMS_ID_BYTES <= 128 && base + offset + PARMS_ID_BYTES <= heap.length; offset += 4) {
        if (equalBytes(heap.subarray(base + offset, base + offset + PARMS_ID_BYTES), expected)) found.push(offset);
      }
      return found;
    });
  }

  /** The first offset, common to all `objects`, holding a pointer to exactly the coefficients each serializes. */
  #pointerOffset(objects: readonly (readonly [handle: unknown, serialized: Uint8Array, bytes: number])[]): number | null {
    const heap = new Uint8Array(this.#memory.buffer);
    const view = new DataView(this.#memory.buffer);
    return firstCommonOffset(objects, ([handle, serialized, bytes]) => {
      if (bytes === 0 || serialized.length < bytes) return [];
      const coefficients = serialized.subarray(serialized.length - bytes);
      const base = handlePointer(handle);
      const found: number[] = [];
      for (let offset = 0; offset < 128 && base + offset + 4 <= heap.length; offset += 4) {
        const at = view.getUint32(base + offset, true);
        if (at === 0 || at + bytes > heap.length) continue;
        if (equalBytes(heap.subarray(at, at + bytes), coefficients)) found.push(offset);
      }
      return found;
    });
  }

  delete(): void {
    this.#list.delete();
  }
}
