import { defineConfig } from '@playwright/test';
import { chromiumArgs, chromiumPath, e2ePort, nodeBin, relayOrigin, startScript } from './e2e/support/env.ts';
import { withSourceCondition } from './scripts/source-condition.ts';

// The demo server and the relay it starts run the workspace's TypeScript sources (scripts/source-condition.ts).
process.env.NODE_OPTIONS = withSourceCondition(process.env.NODE_OPTIONS);

/**
 * End-to-end tests of the demo in Debian's Chromium (/usr/bin/chromium, or
 * FHE_LLM_CHROMIUM); Playwright never downloads a browser here. The web
 * server is `npm start`'s script on FHE_LLM_E2E_PORT (default 8765): it
 * builds examples/demo and runs the relay with the bundled stories260K.
 * CKKS work is CPU-bound on 2 cores: one test at a time, generous timeouts.
 */
export default defineConfig({
  testDir: './e2e',
  outputDir: './test-results',
  timeout: 10 * 60_000,
  expect: { timeout: 30_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: [['list'], ['html', { open: 'never', outputFolder: 'playwright-report' }]],
  use: {
    browserName: 'chromium',
    headless: true,
    launchOptions: { executablePath: chromiumPath, args: chromiumArgs },
    // Tests load the page through a recording proxy in front of this origin (see e2e/support/fixtures.ts).
    baseURL: relayOrigin,
    viewport: { width: 1280, height: 900 },
    actionTimeout: 15_000,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  webServer: {
    command: `"${nodeBin}" "${startScript}" --port ${e2ePort}`,
    url: `${relayOrigin}/readyz`,
    timeout: 4 * 60_000,
    reuseExistingServer: !process.env.CI,
    stdout: 'pipe',
    stderr: 'pipe',
    env: { FHE_LLM_LOG_LEVEL: process.env.FHE_LLM_LOG_LEVEL ?? 'warn' },
  },
});
