import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CkksContext } from '../seal/ckks-context.ts';
import { CkksClient } from '../client/ckks-client.ts';
import { planLinear } from '../linear/plan.ts';
import { decodeEnvelope, encodeEnvelope, type Envelope } from './envelope.ts';
import { seededRandom } from '../linear/test-helpers.ts';

const sample: Envelope = { kind: 'ciphertexts', presetId: 'ckks-n4096-q109', vectors: 3, items: [Uint8Array.of(1, 2, 3), new Uint8Array(0), Uint8Array.of(9)] };

describe('wire envelope', () => {
  it('round-trips every field', () => {
    const back = decodeEnvelope(encodeEnvelope(sample));
    expect(back).toEqual({ ...sample, items: sample.items.map((i) => new Uint8Array(i)) });
  });

  it.each([
    ['bad_magic', (b: Uint8Array) => (b[0] = 0x41)],
    ['unsupported_version', (b: Uint8Array) => (b[4] = 9)],
    ['bad_kind', (b: Uint8Array) => (b[5] = 7)],
    ['bad_header', (b: Uint8Array) => (b[6] = 1)],
    ['too_many_items', (b: Uint8Array) => (b[15] = 0xff)],
  ])('rejects a header with %s', (code, corrupt) => {
    const bytes = encodeEnvelope(sample);
    corrupt(bytes);
    expect(() => decodeEnvelope(bytes)).toThrowError(expect.objectContaining({ name: 'WireFormatError', code }));
  });

  it('rejects every truncation and any trailing byte', () => {
    const bytes = encodeEnvelope(sample);
    for (let n = 0; n < bytes.length; n++) {
      expect(() => decodeEnvelope(bytes.subarray(0, n))).toThrowError(expect.objectContaining({ name: 'WireFormatError' }));
    }
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    expect(() => decodeEnvelope(longer)).toThrowError(expect.objectContaining({ code: 'trailing_bytes' }));
  });

  it('checks kind and preset against what the receiver expects', () => {
    const bytes = encodeEnvelope(sample);
    expect(() => decodeEnvelope(bytes, { kind: 'galoisKeys' })).toThrowError(expect.objectContaining({ code: 'bad_kind' }));
    expect(() => decodeEnvelope(bytes, { presetId: 'ckks-n8192-q218' })).toThrowError(expect.objectContaining({ code: 'preset_mismatch', expected: 'ckks-n8192-q218', got: 'ckks-n4096-q109' }));
  });

  it('never throws anything but a WireFormatError on random bytes', () => {
    const rand = seededRandom(1);
    for (let i = 0; i < 2000; i++) {
      const bytes = Uint8Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256));
      if (i % 2) bytes.set([0x46, 0x48, 0x4c, 0x4d, 1, 1, 0, 0].slice(0, bytes.length));
      try {
        decodeEnvelope(bytes);
      } catch (error) {
        expect((error as Error).name).toBe('WireFormatError');
      }
    }
  });
});

describe('SEAL objects on the wire', () => {
  let ctx: CkksContext;
  let other: CkksContext;
  let client: CkksClient;
  beforeAll(async () => {
    ctx = await CkksContext.create('ckks-n4096-q109');
    other = await CkksContext.create('ckks-n8192-q218');
    client = CkksClient.generate(ctx);
  });
  afterAll(() => {
    client.delete();
    ctx.delete();
    other.delete();
  });

  it('uploads are seeded symmetric ciphertexts, about half a full ciphertext', () => {
    const plan = planLinear(ctx.preset, 8, 8);
    const [upload] = client.encryptVectors(plan, [new Float64Array(8).fill(0.5)]);
    const full = 2 * 2 * 4096 * 8;
    expect(upload.length).toBeLessThan(full * 0.55);
  });

  it('truncated, corrupt or foreign ciphertexts raise a typed error (size rules first, then SEAL), never crash', () => {
    const plan = planLinear(ctx.preset, 8, 8);
    const [upload] = client.encryptVectors(plan, [new Float64Array(8).fill(0.5)]);
    // The SEAL header's size must match the bytes: a truncation never reaches SEAL.
    for (const n of [0, 1, 16, 100, upload.length - 1]) {
      expect(() => ctx.loadCiphertext(upload.subarray(0, n))).toThrowError(expect.objectContaining({ name: 'WireFormatError', code: 'bad_seal_header' }));
    }
    expect(() => other.loadCiphertext(upload)).toThrowError(expect.objectContaining({ name: expect.stringMatching(/^(SealError|WireFormatError)$/) }));
    const rand = seededRandom(3);
    for (let i = 0; i < 200; i++) {
      const bytes = upload.slice();
      for (let k = 0; k < 4; k++) bytes[Math.floor(rand() * 64)] = Math.floor(rand() * 256);
      try {
        ctx.loadCiphertext(bytes).delete();
      } catch (error) {
        expect((error as Error).name).toMatch(/^(SealError|WireFormatError)$/);
      }
    }
    expect(() => ctx.loadGaloisKeys(upload)).toThrowError(expect.objectContaining({ name: 'WireFormatError', code: 'bad_seal_object' }));
  });

  it('secret keys round-trip for storage and decrypt what the original encrypted', () => {
    const plan = planLinear(ctx.preset, 1, 1);
    const restored = CkksClient.fromSecretKey(ctx, client.exportSecretKey());
    try {
      const bytes = client.encryptVectors(plan, [[0.25]]);
      const slots = restored.decryptSlots(bytes);
      expect(slots[0][0]).toBeCloseTo(0.25, 6);
    } finally {
      restored.delete();
    }
    expect(() => CkksClient.fromSecretKey(ctx, Uint8Array.of(1, 2, 3))).toThrowError(expect.objectContaining({ code: 'invalid_secret_key' }));
  });
});
