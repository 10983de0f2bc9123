import { afterAll, describe, expect, it } from 'vitest';
import { CkksContext, LinearOperator, decodeEnvelope, encodeEnvelope, getPreset, planLinear } from '@fhe-llm/core';
import { CryptoService } from './crypto-service.ts';
import { spawnCryptoWorker } from './spawn-worker.ts';

const PRESET = 'insecure-n2048-q109';
const plan = (preset: CkksContext['preset']) => planLinear(preset, 4, 6);

describe('crypto service (what the worker runs)', () => {
  const service = new CryptoService();
  afterAll(() => service.close());

  it('makes keys once, stores them wrapped, and reuses them', async () => {
    await service.init({ storage: 'memory' });
    const phases: string[] = [];
    const first = await service.openKeys('ring', PRESET, [1, 2], (e) => phases.push(e.phase));
    expect(first.created).toBe(true);
    expect(phases).toContain('generating-keys');
    expect(decodeEnvelope(first.evaluationKeys, { kind: 'galoisKeys', presetId: PRESET }).items).toHaveLength(1);
    const again = await service.openKeys('ring', PRESET, [1, 2]);
    expect(again.created).toBe(false);
    expect(again.evaluationKeys).toEqual(first.evaluationKeys);
    expect((await service.status('ring')).stored).toBe(true);
  });

  it('makes fresh Galois keys per session from the stored secret key: unlinkable bytes, same decryption', async () => {
    const ctx = await CkksContext.create(PRESET);
    const p = plan(ctx.preset);
    const opened = await service.openKeys('ring-fresh', PRESET, [...p.galoisSteps]);
    const fresh = [service.freshEvaluationKeys('ring-fresh', PRESET, [...p.galoisSteps]), service.freshEvaluationKeys('ring-fresh', PRESET, [...p.galoisSteps])];
    expect(fresh[0]).not.toEqual(opened.evaluationKeys);
    expect(fresh[1]).not.toEqual(fresh[0]);
    const weight = Float64Array.from({ length: 24 }, (_, i) => ((i % 7) - 3) / 10);
    const x = Float64Array.from([0.5, -1, 0.25, 1, 0, -0.5]);
    const op = new LinearOperator(ctx, p, { dOut: 4, dIn: 6, weight });
    for (const envelope of fresh) {
      const keys = ctx.loadGaloisKeys(decodeEnvelope(envelope).items[0]);
      const ct = ctx.loadCiphertext(decodeEnvelope(service.encryptStep('ring-fresh', p, [x])).items[0]);
      const [out] = op.evaluate([ct], 1, keys);
      const [y] = service.decryptStep('ring-fresh', p, 1, encodeEnvelope({ kind: 'ciphertexts', presetId: PRESET, vectors: 1, items: [ctx.save(out)] }));
      for (let i = 0; i < 4; i++) {
        let want = 0;
        for (let j = 0; j < 6; j++) want += weight[i * 6 + j] * x[j];
        expect(y[i]).toBeCloseTo(want, 4);
      }
      [out, ct, keys].forEach((o) => o.delete());
    }
    op.delete();
    ctx.delete();
  });

  it('encrypts for a plan and decrypts what the relay computes', async () => {
    const ctx = await CkksContext.create(PRESET);
    const p = plan(ctx.preset);
    const opened = await service.openKeys('ring2', PRESET, [...p.galoisSteps]);
    const keys = ctx.loadGaloisKeys(decodeEnvelope(opened.evaluationKeys).items[0]);
    const weight = Float64Array.from({ length: 24 }, (_, i) => (i % 5) / 10);
    const op = new LinearOperator(ctx, p, { dOut: 4, dIn: 6, weight });
    const x = Float64Array.from([1, -1, 0.5, 0.25, 0, 2]);
    const request = decodeEnvelope(service.encryptStep('ring2', p, [x]));
    const ct = ctx.loadCiphertext(request.items[0]);
    const [out] = op.evaluate([ct], 1, keys);
    const body = encodeEnvelope({ kind: 'ciphertexts', presetId: PRESET, vectors: 1, items: [ctx.save(out)] });
    const [y] = service.decryptStep('ring2', p, 1, body);
    for (let i = 0; i < 4; i++) {
      let want = 0;
      for (let j = 0; j < 6; j++) want += weight[i * 6 + j] * x[j];
      expect(y[i]).toBeCloseTo(want, 4);
    }
    [out, ct, keys].forEach((o) => o.delete());
    op.delete();
    ctx.delete();
  });

  it('forget removes keys from memory and storage; new keys differ', async () => {
    const before = await service.openKeys('ring3', PRESET, [1]);
    await service.forget('ring3');
    expect((await service.status('ring3')).stored).toBe(false);
    expect(() => service.encryptStep('ring3', plan(getPreset(PRESET)), [new Float64Array(6)])).toThrow(/no keys are open/);
    const after = await service.openKeys('ring3', PRESET, [1]);
    expect(after.created).toBe(true);
    expect(after.evaluationKeys).not.toEqual(before.evaluationKeys);
  });

  it('remakes only the Galois keys, from the same secret key, when the relay asks for other steps', async () => {
    await service.openKeys('ring4', PRESET, [1]);
    const more = await service.openKeys('ring4', PRESET, [1, 4]);
    expect(more.created).toBe(false);
    expect(more.session).toBeUndefined();
  });
});

describe('crypto worker over worker_threads and comlink', () => {
  it('runs the same API in a Node worker; errors keep name and code across the boundary', async () => {
    const { api, terminate } = await spawnCryptoWorker();
    try {
      await api.init({ storage: 'memory' });
      const opened = await api.openKeys('w', PRESET, [1]);
      expect(opened.created).toBe(true);
      await expect(api.openKeys('w', 'ckks-n1-q1', [1])).rejects.toMatchObject({ name: 'PresetError', code: 'unknown_preset' });
    } finally {
      await terminate();
    }
  });
});
