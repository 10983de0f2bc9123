import type { LlamaConfig } from './checkpoint.ts';

/**
 * One sequence's keys and values on the client, in Float64 (the client's
 * arithmetic), laid out [layer][position][kvDim]. `length` counts the
 * positions that hold valid entries: a forward call may start at any
 * startPos <= length (equal: append; smaller: rewind and overwrite).
 */
export class SplitKvCache {
  readonly seqLen: number;
  readonly kvDim: number;
  readonly keys: Float64Array;
  readonly values: Float64Array;
  length = 0;

  constructor(config: LlamaConfig) {
    this.seqLen = config.seqLen;
    this.kvDim = config.kvDim;
    this.keys = new Float64Array(config.nLayers * config.seqLen * config.kvDim);
    this.values = new Float64Array(config.nLayers * config.seqLen * config.kvDim);
  }

  /** Offset of (layer, pos) in keys/values. */
  offset(layer: number, pos: number): number {
    return (layer * this.seqLen + pos) * this.kvDim;
  }

  /** Forget everything (e.g. to start a new conversation). */
  clear(): void {
    this.length = 0;
  }
}
