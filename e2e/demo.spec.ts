import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startDemoServer } from './support/demo-server.ts';
import { repoRoot } from './support/env.ts';
import { expect, STORY_TIMEOUT, test } from './support/fixtures.ts';
import { checkPrivacy, envelopeKind, ENVELOPE_KIND } from './support/privacy.ts';
import { expectedGreedyOutput, referenceCase } from './support/reference.ts';

// Every test also runs the `privacy` fixture: no prompt or story bytes in any
// request (or /v1 answer), and every body sent to /v1 is an FHLM envelope.

test('greedy "Once upon a time" streams the reference continuation', async ({ page, demo }) => {
  const reference = referenceCase('Once upon a time');
  // llama2.c's own decoding of its first 32 greedy tokens: exactly what the page must show.
  const expected = expectedGreedyOutput(reference, 32);
  expect(reference.text.startsWith(expected)).toBe(true);
  expect(expected.length).toBeGreaterThan(reference.prompt.length + 64);

  await demo.open();
  await expect(demo.byTestId('temperature')).toHaveValue('0');
  await expect(demo.byTestId('model')).toHaveValue('stories260K');

  // Watch the key progress bar appear (the first story in a fresh browser makes keys).
  await page.evaluate(() => {
    const bar = document.querySelector<HTMLProgressElement>('[data-testid="keygen-progress"]');
    const w = window as unknown as { keygenSeen: { visible: boolean; max: number } };
    w.keygenSeen = { visible: false, max: 0 };
    new MutationObserver(() => {
      if (bar && bar.offsetParent !== null) w.keygenSeen.visible = true;
      if (bar) w.keygenSeen.max = Math.max(w.keygenSeen.max, bar.value);
    }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['hidden', 'value', 'data-phase'] });
  });

  await demo.start({ prompt: reference.prompt, maxTokens: 32 });
  // Streams token by token: part of the story shows while the rest is still being computed.
  await expect.poll(() => demo.tokens(), { timeout: STORY_TIMEOUT }).toBeGreaterThan(0);
  const partial = await demo.outputText();
  expect(expected.startsWith(partial)).toBe(true);

  await expect(demo.status).toContainText(/^Done/, { timeout: STORY_TIMEOUT });
  const output = await demo.outputText();
  demo.stories.push(output.slice(reference.prompt.length));
  expect(output).toBe(expected);
  expect(await demo.tokens()).toBe(32);

  const keygenSeen = await page.evaluate(() => (window as unknown as { keygenSeen: { visible: boolean; max: number } }).keygenSeen);
  expect(keygenSeen.visible, 'the key progress bar was shown').toBe(true);
  expect(keygenSeen.max, 'the key progress bar moved').toBeGreaterThan(0);
  await expect(demo.byTestId('keygen-count')).toHaveText('1');
  await expect(demo.byTestId('key-status')).toHaveAttribute('data-stored', 'true');
  await expect(demo.byTestId('stats')).toHaveAttribute('data-tokens', '32');
  // Speculative passes are on by default; the stats say what they earned and what the tokens cost.
  await expect(demo.byTestId('speculative')).toBeChecked();
  const stat = (key: string) => demo.byTestId('stats').locator(`[data-stat="${key}"]`);
  await expect(stat('per-pass')).toHaveText(/^\d+\.\d\d$/);
  expect(Number(await stat('per-pass').textContent())).toBeGreaterThanOrEqual(1);
  await expect(stat('relay-cpu')).toHaveText(/^[\d.]+ m?s$/);
  await expect(stat('client-cpu')).toHaveText(/^[\d.]+ m?s$/);
  await expect(demo.byTestId('relay-log').locator('tbody tr').first()).toBeVisible();
  await expect(demo.byTestId('relay-log')).not.toContainText(reference.prompt);
});

test('after a reload the keys come from this browser, and generation still works', async ({ page, demo }) => {
  const prompt = 'Once upon a time';
  await demo.open();
  await expect(demo.byTestId('key-status')).toHaveAttribute('data-stored', 'false');
  const first = await demo.generate({ prompt, maxTokens: 8 });
  await expect(demo.byTestId('keygen-count')).toHaveText('1');
  await expect(demo.byTestId('key-status')).toHaveAttribute('data-stored', 'true');

  await page.reload();
  await demo.waitReady();
  await expect(demo.status).toContainText('keys loaded from this browser');
  await expect(demo.byTestId('key-status')).toContainText('Stored in this browser');

  const again = await demo.generate({ prompt, maxTokens: 8 });
  expect(again).toBe(first);
  // No key generation in the reloaded page: the keys came from IndexedDB.
  await expect(demo.byTestId('keygen-count')).toHaveText('0');
});

test('the relay receives only encrypted envelopes, never the prompt or the story', async ({ demo, wireProxy }) => {
  const prompt = 'The little purple dragon';
  await demo.open();
  await demo.generate({ prompt, maxTokens: 12 });

  const posts = wireProxy.exchanges.filter((x) => x.method === 'POST' && x.path.startsWith('/v1/'));
  const kinds = posts.map((x) => envelopeKind(x.requestBody));
  expect(
    kinds.filter((k) => typeof k === 'string'),
    'POST bodies that are not FHLM envelopes',
  ).toEqual([]);
  // Galois keys went up once (fresh browser), then ciphertexts for every step.
  expect(kinds).toContain(ENVELOPE_KIND.galoisKeys);
  expect(kinds.filter((k) => k === ENVELOPE_KIND.ciphertexts).length).toBeGreaterThanOrEqual(12);
  for (const x of posts) expect(x.requestBody.subarray(0, 4).toString('latin1')).toBe('FHLM');

  const report = checkPrivacy(
    wireProxy.exchanges.map((x) => ({ method: x.method, path: x.path, body: x.requestBody, answer: x.responseBody, source: 'proxy' as const })),
    [prompt],
    demo.stories,
  );
  expect(report.problems).toEqual([]);
  expect(report.envelopes.galoisKeys).toBeGreaterThanOrEqual(1);
});

test('Stop ends generation within one step', async ({ demo }) => {
  await demo.open();
  await demo.start({ prompt: 'Once upon a time', maxTokens: 200 });
  await expect.poll(() => demo.tokens(), { timeout: STORY_TIMEOUT }).toBeGreaterThanOrEqual(3);

  const before = await demo.tokens();
  await demo.byTestId('stop').click();
  await expect(demo.status).toContainText(/stopped/i, { timeout: 2_500 });
  const stoppedText = await demo.outputText();
  const stoppedTokens = await demo.tokens();
  // At most one more pass: its token plus, with speculative passes, up to 3 accepted drafts.
  expect(stoppedTokens).toBeLessThanOrEqual(before + 4);

  await demo.page.waitForTimeout(2_000);
  expect(await demo.outputText()).toBe(stoppedText);
  expect(await demo.tokens()).toBe(stoppedTokens);
  await expect(demo.byTestId('generate')).toBeEnabled();
  await expect(demo.byTestId('stop')).toBeDisabled();
  await expect(demo.byTestId('error')).toBeHidden();
});

test('a stopped relay gives a readable error', async ({ demo }) => {
  const relay = await startDemoServer();
  try {
    await demo.open(relay.url);
    await relay.stop();
    await demo.start({ prompt: 'Once upon a time', maxTokens: 8 });

    const error = demo.byTestId('error');
    await expect(error).toBeVisible({ timeout: STORY_TIMEOUT });
    await expect(error).toContainText(/relay/i);
    await expect(error).toContainText(/reach/i);
    await expect(error).not.toContainText(/\bat .+:\d+:\d+/); // no stack trace
    await expect(demo.status).toContainText(/failed/i);
    await expect(demo.byTestId('generate')).toBeEnabled();
  } finally {
    await relay.stop();
  }
});

test('full-page screenshots of a finished story (desktop and phone)', async ({ page, demo }, testInfo) => {
  await demo.open();
  await expect(page.getByLabel('Prompt', { exact: true })).toBeVisible();
  await expect(page.getByLabel('Model', { exact: true })).toBeVisible();
  await expect(page.getByLabel(/Temperature/)).toBeVisible();
  await expect(page.getByRole('button', { name: 'Generate' })).toBeEnabled();
  await demo.generate({ prompt: 'Once upon a time', maxTokens: 24, temperature: 0.8 });

  const shots = join(repoRoot, 'test-results', 'screenshots');
  await mkdir(shots, { recursive: true });
  for (const [name, viewport] of [
    ['desktop', { width: 1280, height: 900 }],
    ['phone', { width: 390, height: 844 }],
  ] as const) {
    await page.setViewportSize(viewport);
    await page.waitForTimeout(300); // the chart redraws at the new width
    const path = testInfo.outputPath(`demo-${name}.png`);
    await page.screenshot({ path, fullPage: true, animations: 'disabled', caret: 'hide' });
    await testInfo.attach(`demo-${name}`, { path, contentType: 'image/png' });
    await copyFile(path, join(shots, `demo-${name}.png`));
    // Nothing spills sideways at phone width.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow, `horizontal overflow at ${name} width`).toBeLessThanOrEqual(0);
  }
});
