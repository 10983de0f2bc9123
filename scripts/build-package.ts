/**
 * Build the package in the working directory for npm: JavaScript, .d.ts and
 * source maps into dist/ (tsc, tsconfig.build.json), then the few things tsc
 * leaves alone. Run by each package's `build` and `prepack` scripts; inside
 * the workspace nothing needs it (TypeScript runs directly).
 *
 *   node ../../scripts/build-package.ts [--model]
 *
 * --model copies the bundled stories260K (MIT) into the package's models/,
 * where the relay and the CLI look first for their default model.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = process.cwd();
const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

rmSync(join(packageDir, 'dist'), { recursive: true, force: true });
const compiled = spawnSync(process.execPath, [tsc, '-p', join(packageDir, 'tsconfig.build.json')], { stdio: 'inherit' });
if (compiled.status !== 0) process.exit(compiled.status ?? 1);

// tsc rewrites `.ts` in import specifiers but not in `new URL('./worker.ts', import.meta.url)`,
// the pattern bundlers (Vite, webpack) and Node use to find worker entry files.
const workerUrl = /(new URL\(\s*(['"])\.{1,2}\/[^'"]+)\.ts(\2)/g;
for (const file of readdirSync(join(packageDir, 'dist'), { recursive: true, encoding: 'utf8' })) {
  if (!file.endsWith('.js')) continue;
  const path = join(packageDir, 'dist', file);
  const text = readFileSync(path, 'utf8');
  const rewritten = text.replace(workerUrl, '$1.js$3');
  if (rewritten !== text) writeFileSync(path, rewritten);
}

// Every built file package.json's `exports` names (`@fhe-llm/core/client` and the
// like) must now exist: tsc builds all of src/, but a missing entry would only
// show in a consumer's bundler.
const targets = (value: unknown): string[] => (typeof value === 'string' ? [value] : value && typeof value === 'object' ? Object.values(value).flatMap(targets) : []);
const { exports } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { exports?: unknown };
const missing = targets(exports).filter((target) => target.startsWith('./dist/') && !existsSync(join(packageDir, target)));
if (missing.length) throw new Error(`package.json exports files the build did not write: ${missing.join(', ')}`);

if (process.argv.includes('--model')) {
  const target = join(packageDir, 'models', 'stories260K');
  rmSync(target, { recursive: true, force: true });
  for (const name of ['stories260K.bin', 'tok512.bin', 'README.md']) {
    const source = join(repoRoot, 'models', 'stories260K', name);
    if (!existsSync(source)) throw new Error(`missing ${source}`);
    cpSync(source, join(target, name));
  }
}
