import { describe, expect, it } from 'vitest';
import { Float32Transformer } from './forward.ts';
import { generate, sequentialForwarder } from './generate.ts';
import { Sampler, XorShiftRng, sampleArgmax, sampleMult, sampleTopP } from './sampler.ts';
import { loadStories260K } from './test-model-files.ts';

const { weights, tokenizer } = loadStories260K();

describe('sampling primitives', () => {
  it('argmax keeps the first of equal maxima', () => {
    expect(sampleArgmax([0.1, 0.7, 0.2, 0.7])).toBe(1);
  });

  it('the xorshift stream is reproducible from the seed', () => {
    const a = new XorShiftRng(42);
    const b = new XorShiftRng(42n);
    const draws = Array.from({ length: 5 }, () => a.nextU32());
    expect(Array.from({ length: 5 }, () => b.nextU32())).toEqual(draws);
    expect(new Set(draws).size).toBe(5);
    const f = new XorShiftRng(7).nextF32();
    expect(f).toBeGreaterThanOrEqual(0);
    expect(f).toBeLessThan(1);
    expect(() => new XorShiftRng(0)).toThrow(RangeError);
  });

  it('sample_mult walks the CDF', () => {
    const p = Float32Array.of(0.1, 0.2, 0.7);
    expect(sampleMult(p, 0.05)).toBe(0);
    expect(sampleMult(p, 0.25)).toBe(1);
    expect(sampleMult(p, 0.99)).toBe(2);
  });

  it('sample_topp only draws from the nucleus', () => {
    const p = Float32Array.of(0.05, 0.5, 0.3, 0.15);
    // sorted: 0.5 (1), 0.3 (2) -> cumulative 0.8 > 0.6 stops; r = coin * 0.8
    expect(sampleTopP(p, 0.6, 0)).toBe(1);
    expect(sampleTopP(p, 0.6, 0.6)).toBe(1); // r = 0.48 < 0.5
    expect(sampleTopP(p, 0.6, 0.7)).toBe(2); // r = 0.56
    expect(sampleTopP(p, 0.6, 0.9999)).toBe(2);
  });
});

// Token ids printed by llama2.c's run (-t, -p, -s, -n, -i) on stories260K: the
// forced prompt tokens after BOS, then the sampled ones.
const C_RUNS: Array<{ temperature: number; topp: number; seed: number; prompt: string; steps: number; ids: string }> = [
  {
    temperature: 1.0,
    topp: 0.9,
    seed: 42,
    prompt: 'Lily',
    steps: 40,
    ids: '317 269 410 459 412 429 412 421 279 380 261 276 337 299 322 265 272 414 276 356 426 342 391 267 337 335 265 315 374 419 432 398 366 391 266 267 329 399 272 379',
  },
  {
    temperature: 0.8,
    topp: 0,
    seed: 7,
    prompt: 'Lily',
    steps: 40,
    ids: '317 397 441 323 383 286 261 376 268 414 422 395 405 426 405 391 266 267 337 335 345 267 422 419 426 346 261 419 355 345 357 267 272 417 264 312 432 398 368 323',
  },
  {
    temperature: 1.0,
    topp: 1.0,
    seed: 3,
    prompt: '',
    steps: 120,
    ids: '403 383 286 261 370 410 325 330 426 321 265 410 309 386 261 416 288 412 421 419 397 396 322 308 293 259 420 425 423 427 316 426 410 447 419 358 348 411 306 266 432 312 419 357 336 358 286 297 327 260 276 267 329 296 431 411 270 277 372 419 426 338 336 432 313 455 289 439 413 263 420 327 432 320 327 280 303 329 261 279 315 413 422 280 295 267 259 412 354 280 412 276 373 311 353 261 370 259 276 411 426 436 13 438 293 412 394 265 410 285 412 419 285 269 261 419 355 410 417 431',
  },
];

describe('Sampler against llama2.c', () => {
  it.each(C_RUNS.map((r) => [`-t ${r.temperature} -p ${r.topp} -s ${r.seed}`, r] as const))('reproduces the sampled tokens of run %s', async (_, r) => {
    const sampler = new Sampler({ temperature: r.temperature, topp: r.topp, seed: r.seed });
    const model = sequentialForwarder(new Float32Transformer(weights));
    const result = await generate(model, sampler, tokenizer.encode(r.prompt), { steps: r.steps });
    expect(result.nextTokenIds.join(' ')).toBe(r.ids);
  });

  it('requires a seed when sampling', () => {
    expect(() => new Sampler({ temperature: 1 })).toThrow(RangeError);
  });
});
