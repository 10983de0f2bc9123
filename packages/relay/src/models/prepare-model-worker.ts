// One-off worker thread: calibrating a model takes seconds of CPU, which
// would stall the event loop (and /healthz) if done on the main thread. The
// weights also never enter the main thread this way: only the descriptor
// and the tokenizer bytes come back.
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { prepareModel } from '@fhe-llm/core';
import { calibrationFileCache } from './calibration-file-cache.ts';
import { loadSplitModelPath, tokenizerForModel } from '@fhe-llm/core/node';
import type { PrepareProgress, PrepareRequest, PrepareResponse } from './hosted-model.ts';

const request = workerData as PrepareRequest;
const progress = (message: Omit<PrepareProgress, 'type'>) => parentPort?.postMessage({ type: 'progress', ...message } satisfies PrepareProgress);
progress({ phase: 'loading', fraction: 0 });
const loaded = loadSplitModelPath(request.spec.checkpoint);
progress({ phase: 'calibrating', fraction: 0 });
let reported = 0;
const tokenizer = tokenizerForModel(loaded, request.spec.tokenizer);
const prepared = await prepareModel({
  id: request.spec.id,
  weights: loaded.weights,
  tokenizer: tokenizer.bytes,
  preset: request.preset,
  ...(request.parallelism === undefined ? {} : { parallelism: request.parallelism }),
  ...(request.autoParallelism === undefined ? {} : { autoParallelism: request.autoParallelism }),
  ...(request.defaultParallelism === undefined ? {} : { defaultParallelism: request.defaultParallelism }),
  embedding: request.embedding,
  calibrationCache: calibrationFileCache(request.spec.checkpoint),
  // Every 5%: a large model calibrates for minutes, and /readyz and the logs should say how far it is.
  onCalibrationProgress: (done, total) => {
    const fraction = done / total;
    if (fraction - reported >= 0.05 || fraction === 1) progress({ phase: 'calibrating', fraction: (reported = fraction) });
  },
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
const table = prepared.schedule.clientTable;
const tableBytes = table ? new Uint8Array(table.slice().buffer) : undefined;
const clientTable = tableBytes && { bytes: tableBytes, sha256: createHash('sha256').update(tableBytes).digest('hex') };
parentPort?.postMessage(
  { descriptor: prepared.descriptor, tokenizer: tokenizer.bytes, ...(clientTable && { clientTable }), info, calibrationCached: prepared.calibrationCached } satisfies PrepareResponse,
  tableBytes ? [tableBytes.buffer] : [],
);
