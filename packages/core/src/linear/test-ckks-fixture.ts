// Test support (vitest): one preset's context, client and Galois keys for a
// whole describe block, made before its tests and freed after them.
import { afterAll, beforeAll } from 'vitest';
import type { GaloisKeys } from 'node-seal';
import { CkksContext } from '../seal/ckks-context.ts';
import { CkksClient } from '../client/ckks-client.ts';

export interface CkksFixture {
  ctx: CkksContext;
  client: CkksClient;
  /** Keys for every power-of-two rotation (folds and Horner chains). */
  keys: GaloisKeys;
  /** Keys for exactly a plan's rotation steps, made once per distinct set (summed giant steps need one per g*n1). */
  keysFor(plan: { readonly galoisSteps: readonly number[] }): GaloisKeys;
}

/** Call inside a describe block (or at file level); the fields are set once its beforeAll has run. */
export function ckksFixture(presetId: string): CkksFixture {
  const made = new Map<string, GaloisKeys>();
  const state = {
    keysFor(plan: { readonly galoisSteps: readonly number[] }): GaloisKeys {
      const id = plan.galoisSteps.join(',');
      let keys = made.get(id);
      if (!keys) {
        keys = state.ctx.loadGaloisKeys(state.client.makeGaloisKeys(plan.galoisSteps), plan.galoisSteps.length);
        made.set(id, keys);
      }
      return keys;
    },
  } as CkksFixture;
  beforeAll(async () => {
    state.ctx = await CkksContext.create(presetId);
    state.client = CkksClient.generate(state.ctx);
    const steps = Array.from({ length: Math.log2(state.ctx.preset.slots) }, (_, i) => 2 ** i);
    state.keys = state.ctx.loadGaloisKeys(state.client.makeGaloisKeys(steps));
  });
  afterAll(() => {
    for (const keys of made.values()) keys.delete();
    made.clear();
    state.keys?.delete();
    state.client?.delete();
    state.ctx?.delete();
  });
  return state;
}
