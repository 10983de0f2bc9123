// Test support: a real relay process on loopback that can be killed and
// restarted on the same port. RELAY_NODE_ARGS (space-separated) goes to
// Node before the relay's script, for profiling (--trace-gc, --cpu-prof).
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createClient, type FheLlmClient } from '../src/index.ts';

const bin = new URL('../../relay/bin/fhe-llm-relay.js', import.meta.url).pathname;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

export class RelayProcess {
  readonly port: number;
  readonly args: string[];
  #child: ChildProcess | undefined;
  log = '';

  constructor(port: number, args: string[] = []) {
    this.port = port;
    this.args = args;
  }

  /** The running relay's process id (for benchmarks that read its CPU time). */
  get pid(): number | undefined {
    return this.#child?.exitCode === null ? this.#child.pid : undefined;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(timeoutMs = 120_000): Promise<void> {
    const child = spawn(
      process.execPath,
      [...(process.env.RELAY_NODE_ARGS ?? '').split(' ').filter(Boolean), bin, '--port', String(this.port), '--workers', '2', '--log-level', 'warn', ...this.args],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.on('data', (d) => (this.log += d));
    child.stderr!.on('data', (d) => (this.log += d));
    this.#child = child;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`relay exited with ${child.exitCode}:\n${this.log}`);
      try {
        if ((await fetch(`${this.url}/readyz`)).ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`relay not ready after ${timeoutMs} ms:\n${this.log}`);
  }

  /** SIGKILL: no draining, the way a crash or an OOM kill looks to clients. */
  async kill(signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
  }

  /** The end of a test or benchmark: SIGKILL, or SIGTERM when RELAY_NODE_ARGS is set (a relay run with --cpu-prof writes its profiles only when it exits by itself). */
  end(): Promise<void> {
    return this.kill(process.env.RELAY_NODE_ARGS ? 'SIGTERM' : 'SIGKILL');
  }
}

/** A relay process with `args` and an SDK client on it (keys in memory), both ready; close() ends both. */
export async function relayWithClient(args: string[] = []): Promise<{ relay: RelayProcess; client: FheLlmClient; close(): Promise<void> }> {
  const relay = new RelayProcess(await freePort(), args);
  await relay.start();
  const client = createClient({ relayUrl: relay.url, storage: 'memory', retries: 6 });
  await client.ready;
  return {
    relay,
    client,
    async close() {
      await client.close();
      await relay.end();
    },
  };
}
