import { KeyStoreError } from '../errors/key-store-error.ts';
import type { KeyStore } from './key-store.ts';

/** A relay session for stored keys (the bearer token is not secret-key material). */
export interface StoredSession {
  id: string;
  token: string;
  expiresAt: string;
}

/** What one key ring (relay + model + preset) keeps in storage. */
export interface KeyRecord {
  version: 1;
  presetId: string;
  createdAt: string;
  /** The CKKS secret key, AES-GCM encrypted under the store's wrapping key; the ring id is the associated data. */
  wrappedSecretKey: { iv: Uint8Array; data: Uint8Array };
  galoisSteps: number[];
  /** Public evaluation (Galois) keys as uploaded. */
  evaluationKeys: Uint8Array;
  session?: StoredSession;
}

const WRAPPING_KEY = 'wrapping-key';
const AES = { name: 'AES-GCM', length: 256 } as const;

/**
 * Secret keys at rest: wrapped with AES-GCM under one wrapping key per store.
 * In IndexedDB the wrapping key is a non-extractable CryptoKey kept in the same
 * database, so script can use it but never read it; a file store keeps it as
 * raw bytes in a 0600 file.
 */
export class KeyVault {
  readonly store: KeyStore;
  #wrappingKey: Promise<CryptoKey> | undefined;

  constructor(store: KeyStore) {
    this.store = store;
  }

  async read(ring: string): Promise<KeyRecord | undefined> {
    const record = await this.store.get<KeyRecord>(`ring:${ring}`);
    return record?.version === 1 ? record : undefined;
  }

  async write(ring: string, record: KeyRecord): Promise<void> {
    try {
      await this.store.set(`ring:${ring}`, record);
    } catch (error) {
      if ((error as Error)?.name === 'QuotaExceededError') {
        throw new KeyStoreError('quota_exceeded', 'the browser refused storage for the keys; free some space or allow persistent storage', { cause: error });
      }
      throw new KeyStoreError('write_failed', `cannot store keys: ${(error as Error)?.message}`, { cause: error });
    }
  }

  async remove(ring: string): Promise<void> {
    await this.store.delete(`ring:${ring}`);
  }

  async wrap(ring: string, secretKey: Uint8Array): Promise<KeyRecord['wrappedSecretKey']> {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const data = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: new TextEncoder().encode(ring) }, await this.#key(), secretKey as BufferSource);
    return { iv, data: new Uint8Array(data) };
  }

  async unwrap(ring: string, wrapped: KeyRecord['wrappedSecretKey']): Promise<Uint8Array> {
    try {
      const data = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: wrapped.iv as BufferSource, additionalData: new TextEncoder().encode(ring) }, await this.#key(), wrapped.data as BufferSource);
      return new Uint8Array(data);
    } catch (error) {
      throw new KeyStoreError('unwrap_failed', 'stored keys cannot be decrypted; forget them and make new ones', { cause: error });
    }
  }

  #key(): Promise<CryptoKey> {
    this.#wrappingKey ??= this.#loadOrCreateKey().catch((error: unknown) => {
      this.#wrappingKey = undefined;
      throw error;
    });
    return this.#wrappingKey;
  }

  async #loadOrCreateKey(): Promise<CryptoKey> {
    const stored = await this.store.get<CryptoKey | Uint8Array>(WRAPPING_KEY);
    if (stored instanceof Uint8Array) return crypto.subtle.importKey('raw', stored as BufferSource, AES, false, ['encrypt', 'decrypt']);
    if (stored) return stored;
    if (this.store.cryptoKeys) {
      const key = await crypto.subtle.generateKey(AES, false, ['encrypt', 'decrypt']);
      await this.store.set(WRAPPING_KEY, key);
      return key;
    }
    const raw = crypto.getRandomValues(new Uint8Array(32));
    await this.store.set(WRAPPING_KEY, raw);
    return crypto.subtle.importKey('raw', raw, AES, false, ['encrypt', 'decrypt']);
  }
}
