import { test as base, expect, type Locator, type Page, type Request } from '@playwright/test';
import { relayOrigin } from './env.ts';
import { checkPrivacy, type PrivacyReport, type WireRequest } from './privacy.ts';
import { startRecordingProxy, type RecordingProxy } from './recording-proxy.ts';

/** Generous: the first story of a fresh browser makes keys (seconds) and uploads them. */
export const STORY_TIMEOUT = 8 * 60_000;
const READY_TIMEOUT = 2 * 60_000;

export interface GenerateOptions {
  prompt: string;
  maxTokens: number;
  temperature?: number;
}

/** The demo page, driven only through its data-testid hooks and accessible names. */
export class DemoPage {
  readonly prompts: string[] = [];
  readonly stories: string[] = [];

  readonly page: Page;

  constructor(page: Page) {
    this.page = page;
  }

  byTestId(id: string): Locator {
    return this.page.getByTestId(id);
  }

  get status(): Locator {
    return this.byTestId('status');
  }

  get output(): Locator {
    return this.byTestId('output');
  }

  /** Loads the page and waits until the SDK is ready and the relay listed its models. */
  async open(url = '/'): Promise<void> {
    await this.page.goto(url);
    await this.waitReady();
  }

  async waitReady(): Promise<void> {
    await expect(this.status).toContainText(/^Ready/, { timeout: READY_TIMEOUT });
  }

  async start(options: GenerateOptions): Promise<void> {
    this.prompts.push(options.prompt);
    await this.byTestId('prompt').fill(options.prompt);
    await this.byTestId('max-tokens').fill(String(options.maxTokens));
    await this.byTestId('temperature').evaluate((input, value) => {
      const range = input as HTMLInputElement;
      range.value = String(value);
      range.dispatchEvent(new Event('input', { bubbles: true }));
      range.dispatchEvent(new Event('change', { bubbles: true }));
    }, options.temperature ?? 0);
    await this.byTestId('generate').click();
  }

  /** Generates and waits for "Done"; returns the output (prompt + story). */
  async generate(options: GenerateOptions): Promise<string> {
    await this.start(options);
    await expect(this.status).toContainText(/^Done/, { timeout: STORY_TIMEOUT });
    const text = await this.outputText();
    this.stories.push(text.slice(options.prompt.length));
    return text;
  }

  /** The output's exact text (Playwright's toHaveText would normalise whitespace). */
  async outputText(): Promise<string> {
    return (await this.output.textContent()) ?? '';
  }

  async tokens(): Promise<number> {
    return Number((await this.output.getAttribute('data-tokens')) ?? 0);
  }
}

interface Fixtures {
  /** Records every byte between the browser and the relay; the page is loaded through it. */
  wireProxy: RecordingProxy;
  demo: DemoPage;
  /** Runs after every test: nothing private crossed the wire. */
  privacy: PrivacyReport;
}

export const test = base.extend<Fixtures>({
  wireProxy: async ({}, use) => {
    const proxy = await startRecordingProxy(relayOrigin);
    await use(proxy);
    await proxy.close();
  },

  baseURL: async ({ wireProxy }, use) => {
    await use(wireProxy.url);
  },

  demo: async ({ page }, use) => {
    await use(new DemoPage(page));
  },

  privacy: [
    async ({ page, wireProxy, demo }, use, testInfo) => {
      // The browser's own view too (dedicated-worker fetches included); bodies may be missing when large.
      const seen: Request[] = [];
      page.context().on('request', (request) => seen.push(request));
      const report: PrivacyReport = { envelopes: { ciphertexts: 0, galoisKeys: 0 }, problems: [] };
      await use(report);

      // Whatever the story ended as (also for stopped or failed runs).
      const last = await demo.outputText().catch(() => '');
      const prompt = demo.prompts.at(-1);
      if (prompt !== undefined && last.startsWith(prompt)) demo.stories.push(last.slice(prompt.length));

      const requests: WireRequest[] = wireProxy.exchanges.map((x) => ({
        method: x.method,
        path: x.path,
        body: x.requestBody,
        answer: x.responseBody,
        source: 'proxy',
      }));
      for (const r of seen) {
        const url = new URL(r.url());
        if (url.protocol !== 'http:') continue;
        requests.push({ method: r.method(), path: url.pathname + url.search, body: r.postDataBuffer(), source: 'browser' });
      }
      const result = checkPrivacy(requests, demo.prompts, demo.stories);
      Object.assign(report, result);
      await testInfo.attach('wire.json', {
        contentType: 'application/json',
        body: JSON.stringify(
          {
            envelopes: result.envelopes,
            problems: result.problems,
            requests: requests.map((r) => ({ source: r.source, method: r.method, path: r.path, bytes: r.body?.length ?? null })),
          },
          null,
          2,
        ),
      });
      expect(result.problems, 'private data on the wire').toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };
