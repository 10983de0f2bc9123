import type { Ciphertext, CKKSEncoder, Evaluator, GaloisKeys, Plaintext, PublicKey, SEALContext } from 'node-seal';
import { SealError, sealCall } from '../errors/seal-error.ts';
import { loadSeal, type LoadSealOptions, type Seal } from './load-seal.ts';
import { createSealContext, getPreset, type Preset } from './presets.ts';
import { boundSealObject, type SealObjectRule } from './seal-object-limits.ts';
import { inflateBounded, type Inflate } from './bounded-inflate.ts';
import { PlainMac, type PlainProduct } from './plain-mac.ts';
import { RotationSum, type RotationTerm } from './rotation-sum.ts';

/**
 * SEAL's context, encoder and evaluator for one preset, owned together and
 * freed together. Both the relay and the client's worker use one per preset.
 */
export class CkksContext {
  readonly seal: Seal;
  readonly preset: Preset;
  readonly context: SEALContext;
  readonly encoder: CKKSEncoder;
  readonly evaluator: Evaluator;
  /** Inflates compressed objects within their bound before SEAL loads them; Node code may swap in a native one. */
  inflate: Inflate = inflateBounded;
  #plainMac: PlainMac | null | undefined;
  /** Plaintext products so far, by who computed them: the in-place kernel or SEAL (for metrics). */
  readonly plainProducts = { kernel: 0, seal: 0 };
  #rotationSum: RotationSum | null | undefined;
  /** Rotations so far, by who key-switched them: summed with one shared key switch by the kernel, or one by one by SEAL (for metrics). */
  readonly rotations = { kernel: 0, seal: 0 };
  #deleted = false;

  constructor(seal: Seal, preset: Preset) {
    this.seal = seal;
    this.preset = preset;
    this.context = createSealContext(seal, preset);
    this.encoder = new seal.CKKSEncoder(this.context);
    this.evaluator = new seal.Evaluator(this.context);
  }

  static async create(presetId: string, options: LoadSealOptions = {}): Promise<CkksContext> {
    const preset = getPreset(presetId);
    return new CkksContext(await loadSeal(options), preset);
  }

  /** Encode real values at `scale` on the top data level. The caller owns the plaintext. */
  encode(values: Float64Array, scale: number): Plaintext {
    const pt = new this.seal.Plaintext();
    try {
      this.encoder.encode(values, scale, pt);
      return pt;
    } catch (error) {
      pt.delete();
      throw new SealError('encode_failed', `cannot encode at scale 2^${Math.log2(scale).toFixed(1)}`, { cause: error });
    }
  }

  /**
   * out = Σ x_i · w_i: in one pass over SEAL's memory where it is reachable
   * (Node, see plain-mac.ts), else as SEAL's products and additions. `out`
   * is overwritten and may not be one of the terms' ciphertexts.
   */
  sumPlainProducts(terms: readonly PlainProduct[], out: Ciphertext): void {
    if (terms.length === 0) throw new RangeError('a sum of plaintext products needs at least one term');
    if (this.#plainMac === undefined) this.#plainMac = PlainMac.create(this);
    if (this.#plainMac?.writeProducts(terms, out)) {
      this.plainProducts.kernel += terms.length;
      return;
    }
    this.evaluator.multiplyPlain(terms[0][0], terms[0][1], out);
    this.plainProducts.seal++;
    const tmp = new this.seal.Ciphertext();
    try {
      for (let i = 1; i < terms.length; i++) {
        this.evaluator.multiplyPlain(terms[i][0], terms[i][1], tmp);
        this.evaluator.addInplace(out, tmp);
        this.plainProducts.seal++;
      }
    } finally {
      tmp.delete();
    }
  }

  /**
   * A new ciphertext Σ rot_{steps[i]}(x_i). Where SEAL's memory is reachable
   * and the preset has one data prime (see rotation-sum.ts) the terms share
   * one key switch; otherwise each is rotated by SEAL and added. Every
   * step must have a Galois key in `keys`. The caller owns the result.
   */
  sumRotations(terms: readonly (readonly [Ciphertext, number])[], keys: GaloisKeys): Ciphertext {
    if (terms.length === 0) throw new RangeError('a sum of rotations needs at least one term');
    const galois: RotationTerm[] = terms.map(([x, step]) => [x, this.galoisElement(step)]);
    const rotated = galois.filter(([, e]) => e !== 1);
    if (rotated.length > 0) {
      const sum = this.#rotationKernel()?.sum(rotated, keys);
      if (sum) {
        this.rotations.kernel += rotated.length;
        try {
          for (const [x, e] of galois) if (e === 1) this.evaluator.addInplace(sum, x);
          return sum;
        } catch (error) {
          sum.delete();
          throw error;
        }
      }
    }
    const out = galois[0][0].copy();
    const tmp = new this.seal.Ciphertext();
    try {
      if (galois[0][1] !== 1) {
        this.evaluator.applyGaloisInplace(out, galois[0][1], keys);
        this.rotations.seal++;
      }
      for (let i = 1; i < galois.length; i++) {
        const [x, e] = galois[i];
        if (e === 1) this.evaluator.addInplace(out, x);
        else {
          this.evaluator.applyGalois(x, e, keys, tmp);
          this.rotations.seal++;
          this.evaluator.addInplace(out, tmp);
        }
      }
      return out;
    } catch (error) {
      out.delete();
      throw error;
    } finally {
      tmp.delete();
    }
  }

  /**
   * A new ciphertext x + Σ rot_{steps[i]}(x), its rotations hoisted (one
   * decomposition and one mod-down, see RotationSum.hoisted), or null where
   * the kernel cannot run (a browser, a preset with more data primes): the
   * caller then rotates with SEAL. The caller owns the result.
   */
  hoistedRotations(x: Ciphertext, steps: readonly number[], keys: GaloisKeys): Ciphertext | null {
    const sum = this.#rotationKernel()?.hoisted(
      x,
      steps.map((s) => this.galoisElement(s)),
      keys,
    );
    if (sum) this.rotations.kernel += steps.length;
    return sum ?? null;
  }

  #rotationKernel(): RotationSum | null {
    if (this.#rotationSum === undefined) {
      if (this.#plainMac === undefined) this.#plainMac = PlainMac.create(this);
      this.#rotationSum = RotationSum.create(this, this.#plainMac);
    }
    return this.#rotationSum;
  }

  /** SEAL's rotation of `x` by `step` slots into `out` (or in place), counted in `rotations.seal`. */
  rotate(x: Ciphertext, step: number, keys: GaloisKeys, out?: Ciphertext): void {
    if (out) this.evaluator.rotateVector(x, step, keys, out);
    else this.evaluator.rotateVectorInplace(x, step, keys);
    this.rotations.seal++;
  }

  /** SEAL's Galois element for a rotation by `step` slots (left for positive steps). */
  galoisElement(step: number): number {
    const m = 2 * this.preset.polyModulusDegree;
    const slots = this.preset.slots;
    const s = ((step % slots) + slots) % slots;
    let result = 1;
    for (let i = 0; i < s; i++) result = (result * 3) % m;
    return result;
  }

  /**
   * Load a ciphertext and run SEAL's validity check under this context
   * (sizes, moduli and coefficient ranges). The bytes are first checked
   * against the preset's largest ciphertext and inflated within it
   * (WireFormatError, see seal-object-limits.ts); then SEAL's check throws
   * SealError 'invalid_ciphertext'.
   */
  loadCiphertext(bytes: Uint8Array): Ciphertext {
    return this.#load(new this.seal.Ciphertext(), bytes, { kind: 'ciphertext' }, 'invalid_ciphertext', 'ciphertext rejected');
  }

  /**
   * Load evaluation (Galois) keys, validated by SEAL. `maxKeys` bounds the
   * size (default: one key per power-of-two rotation, as many as any plan
   * uses); pass the model's step count. Throws SealError 'invalid_keys'.
   */
  loadGaloisKeys(bytes: Uint8Array, maxKeys = Math.log2(this.preset.slots)): GaloisKeys {
    return this.#load(new this.seal.GaloisKeys(), bytes, { kind: 'galoisKeys', maxKeys }, 'invalid_keys', 'Galois keys rejected');
  }

  /**
   * Load a client's public key (for re-randomizing responses), validated by
   * SEAL after the size bound: at most one full 2-polynomial ciphertext over
   * every prime. Throws WireFormatError, then SealError 'invalid_public_key'.
   */
  loadPublicKey(bytes: Uint8Array): PublicKey {
    return this.#load(new this.seal.PublicKey(), bytes, { kind: 'publicKey' }, 'invalid_public_key', 'public key rejected');
  }

  /** Fill a fresh SEAL object from bounded, uncompressed bytes; on failure free it and throw. */
  #load<T extends { loadFromArray(context: SEALContext, bytes: Uint8Array): void; delete(): void }>(object: T, bytes: Uint8Array, rule: SealObjectRule, code: string, what: string): T {
    try {
      const plain = boundSealObject(bytes, this.preset, rule, this.inflate);
      sealCall(code, what, () => object.loadFromArray(this.context, plain));
      return object;
    } catch (error) {
      object.delete();
      throw error;
    }
  }

  /** Serialize keys with zstd: it shrinks Galois keys by about a third. */
  save(object: { saveToArray(mode: never): unknown }): Uint8Array {
    return object.saveToArray(this.seal.ComprModeType.zstd as never) as Uint8Array;
  }

  /**
   * Serialize a ciphertext (or a seeded symmetric one) uncompressed. Its
   * coefficients are uniform below a 54-bit prime, so zstd saved only 6% of
   * the bytes (30,983 vs 32,962 for an upload, 61,706 vs 65,649 for a
   * response, measured) while costing 0.13 ms to compress and 0.15 ms to
   * inflate per ciphertext: about 15 ms of CPU per stories260K token, split
   * between the client and the relay.
   */
  saveCiphertext(object: { saveToArray(mode: never): unknown }): Uint8Array {
    return object.saveToArray(this.seal.ComprModeType.none as never) as Uint8Array;
  }

  delete(): void {
    if (this.#deleted) return;
    this.#deleted = true;
    this.#plainMac?.delete();
    this.#rotationSum?.delete();
    this.evaluator.delete();
    this.encoder.delete();
    this.context.delete();
  }
}
