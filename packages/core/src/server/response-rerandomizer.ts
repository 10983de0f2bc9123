import type { Ciphertext, Encryptor, Plaintext, PublicKey } from 'node-seal';
import type { CkksContext } from '../seal/ckks-context.ts';
import type { ResponsePrivacy } from '../protocol/response-privacy.ts';

// The relay's side of response privacy (the modes: protocol/response-privacy.ts).

/** Uniform in (0, 1) from the platform's CSPRNG (53 bits): the flooding noise must be unpredictable to the client. */
function uniforms(count: number): Float64Array {
  const words = new Uint32Array(2 * count);
  for (let offset = 0; offset < words.length; offset += 16_384) crypto.getRandomValues(words.subarray(offset, offset + 16_384));
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = ((words[2 * i] >>> 5) * 67_108_864 + (words[2 * i + 1] >>> 6) + 0.5) / 9_007_199_254_740_992;
  return out;
}

/** `count` independent N(0, sigma²) samples (Box-Muller). */
export function gaussianSamples(count: number, sigma: number): Float64Array {
  const u = uniforms(count + (count % 2));
  const out = new Float64Array(count);
  for (let i = 0; i < count; i += 2) {
    const r = sigma * Math.sqrt(-2 * Math.log(u[i]));
    out[i] = r * Math.cos(2 * Math.PI * u[i + 1]);
    if (i + 1 < count) out[i + 1] = r * Math.sin(2 * Math.PI * u[i + 1]);
  }
  return out;
}

function powMod(base: bigint, exp: bigint, mod: bigint): bigint {
  let result = 1n;
  let b = base % mod;
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % mod;
    b = (b * b) % mod;
  }
  return result;
}

/** SEAL's NTT root for prime q: the smallest primitive 2N-th root of unity (util::try_minimal_primitive_root). */
function minimalPrimitiveRoot(q: bigint, n: number): bigint {
  let g = 0n;
  for (let x = 2n; ; x++) {
    g = powMod(x, (q - 1n) / BigInt(2 * n), q);
    if (powMod(g, BigInt(n), q) === q - 1n) break;
  }
  const step = (g * g) % q;
  let best = g;
  for (let i = 0, cur = g; i < n; i++, cur = (cur * step) % q) if (cur < best) best = cur;
  return best;
}

/**
 * The plaintext X^(N/2) in NTT form at `like`'s level: multiplying by it
 * multiplies every slot by i. CKKS's encoder takes only real slots, so this
 * is built from SEAL's NTT layout instead: X^(N/2) evaluates to ι = ψ^(N/2)
 * at the root ψ^(2·rev(k)+1) of NTT position k when rev(k) is even, and to
 * -ι when odd (SEAL stores NTT values in bit-reversed order; rev(k) is odd
 * exactly for k >= N/2). Checked against decryption in the tests.
 */
export function imaginaryUnitPlaintext(ctx: CkksContext, like: Plaintext): Plaintext {
  const seal = ctx.seal;
  const n = ctx.preset.polyModulusDegree;
  const parmsId = like.parmsId();
  const data = ctx.context.getContextData(parmsId);
  parmsId.delete();
  const primes = (seal as unknown as { jsArrayFromVecModulus(v: unknown): bigint[] }).jsArrayFromVecModulus(data.parms().coeffModulus());
  const bytes = (like.saveToArray(seal.ComprModeType.none as never) as Uint8Array).slice();
  const view = new DataView(bytes.buffer);
  // The coefficient array is the serialization's tail: primes × N little-endian u64s.
  const start = bytes.length - primes.length * n * 8;
  primes.forEach((q, j) => {
    const iota = powMod(minimalPrimitiveRoot(q, n), BigInt(n / 2), q);
    for (let k = 0; k < n; k++) view.setBigUint64(start + 8 * (j * n + k), k < n / 2 ? iota : q - iota, true);
  });
  const out = new seal.Plaintext();
  try {
    out.loadFromArray(ctx.context, bytes);
    return out;
  } catch (error) {
    out.delete();
    throw error;
  }
}

/**
 * Adds Enc_pk(0), or Enc_pk(Gaussian noise), to response ciphertexts. Owns
 * its public key and encryptor; one per session key blob (cached with the
 * Galois keys in a relay worker).
 */
export class ResponseRerandomizer {
  readonly ctx: CkksContext;
  readonly privacy: ResponsePrivacy;
  readonly #publicKey: PublicKey;
  readonly #encryptor: Encryptor;
  /** X^(N/2) per level (keyed by prime count). */
  readonly #imaginary = new Map<number, Plaintext>();
  /** Encryptions of zero made ahead of use (see makeSpare), each used once. */
  readonly #spares: Ciphertext[] = [];
  #deleted = false;
  /** Encryptions of zero added so far: spares made ahead, and ones made on the request's path. */
  readonly zeroEncryptions = { spare: 0, onRequest: 0 };

  /** `publicKey` is owned from now on. */
  constructor(ctx: CkksContext, publicKey: PublicKey, privacy: ResponsePrivacy) {
    this.ctx = ctx;
    this.privacy = privacy;
    this.#publicKey = publicKey;
    this.#encryptor = new ctx.seal.Encryptor(ctx.context, publicKey);
  }

  /** Load (bounded, SEAL-validated) the client's public key; see CkksContext.loadPublicKey for errors. */
  static fromBytes(ctx: CkksContext, bytes: Uint8Array, privacy: ResponsePrivacy): ResponseRerandomizer {
    const key = ctx.loadPublicKey(bytes);
    try {
      return new ResponseRerandomizer(ctx, key, privacy);
    } catch (error) {
      key.delete();
      throw error;
    }
  }

  /** Re-randomize `ct` in place (and flood it when so configured). */
  apply(ct: Ciphertext): void {
    if (this.privacy.mode === 'off') return;
    const fresh = this.privacy.mode === 'flood' ? this.#noiseEncryption(ct) : this.#zeroEncryption(ct);
    try {
      this.ctx.evaluator.addInplace(ct, fresh);
    } finally {
      fresh.delete();
    }
  }

  /**
   * Make one encryption of zero ahead of use, while the relay has nothing
   * else to do (it waits for the client between steps), so that `apply`
   * costs an addition instead of a public-key encryption on the request's
   * path. False when `max` are ready or there is nothing to prepare
   * (flooding draws its noise per response). Each spare is used once, and
   * it is as fresh as one made on the spot: the client never sees it alone.
   */
  makeSpare(max: number): boolean {
    if (this.#deleted || this.privacy.mode !== 'rerandomize' || this.#spares.length >= max) return false;
    const fresh = new this.ctx.seal.Ciphertext();
    try {
      this.#encryptor.encryptZero(fresh);
    } catch (error) {
      fresh.delete();
      throw error;
    }
    this.#spares.push(fresh);
    return true;
  }

  /** Spares ready (see makeSpare). */
  get spares(): number {
    return this.#spares.length;
  }

  /** Free the spares (a relay keeps them for the session it served last only). */
  dropSpares(): void {
    for (const ct of this.#spares.splice(0)) ct.delete();
  }

  /** Enc_pk(0) at `ct`'s level and scale (zero is zero at any scale): a spare when one is ready. */
  #zeroEncryption(ct: Ciphertext): Ciphertext {
    const spare = this.#spares.pop();
    if (spare) this.zeroEncryptions.spare++;
    else this.zeroEncryptions.onRequest++;
    const fresh = spare ?? new this.ctx.seal.Ciphertext();
    const parmsId = ct.parmsId();
    try {
      if (!spare) this.#encryptor.encryptZero(fresh);
      if (fresh.coeffModulusSize() !== ct.coeffModulusSize()) this.ctx.evaluator.cipherModSwitchToInplace(fresh, parmsId);
      fresh.setScale(ct.scale());
      return fresh;
    } catch (error) {
      fresh.delete();
      throw error;
    } finally {
      parmsId.delete();
    }
  }

  /** Enc_pk(z1 + i·z2) with z1, z2 ~ N(0, σ²) per slot, at `ct`'s level and scale. */
  #noiseEncryption(ct: Ciphertext): Ciphertext {
    const sigma = this.privacy.floodSigma ?? 0;
    const real = this.#encryptNoise(ct, sigma);
    try {
      const imaginary = this.#encryptNoise(ct, sigma);
      try {
        this.ctx.evaluator.multiplyPlainInplace(imaginary, this.#imaginaryUnit(ct, imaginary));
        // The unit plaintext has scale 1: the product keeps ct's scale exactly.
        this.ctx.evaluator.addInplace(real, imaginary);
      } finally {
        imaginary.delete();
      }
      return real;
    } catch (error) {
      real.delete();
      throw error;
    }
  }

  #encryptNoise(ct: Ciphertext, sigma: number): Ciphertext {
    const pt = this.ctx.encode(gaussianSamples(this.ctx.preset.slots, sigma), ct.scale());
    const out = new this.ctx.seal.Ciphertext();
    const parmsId = ct.parmsId();
    try {
      if (ct.coeffModulusSize() !== this.ctx.preset.dataPrimeBits.length) this.ctx.evaluator.plainModSwitchToInplace(pt, parmsId);
      this.#encryptor.encrypt(pt, out);
      return out;
    } catch (error) {
      out.delete();
      throw error;
    } finally {
      parmsId.delete();
      pt.delete();
    }
  }

  #imaginaryUnit(ct: Ciphertext, like: Ciphertext): Plaintext {
    const level = ct.coeffModulusSize();
    let unit = this.#imaginary.get(level);
    if (!unit) {
      const template = this.ctx.encode(new Float64Array(this.ctx.preset.slots), 1);
      const parmsId = like.parmsId();
      try {
        if (level !== this.ctx.preset.dataPrimeBits.length) this.ctx.evaluator.plainModSwitchToInplace(template, parmsId);
        unit = imaginaryUnitPlaintext(this.ctx, template);
      } finally {
        parmsId.delete();
        template.delete();
      }
      this.#imaginary.set(level, unit);
    }
    return unit;
  }

  delete(): void {
    if (this.#deleted) return;
    this.#deleted = true;
    this.dropSpares();
    for (const pt of this.#imaginary.values()) pt.delete();
    this.#imaginary.clear();
    this.#encryptor.delete();
    this.#publicKey.delete();
  }
}
