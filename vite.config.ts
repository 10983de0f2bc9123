// `vite` / `vite build` from the repository root work on the demo page;
// its real config (root, worker format, node-seal's wasm, relay proxy) lives beside it.
export { default } from './examples/demo/vite.config.ts';
