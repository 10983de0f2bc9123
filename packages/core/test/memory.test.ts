import { expect, it } from 'vitest';
import { CkksContext, LinearOperator, planLinear } from '../src/index.ts';
import { CkksClient } from '../src/client/index.ts';
import { randomVector, randomWeights, seededRandom } from '../src/linear/test-helpers.ts';

// WebAssembly memory is not garbage-collected and never shrinks: one leaked
// N=2048 ciphertext is 64 KiB, so 9,000 leaks would add over 500 MiB. After a
// warm-up (SEAL's memory pool reaches its working size), resident memory must
// stay flat across 10,000 full relay round trips.
it('10,000 evaluations keep memory flat', async () => {
  const ctx = await CkksContext.create('insecure-n2048-q109');
  const client = CkksClient.generate(ctx);
  const rand = seededRandom(2);
  const w = randomWeights(rand, 7, 5);
  const plan = planLinear(ctx.preset, 7, 5);
  const keys = ctx.loadGaloisKeys(client.makeGaloisKeys(plan.galoisSteps), plan.galoisSteps.length);
  const op = new LinearOperator(ctx, plan, w);
  const upload = client.encryptVectors(plan, [randomVector(rand, 5)]);
  const roundTrip = (i: number) => {
    const inputs = (i % 50 === 0 ? client.encryptVectors(plan, [randomVector(rand, 5)]) : upload).map((b) => ctx.loadCiphertext(b));
    const outputs = op.evaluate(inputs, 1, keys);
    const bytes = outputs.map((ct) => ctx.save(ct));
    inputs.forEach((ct) => ct.delete());
    outputs.forEach((ct) => ct.delete());
    if (i % 50 === 0) client.decryptVectors(plan, bytes, 1);
  };
  try {
    for (let i = 0; i < 1000; i++) roundTrip(i);
    const before = process.memoryUsage().rss;
    for (let i = 1000; i < 10_000; i++) roundTrip(i);
    const grown = process.memoryUsage().rss - before;
    // A leak would add over 500 MiB; the bounded inflation before SEAL (pure JS
    // in this realm) leaves tens of MiB of collectable buffers, so allow 64 MiB.
    expect(grown).toBeLessThan(64 * 1024 * 1024);
  } finally {
    op.delete();
    keys.delete();
    client.delete();
    ctx.delete();
  }
}, 300_000);
