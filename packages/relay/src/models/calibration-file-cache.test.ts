import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { calibrationFileCache } from './calibration-file-cache.ts';

const bounds = [{ input: 1, output: 2, inputNorm: 3 }];
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'fhe-llm-cal-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) {
    rmSync(d, { recursive: true, force: true });
  }
});

describe('calibration file cache', () => {
  it('writes beside the model and reads back only under the same key', async () => {
    const model = join(tempDir(), 'model.bin');
    writeFileSync(model, 'x');
    const written: string[] = [];
    const cache = calibrationFileCache(model, (p) => written.push(p));
    expect(await cache.read('k1')).toBeUndefined();
    await cache.write('k1', bounds);
    expect(written).toEqual([`${model}.fhe-llm-bounds.json`]);
    expect(JSON.parse(readFileSync(written[0], 'utf8')).key).toBe('k1');
    expect(await cache.read('k1')).toEqual(bounds);
    expect(await cache.read('k2')).toBeUndefined();
  });

  it('falls back to the temp directory when the model folder is read-only, and ignores garbage', async () => {
    // Root writes through chmod, so a file where the model's folder should be makes that place unwritable.
    const dir = tempDir();
    const model = join(dir, 'blocked', 'model.bin');
    writeFileSync(join(dir, 'blocked'), 'a file, not a folder');
    const written: string[] = [];
    const cache = calibrationFileCache(model, (p) => written.push(p));
    await cache.write('k', bounds);
    expect(written).toHaveLength(1);
    expect(written[0].startsWith(tmpdir())).toBe(true);
    expect(written[0]).not.toContain('blocked/');
    expect(await cache.read('k')).toEqual(bounds);
    writeFileSync(written[0], '{not json');
    expect(await cache.read('k')).toBeUndefined();
    rmSync(written[0]);
    expect(existsSync(written[0])).toBe(false);
  });
});
