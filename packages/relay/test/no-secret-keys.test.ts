// The relay must never be able to decrypt: nothing in its code creates a
// secret key, a key generator, an encryptor or a decryptor.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const FORBIDDEN = /\b(KeyGenerator|SecretKey|secretKey|Decryptor|Encryptor|CkksClient|createPublicKey|exportSecretKey|fromSecretKey)\b/;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return /\.(ts|js)$/.test(entry.name) && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

describe('no secret keys in the relay', () => {
  it('its sources never name key generation, secret keys, encryption or decryption', () => {
    const files = [...sources(join(packageDir, 'src')), ...sources(join(packageDir, 'bin'))];
    expect(files.length).toBeGreaterThan(20);
    const offenders = files.flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .map((line, i) => ({ file, line: i + 1, text: line }))
        .filter(({ text }) => FORBIDDEN.test(text)),
    );
    expect(offenders).toEqual([]);
  });

  it("re-randomizing responses gives the relay an encryptor under the client's public key, and nothing that decrypts", () => {
    // core's ResponseRerandomizer is the one place relay code reaches an Encryptor (public key only).
    const source = readFileSync(fileURLToPath(new URL('../../core/src/server/response-rerandomizer.ts', import.meta.url)), 'utf8');
    expect(source).toMatch(/new ctx\.seal\.Encryptor\(ctx\.context, publicKey\)/);
    expect(source).not.toMatch(/\b(KeyGenerator|SecretKey|secretKey|Decryptor|setSecretKey|encryptSymmetric)\b/);
  });

  it('the check itself would catch an offender', () => {
    expect(FORBIDDEN.test('const kg = new seal.KeyGenerator(context);')).toBe(true);
    expect(FORBIDDEN.test('new ctx.seal.Decryptor(ctx.context, sk)')).toBe(true);
  });
});
