import 'fake-indexeddb/auto';
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { directoryKeyStore, indexedDbKeyStore, memoryKeyStore, type KeyStore } from './key-store.ts';
import { KeyVault } from './key-vault.ts';

const secret = Uint8Array.from({ length: 64 }, (_, i) => i * 3);

describe.each([
  ['IndexedDB (fake-indexeddb)', () => indexedDbKeyStore(`test-${crypto.randomUUID()}`)],
  ['memory', () => memoryKeyStore()],
  ['directory', () => directoryKeyStore(mkdtempSync(join(tmpdir(), 'fhe-llm-keys-')))],
] as [string, () => KeyStore | Promise<KeyStore>][])('key vault over %s', (_name, open) => {
  it('wraps the secret key: stored bytes are not the key, and unwrap gives it back', async () => {
    const store = await open();
    const vault = new KeyVault(store);
    const wrapped = await vault.wrap('ring-a', secret);
    expect(wrapped.data.length).toBe(secret.length + 16); // AES-GCM tag
    expect(Buffer.from(wrapped.data).includes(Buffer.from(secret.subarray(0, 16)))).toBe(false);
    expect(await vault.unwrap('ring-a', wrapped)).toEqual(secret);
    // A fresh vault over the same store finds the same wrapping key.
    expect(await new KeyVault(store).unwrap('ring-a', wrapped)).toEqual(secret);
  });

  it('binds a wrapped key to its ring and detects tampering', async () => {
    const vault = new KeyVault(await open());
    const wrapped = await vault.wrap('ring-a', secret);
    await expect(vault.unwrap('ring-b', wrapped)).rejects.toMatchObject({ name: 'KeyStoreError', code: 'unwrap_failed' });
    const tampered = { iv: wrapped.iv, data: wrapped.data.slice() };
    tampered.data[0] ^= 1;
    await expect(vault.unwrap('ring-a', tampered)).rejects.toMatchObject({ code: 'unwrap_failed' });
  });

  it('reads back records it wrote, and forgets them', async () => {
    const vault = new KeyVault(await open());
    const record = { version: 1 as const, presetId: 'p', createdAt: 'now', wrappedSecretKey: await vault.wrap('r', secret), galoisSteps: [1, 2], evaluationKeys: Uint8Array.of(7) };
    await vault.write('r', record);
    expect(await vault.read('r')).toEqual(record);
    await vault.remove('r');
    expect(await vault.read('r')).toBeUndefined();
  });
});

it('IndexedDB keeps the wrapping key as a non-extractable CryptoKey', async () => {
  const store = indexedDbKeyStore(`test-${crypto.randomUUID()}`);
  await new KeyVault(store).wrap('r', secret);
  const key = await store.get<CryptoKey>('wrapping-key');
  expect(key).toBeInstanceOf(CryptoKey);
  expect(key!.extractable).toBe(false);
  await expect(crypto.subtle.exportKey('raw', key!)).rejects.toThrow();
});

it('the directory store writes owner-only files', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fhe-llm-keys-'));
  await new KeyVault(await directoryKeyStore(dir)).wrap('r', secret);
  for (const f of readdirSync(dir)) expect(statSync(join(dir, f)).mode & 0o077).toBe(0);
});
