import type { Decryptor, Encryptor, KeyGenerator, SecretKey } from 'node-seal';
import { PlanError } from '../errors/plan-error.ts';
import { sealCall } from '../errors/seal-error.ts';
import type { CkksContext } from '../seal/ckks-context.ts';
import { packInput, unpackOutput } from '../linear/layout.ts';
import type { LinearPlan } from '../linear/plan.ts';

/**
 * The client half of every linear operator: holds the secret key, encrypts
 * inputs laid out per plan as seeded symmetric ciphertexts (half the size of
 * public-key ones) and decrypts responses. Lives inside the SDK's worker; the
 * secret key leaves it only through `exportSecretKey` for wrapped storage.
 */
export class CkksClient {
  readonly ctx: CkksContext;
  readonly #keygen: KeyGenerator;
  readonly #secretKey: SecretKey;
  readonly #encryptor: Encryptor;
  readonly #decryptor: Decryptor;
  #deleted = false;

  private constructor(ctx: CkksContext, keygen: KeyGenerator) {
    this.ctx = ctx;
    this.#keygen = keygen;
    this.#secretKey = keygen.secretKey();
    // node-seal's Encryptor wants a public key even for symmetric use; it never leaves this object.
    const publicKey = keygen.createPublicKey();
    try {
      this.#encryptor = new ctx.seal.Encryptor(ctx.context, publicKey, this.#secretKey);
    } finally {
      publicKey.delete();
    }
    this.#decryptor = new ctx.seal.Decryptor(ctx.context, this.#secretKey);
  }

  /** Fresh keys. */
  static generate(ctx: CkksContext): CkksClient {
    return new CkksClient(ctx, new ctx.seal.KeyGenerator(ctx.context));
  }

  /** Keys restored from `exportSecretKey` output (SEAL checks them against the preset). */
  static fromSecretKey(ctx: CkksContext, bytes: Uint8Array): CkksClient {
    const sk = new ctx.seal.SecretKey();
    try {
      sealCall('invalid_secret_key', 'secret key rejected', () => sk.loadFromArray(ctx.context, bytes));
      return new CkksClient(ctx, new ctx.seal.KeyGenerator(ctx.context, sk));
    } finally {
      sk.delete();
    }
  }

  /** Serialized secret key, only for wrapping into storage. */
  exportSecretKey(): Uint8Array {
    return this.ctx.save(this.#secretKey);
  }

  /** Seeded, compressed Galois keys for exactly these rotation steps. */
  makeGaloisKeys(steps: readonly number[]): Uint8Array {
    const serializable = this.#keygen.createGaloisKeysSerializableWithSteps(Int32Array.from(steps));
    try {
      return this.ctx.save(serializable);
    } finally {
      serializable.delete();
    }
  }

  /**
   * A public key made now with fresh randomness (seeded, compressed), for a
   * relay that re-randomizes its responses: each session gets its own, so it
   * does not link sessions either.
   */
  makePublicKey(): Uint8Array {
    const serializable = this.#keygen.createPublicKeySerializable();
    try {
      return this.ctx.save(serializable);
    } finally {
      serializable.delete();
    }
  }

  /** Encrypt one ciphertext group (up to `plan.batch` vectors) in upload order. */
  encryptVectors(plan: LinearPlan, vectors: readonly ArrayLike<number>[]): Uint8Array[] {
    this.#checkPlan(plan);
    return packInput(plan, vectors).map((slots) => {
      const pt = this.ctx.encode(slots, 2 ** plan.inputScaleBits);
      try {
        const ct = this.#encryptor.encryptSymmetricSerializable(pt);
        try {
          return this.ctx.saveCiphertext(ct);
        } finally {
          ct.delete();
        }
      } finally {
        pt.delete();
      }
    });
  }

  /** Decrypt one group's response into `count` output vectors. */
  decryptVectors(plan: LinearPlan, ciphertexts: readonly Uint8Array[], count: number): Float64Array[] {
    this.#checkPlan(plan);
    const slots = this.decryptSlots(ciphertexts);
    return unpackOutput(plan, slots, count);
  }

  /** Every slot of each ciphertext (tests use it to check what a response reveals). */
  decryptSlots(ciphertexts: readonly Uint8Array[]): Float64Array[] {
    return ciphertexts.map((bytes) => {
      const ct = this.ctx.loadCiphertext(bytes);
      const pt = new this.ctx.seal.Plaintext();
      try {
        this.#decryptor.decrypt(ct, pt);
        return Float64Array.from(this.ctx.encoder.decodeFloat64(pt) as ArrayLike<number>);
      } finally {
        pt.delete();
        ct.delete();
      }
    });
  }

  #checkPlan(plan: LinearPlan): void {
    if (this.#deleted) throw new PlanError('deleted', 'client keys were deleted');
    if (plan.presetId !== this.ctx.preset.id) throw new PlanError('preset_mismatch', 'plan uses another preset', { expected: this.ctx.preset.id, got: plan.presetId });
  }

  delete(): void {
    if (this.#deleted) return;
    this.#deleted = true;
    this.#encryptor.delete();
    this.#decryptor.delete();
    this.#secretKey.delete();
    this.#keygen.delete();
  }
}
