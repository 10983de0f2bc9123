import type { PartExchange } from './part-exchange.ts';
import { errorFromTransfer, errorToTransfer, isFheLlmError, type EncryptedModelDescriptor, type FheLlmError, type GiantPart, type TransferredError } from '@fhe-llm/core';
import type { TileShard } from '@fhe-llm/core/server';

/** What a worker needs to host a model without calibrating it again. */
export interface WorkerModel {
  id: string;
  checkpointPath: string;
  descriptor: EncryptedModelDescriptor;
}

export interface WorkerInit {
  models: WorkerModel[];
  /** Budget of deserialized Galois keys kept per worker. */
  keyCacheBytes: number;
  /** Bytes of pre-encoded weights per worker and model (see StepOperatorsOptions); absent: no limit. */
  weightBudgetBytes?: number;
  /**
   * A worker whose WebAssembly heap (V8 external memory) passes this is
   * replaced after its task; raised for a worker whose models alone need
   * more (see WorkerReadyMessage.heapLimitBytes).
   */
  heapBudgetBytes: number;
  /** Set when the relay shards steps: this worker's place, so it holds only the output tiles it owns. */
  shard?: TileShard;
  /** With a shard: past this many bytes a lone tile's shared giant steps are held apart (StepOperatorsOptions). */
  sharedPartsMaxBytes?: number;
}

/** A session's key blob: `bytes` views a SharedArrayBuffer, so posting it shares instead of copying. */
export interface KeyRef {
  hash: string;
  bytes: Uint8Array;
}

export interface EvaluateTask {
  kind: 'evaluate';
  model: string;
  step: number;
  /** Vectors in the whole request: it selects the plan. */
  vectors: number;
  /** One ciphertext group: up to plan.batch vectors and the plan's input ciphertexts. */
  group: { vectors: number; items: Uint8Array[] };
  /** Output tiles this task evaluates (all when absent): a group's tiles may be spread over workers. */
  tiles?: number[];
  /**
   * This task's share of a lone tile's giant steps (see part-exchange.ts):
   * part 0 answers for the whole group, other parts hand their partial sums
   * to it through `exchange` and answer with no outputs.
   */
  part?: GiantPart & { exchange: PartExchange };
  keys: KeyRef;
  /**
   * One Int32 in a SharedArrayBuffer shared by a request's tasks: the relay
   * sets it when a sibling group failed, and tasks that have not started yet
   * return at once instead of evaluating for an answer nobody will read.
   */
  cancelled: Int32Array;
}

export interface CheckKeysTask {
  kind: 'checkKeys';
  model: string;
  keys: KeyRef;
}

export type WorkerTask = EvaluateTask | CheckKeysTask;

/** A typed error as plain data (core's TransferredError, with its code required). */
export interface SerializedError extends TransferredError {
  code: string;
}

/** A worker's own readings, sent with every result (a busy worker cannot answer a scrape). */
export interface WorkerStats {
  threadId: number;
  /** V8 heap used by the worker's isolate. */
  heapBytes: number;
  /** The isolate's memory outside the V8 heap: SEAL's WebAssembly memory and buffers. */
  externalBytes: number;
  keyCacheBytes: number;
  /** Whether the task found its keys deserialized in the cache (absent: no keys looked up). */
  keyCacheHit?: boolean;
  /** Encryptions of zero the task's re-randomization used: made ahead between tasks, or on the request's path. */
  zeroEncryptions?: { spare: number; onRequest: number };
  /** The task's plaintext products by who computed them: the in-place kernel (core's plain-mac.ts) or SEAL. */
  plainProducts?: { kernel: number; seal: number };
  /** The task's rotations by who key-switched them: summed by the kernel (core's rotation-sum.ts) or one by one by SEAL. */
  rotations?: { kernel: number; seal: number };
}

/** The worker's WebAssembly heap after a task; `recycling` when it passed its budget and is leaving. */
export interface WorkerHeap {
  heapBytes?: number;
  recycling?: true;
}

export type WorkerResult =
  | ({
      ok: true;
      outputs: Uint8Array[];
      evalMs: number;
      busyMs: number;
      /** this thread's CPU time for the task */
      cpuMs: number;
      /** this thread's CPU time since its previous task ended (spare encryptions of zero, task messages, garbage collection) */
      upkeepCpuMs: number;
      /** Output tiles of the evaluated operator this worker holds pre-encoded (absent for key checks). */
      heldTiles?: number[];
      /** Giant-step parts this task computed (tasks of a shared group only; see part-exchange.ts). */
      partsEvaluated?: number;
      stats: WorkerStats;
    } & WorkerHeap)
  | ({ ok: false; error: SerializedError; busyMs: number; cpuMs: number; upkeepCpuMs: number; stats: WorkerStats } & WorkerHeap)
  | { ok: false; cancelled: true; busyMs: 0 };

/** Posted by a worker once SEAL and its models are loaded. */
export interface WorkerReadyMessage {
  type: 'fhe-llm-worker-ready';
  threadId: number;
  stats: WorkerStats;
  /** The heap past which this worker is replaced: WorkerInit.heapBudgetBytes, or more when its models alone need more. */
  heapLimitBytes: number;
}

export function isWorkerReadyMessage(message: unknown): message is WorkerReadyMessage {
  return typeof message === 'object' && message !== null && (message as WorkerReadyMessage).type === 'fhe-llm-worker-ready';
}

/** Core's pair (errorToTransfer / errorFromTransfer), the one the SDK's crypto worker uses too. */
export function serializeError(error: FheLlmError): SerializedError {
  return { ...errorToTransfer(error), code: error.code };
}

/** The typed error again, recognisable by name and code like the original. */
export function reviveError(data: SerializedError): FheLlmError {
  return errorFromTransfer(data) as FheLlmError;
}

export { isFheLlmError };
