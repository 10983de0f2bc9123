// Piscina worker: loads SEAL and every hosted model once (weights encoded
// into plaintexts at load; with a shard, only the output tiles this worker
// owns; matrices dropped once encoded), then evaluates ciphertext groups. Runs one task at a time, so
// cached keys are never evicted while in use.
import { getHeapStatistics } from 'node:v8';
import { parentPort, threadId, workerData } from 'node:worker_threads';
import type { GaloisKeys } from 'node-seal';
import { CkksContext, PlanError, type LinearOperator, type ScheduleStep, buildSplitSchedule, embeddingOf, isFheLlmError } from '@fhe-llm/core';
import { ResponseRerandomizer, StepOperators, evaluateGroup, evaluateGroupPart, evaluateGroupShared } from '@fhe-llm/core/server';
import { splitKeyBlob } from './key-blob.ts';
import { loadSplitModelPath } from '@fhe-llm/core/node';
import { KeyCache } from './key-cache.ts';
import { nativeInflateBounded } from './native-inflate.ts';
import { PartAbandonedError, awaitPart, claimPart, failPart, publishPart } from './part-exchange.ts';
import { TASK_HEAP_HEADROOM_BYTES } from './heap-room.ts';
import {
  serializeError,
  type CheckKeysTask,
  type EvaluateTask,
  type KeyRef,
  type WorkerInit,
  type WorkerReadyMessage,
  type WorkerResult,
  type WorkerStats,
  type WorkerTask,
} from './worker-protocol.ts';

const init = workerData as WorkerInit;
const contexts = new Map<string, CkksContext>();
const models = new Map<string, StepOperators>();
/** (model, step, vectors) -> operator: StepOperators.get plans on every call, which costs milliseconds. */
const operatorMemo = new Map<string, LinearOperator>();

for (const model of init.models) {
  const presetId = model.descriptor.preset;
  let ctx = contexts.get(presetId);
  if (!ctx) {
    ctx = await CkksContext.create(presetId);
    ctx.inflate = nativeInflateBounded;
    contexts.set(presetId, ctx);
  }
  // Float32: this worker only encodes the matrices at CKKS weight scales (half the memory of Float64);
  // and it has no use for the client table. Each step is encoded as soon as it is composed and its
  // matrix dropped once every plan it can be asked for is encoded, so the model never sits here whole
  // beside its plaintexts (batched plans, when the model has any, release theirs after warming).
  const steps: ScheduleStep[] = [];
  const operators = new StepOperators(
    ctx,
    model.descriptor,
    { steps },
    {
      ...(init.weightBudgetBytes === undefined ? {} : { memoryBudgetBytes: init.weightBudgetBytes }),
      ...(init.shard ? { shard: init.shard } : {}),
      ...(init.sharedPartsMaxBytes === undefined ? {} : { sharedPartsMaxBytes: init.sharedPartsMaxBytes }),
    },
  );
  const onStep = (step: ScheduleStep, index: number) => {
    steps[index] = step;
    operators.get(index, 1);
    operators.releaseIfEncoded(index);
  };
  buildSplitSchedule(loadSplitModelPath(model.checkpointPath).weights, { embedding: embeddingOf(model.descriptor), precision: 'float32', clientTable: false, onStep });
  models.set(model.id, operators);
}

/** A session's deserialized key material: Galois keys, and the public-key encryptor when responses are re-randomized. */
interface SessionKeys {
  keys: GaloisKeys;
  rerandomizer?: ResponseRerandomizer;
}

function deleteKeys(entry: SessionKeys): void {
  entry.keys.delete();
  entry.rerandomizer?.delete();
}

const keyCache = new KeyCache<SessionKeys>(init.keyCacheBytes, deleteKeys);
/** Set by borrowKeys for the task being run; reported with its result. */
let keyCacheHit: boolean | undefined;
/** The current task's encryptions of zero (see WorkerStats.zeroEncryptions). */
let zeroEncryptions: WorkerStats['zeroEncryptions'];
/** The current task's plaintext products (see WorkerStats.plainProducts). */
let plainProducts: WorkerStats['plainProducts'];
/** The current task's rotations (see WorkerStats.rotations). */
let rotations: WorkerStats['rotations'];

/** What a context's kernel/SEAL counters (CkksContext.plainProducts, .rotations) grew by since `before`. */
function pathsSince(now: { kernel: number; seal: number }, before: { kernel: number; seal: number }): { kernel: number; seal: number } {
  return { kernel: now.kernel - before.kernel, seal: now.seal - before.seal };
}

/** This thread's memory and key cache, for the relay's metrics (getHeapStatistics is per isolate). */
function stats(): WorkerStats {
  const heap = getHeapStatistics();
  const out: WorkerStats = { threadId, heapBytes: heap.used_heap_size, externalBytes: heap.external_memory, keyCacheBytes: keyCache.bytes };
  if (keyCacheHit !== undefined) out.keyCacheHit = keyCacheHit;
  if (zeroEncryptions && zeroEncryptions.spare + zeroEncryptions.onRequest > 0) out.zeroEncryptions = zeroEncryptions;
  if (plainProducts && plainProducts.kernel + plainProducts.seal > 0) out.plainProducts = plainProducts;
  if (rotations && rotations.kernel + rotations.seal > 0) out.rotations = rotations;
  return out;
}

/** When this worker last finished a task (performance.now()); being ready counts as one (first requests follow it). */
let lastTaskEnded = performance.now();
/**
 * This thread's CPU time (µs) when it last finished a task. What it spends
 * between tasks serves them too: spare encryptions of zero, decoding the
 * next task's message and encoding the last one's result (piscina does both
 * outside run()), garbage collection. The next task reports it as upkeep, so
 * that the relay's CPU per request adds up to its workers' threads. Warming
 * batched plans (below) is start-up work and is left out.
 */
let cpuAtLastTaskEnd = threadCpuMicros();

function threadCpuMicros(): number {
  const { user, system } = process.threadCpuUsage();
  return user + system;
}
/**
 * Warming waits until the worker has had no task for this long: a session
 * decoding sends one every few tens of milliseconds, and one warming job
 * (a step's plan for 8 vectors, 0.1-0.5 s) delays a task that arrives
 * meanwhile. A replacement worker also waits this long after it is ready,
 * when requests are likely.
 */
const WARM_AFTER_QUIET_MS = 1000;

function externalMemory(): number {
  return (getHeapStatistics() as { external_memory?: number }).external_memory ?? 0;
}

/**
 * A worker is replaced after a task that leaves its heap past this: the
 * configured budget, or, when the models alone need more (stories110M under
 * ckks-flat-n8192-q120: 2.7 GB against the default 2 GiB), what they need
 * plus the key cache and a task's headroom. A worker replaced as soon as it
 * served would be replaced forever and never serve.
 */
const readyHeapBytes = externalMemory();
const heapLimitBytes = readyHeapBytes > init.heapBudgetBytes ? readyHeapBytes + init.keyCacheBytes + TASK_HEAP_HEADROOM_BYTES : init.heapBudgetBytes;

parentPort?.postMessage({ type: 'fhe-llm-worker-ready', threadId, stats: stats(), heapLimitBytes } satisfies WorkerReadyMessage);
warmBatchedPlans();

/**
 * After ready: encode the batched plans a prompt's prefill uses (2, 4 and 8
 * vectors), one step at a time in quiet spells between tasks, so the first
 * prompt does not pay seconds of encoding and decoding traffic is not
 * delayed by it. Under steady load a plan is encoded on its first request
 * instead. (This needs the worker's event loop: piscina's blocking
 * Atomics.wait between tasks would starve it, see evaluation-pool.ts.)
 */
function warmBatchedPlans(): void {
  const work: (() => void)[] = [];
  for (const [id, operators] of models) {
    for (const n of [2, 4, 8]) {
      for (let step = 0; step < operators.model.steps.length; step++) {
        work.push(() => {
          const memoKey = `${id}:${step}:${n}`;
          if (n <= operators.model.maxVectors && !operatorMemo.has(memoKey)) operatorMemo.set(memoKey, operators.get(step, n).operator);
          operators.releaseIfEncoded(step);
        });
      }
    }
  }
  const next = () => {
    const quietMs = performance.now() - lastTaskEnded;
    if (quietMs < WARM_AFTER_QUIET_MS) return void setTimeout(next, WARM_AFTER_QUIET_MS - quietMs);
    const job = work.shift();
    if (!job) return;
    const cpuStarted = threadCpuMicros();
    job();
    cpuAtLastTaskEnd += threadCpuMicros() - cpuStarted; // start-up work, not the next task's upkeep
    setImmediate(next);
  };
  setImmediate(next);
}

function operatorsFor(id: string): StepOperators {
  const operators = models.get(id);
  if (!operators) throw new PlanError('unknown_model', `worker does not host model ${id}`);
  return operators;
}

/** Memory SEAL holds for loaded Galois keys: per key, one 2-polynomial ciphertext per data prime over all primes. */
function keyMemoryBytes(ctx: CkksContext, keys: GaloisKeys): number {
  const p = ctx.preset;
  return keys.size() * p.dataPrimeBits.length * 2 * p.polyModulusDegree * p.coeffModulusBits.length * 8;
}

/** Keys from the cache, or loaded (SEAL-validated) and cached; `release` frees keys the cache could not keep. */
/** `cached`: the entry lives in the key cache (freed when evicted), not just for this task. */
function borrowKeys(operators: StepOperators, ref: KeyRef): SessionKeys & { cached: boolean; release(): void } {
  const ctx = operators.ctx;
  const cacheKey = `${ctx.preset.id}:${ref.hash}`;
  const cached = keyCache.get(cacheKey);
  keyCacheHit = cached !== undefined;
  if (cached) return { ...cached, cached: true, release() {} };
  const privacy = operators.model.responsePrivacy;
  const blob = splitKeyBlob(ref.bytes, privacy);
  // At most one key per step the model uses: the size bound SEAL's loader never gets to exceed.
  const keys = ctx.loadGaloisKeys(blob.galoisKeys, operators.model.galoisSteps.length);
  let entry: SessionKeys = { keys };
  try {
    if (blob.publicKey && privacy) entry = { keys, rerandomizer: ResponseRerandomizer.fromBytes(ctx, blob.publicKey, privacy) };
  } catch (error) {
    keys.delete();
    throw error;
  }
  // A public key is one more 2-polynomial ciphertext over every prime.
  const bytes = keyMemoryBytes(ctx, keys) + (entry.rerandomizer ? 2 * ctx.preset.polyModulusDegree * ctx.preset.coeffModulusBits.length * 8 : 0);
  const kept = keyCache.set(cacheKey, entry, bytes);
  return { ...entry, cached: kept, release: kept ? () => {} : () => deleteKeys(entry) };
}

function operatorFor(task: { model: string; step: number; vectors: number }): { operators: StepOperators; operator: LinearOperator } {
  const operators = operatorsFor(task.model);
  const memoKey = `${task.model}:${task.step}:${task.vectors}`;
  let operator = operatorMemo.get(memoKey);
  if (!operator) {
    operator = operators.get(task.step, task.vectors).operator;
    operatorMemo.set(memoKey, operator);
  }
  return { operators, operator };
}

/** How long part 0 waits for a part another worker claimed; the request's deadline normally ends it first. */
const PART_WAIT_MS = 120_000;

function evaluate(task: EvaluateTask): { outputs: Uint8Array[]; evalMs: number; heldTiles: number[]; partsEvaluated?: number } {
  const { operators, operator } = operatorFor(task);
  const borrowed = borrowKeys(operators, task.keys);
  const counted = borrowed.rerandomizer?.zeroEncryptions;
  const before = counted && { ...counted };
  const products = operator.ctx.plainProducts;
  const productsBefore = { ...products };
  const rotated = operator.ctx.rotations;
  const rotatedBefore = { ...rotated };
  try {
    const started = performance.now();
    // Kept in the key cache, so the spares live exactly as long as the session's keys do here.
    if (borrowed.cached) keepSparesFor(borrowed.rerandomizer);
    if (task.part) {
      const { outputs, partsEvaluated } = evaluateShare(operator, borrowed, task, task.part);
      return { outputs, evalMs: performance.now() - started, heldTiles: operator.heldTiles, partsEvaluated };
    }
    const outputs = evaluateGroup(operator, borrowed.keys, task.group, task.tiles, borrowed.rerandomizer);
    return { outputs, evalMs: performance.now() - started, heldTiles: operator.heldTiles };
  } finally {
    if (counted && before) zeroEncryptions = { spare: counted.spare - before.spare, onRequest: counted.onRequest - before.onRequest };
    plainProducts = pathsSince(products, productsBefore);
    rotations = pathsSince(rotated, rotatedBefore);
    borrowed.release();
  }
}

/** One part of a lone group's giant steps: part 0 answers for the group; the others publish to it (see part-exchange.ts). */
function evaluateShare(operator: LinearOperator, session: SessionKeys, task: EvaluateTask, share: NonNullable<EvaluateTask['part']>): { outputs: Uint8Array[]; partsEvaluated: number } {
  const { part, parts, exchange } = share;
  const keys = session.keys;
  if (part === 0) {
    let partsEvaluated = 1;
    // Only parts this worker holds: a large operator's parts are held apart, each computed by its owner.
    const claim = (p: number) => {
      const mine = operator.holdsPart(p) && claimPart(exchange, p);
      if (mine) partsEvaluated++;
      return mine;
    };
    // Part 0 answers, so it re-randomizes; partial sums never leave the relay and need none.
    const outputs = evaluateGroupShared(operator, keys, task.group, parts, claim, (p) => awaitPart(exchange, p, task.cancelled, PART_WAIT_MS), session.rerandomizer);
    return { outputs, partsEvaluated };
  }
  if (!claimPart(exchange, part)) return { outputs: [], partsEvaluated: 0 }; // part 0's worker got here first and computed it
  try {
    publishPart(exchange, part, evaluateGroupPart(operator, keys, task.group, { part, parts }));
  } catch (error) {
    failPart(exchange, part);
    throw error;
  }
  return { outputs: [], partsEvaluated: 1 };
}

function checkKeys(task: CheckKeysTask): void {
  const operators = operatorsFor(task.model);
  const borrowed = borrowKeys(operators, task.keys);
  try {
    const missing = operators.model.galoisSteps.filter((step) => !borrowed.keys.hasKey(operators.ctx.galoisElement(step)));
    if (missing.length) {
      throw new PlanError('missing_galois_keys', `Galois keys lack rotation steps ${missing.join(', ')}`, { expected: operators.model.galoisSteps, got: missing });
    }
  } finally {
    borrowed.release();
  }
}

/**
 * WebAssembly memory only grows: once SEAL's heap (external memory of this
 * isolate) passes the budget, this worker leaves after answering and the
 * pool starts a fresh one. Inputs are bounded before SEAL sees them, so this
 * is a backstop, not the defence.
 */
function recycleIfOverBudget(): { heapBytes: number; recycling?: true } {
  const heapBytes = externalMemory();
  if (heapBytes <= heapLimitBytes) return { heapBytes };
  // After the result is posted (piscina posts it once run() has returned); piscina then starts a fresh worker.
  setTimeout(() => process.exit(0), 0);
  return { heapBytes, recycling: true };
}

/** Encryptions of zero kept ready for the session served last: a stories260K token takes 11. */
const SPARE_ZEROS = 16;
/** The session whose spares are topped up while idle; the previous one's are freed (one session's worth per worker). */
let spareTarget: ResponseRerandomizer | undefined;
let sparing = false;

/**
 * Between tasks, whenever the worker's event loop gets a turn, make the last
 * session's encryptions of zero one at a time: a task that arrives meanwhile
 * waits for one at most (about 1.7 ms at N=4096) and then finds its
 * re-randomization ready instead of paying a public-key encryption per
 * response ciphertext. Measured on stories260K: most responses found spares.
 */
function keepSparesFor(rerandomizer: ResponseRerandomizer | undefined): void {
  if (rerandomizer?.privacy.mode !== 'rerandomize') return;
  if (spareTarget !== rerandomizer) spareTarget?.dropSpares();
  spareTarget = rerandomizer;
  if (sparing) return;
  sparing = true;
  const next = () => {
    try {
      if (spareTarget?.makeSpare(SPARE_ZEROS)) return void setImmediate(next);
    } catch {
      // Only an optimisation: apply() encrypts on the spot when no spare is ready.
    }
    sparing = false;
  };
  setImmediate(next);
}

export default function run(task: WorkerTask): WorkerResult {
  if (task.kind !== 'checkKeys' && Atomics.load(task.cancelled, 0) !== 0) return { ok: false, cancelled: true, busyMs: 0 };
  try {
    const result = runTask(task);
    return { ...result, ...recycleIfOverBudget() };
  } finally {
    lastTaskEnded = performance.now();
    cpuAtLastTaskEnd = threadCpuMicros();
  }
}

function runTask(task: WorkerTask): WorkerResult {
  const started = performance.now();
  keyCacheHit = undefined;
  zeroEncryptions = undefined;
  plainProducts = undefined;
  rotations = undefined;
  const cpuStarted = threadCpuMicros();
  const upkeepCpuMs = (cpuStarted - cpuAtLastTaskEnd) / 1000;
  try {
    let result: { outputs: Uint8Array[]; evalMs: number; heldTiles?: number[]; partsEvaluated?: number } = { outputs: [], evalMs: 0 };
    if (task.kind === 'checkKeys') checkKeys(task);
    else result = evaluate(task);
    // CPU time of this thread (not wall time, which grows when other processes take the cores).
    const cpuMs = (threadCpuMicros() - cpuStarted) / 1000;
    return { ok: true, ...result, busyMs: performance.now() - started, cpuMs, upkeepCpuMs, stats: stats() };
  } catch (error) {
    // Typed errors are the client's mistakes (bad ciphertext, wrong level, ...): report them as data.
    // A part whose sibling failed stops like a task skipped after one. Anything else is a bug and
    // reaches the relay as an internal error.
    if (isFheLlmError(error)) {
      const cpuMs = (threadCpuMicros() - cpuStarted) / 1000;
      return { ok: false, error: serializeError(error), busyMs: performance.now() - started, cpuMs, upkeepCpuMs, stats: stats() };
    }
    if (error instanceof PartAbandonedError) return { ok: false, cancelled: true, busyMs: 0 };
    throw error;
  }
}
