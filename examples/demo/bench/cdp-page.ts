// A headless Chromium page driven over the bare DevTools protocol, for
// bench:demo. Only the Runtime domain is used (and Profiler and Tracing
// when asked to profile): Playwright enables the
// Network domain on every page, and Chromium then reports each request to it
// with its body (1.2 MB per stories260K token), which cost the browser
// process about 190 ms of CPU per token and the page a quarter of its speed.
// What this measures is what a visitor's browser does.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class CdpPage {
  readonly #browser: ChildProcess;
  readonly #profile: string;
  readonly #socket: WebSocket;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #nextId = 0;
  #trace: object[] = [];
  #traceDone: (() => void) | undefined;

  private constructor(browser: ChildProcess, profile: string, socket: WebSocket) {
    this.#browser = browser;
    this.#profile = profile;
    this.#socket = socket;
    socket.addEventListener('message', (event) => {
      const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown; error?: { message: string } };
      if (message.id === undefined) {
        const event = message as { method?: string; params?: { value?: object[] } };
        if (event.method === 'Tracing.dataCollected') this.#trace.push(...(event.params?.value ?? []));
        if (event.method === 'Tracing.tracingComplete') this.#traceDone?.();
        return;
      }
      const waiter = this.#pending.get(message.id);
      if (!waiter) return;
      this.#pending.delete(message.id!);
      if (message.error) waiter.reject(new Error(message.error.message));
      else waiter.resolve(message.result);
    });
  }

  /** Start Chromium headless with `args` and attach to its first page. */
  static async launch(executablePath: string, args: readonly string[]): Promise<CdpPage> {
    const profile = mkdtempSync(join(tmpdir(), 'fhe-llm-bench-chromium-'));
    const port = 9300 + Math.floor(Math.random() * 600);
    const browser = spawn(executablePath, ['--headless=new', ...args, `--remote-debugging-port=${port}`, `--user-data-dir=${profile}`, '--window-size=1280,900', 'about:blank'], {
      stdio: 'ignore',
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as { type: string; webSocketDebuggerUrl: string }[];
        const page = targets.find((t) => t.type === 'page');
        if (page) {
          const socket = new WebSocket(page.webSocketDebuggerUrl);
          await new Promise((resolve, reject) => {
            socket.addEventListener('open', resolve, { once: true });
            socket.addEventListener('error', reject, { once: true });
          });
          return new CdpPage(browser, profile, socket);
        }
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline || browser.exitCode !== null) {
        browser.kill();
        rmSync(profile, { recursive: true, force: true });
        throw new Error('Chromium did not open its DevTools port within 30 s');
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  #send(method: string, params: object = {}): Promise<unknown> {
    const id = ++this.#nextId;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Start the page's JavaScript sampling profiler (its main thread; workers are other targets). */
  async startProfiling(intervalUs = 200): Promise<void> {
    await this.#send('Profiler.enable');
    await this.#send('Profiler.setSamplingInterval', { interval: intervalUs });
    await this.#send('Profiler.start');
  }

  /** Stop the profiler; the profile in the .cpuprofile format DevTools opens. */
  async stopProfiling(): Promise<object> {
    const { profile } = (await this.#send('Profiler.stop')) as { profile: object };
    await this.#send('Profiler.disable');
    return profile;
  }

  /** Start a Chromium trace (all of the browser's processes) with these categories. */
  async startTracing(categories: string[]): Promise<void> {
    this.#trace = [];
    await this.#send('Tracing.start', { traceConfig: { includedCategories: categories }, transferMode: 'ReportEvents' });
  }

  /** End the trace; its events in the Trace Event Format that chrome://tracing and Perfetto open. */
  async stopTracing(): Promise<object[]> {
    const done = new Promise<void>((resolve) => (this.#traceDone = resolve));
    await this.#send('Tracing.end');
    await done;
    return this.#trace;
  }

  async goto(url: string): Promise<void> {
    await this.#send('Page.navigate', { url });
  }

  /** The value of `expression` evaluated in the page (promises awaited), as JSON. */
  async evaluate<T>(expression: string): Promise<T> {
    const { result, exceptionDetails } = (await this.#send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true })) as {
      result: { value: T };
      exceptionDetails?: { text: string };
    };
    if (exceptionDetails) throw new Error(`page: ${exceptionDetails.text}`);
    return result.value;
  }

  /** Poll until the element with `testId` has text matching `pattern`. */
  async waitForText(testId: string, pattern: RegExp, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = await this.evaluate<string>(`document.querySelector('[data-testid="${testId}"]')?.textContent ?? ''`).catch(() => '');
      if (pattern.test(text)) return;
      if (Date.now() > deadline) throw new Error(`${testId} did not match ${pattern} within ${timeoutMs} ms (last: ${JSON.stringify(text)})`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async close(): Promise<void> {
    this.#socket.close();
    this.#browser.kill('SIGTERM');
    await new Promise((r) => (this.#browser.exitCode !== null ? r(undefined) : this.#browser.once('exit', r)));
    rmSync(this.#profile, { recursive: true, force: true });
  }
}
