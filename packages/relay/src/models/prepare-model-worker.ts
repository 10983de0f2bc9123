// One-off worker thread: calibrating a model takes seconds of CPU, which
// would stall the event loop (and /healthz) if done on the main thread. The
// weights also never enter the main thread this way: only the descriptor
// and the tokenizer bytes come back.
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { prepareModel } from '@fhe-llm/core';
import { calibrationFileCache } from './calibration-file-cache.ts';
import { loadModelPath, tokenizerForModel } from '@fhe-llm/core/node';
import type { PrepareRequest, PrepareResponse } from './hosted-model.ts';

const request = workerData as PrepareRequest;
const loaded = loadModelPath(request.spec.checkpoint);
const tokenizer = tokenizerForModel(loaded, request.spec.tokenizer);
const prepared = await prepareModel({
  id: request.spec.id,
  weights: loaded.weights,
  tokenizer: tokenizer.bytes,
  preset: request.preset,
  parallelism: request.parallelism,
  embedding: request.embedding,
  calibrationCache: calibrationFileCache(request.spec.checkpoint),
});
const info = {
  architecture: loaded.architecture,
  parameters: loaded.parameterCount,
  vocabulary: { size: loaded.weights.config.vocabSize, tokenizer: tokenizer.kind },
  format: loaded.format,
  // The file or folder name only: the relay's directory layout stays private.
  source: basename(loaded.source),
};
// Only the table leaves this thread, copied out of the checkpoint's buffer
// (little-endian, as every platform Node runs on) and moved, not cloned.
const table = prepared.schedule.clientEmbedding;
const tableBytes = table ? new Uint8Array(table.slice().buffer) : undefined;
const embeddingTable = tableBytes && { bytes: tableBytes, sha256: createHash('sha256').update(tableBytes).digest('hex') };
parentPort?.postMessage(
  { descriptor: prepared.descriptor, tokenizer: tokenizer.bytes, ...(embeddingTable && { embeddingTable }), info, calibrationCached: prepared.calibrationCached } satisfies PrepareResponse,
  tableBytes ? [tableBytes.buffer] : [],
);
