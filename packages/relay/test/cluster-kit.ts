// Test and benchmark support: a throwaway redis-server and relay processes
// (the real bin) on loopback, each on its own free port.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../bin/fhe-llm-relay.js', import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** PING over a raw socket: true once the server answers +PONG. */
function redisPongs(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} not up after ${timeoutMs} ms`);
}

/** redis-server without persistence in a temp dir; stop() and start() again keep the port (and lose the data). */
export class RedisServer {
  readonly port: number;
  readonly dir = mkdtempSync(join(tmpdir(), 'fhe-llm-redis-'));
  #child: ChildProcess | undefined;

  constructor(port: number) {
    this.port = port;
  }

  static async start(): Promise<RedisServer> {
    const server = new RedisServer(await freePort());
    await server.start();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir];
    const child = spawn(process.env.REDIS_SERVER ?? 'redis-server', args, { stdio: 'ignore' });
    this.#child = child;
    const failed = new Promise<never>((_, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}`)));
    });
    failed.catch(() => {});
    await Promise.race([waitFor('redis-server', () => redisPongs(this.port), 10_000), failed]);
  }

  /** SIGKILL, as a crash looks. */
  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** `fhe-llm-relay` in a child process; start() resolves once /readyz answers 200 (any log level). */
export class RelayProcess {
  readonly port: number;
  readonly args: string[];
  readonly env: Record<string, string>;
  logs: string[] = [];
  #child: ChildProcess | undefined;

  constructor(port: number, args: string[] = [], env: Record<string, string> = {}) {
    this.port = port;
    this.args = args;
    this.env = env;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  async start(timeoutMs = 60_000): Promise<void> {
    // Flags given later win, so `args` may override the log level.
    const child = spawn(process.execPath, [bin, '--port', String(this.port), '--log-level', 'info', ...this.args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...this.env },
    });
    this.#child = child;
    const keep = (line: string) => {
      if (this.logs.length > 2_000) this.logs.splice(0, 1_000);
      this.logs.push(line);
    };
    createInterface({ input: child.stdout! }).on('line', keep);
    createInterface({ input: child.stderr! }).on('line', keep);
    const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`relay on ${this.port} exited with ${code}:\n${this.logs.slice(-20).join('\n')}`))));
    exited.catch(() => {});
    const ready = async () => (await fetch(`${this.url}/readyz`).catch(() => undefined))?.status === 200;
    await Promise.race([waitFor(`relay on ${this.port}`, ready, timeoutMs), exited]);
  }

  /** SIGKILL (no draining) by default, as a crash or an OOM kill looks to clients. */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill(signal);
    return exited;
  }

  /** Resident memory of the whole process (workers included), bytes; 0 when gone. */
  rss(): number {
    try {
      return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.#child?.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    } catch {
      return 0;
    }
  }
}
