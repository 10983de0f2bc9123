import { Worker } from 'node:worker_threads';
import type { EmbeddingPlacement, EncryptedModelDescriptor } from '@fhe-llm/core';
import type { ModelSpec } from '../config.ts';
import { PlanTable } from './plan-table.ts';
import { maxStepBodyBytes } from './step-body-limit.ts';

/** A model as the main thread holds it: public description and files, never weights. */
export interface HostedModel {
  readonly id: string;
  readonly spec: ModelSpec;
  readonly descriptor: EncryptedModelDescriptor;
  /** The tokenizer file (tokenizer.bin or tokenizer.json), served as is (public). */
  readonly tokenizer: Uint8Array;
  /** Float32 little-endian [vocab][dim], when the descriptor puts the embedding on the client (public then). */
  readonly clientTable?: ClientTable;
  /** What /v1/models reports about the model besides its descriptor. */
  readonly info: HostedModelInfo;
  /** Memoized plans, shared by every request for this model. */
  readonly plans: PlanTable;
  /** Largest accepted step request body, bytes. */
  readonly stepBodyLimit: number;
  /** Its bounds were read from the calibration file instead of calibrated at start-up. */
  readonly calibrationCached?: boolean;
}

export interface ClientTable {
  bytes: Uint8Array;
  /** Strong validator for caches: SHA-256 of `bytes`, hex. */
  sha256: string;
}

export interface PrepareRequest {
  spec: ModelSpec;
  preset: string;
  /** Workers one ciphertext group may be spread over (see DescribeOptions.parallelism); absent: prepareModel's default. */
  parallelism?: number;
  /** See PrepareModelOptions.autoParallelism. */
  autoParallelism?: number;
  /** See PrepareModelOptions.defaultParallelism. */
  defaultParallelism?: number;
  embedding: EmbeddingPlacement | 'auto';
}

export interface HostedModelInfo {
  architecture: string;
  parameters: number;
  vocabulary: { size: number; tokenizer: 'llama2c-bin' | 'hf-json' };
  format: string;
  /** File or folder name the model was loaded from. */
  source: string;
}

/** Where a model's preparation is; posted by the worker before its response. */
export interface PrepareProgress {
  type: 'progress';
  phase: 'loading' | 'calibrating';
  /** Of this phase, 0..1. */
  fraction: number;
}

export interface PrepareResponse {
  descriptor: EncryptedModelDescriptor;
  tokenizer: Uint8Array;
  clientTable?: ClientTable;
  /** Bounds came from the calibration file beside the model (see calibration-file-cache.ts). */
  calibrationCached: boolean;
  info: HostedModelInfo;
}

/** Parse and calibrate a model in a worker thread (see prepare-model-worker.ts). */
export function loadHostedModel(
  spec: ModelSpec,
  preset: string,
  parallelism?: number,
  embedding: EmbeddingPlacement | 'auto' = 'auto',
  onProgress?: (progress: PrepareProgress) => void,
  autoParallelism?: number,
  defaultParallelism?: number,
): Promise<HostedModel> {
  return new Promise((resolve, reject) => {
    const request: PrepareRequest = {
      spec,
      preset,
      embedding,
      ...(parallelism === undefined ? {} : { parallelism }),
      ...(autoParallelism === undefined ? {} : { autoParallelism }),
      ...(defaultParallelism === undefined ? {} : { defaultParallelism }),
    };
    const worker = new Worker(new URL('./prepare-model-worker.ts', import.meta.url), { workerData: request });
    let settled = false;
    worker.on('message', (message: PrepareResponse | PrepareProgress) => {
      if ('type' in message) return onProgress?.(message);
      const response = message;
      settled = true;
      const plans = new PlanTable(response.descriptor);
      const { descriptor, tokenizer, clientTable, info, calibrationCached } = response;
      resolve({ id: spec.id, spec, descriptor, tokenizer, ...(clientTable && { clientTable }), info, plans, stepBodyLimit: maxStepBodyBytes(descriptor, plans), calibrationCached });
      void worker.terminate();
    });
    worker.once('error', (error: Error) => {
      settled = true;
      reject(new Error(`cannot load model ${spec.id} (${spec.checkpoint}${spec.tokenizer ? `, ${spec.tokenizer}` : ''}): ${error.message}`, { cause: error }));
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`model ${spec.id}: preparation worker exited with code ${code}`));
    });
  });
}
