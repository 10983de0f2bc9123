import { CkksContext, decodeEnvelope, encodeEnvelope, loadSeal, type LinearPlan } from '@fhe-llm/core';
import { CkksClient, decryptStepResponse, encryptStepRequest } from '@fhe-llm/core/client';
import type { ProgressEvent, StorageOption } from '../types.ts';
import { openKeyStore } from '../storage/key-store.ts';
import { KeyVault, type KeyRecord, type StoredSession } from '../storage/key-vault.ts';

export interface OpenKeysResult {
  /** true when keys were made now, false when they came from storage. */
  created: boolean;
  createdAt: string;
  /** Galois keys envelope, ready to upload (public material). */
  evaluationKeys: Uint8Array;
  session?: StoredSession;
}

export interface RingStatus {
  stored: boolean;
  createdAt?: string;
  evaluationKeyBytes?: number;
  session?: StoredSession;
}

/**
 * Everything that touches the secret key, in one object that lives inside the
 * crypto worker: key generation, wrapped storage, encryption of step inputs
 * and decryption of step outputs. Its methods take and return only public
 * data (plans, vectors the client already has, ciphertexts, public keys).
 */
export class CryptoService {
  #vault: KeyVault | undefined;
  readonly #contexts = new Map<string, CkksContext>();
  readonly #clients = new Map<string, CkksClient>();

  async init(options: { wasmUrl?: string; storage?: StorageOption }): Promise<void> {
    await loadSeal(options.wasmUrl ? { wasmUrl: options.wasmUrl } : {});
    this.#vault = new KeyVault(await openKeyStore(options.storage));
  }

  /**
   * Keys for a ring: from storage when present (Galois keys regenerated from
   * the same secret key if the relay now asks for other steps), else new ones,
   * stored wrapped before they are used.
   */
  async openKeys(ring: string, presetId: string, galoisSteps: number[], onProgress?: (e: ProgressEvent) => void): Promise<OpenKeysResult> {
    const vault = this.#requireVault();
    const ctx = await this.#context(presetId);
    const stored = await vault.read(ring);
    if (stored && stored.presetId === presetId) {
      const client = CkksClient.fromSecretKey(ctx, await vault.unwrap(ring, stored.wrappedSecretKey));
      this.#setClient(ring, client);
      if (sameSteps(stored.galoisSteps, galoisSteps)) {
        return { created: false, createdAt: stored.createdAt, evaluationKeys: stored.evaluationKeys, session: stored.session };
      }
      onProgress?.({ phase: 'generating-keys', progress: 0, message: 'Making evaluation keys for new rotation steps' });
      const record = { ...stored, galoisSteps, evaluationKeys: this.#evaluationKeys(client, presetId, galoisSteps), session: undefined };
      await vault.write(ring, record);
      return { created: false, createdAt: record.createdAt, evaluationKeys: record.evaluationKeys };
    }
    onProgress?.({ phase: 'generating-keys', progress: 0, message: 'Making a secret key' });
    const client = CkksClient.generate(ctx);
    onProgress?.({ phase: 'generating-keys', progress: 0.2, message: `Making ${galoisSteps.length} evaluation keys` });
    const evaluationKeys = this.#evaluationKeys(client, presetId, galoisSteps);
    onProgress?.({ phase: 'storing-keys', progress: 0.9, message: 'Storing keys in this browser' });
    const record: KeyRecord = {
      version: 1,
      presetId,
      createdAt: new Date().toISOString(),
      wrappedSecretKey: await vault.wrap(ring, client.exportSecretKey()),
      galoisSteps: [...galoisSteps],
      evaluationKeys,
    };
    try {
      await vault.write(ring, record);
    } catch (error) {
      client.delete();
      throw error;
    }
    this.#setClient(ring, client);
    onProgress?.({ phase: 'storing-keys', progress: 1, message: 'Keys stored' });
    return { created: true, createdAt: record.createdAt, evaluationKeys };
  }

  async saveSession(ring: string, session: StoredSession | undefined): Promise<void> {
    const vault = this.#requireVault();
    const record = await vault.read(ring);
    if (record) await vault.write(ring, { ...record, session });
  }

  async status(ring: string): Promise<RingStatus> {
    const record = await this.#requireVault().read(ring);
    if (!record) return { stored: false };
    return { stored: true, createdAt: record.createdAt, evaluationKeyBytes: record.evaluationKeys.length, session: record.session };
  }

  /** Forget a ring's keys: in memory and in storage. */
  async forget(ring: string): Promise<void> {
    this.#clients.get(ring)?.delete();
    this.#clients.delete(ring);
    await this.#requireVault().remove(ring);
  }

  /**
   * Galois keys for `steps` made now from the ring's secret key with fresh
   * randomness: each relay session gets keys of its own, so their hash does
   * not link one browser's sessions (the stored keys stay for status only).
   * `withPublicKey`: a fresh public key follows them, for a relay that
   * re-randomizes its responses under it.
   */
  freshEvaluationKeys(ring: string, presetId: string, steps: number[], withPublicKey = false): Uint8Array {
    const envelope = this.#evaluationKeys(this.#client(ring), presetId, steps);
    return withPublicKey ? this.withPublicKey(ring, envelope) : envelope;
  }

  /** A key envelope with a public key made now (fresh randomness) appended: its session's own, like its Galois keys. */
  withPublicKey(ring: string, envelope: Uint8Array): Uint8Array {
    const client = this.#client(ring);
    const parsed = decodeEnvelope(envelope, { kind: 'galoisKeys', presetId: client.ctx.preset.id });
    return encodeEnvelope({ ...parsed, items: [parsed.items[0], client.makePublicKey()] });
  }

  encryptStep(ring: string, plan: LinearPlan, vectors: Float64Array[]): Uint8Array {
    return encryptStepRequest(this.#client(ring), plan, vectors);
  }

  decryptStep(ring: string, plan: LinearPlan, vectors: number, body: Uint8Array): Float64Array[] {
    return decryptStepResponse(this.#client(ring), plan, vectors, body);
  }

  close(): void {
    for (const client of this.#clients.values()) client.delete();
    this.#clients.clear();
    for (const ctx of this.#contexts.values()) ctx.delete();
    this.#contexts.clear();
  }

  #evaluationKeys(client: CkksClient, presetId: string, steps: number[]): Uint8Array {
    return encodeEnvelope({ kind: 'galoisKeys', presetId, vectors: 0, items: [client.makeGaloisKeys(steps)] });
  }

  #setClient(ring: string, client: CkksClient): void {
    this.#clients.get(ring)?.delete();
    this.#clients.set(ring, client);
  }

  #client(ring: string): CkksClient {
    const client = this.#clients.get(ring);
    if (!client) throw new Error(`no keys are open for ${ring}; call openKeys first`);
    return client;
  }

  #requireVault(): KeyVault {
    if (!this.#vault) throw new Error('crypto worker not initialised');
    return this.#vault;
  }

  async #context(presetId: string): Promise<CkksContext> {
    let ctx = this.#contexts.get(presetId);
    if (!ctx) {
      ctx = await CkksContext.create(presetId);
      this.#contexts.set(presetId, ctx);
    }
    return ctx;
  }
}

function sameSteps(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}
