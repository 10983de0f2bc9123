import { describe, expect, it } from 'vitest';
import { CkksClient } from './ckks-client.ts';
import { LinearOperator } from '../linear/linear-operator.ts';
import { randomVector, randomWeights, seededRandom } from '../linear/test-helpers.ts';
import { CkksContext } from '../seal/ckks-context.ts';
import { decodeEnvelope } from '../wire/envelope.ts';
import { planStep } from '../protocol/step-plan.ts';
import { encodeStepResponse, evaluateGroup, splitRequestGroups } from '../server/step-exchange.ts';
import { encryptStepRequest, maxStepResponseBytes } from './step-exchange.ts';

describe('maxStepResponseBytes', () => {
  it('holds a real answer and no more than one uncompressed top-level ciphertext per group and tile beyond it', async () => {
    const ctx = await CkksContext.create('ckks-flat-n4096-q109');
    const client = CkksClient.generate(ctx);
    const rand = seededRandom(3);
    const w = randomWeights(rand, 40, 24);
    const vectors = 3;
    const plan = planStep(ctx.preset, { dOut: 40, dIn: 24 }, vectors);
    const op = new LinearOperator(ctx, plan, w);
    const keys = ctx.loadGaloisKeys(client.makeGaloisKeys(plan.galoisSteps), plan.galoisSteps.length);
    try {
      const body = encryptStepRequest(
        client,
        plan,
        Array.from({ length: vectors }, () => randomVector(rand, 24)),
      );
      const groups = splitRequestGroups(plan, decodeEnvelope(body, { kind: 'ciphertexts', presetId: plan.presetId }));
      const answer = encodeStepResponse(
        plan,
        vectors,
        groups.map((g) => evaluateGroup(op, keys, g)),
      );
      const bound = maxStepResponseBytes(plan, vectors);
      expect(answer.length).toBeLessThanOrEqual(bound);
      const items = groups.length * plan.outTiles;
      expect(bound).toBe(17 + plan.presetId.length + items * (4 + 113 + 2 * 4096 * 8));
    } finally {
      keys.delete();
      op.delete();
      client.delete();
      ctx.delete();
    }
  });
});
