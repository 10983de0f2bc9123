/**
 * The packages as a stranger gets them: `npm pack` tarballs only, installed
 * into a temporary project outside the workspace (its other dependencies,
 * vite and typescript, come from the npm registry).
 *
 *  1. Vite: app/ (the vanilla-ts template's files) imports @fhe-llm/sdk and
 *     builds with `tsc && vite build`, default settings.
 *  2. The relay from the @fhe-llm/relay tarball (`npx fhe-llm-relay`, its
 *     bundled stories260K) serves that build with `--static`.
 *  3. Chromium (Debian's, never a downloaded one) opens it and generates
 *     greedily; the text must be llama2.c's reference story.
 *  4. Node: app/generate.mjs imports the SDK and generates the same way.
 *
 *   node scripts/package-consumer/run.ts   (npm run test:package)
 *
 * Environment: FHE_LLM_CONSUMER_TOKENS (default 16), FHE_LLM_CONSUMER_KEEP=1
 * keeps the temp directory, FHE_LLM_CHROMIUM (default /usr/bin/chromium).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from '@playwright/test';
import { chromiumArgs, chromiumPath, repoRoot } from '../../e2e/support/env.ts';
import { expectedGreedyOutput, referenceCase } from '../../e2e/support/reference.ts';
import { SOURCE_FLAG } from '../source-condition.ts';

const PACKAGES = ['core', 'sdk', 'relay'];
const tokens = Number(process.env.FHE_LLM_CONSUMER_TOKENS ?? 16);
const keep = process.env.FHE_LLM_CONSUMER_KEEP === '1';
const appTemplate = fileURLToPath(new URL('./app/', import.meta.url));
const started = performance.now();

function log(message: string): void {
  process.stdout.write(`[package-consumer ${((performance.now() - started) / 1000).toFixed(0)}s] ${message}\n`);
}

/**
 * The environment of a process outside the workspace: this Node first on PATH
 * (node-seal needs >= 22), no source condition, and none of the variables
 * `npm run` sets that would point npm back at the workspace.
 */
function outsideEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  const workspaceOnly = /^(npm_package_|npm_lifecycle_|npm_config_(local_prefix|prefix|global_prefix|globalconfig|call)$|npm_command$|INIT_CWD$)/;
  for (const [key, value] of Object.entries(process.env)) if (!workspaceOnly.test(key)) env[key] = value;
  env.PATH = [dirname(process.execPath), process.env.PATH].join(delimiter);
  const options = (process.env.NODE_OPTIONS ?? '').split(/\s+/).filter((o) => o && o !== SOURCE_FLAG);
  if (options.length) env.NODE_OPTIONS = options.join(' ');
  else delete env.NODE_OPTIONS;
  return env;
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = outsideEnv()): string {
  const out = spawnSync(command, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (out.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} (in ${cwd}) exited ${out.status ?? out.signal}\n${out.stdout}\n${out.stderr}`);
  }
  return out.stdout;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function waitReady(url: string, relay: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 4 * 60_000;
  while (Date.now() < deadline) {
    if (relay.exitCode !== null) throw new Error(`the relay exited ${relay.exitCode}\n${output()}`);
    const ok = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`the relay was not ready within 4 minutes\n${output()}`);
}

function expectEqual(what: string, got: string, expected: string): void {
  if (got !== expected) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`);
  log(`${what}: ${JSON.stringify(got)}`);
}

async function main(): Promise<void> {
  const reference = referenceCase('Once upon a time');
  const expected = expectedGreedyOutput(reference, tokens);
  const work = mkdtempSync(join(tmpdir(), 'fhe-llm-consumer-'));
  let relay: ChildProcess | undefined;
  try {
    // npm pack runs each package's prepack (the build) and packs exactly what `files` lets through.
    const tarballs = join(work, 'tarballs');
    mkdirSync(tarballs);
    log('npm pack');
    run('npm', ['pack', '--silent', '--pack-destination', tarballs, ...PACKAGES.flatMap((p) => ['-w', `packages/${p}`])], repoRoot);
    const files = readdirSync(tarballs).filter((f) => f.endsWith('.tgz'));
    if (files.length !== PACKAGES.length) throw new Error(`expected ${PACKAGES.length} tarballs, got ${files.join(', ')}`);

    const app = join(work, 'app');
    cpSync(appTemplate, app, { recursive: true });
    const { devDependencies } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    log('npm install (tarballs by path; vite and typescript from the registry)');
    run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...files.map((f) => join(tarballs, f)), `vite@${devDependencies.vite}`, `typescript@${devDependencies.typescript}`], app);

    log('tsc && vite build');
    log(run('npm', ['run', 'build', '--silent'], app).trim().split('\n').slice(-6).join('\n'));

    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    let relayOutput = '';
    relay = spawn('npx', ['--no-install', 'fhe-llm-relay', '--port', String(port), '--static', join(app, 'dist'), '--log-level', 'warn'], {
      cwd: app,
      env: outsideEnv(),
      // Its own process group: npx, npm and the relay's node are stopped together.
      detached: true,
    });
    relay.stdout!.on('data', (d) => void (relayOutput += d));
    relay.stderr!.on('data', (d) => void (relayOutput += d));
    log(`npx fhe-llm-relay on ${origin}`);
    await waitReady(origin, relay, () => relayOutput);

    log(`Chromium (${chromiumPath}): ${tokens} greedy tokens`);
    const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, headless: true });
    try {
      const page = await browser.newPage();
      const pageErrors: string[] = [];
      page.on('pageerror', (e) => pageErrors.push(String(e)));
      page.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()));
      await page.goto(`${origin}/?tokens=${tokens}&prompt=${encodeURIComponent(reference.prompt)}`);
      await page.locator('#app[data-state]').waitFor({ timeout: 10 * 60_000 });
      const state = await page.locator('#app').getAttribute('data-state');
      const text = (await page.locator('#app').textContent()) ?? '';
      if (state !== 'done') throw new Error(`the page failed: ${text}\n${pageErrors.join('\n')}`);
      expectEqual('Chromium', text, expected);
    } finally {
      await browser.close();
    }

    log(`Node: ${tokens} greedy tokens`);
    const node = JSON.parse(run(process.execPath, ['generate.mjs', origin, reference.prompt, String(tokens)], app)) as { text: string };
    expectEqual('Node', node.text, expected);

    // The installed relay (built dist/, node-seal from the app's node_modules) reaches SEAL's memory:
    // it adds sums of products in place and sums rotations with shared key switches, rather than
    // silently falling back to SEAL's products and rotations.
    const metrics = await (await fetch(`${origin}/metrics`)).text();
    const counted = (name: string, path: string) => Number(new RegExp(`${name}\\{path="${path}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
    const kernel = counted('fhe_relay_plain_products_total', 'kernel');
    if (!(kernel > 0)) throw new Error(`the relay added no products in place (fhe_relay_plain_products_total{path="kernel"} ${kernel})`);
    log(`relay products added in place: ${kernel}`);
    const summed = counted('fhe_relay_rotations_total', 'kernel');
    if (!(summed > 0)) throw new Error(`the relay made no rotation with a shared key switch (fhe_relay_rotations_total{path="kernel"} ${summed})`);
    log(`relay rotations with shared key switches: ${summed}, by SEAL: ${counted('fhe_relay_rotations_total', 'seal')}`);
    log('passed');
  } finally {
    if (relay && relay.exitCode === null) {
      const exited = new Promise((r) => relay!.once('exit', r));
      process.kill(-relay.pid!, 'SIGTERM');
      await exited;
    }
    if (keep) log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`[package-consumer] FAILED: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
