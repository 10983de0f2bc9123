import { createStore, del, get, set } from 'idb-keyval';
import type { StorageOption } from '../types.ts';

/**
 * Where the crypto worker keeps its records: an async key-value store of
 * structured-cloneable values. `cryptoKeys` says whether it can hold a
 * non-extractable CryptoKey itself (IndexedDB and memory can; a file
 * cannot, so the file store keeps its wrapping key as raw bytes, protected
 * by file permissions).
 */
export interface KeyStore {
  readonly cryptoKeys: boolean;
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown): Promise<void>;
  delete(key: string): Promise<void>;
}

/** IndexedDB through idb-keyval, in a database of its own. */
export function indexedDbKeyStore(dbName = 'fhe-llm', storeName = 'keys'): KeyStore {
  const store = createStore(dbName, storeName);
  return {
    cryptoKeys: true,
    get: (key) => get(key, store),
    set: (key, value) => set(key, value, store),
    delete: (key) => del(key, store),
  };
}

export function memoryKeyStore(): KeyStore {
  const map = new Map<string, unknown>();
  return {
    cryptoKeys: true,
    get: async <T>(key: string) => map.get(key) as T | undefined,
    set: async (key, value) => void map.set(key, structuredClone(value)),
    delete: async (key) => void map.delete(key),
  };
}

/** One file per key in `directory` (mode 0600), values serialized with v8's structured clone. */
export async function directoryKeyStore(directory: string): Promise<KeyStore> {
  // getBuiltinModule, not import(): bundlers see no Node import to resolve or shim.
  const fs = globalThis.process.getBuiltinModule('node:fs/promises');
  const v8 = globalThis.process.getBuiltinModule('node:v8');
  const path = globalThis.process.getBuiltinModule('node:path');
  await fs.mkdir(directory, { recursive: true, mode: 0o700 });
  const file = (key: string) => path.join(directory, `${encodeURIComponent(key)}.bin`);
  return {
    cryptoKeys: false,
    async get<T>(key: string) {
      try {
        return v8.deserialize(await fs.readFile(file(key))) as T;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
    async set(key, value) {
      const tmp = `${file(key)}.${process.pid}.tmp`;
      await fs.writeFile(tmp, v8.serialize(value), { mode: 0o600 });
      await fs.rename(tmp, file(key));
    },
    async delete(key) {
      await fs.rm(file(key), { force: true });
    },
  };
}

export async function openKeyStore(option: StorageOption | undefined): Promise<KeyStore> {
  if (option === undefined) option = typeof indexedDB === 'undefined' ? 'memory' : 'indexeddb';
  if (option === 'memory') return memoryKeyStore();
  if (option === 'indexeddb') return indexedDbKeyStore();
  return directoryKeyStore(option.directory);
}
