import type { Ciphertext, GaloisKeys, Plaintext } from 'node-seal';
import type { CkksContext } from './ckks-context.ts';
import type { PlainMac, SealObjectLayout } from './plain-mac.ts';
import { ROTATION_SUM_WASM_BASE64 } from './rotation-sum-wasm.ts';
import { base64Bytes, equalBytes, firstCommonOffset, handlePointer, primesOf, sealMemory } from './seal-memory.ts';
import { modInverse, nttTables, reverseBits, type PrimeTables } from './ntt-tables.ts';

/** One term of a sum of rotations: a ciphertext and the Galois element to apply to it. */
export type RotationTerm = readonly [Ciphertext, number];

interface Exports {
  ntt(a: number, n: number, p: bigint, w: number, ws: number): void;
  intt(a: number, n: number, p: bigint, iw: number, iws: number, ninv: bigint, ninvs: bigint, wn: bigint, wns: bigint): void;
  permute(dst: number, src: number, table: number, n: number, q: bigint, add: number): void;
  mac(acc: number, a: number, k: number, n: number): void;
  macPermuted(acc: number, a: number, table: number, k: number, n: number): void;
  reduce(dst: number, acc: number, n: number, q: bigint, r1: bigint, r0: bigint): void;
  modDownPrepare(t: number, n: number, p: bigint, half: bigint, q: bigint, fix: bigint): void;
  modDownFinish(out: number, base: number, accq: number, t: number, n: number, q: bigint, pinv: bigint, pinvs: bigint): void;
}

/** Scratch regions, in polynomials of n words (accumulators take two). */
const SCRATCH = { sum0: 0, d: 1, e: 2, zero: 3, acc0q: 4, acc1q: 6, acc0p: 8, acc1p: 10, r0q: 12, r1q: 13, r0p: 14, r1p: 15, polys: 16 } as const;
/** Bytes of std::vector<T> in 32-bit WebAssembly: begin, end and capacity pointers. */
const VECTOR_BYTES = 12;

/**
 * Σ_i rot_{e_i}(x_i), a sum of rotated ciphertexts, with one key switch
 * (rotation-sum.wat) instead of SEAL's one per term: each term costs two
 * NTTs and four multiply-adds with its Galois key; the six NTTs of SEAL's
 * mod-down happen once per sum. `hoisted` rotates one ciphertext several
 * times from one decomposition. Only for presets with one data prime (the
 * flat presets), whose ciphertexts are one polynomial pair mod q with keys
 * over q and the special prime p.
 *
 * SEAL's objects are reached as in plain-mac.ts: the ciphertexts' coefficient
 * pointers through the offsets PlainMac found, the Galois keys through the
 * offset of their key vector inside a GaloisKeys, found once by matching
 * memory against the keys' own serialization. Before the kernel is trusted,
 * one rotation through it must be byte-identical to SEAL's: otherwise (or if
 * anything is not recognised) `sum` and `hoisted` return null and the caller
 * rotates with SEAL. Owns its buffers: call `delete()`.
 */
export class RotationSum {
  readonly #ctx: CkksContext;
  readonly #plainMac: PlainMac;
  readonly #memory: WebAssembly.Memory;
  readonly #k: Exports;
  readonly #n: number;
  readonly #q: PrimeTables;
  readonly #p: PrimeTables;
  /** The mod-down's constants for the data prime q under the special prime p. */
  readonly #moddown: { half: bigint; fix: bigint; pinv: bigint; pinvs: bigint };
  /** Plaintexts used as buffers in SEAL's memory: the NTT tables (8n words: q's and p's roots and inverse roots with quotients) and scratch (SCRATCH). */
  readonly #tables: Plaintext;
  readonly #scratch: Plaintext;
  readonly #permutations = new Map<number, Plaintext>();
  /** Most terms whose 128-bit products add up without overflow. */
  readonly #maxTerms: number;
  #layout: SealObjectLayout | null | undefined;
  /** Offset of the key vector's begin pointer inside a GaloisKeys, or null if not found. */
  #keysOffset: number | null | undefined;
  #state: 'unchecked' | 'on' | 'off' = 'unchecked';

  private constructor(ctx: CkksContext, plainMac: PlainMac, memory: WebAssembly.Memory, q: bigint, p: bigint) {
    this.#ctx = ctx;
    this.#plainMac = plainMac;
    this.#memory = memory;
    this.#n = ctx.preset.polyModulusDegree;
    const module = new WebAssembly.Module(base64Bytes(ROTATION_SUM_WASM_BASE64));
    this.#k = new WebAssembly.Instance(module, { seal: { memory } }).exports as unknown as Exports;
    this.#q = nttTables(q, this.#n);
    this.#p = nttTables(p, this.#n);
    const half = p >> 1n;
    const pinv = modInverse(p % q, q);
    this.#moddown = { half, fix: q - (half % q), pinv, pinvs: (pinv << 64n) / q };
    const largest = p > q ? p : q;
    this.#maxTerms = Number(((1n << 128n) - 1n) / ((largest - 1n) * (largest - 1n)));
    this.#tables = new ctx.seal.Plaintext();
    this.#scratch = new ctx.seal.Plaintext();
    this.#tables.resize(8 * this.#n);
    this.#scratch.resize(SCRATCH.polys * this.#n);
  }

  /**
   * A kernel for `ctx`, or null: SEAL's memory is not reachable (a browser),
   * the preset has more than one data prime, or the primes are outside what
   * the kernel's reductions allow (each below 2^60 and within 4x of the other).
   */
  static create(ctx: CkksContext, plainMac: PlainMac | null): RotationSum | null {
    const memory = sealMemory(ctx.seal);
    if (!memory || !plainMac) return null;
    const primes = primesOf(ctx.context.keyContextData());
    if (primes.length !== 2) return null;
    const [q, p] = primes;
    if (q >= 1n << 60n || p >= 1n << 60n || p >= 4n * q || q >= 4n * p) return null;
    return new RotationSum(ctx, plainMac, memory, q, p);
  }

  /**
   * A new ciphertext holding Σ rot_{e_i}(x_i), or null when the kernel cannot
   * take these terms (then nothing was written and the caller uses SEAL): an
   * object layout was not recognised, the one-time check against SEAL
   * failed, a term differs from the first in parameters, form or scale, or
   * a key is missing. The caller owns the result.
   */
  sum(terms: readonly RotationTerm[], keys: GaloisKeys): Ciphertext | null {
    if (terms.length === 0) throw new RangeError('a sum of rotations needs at least one term');
    const layout = this.#ready(terms, keys);
    return layout && this.#run(terms, keys, layout);
  }

  /**
   * A new ciphertext x + Σ_i rot_{e_i}(x): rotations of one ciphertext,
   * hoisted (Halevi-Shoup): x is decomposed once (two NTTs) and each
   * rotation only permutes that decomposition and multiplies it with its key
   * (no NTT), with one mod-down for all. Not byte-identical to SEAL's chain:
   * the permuted decomposition lifts negated coefficients to (-q, 0) instead
   * of [0, q), an equally small key-switching input. Null as `sum`.
   */
  hoisted(x: Ciphertext, elements: readonly number[], keys: GaloisKeys): Ciphertext | null {
    if (elements.length === 0) throw new RangeError('a hoisted sum needs at least one rotation');
    const layout = this.#ready(
      elements.map((e) => [x, e] as const),
      keys,
    );
    return layout && this.#runHoisted(x, elements, keys, layout);
  }

  /** The object layout when the kernel can take these terms (checked against SEAL on first use), else null. */
  #ready(terms: readonly RotationTerm[], keys: GaloisKeys): SealObjectLayout | null {
    if (this.#state === 'off' || terms.length > this.#maxTerms) return null;
    if (!terms.every(([, e]) => keys.hasKey(e))) return null;
    const layout = this.#objectLayout(terms[0][0]);
    if (!layout || !this.#sameShape(terms, layout)) return null;
    if (!this.#keyVectorOffset(keys, terms, layout)) return null;
    if (this.#state === 'unchecked') {
      this.#state = this.#agreesWithSeal(terms[0], keys, layout) ? 'on' : 'off';
      if (this.#state === 'off') return null;
    }
    return layout;
  }

  #objectLayout(x: Ciphertext): SealObjectLayout | null {
    if (this.#layout !== undefined) return this.#layout;
    // PlainMac finds the offsets from a ciphertext and a plaintext with distinct coefficients.
    const probe = this.#ctx.encode(
      Float64Array.from({ length: 8 }, (_, i) => i + 1),
      2 ** 20,
    );
    try {
      this.#layout = this.#plainMac.objectLayout(x, probe);
    } finally {
      probe.delete();
    }
    if (this.#layout) this.#writeTables(this.#layout);
    return this.#layout;
  }

  #sameShape(terms: readonly RotationTerm[], layout: SealObjectLayout): boolean {
    const [x0] = terms[0];
    const heap = new Uint8Array(this.#memory.buffer);
    const parms = (x: Ciphertext) => {
      const at = handlePointer(x) + layout.ciphertextParms;
      return heap.subarray(at, at + 32);
    };
    const first = parms(x0);
    const scale = x0.scale();
    return terms.every(([x]) => x.size() === 2 && x.coeffModulusSize() === 1 && x.isNttForm() && x.scale() === scale && equalBytes(parms(x), first));
  }

  /** Address of the key for Galois element e: [k0 mod q, k0 mod p, k1 mod q, k1 mod p], n words each. */
  #keyData(keys: GaloisKeys, e: number, layout: SealObjectLayout, offset: number): number {
    const view = new DataView(this.#memory.buffer);
    const outer = view.getUint32(handlePointer(keys) + offset, true);
    const inner = view.getUint32(outer + VECTOR_BYTES * ((e - 1) >>> 1), true);
    return view.getUint32(inner + layout.ciphertext, true);
  }

  /**
   * Find (once) where a GaloisKeys keeps its vector of key vectors: the first
   * offset whose pointer chain leads, for up to two of these terms' keys, to
   * exactly the coefficients the keys serialize.
   */
  #keyVectorOffset(keys: GaloisKeys, terms: readonly RotationTerm[], layout: SealObjectLayout): boolean {
    if (this.#keysOffset !== undefined) return this.#keysOffset !== null;
    const serialized = keys.saveToArray(this.#ctx.seal.ComprModeType.none as never) as Uint8Array;
    const expected = keyCoefficients(serialized, 4 * this.#n * 8);
    const elements = [...new Set(terms.map(([, e]) => e))].filter((e) => expected.has((e - 1) >>> 1)).slice(0, 2);
    const heap = new Uint8Array(this.#memory.buffer);
    this.#keysOffset =
      elements.length === 0
        ? null
        : firstCommonOffset(elements, (e) => {
            const want = expected.get((e - 1) >>> 1) as Uint8Array;
            const found: number[] = [];
            for (let offset = 0; offset < 64; offset += 4) {
              try {
                const at = this.#keyData(keys, e, layout, offset);
                if (at !== 0 && at + want.length <= heap.length && equalBytes(heap.subarray(at, at + want.length), want)) found.push(offset);
              } catch {
                // A pointer chain that leaves memory is not the one.
              }
            }
            return found;
          });
    return this.#keysOffset !== null;
  }

  /** One rotation through the kernel and through SEAL: the same bytes, or the kernel is never used. */
  #agreesWithSeal(term: RotationTerm, keys: GaloisKeys, layout: SealObjectLayout): boolean {
    const mine = this.#run([term], keys, layout);
    const theirs = new this.#ctx.seal.Ciphertext();
    try {
      this.#ctx.evaluator.applyGalois(term[0], term[1], keys, theirs);
      return equalBytes(this.#ctx.saveCiphertext(mine), this.#ctx.saveCiphertext(theirs));
    } catch {
      return false;
    } finally {
      mine.delete();
      theirs.delete();
    }
  }

  #run(terms: readonly RotationTerm[], keys: GaloisKeys, layout: SealObjectLayout): Ciphertext {
    return this.#withScratch(terms[0][0], layout, (at, data) => {
      const { k, n, words } = { k: this.#k, n: this.#n, words: this.#n * 8 };
      const q = this.#q.prime;
      const permutations = terms.map(([, e]) => this.#permutation(e, layout));
      const keyData = terms.map(([, e]) => this.#keyData(keys, e, layout, this.#keysOffset as number));
      const heap = new Uint8Array(this.#memory.buffer);
      heap.fill(0, at(SCRATCH.sum0), at(SCRATCH.sum0) + words);
      for (let i = 0; i < terms.length; i++) {
        const x = this.#pointer(terms[i][0], layout.ciphertext);
        const key = keyData[i];
        // c0 is rotated by permutation alone; c1 is key-switched: d = σ(c1) mod q, e = the same coefficients mod p.
        k.permute(at(SCRATCH.sum0), x, permutations[i], n, q, 1);
        k.permute(at(SCRATCH.d), x + words, permutations[i], n, q, 0);
        heap.copyWithin(at(SCRATCH.e), at(SCRATCH.d), at(SCRATCH.d) + words);
        this.#toSpecialPrime(at(SCRATCH.e), layout);
        k.mac(at(SCRATCH.acc0q), at(SCRATCH.d), key, n);
        k.mac(at(SCRATCH.acc0p), at(SCRATCH.e), key + words, n);
        k.mac(at(SCRATCH.acc1q), at(SCRATCH.d), key + 2 * words, n);
        k.mac(at(SCRATCH.acc1p), at(SCRATCH.e), key + 3 * words, n);
      }
      this.#modDown(at, layout, [data, at(SCRATCH.sum0)], [data + words, at(SCRATCH.zero)]);
    });
  }

  #runHoisted(x: Ciphertext, elements: readonly number[], keys: GaloisKeys, layout: SealObjectLayout): Ciphertext {
    return this.#withScratch(x, layout, (at, data) => {
      const { k, n, words } = { k: this.#k, n: this.#n, words: this.#n * 8 };
      const q = this.#q.prime;
      const permutations = elements.map((e) => this.#permutation(e, layout));
      const keyData = elements.map((e) => this.#keyData(keys, e, layout, this.#keysOffset as number));
      const heap = new Uint8Array(this.#memory.buffer);
      // out = copy of x: c0 accumulates the permuted c0s, c1 is the base of the second polynomial.
      heap.copyWithin(at(SCRATCH.sum0), data, data + words);
      heap.copyWithin(at(SCRATCH.d), data + words, data + 2 * words);
      heap.copyWithin(at(SCRATCH.e), data + words, data + 2 * words);
      this.#toSpecialPrime(at(SCRATCH.e), layout);
      for (let i = 0; i < elements.length; i++) {
        const table = permutations[i];
        const key = keyData[i];
        k.permute(at(SCRATCH.sum0), data, table, n, q, 1);
        k.macPermuted(at(SCRATCH.acc0q), at(SCRATCH.d), table, key, n);
        k.macPermuted(at(SCRATCH.acc0p), at(SCRATCH.e), table, key + words, n);
        k.macPermuted(at(SCRATCH.acc1q), at(SCRATCH.d), table, key + 2 * words, n);
        k.macPermuted(at(SCRATCH.acc1p), at(SCRATCH.e), table, key + 3 * words, n);
      }
      this.#modDown(at, layout, [data, at(SCRATCH.sum0)], [data + words, at(SCRATCH.d)]);
    });
  }

  /** A copy of `shape` whose coefficients `body` overwrites, given scratch addresses and the copy's data address. */
  #withScratch(shape: Ciphertext, layout: SealObjectLayout, body: (at: (poly: number) => number, data: number) => void): Ciphertext {
    const out = shape.copy();
    try {
      const words = this.#n * 8;
      const scratch = this.#pointer(this.#scratch, layout.plaintext);
      const at = (poly: number) => scratch + poly * words;
      new Uint8Array(this.#memory.buffer).fill(0, at(SCRATCH.zero), at(SCRATCH.r0q));
      body(at, this.#pointer(out, layout.ciphertext));
      return out;
    } catch (error) {
      out.delete();
      throw error;
    }
  }

  /** Coefficients mod q in NTT form (at `a`) to the same integers mod p in NTT form: INTT mod q, NTT mod p. */
  #toSpecialPrime(a: number, layout: SealObjectLayout): void {
    const tables = this.#pointer(this.#tables, layout.plaintext);
    const words = this.#n * 8;
    const { q, p } = { q: this.#q, p: this.#p };
    this.#k.intt(a, this.#n, q.prime, tables + 2 * words, tables + 3 * words, q.ninv, q.ninvs, q.lastScaled, q.lastScaledQuotient);
    this.#k.ntt(a, this.#n, p.prime, tables + 4 * words, tables + 5 * words);
  }

  /**
   * The accumulators' mod-down by p with rounding, as SEAL's
   * switch_key_inplace: poly j = base_j + (acc_q - [acc_p]_q) / p, written
   * to each [destination, base] pair (destination may be base).
   */
  #modDown(at: (poly: number) => number, layout: SealObjectLayout, ...polys: [number, number][]): void {
    const k = this.#k;
    const n = this.#n;
    const words = n * 8;
    const tables = this.#pointer(this.#tables, layout.plaintext);
    const { q, p } = { q: this.#q, p: this.#p };
    const [r1q, r0q] = barrett(q.prime);
    const [r1p, r0p] = barrett(p.prime);
    const { half, fix, pinv, pinvs } = this.#moddown;
    const scratch = [
      [SCRATCH.acc0q, SCRATCH.acc0p, SCRATCH.r0q, SCRATCH.r0p],
      [SCRATCH.acc1q, SCRATCH.acc1p, SCRATCH.r1q, SCRATCH.r1p],
    ] as const;
    polys.forEach(([dst, base], j) => {
      const [accq, accp, rq, rp] = scratch[j];
      k.reduce(at(rq), at(accq), n, q.prime, r1q, r0q);
      k.reduce(at(rp), at(accp), n, p.prime, r1p, r0p);
      k.intt(at(rp), n, p.prime, tables + 6 * words, tables + 7 * words, p.ninv, p.ninvs, p.lastScaled, p.lastScaledQuotient);
      k.modDownPrepare(at(rp), n, p.prime, half, q.prime, fix);
      k.ntt(at(rp), n, q.prime, tables, tables + words);
      k.modDownFinish(dst, base, at(rq), at(rp), n, q.prime, pinv, pinvs);
    });
  }

  /** The address a SEAL object's coefficient pointer (at `offset` inside it) holds. */
  #pointer(handle: unknown, offset: number): number {
    return new DataView(this.#memory.buffer).getUint32(handlePointer(handle) + offset, true);
  }

  /** The NTT-form permutation of Galois element e (SEAL's GaloisTool::generate_table_ntt), kept per element. */
  #permutation(e: number, layout: SealObjectLayout): number {
    let table = this.#permutations.get(e);
    if (!table) {
      table = new this.#ctx.seal.Plaintext();
      table.resize(this.#n / 2);
      this.#permutations.set(e, table);
      const view = new DataView(this.#memory.buffer);
      const base = view.getUint32(handlePointer(table) + layout.plaintext, true);
      const n = this.#n;
      const logN = Math.log2(n);
      for (let i = 0; i < n; i++) {
        const reversed = reverseBits(i + n, logN + 1);
        const index = Math.floor((e * reversed) / 2) & (n - 1);
        view.setUint32(base + 4 * i, reverseBits(index, logN), true);
      }
    }
    return new DataView(this.#memory.buffer).getUint32(handlePointer(table) + layout.plaintext, true);
  }

  #writeTables(layout: SealObjectLayout): void {
    const view = new DataView(this.#memory.buffer);
    const base = view.getUint32(handlePointer(this.#tables) + layout.plaintext, true);
    const parts = [this.#q.roots, this.#q.rootQuotients, this.#q.inverseRoots, this.#q.inverseQuotients, this.#p.roots, this.#p.rootQuotients, this.#p.inverseRoots, this.#p.inverseQuotients];
    parts.forEach((values, j) => {
      for (let i = 0; i < this.#n; i++) view.setBigUint64(base + (j * this.#n + i) * 8, values[i], true);
    });
  }

  delete(): void {
    this.#tables.delete();
    this.#scratch.delete();
    for (const table of this.#permutations.values()) table.delete();
    this.#permutations.clear();
  }
}

/**
 * Each present key's coefficients in uncompressed serialized Galois keys, by
 * key index: the tail of the key's one ciphertext (flat presets have one
 * data prime, so one ciphertext per key). `bytes` per key.
 */
function keyCoefficients(serialized: Uint8Array, bytes: number): Map<number, Uint8Array> {
  const view = new DataView(serialized.buffer, serialized.byteOffset, serialized.byteLength);
  const found = new Map<number, Uint8Array>();
  let offset = 16 + 32;
  const slots = Number(view.getBigUint64(offset, true));
  offset += 8;
  for (let slot = 0; slot < slots; slot++) {
    const count = Number(view.getBigUint64(offset, true));
    offset += 8;
    for (let i = 0; i < count; i++) {
      const size = Number(view.getBigUint64(offset + 8, true));
      if (count === 1 && size >= bytes) found.set(slot, serialized.subarray(offset + size - bytes, offset + size));
      offset += size;
    }
  }
  return found;
}

/** floor(2^128 / m) as (high, low) 64-bit words. */
function barrett(m: bigint): [bigint, bigint] {
  const ratio = (1n << 128n) / m;
  return [ratio >> 64n, ratio & ((1n << 64n) - 1n)];
}
