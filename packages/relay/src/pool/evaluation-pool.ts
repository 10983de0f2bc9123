import { Piscina } from 'piscina';
import type { Logger } from 'pino';
import { ciphertextSerializedBytes, getPreset, plaintextBytesOf } from '@fhe-llm/core';
import { DEFAULT_SHARED_PARTS_MAX_BYTES, partOwner, partsHeldApart, shardTiles } from '@fhe-llm/core/server';
import { deadlineExceeded, overloaded } from '../relay-error.ts';
import type { PoolReadings, RelayMetrics } from '../metrics/relay-metrics.ts';
import { toSharedBytes } from './shared-bytes.ts';
import { createPartExchange } from './part-exchange.ts';
import { heapRoomProblem } from './heap-room.ts';
import { StartupGate } from './startup-gate.ts';
import { isWorkerReadyMessage, reviveError, type EvaluateTask, type KeyRef, type WorkerInit, type WorkerModel, type WorkerResult, type WorkerStats, type WorkerTask } from './worker-protocol.ts';

/** One task's timeline, for tracing: epoch milliseconds, so spans can be placed after the fact. */
export interface TaskTiming {
  /** Handed to piscina. */
  readonly submittedAt: number;
  /** Its result back in this thread. */
  readonly settledAt: number;
  /** Round trip beyond the worker's own time: queueing and message passing. */
  readonly queueWaitMs: number;
  readonly busyMs: number;
  readonly evalMs: number;
  readonly cpuMs: number;
  /** The worker thread's CPU between its previous task and this one (see WorkerResult). */
  readonly upkeepCpuMs: number;
}

/** A task that stood down because another task of its request failed; that failure is the one to report. */
class SkippedTaskError extends Error {
  override readonly name = 'SkippedTaskError';
}

/** Wall-clock milliseconds with performance.now()'s resolution. */
const epochNow = () => performance.timeOrigin + performance.now();

export interface EvaluationPoolOptions {
  workers: number;
  /** Tasks allowed to wait for a worker; beyond that requests get 503 overloaded. */
  maxQueue: number;
  keyCacheBytes: number;
  /** Pre-encoded weights per worker and model; absent: no limit. */
  weightBudgetBytes?: number;
  /** Replace a worker whose WebAssembly heap passes this (default 2 GiB). */
  heapBudgetBytes?: number;
  models: WorkerModel[];
  /**
   * Shard steps: one queue per worker, and a step's output tiles go to their
   * owners (tile-shards.ts), so each worker holds only its tiles' weights and
   * one request uses every worker. Off: one queue that any free worker takes
   * from, each worker holding every operator. Needs 2+ workers.
   */
  shardSteps?: boolean;
  /**
   * Sharded: a lone output tile whose giant steps are shared is held whole by
   * every worker up to this many bytes of plaintexts (any free worker
   * computes any part), and beyond it apart, each part by its owner only
   * (tile-shards.ts). Default 64 MiB.
   */
  sharedPartsMaxBytes?: number;
  metrics: RelayMetrics;
  logger: Logger;
}

/** What a request asks for beyond its groups: how many output tiles the plan has, and how the unsharded pool may split them. */
export interface TileRequest {
  outTiles: number;
  /** Contiguous runs of tiles one group's tasks take (see splitOutputTiles); default one task for all tiles. Unused when sharding. */
  runs?: readonly (readonly number[])[];
  /** The plan's `giantParts`: above 1, a lone tile's giant steps may be shared by that many workers. */
  giantParts?: number;
  /** The plan's plaintext products: its operator's size, which decides whether shared parts are held apart. */
  plainMults?: number;
}

/** Per worker queue (per worker when sharding, else one for the pool): what it evaluated and which tiles it holds. */
export interface LaneReadings {
  tilesEvaluated: number;
  /** Shares of lone tiles' giant steps computed (see part-exchange.ts). */
  partsEvaluated: number;
  /** (model:step:vectors) -> output tiles the worker reported holding pre-encoded for that operator. */
  heldTiles: ReadonlyMap<string, readonly number[]>;
}

/**
 * The worker-thread pool that does all SEAL work. Each task is one
 * ciphertext group (or some of its output tiles) or one key check; a
 * request's tasks run side by side so they spread over the workers. Aborting
 * a task (deadline) removes it from the queue, or terminates its worker if
 * it is running (piscina then starts a fresh one, with the same shard).
 *
 * Queues ("lanes"): unsharded, one piscina with every worker, first come
 * first served. Sharded, one single-thread piscina per worker, because a
 * tile's task must reach the one worker that holds its weights and piscina
 * cannot route; tasks any worker can take (single-tile steps, key checks) go
 * to the lane with the least work in flight. Admission and queue depth count
 * all lanes together, so the overload limits are the same either way.
 */
export class EvaluationPool {
  readonly workers: number;
  readonly maxQueue: number;
  /** True when steps are sharded: lane k is worker k. */
  readonly sharded: boolean;
  readonly #lanes: Piscina[];
  /** Tasks handed to each lane and not yet settled. */
  readonly #laneInFlight: number[];
  readonly #laneReadings: { tilesEvaluated: number; partsEvaluated: number; heldTiles: Map<string, readonly number[]> }[];
  readonly #metrics: RelayMetrics;
  readonly #readyThreads = new Set<number>();
  readonly #startup = new StartupGate();
  readonly #keyCacheBytes: number;
  /** Latest readings per worker thread (from its ready message and each result). */
  readonly #workerStats = new Map<number, WorkerStats>();
  /** Tasks handed to piscina and not yet settled: queued plus running. */
  #tasksInFlight = 0;
  #closing = false;
  #peakWorkerHeap = 0;
  #recycledWorkers = 0;
  readonly #logger: Logger;
  readonly #heapBudgetBytes: number;
  #warnedHeapLimit = false;
  /** Model id -> preset id (sizes of the partial sums workers hand over). */
  readonly #presets: Map<string, string>;
  readonly #sharedPartsMaxBytes: number;

  constructor(options: EvaluationPoolOptions) {
    this.workers = options.workers;
    this.#presets = new Map(options.models.map((m) => [m.id, m.descriptor.preset]));
    this.maxQueue = options.maxQueue;
    this.#metrics = options.metrics;
    this.#logger = options.logger;
    this.#heapBudgetBytes = options.heapBudgetBytes ?? 2 ** 31;
    this.#keyCacheBytes = options.keyCacheBytes;
    this.#sharedPartsMaxBytes = options.sharedPartsMaxBytes ?? DEFAULT_SHARED_PARTS_MAX_BYTES;
    const workerData: WorkerInit = {
      models: options.models,
      keyCacheBytes: options.keyCacheBytes,
      heapBudgetBytes: this.#heapBudgetBytes,
      sharedPartsMaxBytes: this.#sharedPartsMaxBytes,
      ...(options.weightBudgetBytes === undefined ? {} : { weightBudgetBytes: options.weightBudgetBytes }),
    };
    this.sharded = (options.shardSteps ?? false) && options.workers > 1;
    // admit() holds the sum of all lanes to the queue (a lone large request may pass it), so lanes set no limit.
    const lane = (threads: number, init: WorkerInit) =>
      // useAtomics false: an idle worker returns to its event loop instead of blocking in Atomics.wait, so it can
      // prepare encryptions of zero and warm batched plans between tasks (evaluation-worker.ts). With piscina's
      // default (true) a worker fed back-to-back tasks never reached its event loop: measured on stories260K,
      // 3 of 400 responses found a spare (399 of 400 now), and the relay's CPU per token was 30-40 ms higher.
      new Piscina({
        filename: new URL('./evaluation-worker.ts', import.meta.url).href,
        minThreads: threads,
        maxThreads: threads,
        concurrentTasksPerWorker: 1,
        useAtomics: false,
        workerData: init,
      });
    this.#lanes = this.sharded ? Array.from({ length: options.workers }, (_, index) => lane(1, { ...workerData, shard: { index, count: options.workers } })) : [lane(options.workers, workerData)];
    this.#laneInFlight = this.#lanes.map(() => 0);
    this.#laneReadings = this.#lanes.map(() => ({ tilesEvaluated: 0, partsEvaluated: 0, heldTiles: new Map() }));
    for (const piscina of this.#lanes) this.#listen(piscina, options.logger);
  }

  #listen(piscina: Piscina, logger: Logger): void {
    piscina.on('message', (message: unknown) => {
      if (!isWorkerReadyMessage(message)) return;
      // Forget threads piscina has replaced (a deadline abort terminates its worker).
      const alive = new Set(this.#threads().map((t) => t.threadId));
      for (const id of this.#readyThreads) if (!alive.has(id)) this.#readyThreads.delete(id);
      for (const id of this.#workerStats.keys()) if (!alive.has(id)) this.#workerStats.delete(id);
      // A thread first seen after start-up replaces one piscina terminated or lost.
      if (this.#startup.opened && !this.#readyThreads.has(message.threadId)) this.#metrics.workerRestarts.inc();
      this.#readyThreads.add(message.threadId);
      this.#workerStats.set(message.threadId, message.stats);
      if (message.heapLimitBytes > this.#heapBudgetBytes && !this.#warnedHeapLimit) {
        this.#warnedHeapLimit = true;
        logger.warn(
          { budgetBytes: this.#heapBudgetBytes, modelHeapBytes: message.stats.externalBytes, replacedPastBytes: message.heapLimitBytes },
          'the models alone need more worker heap than --worker-heap-bytes; workers are replaced only past what they need plus the key cache',
        );
      }
      // Checked while starting only: a replacement worker of a relay that serves is not a reason to stop.
      const problem = this.#startup.opened ? undefined : heapRoomProblem(message.stats.externalBytes, this.#keyCacheBytes, this.sharded);
      if (problem) this.#startup.fail(new Error(problem));
      if (this.allWorkersReady) this.#startup.open();
    });
    // Without a listener an 'error' event (a worker dying while idle) would take the process down.
    piscina.on('error', (error: unknown) => logger.error({ err: error }, 'evaluation worker failed'));
  }

  /** Every lane's live worker threads. */
  #threads(): Piscina['threads'] {
    return this.#lanes.flatMap((piscina) => piscina.threads);
  }

  /** Worker threads that have loaded SEAL and the models (start-up progress). */
  get readyWorkers(): number {
    return this.#threads().filter((t) => this.#readyThreads.has(t.threadId)).length;
  }

  /** Every worker thread has loaded SEAL and the models. */
  get allWorkersReady(): boolean {
    const threads = this.#threads();
    return threads.length === this.workers && threads.every((t) => this.#readyThreads.has(t.threadId));
  }

  /**
   * Serving: all workers came up once, and at least one is up now. A worker
   * being replaced after a deadline abort does not flip readiness (the queue
   * holds its share of the work meanwhile).
   */
  get isReady(): boolean {
    return !this.#closing && this.#startup.opened && this.#threads().some((t) => this.#readyThreads.has(t.threadId));
  }

  /** Largest WebAssembly heap any worker reported after a task (bytes): what hostile inputs are bounded against. */
  get peakWorkerHeapBytes(): number {
    return this.#peakWorkerHeap;
  }

  /** Workers replaced because their heap passed the budget. */
  get recycledWorkers(): number {
    return this.#recycledWorkers;
  }

  get queueDepth(): number {
    return this.#lanes.reduce((sum, piscina) => sum + piscina.queueSize, 0);
  }

  /** Per lane (per worker when sharded): tiles evaluated and tiles held, for tests and diagnostics. */
  laneReadings(): LaneReadings[] {
    return this.#laneReadings.map((r) => ({ tilesEvaluated: r.tilesEvaluated, partsEvaluated: r.partsEvaluated, heldTiles: new Map(r.heldTiles) }));
  }

  /** Scrape-time readings: queue, in-flight work, and the live workers' memory and key caches. */
  readings(): PoolReadings {
    const alive = new Set(this.#threads().map((t) => t.threadId));
    const out: PoolReadings = { workers: this.workers, queueDepth: this.queueDepth, tasksInFlight: this.#tasksInFlight, heapBytes: 0, externalBytes: 0, keyCacheBytes: 0 };
    for (const [id, stats] of this.#workerStats) {
      if (!alive.has(id)) continue;
      out.heapBytes += stats.heapBytes;
      out.externalBytes += stats.externalBytes;
      out.keyCacheBytes += stats.keyCacheBytes;
    }
    return out;
  }

  /** Resolves once all workers are ready; rejects after `timeoutMs`. */
  waitUntilReady(timeoutMs: number): Promise<void> {
    return this.#startup.wait(timeoutMs, this.allWorkersReady);
  }

  /**
   * Refuse up front (503 overloaded) a request whose tasks would overflow the
   * queue. A request of more tasks than the whole queue holds (a long prompt's
   * prefill: a task per group and tile or part) is let in when nothing waits:
   * refused, it would be refused on every retry.
   */
  admit(tasks: number): void {
    if (this.#closing) throw overloaded('the relay is shutting down');
    const depth = this.queueDepth;
    if (depth > 0 && depth + tasks > this.maxQueue) throw overloaded();
  }

  /**
   * Evaluate a request's groups in parallel, outputs in request order (per
   * group, its output tiles in tile order: the unsplit layout, whatever ran
   * where). When sharded, a group of a multi-tile plan becomes one task per
   * owning worker; a tile's ciphertext depends on its own rows only, so each
   * task reveals exactly those tiles, as the whole response would. A plan
   * with split giant steps (`giantParts`) whose groups leave workers idle
   * becomes one task per part, on different workers, then one task that
   * combines the partial sums: partial sums never leave the relay. When one
   * task fails, siblings that have not started are skipped (shared cancel
   * flag) and running ones finish; no worker is killed for a bad ciphertext.
   * Then the first failure is thrown. `busyMs` sums the workers' busy (wall)
   * time over the request's tasks, `cpuMs` their threads' CPU time, upkeep
   * since their previous tasks included: the request's relay CPU cost.
   */
  async evaluateGroups(
    model: string,
    step: number,
    vectors: number,
    groups: readonly { vectors: number; items: readonly Uint8Array[] }[],
    keys: KeyRef,
    signal: AbortSignal,
    tiling: TileRequest,
  ): Promise<{ outputs: Uint8Array[][]; busyMs: number; cpuMs: number; tasks: TaskTiming[] }> {
    const giantParts = tiling.giantParts ?? 1;
    const preset = getPreset(this.#presets.get(model) ?? '');
    // Held apart, part p lives only on its owner: every group is split, whatever the other workers are doing.
    const apart =
      this.sharded && partsHeldApart({ giantParts, outTiles: tiling.outTiles, cost: { plainMults: tiling.plainMults ?? 0 } }, this.workers, plaintextBytesOf(preset), this.#sharedPartsMaxBytes);
    const splitGiant = giantParts > 1 && tiling.outTiles === 1 && (apart || groups.length * giantParts <= this.workers);
    // One task per (group, tiles); empty tiles mean every tile, and no lane means any worker.
    const split: readonly { tiles: readonly number[]; lane?: number }[] =
      (this.sharded ? shardTiles(tiling.outTiles, this.workers)?.map(({ worker, tiles }) => ({ tiles, lane: worker })) : undefined) ?? (tiling.runs ?? [[]]).map((tiles) => ({ tiles }));
    const parts = splitGiant
      ? groups.map((group, g) => ({ g, group, tiles: [] as readonly number[], lane: undefined }))
      : groups.flatMap((group, g) => split.map(({ tiles, lane }) => ({ g, group, tiles, lane })));
    this.admit(splitGiant ? groups.length * giantParts : parts.length);
    const shared = { hash: keys.hash, bytes: toSharedBytes(keys.bytes) };
    const cancelled = new Int32Array(new SharedArrayBuffer(4));
    let firstError: unknown;
    let busyMs = 0;
    let cpuMs = 0;
    const tasks: TaskTiming[] = [];
    const runOne = async (make: () => { task: WorkerTask; transferList: ArrayBuffer[] }, lane: number | undefined): Promise<Uint8Array[]> => {
      try {
        const submittedAt = epochNow();
        const { result, lane: ran } = await this.#run(make, signal, lane);
        const settledAt = epochNow();
        this.#metrics.stepEvaluation.observe({ model, step: String(step) }, result.evalMs / 1000);
        busyMs += result.busyMs;
        cpuMs += result.cpuMs + result.upkeepCpuMs;
        tasks.push({
          submittedAt,
          settledAt,
          queueWaitMs: Math.max(0, settledAt - submittedAt - result.busyMs),
          busyMs: result.busyMs,
          evalMs: result.evalMs,
          cpuMs: result.cpuMs,
          upkeepCpuMs: result.upkeepCpuMs,
        });
        const readings = this.#laneReadings[ran];
        readings.tilesEvaluated += result.outputs.length;
        readings.partsEvaluated += result.partsEvaluated ?? 0;
        if (result.heldTiles) readings.heldTiles.set(`${model}:${step}:${vectors}`, result.heldTiles);
        return result.outputs;
      } catch (error) {
        Atomics.store(cancelled, 0, 1);
        // A task skipped because a sibling failed is never the reason to report (it may settle first).
        if (firstError === undefined || (firstError instanceof SkippedTaskError && !(error instanceof SkippedTaskError))) firstError = error;
        throw error;
      }
    };
    // Copy each item out of the request body (again on a retry): posting a view would clone the whole body per task.
    const evaluateTask = (group: { vectors: number; items: readonly Uint8Array[] }, extra: Pick<EvaluateTask, 'tiles' | 'part'>) => () => {
      const items = group.items.map((item) => item.slice());
      const task: EvaluateTask = { kind: 'evaluate', model, step, vectors, group: { vectors: group.vectors, items }, keys: shared, cancelled, ...extra };
      return { task, transferList: items.map((i) => i.buffer as ArrayBuffer) };
    };
    // Partial sums may still be at the top level (a rescaling preset rescales once, after the combine).
    const ciphertextBytes = ciphertextSerializedBytes(preset, preset.dataPrimeBits.length);
    const settled = await Promise.allSettled(
      parts.map(async ({ group, tiles, lane }, i) => {
        if (!splitGiant) return runOne(evaluateTask(group, tiles.length ? { tiles: [...tiles] } : {}), lane);
        // Part 0 answers for the group; the others hand it their partial sums (part-exchange.ts). Sharded lanes
        // are single workers: group i's parts take lanes i*P, i*P+1, ... so they run side by side, or, held
        // apart, each part its owner's lane. Only part 0 ever waits, and only on parts it does not hold, which
        // are on other lanes and never wait themselves: no cycle.
        const exchange = createPartExchange(giantParts, tiling.outTiles, ciphertextBytes);
        const laneOf = (part: number) => (apart ? partOwner(part, this.workers) : this.sharded ? (i * giantParts + part) % this.workers : undefined);
        const answers = await Promise.all(Array.from({ length: giantParts }, (_, part) => runOne(evaluateTask(group, { part: { part, parts: giantParts, exchange } }), laneOf(part))));
        return answers[0];
      }),
    );
    if (settled.some((s) => s.status === 'rejected')) throw firstError;
    const outputs = groups.map(() => [] as Uint8Array[]);
    parts.forEach(({ g, tiles }, i) => {
      const got = (settled[i] as PromiseFulfilledResult<Uint8Array[]>).value;
      if (tiles.length) tiles.forEach((tile, k) => (outputs[g][tile] = got[k]));
      else outputs[g].push(...got);
    });
    return { outputs, busyMs, cpuMs, tasks };
  }

  /** Load keys with SEAL (cached in that worker) and check they cover the model's Galois steps. */
  async checkKeys(model: string, keys: KeyRef, signal: AbortSignal): Promise<void> {
    this.admit(1);
    const task = { kind: 'checkKeys' as const, model, keys: { hash: keys.hash, bytes: toSharedBytes(keys.bytes) } };
    // Any worker can take it: the check needs the model's Galois steps, not its weights.
    await this.#run(() => ({ task, transferList: [] }), signal);
  }

  /** Finish queued and running tasks, then stop the workers. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    await Promise.all(this.#lanes.map((piscina) => piscina.close()));
  }

  /**
   * Run one task. A worker that passed its heap budget leaves right after
   * answering; a task piscina handed it in that instant fails with "worker
   * exited" and is run once more on the replacement (tasks are pure). A
   * task without a lane goes to the lane with the least work in flight.
   */
  async #run(make: () => { task: WorkerTask; transferList: ArrayBuffer[] }, signal: AbortSignal, lane = this.#leastBusyLane()): Promise<{ result: WorkerResult & { ok: true }; lane: number }> {
    let result: WorkerResult;
    const submitted = performance.now();
    const piscina = this.#lanes[lane];
    this.#tasksInFlight++;
    this.#laneInFlight[lane]++;
    try {
      for (let attempt = 0; ; attempt++) {
        const { task, transferList } = make();
        try {
          result = (await piscina.run(task, { signal, transferList: transferList as never })) as WorkerResult;
          break;
        } catch (error) {
          const e = error as Error;
          if (e?.name === 'AbortError' || signal.aborted) throw signal.reason instanceof Error ? signal.reason : deadlineExceeded(0);
          if (/queue is at limit|no task queue/i.test(e?.message ?? '')) throw overloaded();
          if (attempt === 0 && this.#recycledWorkers > 0 && /worker exited with code: 0/.test(e?.message ?? '')) continue;
          // A worker that died under the task (a crash, an out-of-memory abort) is replaced by piscina; the
          // request fails like an overload (503, Retry-After), which clients retry. A sharded request loses
          // it whichever of its workers died, so this keeps the relay's answer the same either way.
          if (/worker exited|terminated/i.test(e?.message ?? '')) {
            this.#logger.error({ err: error }, 'evaluation worker stopped during a task');
            throw overloaded('an evaluation worker stopped; retry shortly');
          }
          throw error;
        }
      }
    } finally {
      this.#tasksInFlight--;
      this.#laneInFlight[lane]--;
    }
    // Waiting time is what the round trip took beyond the worker's own time (message passing included).
    this.#metrics.queueWait.observe(Math.max(0, performance.now() - submitted - result.busyMs) / 1000);
    this.#metrics.workerBusy.inc(result.busyMs / 1000);
    if ('cpuMs' in result) {
      this.#metrics.workerCpu.inc({ part: 'task' }, result.cpuMs / 1000);
      this.#metrics.workerCpu.inc({ part: 'upkeep' }, result.upkeepCpuMs / 1000);
    }
    if ('stats' in result) {
      this.#workerStats.set(result.stats.threadId, result.stats);
      if (result.stats.keyCacheHit !== undefined) this.#metrics.keyCacheLookups.inc({ result: result.stats.keyCacheHit ? 'hit' : 'miss' });
      const zeros = result.stats.zeroEncryptions;
      if (zeros) {
        this.#metrics.zeroEncryptions.inc({ source: 'spare' }, zeros.spare);
        this.#metrics.zeroEncryptions.inc({ source: 'on_request' }, zeros.onRequest);
      }
      for (const [counter, paths] of [
        [this.#metrics.plainProducts, result.stats.plainProducts],
        [this.#metrics.rotations, result.stats.rotations],
      ] as const) {
        if (!paths) continue;
        counter.inc({ path: 'kernel' }, paths.kernel);
        counter.inc({ path: 'seal' }, paths.seal);
      }
    }
    if ('heapBytes' in result && result.heapBytes !== undefined) this.#peakWorkerHeap = Math.max(this.#peakWorkerHeap, result.heapBytes);
    if ('recycling' in result && result.recycling) {
      this.#recycledWorkers++;
      this.#logger.warn({ heapBytes: result.heapBytes }, 'worker heap over budget; replacing the worker');
    }
    if (!result.ok) throw 'cancelled' in result ? new SkippedTaskError('skipped after a sibling task failed') : reviveError(result.error);
    return { result, lane };
  }

  #leastBusyLane(): number {
    let best = 0;
    for (let k = 1; k < this.#lanes.length; k++) if (this.#laneInFlight[k] < this.#laneInFlight[best]) best = k;
    return best;
  }
}
