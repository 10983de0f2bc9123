import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultClientConditions, defineConfig, type Plugin } from 'vite';
import { SOURCE_CONDITION } from '../../scripts/source-condition.ts';

/**
 * The demo page. `vite` serves it for development (proxying the relay's API
 * to FHE_LLM_RELAY, default http://127.0.0.1:8080); `vite build` writes
 * examples/demo/dist, which `npm start` hands to the relay's `--static`.
 *
 * FHE_LLM_DEMO_MOCK=1 swaps the SDK for an in-page fake (no relay, no
 * crypto) to work on the page's look alone; never used by `npm start`.
 */
const demoRoot = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = join(demoRoot, '..', '..');
const relay = process.env.FHE_LLM_RELAY ?? 'http://127.0.0.1:8080';
const mock = process.env.FHE_LLM_DEMO_MOCK === '1';
const relayPaths = ['/v1', '/readyz', '/healthz', '/metrics'];

/**
 * node-seal's entry always passes `locateFile: p => new URL(p, import.meta.url)`,
 * so once bundled it fetches `seal_throws.wasm` beside the chunk that holds it
 * (assets/), unhashed. `sealAssetName` keeps the copy Vite emits for the
 * literal `new URL("seal_throws.wasm", import.meta.url)` at that name; this
 * plugin only steps in should that copy ever be missing.
 */
function sealWasmBesideChunks(): Plugin {
  return {
    name: 'fhe-llm:seal-wasm',
    apply: 'build',
    async generateBundle(_options, bundle) {
      const fileName = 'assets/seal_throws.wasm';
      if (fileName in bundle) return;
      const entry = await this.resolve('node-seal', join(demoRoot, 'index.html'));
      if (!entry) this.error('cannot resolve node-seal to copy seal_throws.wasm');
      this.emitFile({ type: 'asset', fileName, source: await readFile(join(dirname(entry.id), 'seal_throws.wasm')) });
    },
  };
}

const sealAssetName = (info: { names: string[] }): string => (info.names.includes('seal_throws.wasm') ? 'assets/seal_throws.wasm' : 'assets/[name]-[hash][extname]');

export default defineConfig({
  root: demoRoot,
  base: '/',
  clearScreen: false,
  plugins: [sealWasmBesideChunks()],
  resolve: {
    // The workspace's @fhe-llm/* packages from their TypeScript sources (no build step).
    conditions: [SOURCE_CONDITION, ...defaultClientConditions],
    alias: mock ? { '@fhe-llm/sdk': join(demoRoot, 'src/dev/mock-sdk.ts') } : {},
  },
  // The SDK's crypto worker is an ES module worker (it imports node-seal, an ES module).
  worker: { format: 'es', rolldownOptions: { output: { assetFileNames: sealAssetName } } },
  // Pre-bundling moves node-seal into .vite/deps, where `new URL('seal_throws.wasm',
  // import.meta.url)` no longer finds the wasm; serve it as is.
  optimizeDeps: { exclude: ['node-seal', '@fhe-llm/sdk', '@fhe-llm/core'] },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // SEAL's glue code alone is ~80 kB and the wasm 1.2 MB: no point warning.
    chunkSizeWarningLimit: 2048,
    rolldownOptions: { output: { assetFileNames: sealAssetName } },
  },
  server: {
    host: '127.0.0.1',
    port: 5173,
    proxy: Object.fromEntries(relayPaths.map((path) => [path, { target: relay, changeOrigin: false }])),
    fs: { allow: [repoRoot] },
  },
  preview: {
    host: '127.0.0.1',
    proxy: Object.fromEntries(relayPaths.map((path) => [path, { target: relay, changeOrigin: false }])),
  },
});
