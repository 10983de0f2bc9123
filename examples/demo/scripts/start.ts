/**
 * `npm start`: build the demo page with Vite into examples/demo/dist, then run
 * the relay with the bundled stories260K serving that page and the API on one
 * origin, and print the address once the relay is ready.
 *
 *   node examples/demo/scripts/start.ts [--port 8080] [--host 127.0.0.1] [--no-build] [-- relay flags...]
 *
 * The port also comes from FHE_LLM_PORT (the relay's own variable). Ctrl-C
 * stops the relay. The e2e tests start the same script.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const demoDir = fileURLToPath(new URL('..', import.meta.url));
const distDir = fileURLToPath(new URL('../dist', import.meta.url));
const relayBin = fileURLToPath(new URL('../../../packages/relay/bin/fhe-llm-relay.js', import.meta.url));

const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  allowPositionals: true,
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    'no-build': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  process.stdout.write('Usage: node examples/demo/scripts/start.ts [--port 8080] [--host 127.0.0.1] [--no-build] [-- relay flags...]\n');
  process.exit(0);
}

const port = Number(values.port ?? process.env.FHE_LLM_PORT ?? 8080);
const host = values.host ?? process.env.FHE_LLM_HOST ?? '127.0.0.1';
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write(`start: --port must be 1-65535, got ${values.port ?? process.env.FHE_LLM_PORT}\n`);
  process.exit(2);
}

if (!values['no-build']) {
  const { build } = await import('vite');
  await build({ configFile: fileURLToPath(new URL('../vite.config.ts', import.meta.url)), root: demoDir, logLevel: 'warn' });
  process.stdout.write(`start: built the demo into ${distDir}\n`);
}
if (!existsSync(`${distDir}/index.html`)) {
  process.stderr.write(`start: ${distDir}/index.html is missing; run without --no-build\n`);
  process.exit(1);
}

const relay = spawn(process.execPath, [relayBin, '--static', distDir, '--host', host, '--port', String(port), ...positionals], {
  stdio: 'inherit',
  env: process.env,
});

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    stopping = true;
    if (relay.exitCode === null) relay.kill(signal);
  });
}
relay.on('exit', (code, signal) => {
  if (!stopping && code !== 0) process.stderr.write(`start: the relay exited (${signal ?? `code ${code}`})\n`);
  process.exit(code ?? (signal ? 1 : 0));
});

// Print the address once the relay answers /readyz (the model is loaded and planned by then).
const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
const url = `http://${shown}:${port}/`;
const deadline = Date.now() + 180_000;
while (relay.exitCode === null && Date.now() < deadline) {
  try {
    const response = await fetch(new URL('/readyz', url), { signal: AbortSignal.timeout(2000) });
    if (response.ok) {
      process.stdout.write(`\n  fhe-llm demo ready: ${url}\n  (stories260K; Ctrl-C to stop)\n\n`);
      break;
    }
  } catch {
    // not listening yet
  }
  await new Promise((resolve) => setTimeout(resolve, 250));
}
