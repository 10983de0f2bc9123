// npm run bench:demo [-- --tokens 48 --runs off,on --no-build --profile-dir DIR]
// The demo in Debian's Chromium (headless, the e2e launch flags) against
// `npm start`'s relay on this machine: one greedy story per run, speculation
// off or on, after an unmeasured warm-up story that makes the keys. Prints
// one JSON line per run: the page's own stats (tokens/s, tokens per pass,
// relay and client CPU per token) and the CPU each process group used while
// the story was written (Linux /proc), to see who competes for the cores.
// The page is driven over the bare DevTools protocol (cdp-page.ts), not
// Playwright, whose network instrumentation costs more than the page.
// --profile-dir writes, per measured story, the page's main-thread CPU
// profile (.cpuprofile, DevTools) and a Chromium trace of all processes
// (.json, Perfetto or chrome://tracing); both slow the page down.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { chromiumArgs, chromiumPath, nodeBin, repoRoot, startScript } from '../../../e2e/support/env.ts';
import { rotationMs } from '../../../packages/core/bench/machine-speed.ts';
import { CdpPage } from './cdp-page.ts';

const { values } = parseArgs({
  options: {
    tokens: { type: 'string', default: '48' },
    runs: { type: 'string', default: 'off,on' },
    prompt: { type: 'string', default: 'Once upon a time' },
    'no-build': { type: 'boolean', default: false },
    // Write each measured story's main-thread CPU profile and Chromium trace here (see the header).
    'profile-dir': { type: 'string' },
  },
});

const port = await new Promise<number>((resolve) => {
  const server = createServer().listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    server.close(() => resolve(port));
  });
});
const url = `http://127.0.0.1:${port}/`;
const server = spawn(nodeBin, [startScript, '--port', String(port), ...(values['no-build'] ? ['--no-build'] : [])], {
  cwd: repoRoot,
  detached: true,
  stdio: ['ignore', 'ignore', 'inherit'],
  env: { ...process.env, FHE_LLM_LOG_LEVEL: 'warn' },
});
const stopServer = () => {
  try {
    process.kill(-server.pid!, 'SIGTERM');
  } catch {
    // already gone
  }
};

/** CPU seconds used so far by each group of this process's descendants. */
function cpuByGroup(): Record<string, number> {
  const parent = new Map<number, number>();
  const ticks = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(name), Number(fields[1]));
      ticks.set(Number(name), Number(fields[11]) + Number(fields[12]));
    } catch {
      // exited meanwhile
    }
  }
  const groups: Record<string, number> = {};
  for (const [pid, t] of ticks) {
    let p = pid;
    while (p > 1 && p !== process.pid) p = parent.get(p) ?? 0;
    if (p !== process.pid) continue;
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    const group = cmd.includes('fhe-llm-relay')
      ? 'relay'
      : /chrom/i.test(cmd)
        ? (/--type=([a-z-]+)/.exec(cmd)?.[1] ?? 'browser').replace('gpu-process', 'gpu')
        : cmd.includes('start.ts')
          ? 'launcher'
          : 'other';
    groups[group] = (groups[group] ?? 0) + t / 100;
  }
  return groups;
}

/** Set the form as a visitor would (input and change events), without Playwright. */
function fillForm(prompt: string, tokens: number, speculative: boolean): string {
  return `(() => {
    const byId = (id) => document.querySelector('[data-testid="' + id + '"]');
    const type = (id, value) => {
      const el = byId(id);
      Object.getOwnPropertyDescriptor(Object.getPrototypeOf(el), 'value').set.call(el, value);
      el.dispatchEvent(new Event('input', { bubbles: true }));
      el.dispatchEvent(new Event('change', { bubbles: true }));
    };
    type('prompt', ${JSON.stringify(prompt)});
    type('max-tokens', ${JSON.stringify(String(tokens))});
    const box = byId('speculative');
    if (box.checked !== ${speculative}) box.click();
  })()`;
}

/** CPU milliseconds used so far by each named thread of Chromium's renderer processes (main thread, the crypto worker, compositor, ...). */
function rendererThreads(): Record<string, number> {
  const threads: Record<string, number> = {};
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (!readFileSync(`/proc/${name}/cmdline`, 'utf8').includes('--type=renderer')) continue;
      for (const task of readdirSync(`/proc/${name}/task`)) {
        const comm = readFileSync(`/proc/${name}/task/${task}/comm`, 'utf8').trim();
        const stat = readFileSync(`/proc/${name}/task/${task}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        threads[comm] = (threads[comm] ?? 0) + (Number(fields[11]) + Number(fields[12])) * 10;
      }
    } catch {
      // exited meanwhile
    }
  }
  return threads;
}

async function story(page: CdpPage, tokens: number, speculative: boolean): Promise<Record<string, unknown>> {
  await page.evaluate(fillForm(values.prompt, tokens, speculative));
  const cpuBefore = cpuByGroup();
  const threadsBefore = rendererThreads();
  const started = performance.now();
  await page.evaluate(`document.querySelector('[data-testid="generate"]').click()`);
  // The status leaves "Done" as soon as the story starts.
  await page.waitForText('status', /^(?!Done)/, 30_000);
  await page.waitForText('status', /^Done/, 15 * 60_000);
  const seconds = (performance.now() - started) / 1000;
  const cpuAfter = cpuByGroup();
  const threadsAfter = rendererThreads();
  const stats = await page.evaluate<Record<string, string>>(
    `Object.fromEntries([...document.querySelectorAll('[data-testid="stats"] [data-stat]')].map((dd) => [dd.dataset.stat, dd.textContent ?? '']))`,
  );
  const n = Number(stats.tokens);
  const used = (g: string) => cpuAfter[g] - (cpuBefore[g] ?? 0);
  const groups = Object.keys(cpuAfter).filter((g) => used(g) > 0);
  return {
    speculative,
    tokens: n,
    wall_s: Number(seconds.toFixed(1)),
    page: stats,
    // CPU the OS charged to each process group while the story was written, per token and as a share of one core.
    cpu_ms_per_token: Object.fromEntries(groups.map((g) => [g, Math.round((1000 * used(g)) / n)])),
    cores_busy: Object.fromEntries(groups.map((g) => [g, Number((used(g) / seconds).toFixed(2))])),
    // The renderer's CPU per token by thread: its main thread (the page, the model's client side) apart from the crypto worker.
    renderer_threads_ms_per_token: Object.fromEntries(
      Object.keys(threadsAfter)
        .map((t) => [t, Math.round((threadsAfter[t] - (threadsBefore[t] ?? 0)) / n)] as const)
        .filter(([, ms]) => ms > 0),
    ),
  };
}

try {
  const deadline = Date.now() + 240_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error('the demo server exited');
    if (Date.now() > deadline) throw new Error('the demo server was not ready in 4 minutes');
    try {
      if ((await fetch(new URL('/readyz', url))).ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const page = await CdpPage.launch(chromiumPath, chromiumArgs);
  try {
    await page.goto(url);
    await page.waitForText('status', /^Ready/, 120_000);
    await story(page, 4, false); // keys, session and the first plans: not measured
    for (const run of values.runs.split(',')) {
      // This machine's speed just before and after the story (machine-speed.ts; the page idle): it drifts within minutes.
      const before = await rotationMs();
      const profileDir = values['profile-dir'];
      if (profileDir) {
        await page.startProfiling();
        await page.startTracing(['devtools.timeline', 'disabled-by-default-devtools.timeline', 'blink', 'cc', 'loading', 'v8']);
      }
      const result = await story(page, Number(values.tokens), run === 'on');
      if (profileDir) {
        mkdirSync(profileDir, { recursive: true });
        writeFileSync(join(profileDir, `demo-main-thread-spec-${run}.cpuprofile`), JSON.stringify(await page.stopProfiling()));
        writeFileSync(join(profileDir, `demo-trace-spec-${run}.json`), JSON.stringify({ traceEvents: await page.stopTracing() }));
      }
      console.log(JSON.stringify({ kind: 'demo-chromium', machine_rotate_ms: { before, after: await rotationMs() }, ...result }));
    }
  } finally {
    await page.close();
  }
} finally {
  stopServer();
}
