import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Shared by playwright.config.ts and the tests. */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Port of the relay + demo that Playwright's webServer starts. */
export const e2ePort = Number(process.env.FHE_LLM_E2E_PORT ?? 8765);
export const relayOrigin = `http://127.0.0.1:${e2ePort}`;

/** The workspace's Node 24 (node-seal needs Node >= 22), else whatever runs Playwright. */
const localNode = join(repoRoot, 'node_modules', '.bin', 'node');
export const nodeBin = existsSync(localNode) ? localNode : process.execPath;
export const startScript = join(repoRoot, 'examples', 'demo', 'scripts', 'start.ts');

/** Debian's Chromium, never a downloaded browser. */
export const chromiumPath = process.env.FHE_LLM_CHROMIUM ?? '/usr/bin/chromium';
export const chromiumArgs = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
