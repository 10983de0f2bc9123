// One-off worker thread: calibrating a model takes seconds of CPU, which
// would stall the event loop (and /healthz) if done on the main thread. The
// weights also never enter the main thread this way: only the descriptor
// and the tokenizer bytes come back.
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { prepareModel } from '@fhe-llm/core';
import { calibrationFileCache } from './calibration-file-cache.ts';
import type { PrepareRequest, PrepareResponse } from './hosted-model.ts';

const request = workerData as PrepareRequest;
const tokenizer = new Uint8Array(readFileSync(request.spec.tokenizer));
const prepared = await prepareModel({
  id: request.spec.id,
  checkpoint: new Uint8Array(readFileSync(request.spec.checkpoint)),
  tokenizer,
  preset: request.preset,
  parallelism: request.parallelism,
  calibrationCache: calibrationFileCache(request.spec.checkpoint),
});
parentPort?.postMessage({ descriptor: prepared.descriptor, tokenizer, calibrationCached: prepared.calibrationCached } satisfies PrepareResponse);
