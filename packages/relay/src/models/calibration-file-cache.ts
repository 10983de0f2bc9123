import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { CalibrationCache, StepBounds } from '@fhe-llm/core';

/**
 * Calibrated bounds in a JSON file beside the model (`<model>.fhe-llm-bounds.json`),
 * or in the temp directory when the model's folder is read-only (a container
 * image). The file names its key, so a changed model or setting recalibrates.
 * Writes go to a temp file and are renamed, so replicas sharing a volume never
 * read half a file. Any failure just means calibrating again.
 */
export function calibrationFileCache(modelPath: string, onWrite?: (path: string) => void): CalibrationCache {
  const beside = `${modelPath}.fhe-llm-bounds.json`;
  const fallback = join(tmpdir(), 'fhe-llm-calibration', `${basename(modelPath)}.fhe-llm-bounds.json`);
  return {
    async read(key) {
      for (const path of [beside, fallback]) {
        try {
          const stored = JSON.parse(readFileSync(path, 'utf8')) as { key?: unknown; bounds?: unknown };
          if (stored.key === key) return stored.bounds as StepBounds[];
        } catch {
          // missing or unreadable: try the next place, then calibrate
        }
      }
      return undefined;
    },
    async write(key, bounds) {
      const body = JSON.stringify({ key, bounds }, null, 1);
      for (const path of [beside, fallback]) {
        try {
          mkdirSync(dirname(path), { recursive: true });
          const temp = `${path}.${process.pid}.tmp`;
          writeFileSync(temp, body);
          renameSync(temp, path);
          onWrite?.(path);
          return;
        } catch {
          // read-only: try the next place
        }
      }
    },
  };
}
