import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { nodeBin, repoRoot, startScript } from './env.ts';

export interface DemoServer {
  url: string;
  port: number;
  /** Stops the relay (SIGTERM to its process group) and waits until it exited. Idempotent. */
  stop(): Promise<void>;
  log(): string;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

/**
 * A second relay + demo, started the way `npm start` does but without
 * building again (the webServer already built examples/demo/dist).
 */
export async function startDemoServer(timeoutMs = 180_000): Promise<DemoServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const child = spawn(nodeBin, [startScript, '--no-build', '--port', String(port)], {
    cwd: repoRoot,
    detached: true, // own process group: stop() ends the script and the relay it started, nothing else
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FHE_LLM_LOG_LEVEL: process.env.FHE_LLM_LOG_LEVEL ?? 'warn' },
  });
  let output = '';
  child.stdout?.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (output += b.toString()));
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async () => {
    if (exited(child) || child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    const timer = setTimeout(() => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 10_000);
    await gone;
    clearTimeout(timer);
  };

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited(child)) throw new Error(`the second relay exited before it was ready:\n${output}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the second relay was not ready within ${timeoutMs} ms:\n${output}`);
    }
    try {
      const response = await fetch(new URL('/readyz', url), { signal: AbortSignal.timeout(2_000) });
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { url, port, stop, log: () => output };
}
