/**
 * The fhe-llm demo page: plain DOM on top of the SDK's public API only.
 * Everything secret (keys, plaintexts) lives inside the SDK's worker; this
 * page sees chunks of the story, progress events and, from `onRoundTrip`,
 * the sizes and fingerprints the relay saw.
 */
import { createClient, type FheLlmClient, type KeyStatus, type ModelInfo, type ProgressEvent, type RoundTripEvent } from '@fhe-llm/sdk';
import { drawLatencyChart, type TokenSample } from './chart.ts';
import { describeError, isAbort } from './errors.ts';
import { formatBytes, formatMs, median, plural } from './format.ts';

function byId<T extends Element = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page is missing #${id}`);
  return node as unknown as T;
}

const ui = {
  form: byId<HTMLFormElement>('composer'),
  model: byId<HTMLSelectElement>('model'),
  modelInfo: byId('model-info'),
  prompt: byId<HTMLTextAreaElement>('prompt'),
  temperature: byId<HTMLInputElement>('temperature'),
  temperatureValue: byId<HTMLOutputElement>('temperature-value'),
  maxTokens: byId<HTMLInputElement>('max-tokens'),
  seed: byId<HTMLInputElement>('seed'),
  speculative: byId<HTMLInputElement>('speculative'),
  generate: byId<HTMLButtonElement>('generate'),
  stop: byId<HTMLButtonElement>('stop'),
  status: byId('status'),
  keygen: byId('keygen'),
  keygenLabel: byId('keygen-label'),
  keygenBar: byId<HTMLProgressElement>('keygen-bar'),
  error: byId('error'),
  errorTitle: byId('error-title'),
  errorDetail: byId('error-detail'),
  errorCode: byId('error-code'),
  output: byId('output'),
  outputPrompt: byId('output-prompt'),
  outputGenerated: byId('output-generated'),
  outputPlaceholder: byId('output-placeholder'),
  storyMeta: byId('story-meta'),
  keyStatus: byId('key-status'),
  keyStatusText: byId('key-status-text'),
  keyDetail: byId('key-detail'),
  keygenCount: byId('keygen-count'),
  rotate: byId<HTMLButtonElement>('rotate'),
  forget: byId<HTMLButtonElement>('forget'),
  stats: byId('stats'),
  chart: byId<SVGSVGElement>('chart'),
  chartSummary: byId<SVGDescElement>('chart-summary'),
  relaySummary: byId('relay-summary'),
  relayRows: byId<HTMLTableSectionElement>('relay-rows'),
};

/** One generation in flight. */
interface Run {
  controller: AbortController;
  model: string;
  maxTokens: number;
  started: number;
  /** When the clock for the next token started: the last token, or the end of key work. */
  mark: number;
  stopping: boolean;
  samples: TokenSample[];
  pending: { up: number; down: number; trips: number };
  totals: { up: number; down: number; trips: number; relayMs: number; cryptoMs: number };
  /** Round trips of one forward pass (one per model step). */
  stepsPerPass: number;
  /** From the finished completion: the exact figures (client CPU includes the page's own arithmetic). */
  final?: { passes: number; tokensPerPass: number; relayCpuMs: number; clientCpuMs: number };
}

type Busy = 'starting' | 'idle' | 'generating' | 'keys';

// The log keeps the latest round trips only (three stories260K tokens; the summary line keeps the totals):
// every frame that adds rows lays the whole table out again. Measured in Chromium without a GPU: 120 rows
// cost the page's main thread about 210 ms per token of Blink work, 33 rows about 100.
const MAX_RELAY_ROWS = 33;
const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

let busy: Busy = 'starting';
let models: ModelInfo[] = [];
let run: Run | undefined;
/** The last finished run, whose figures stay on screen. */
let lastRun: Run | undefined;
let shownSamples: readonly TokenSample[] = [];
let keygenCount = 0;
let lastPhase: ProgressEvent['phase'] | undefined;
let hideProgressTimer: ReturnType<typeof setTimeout> | undefined;
let relayTrips = 0;
let relayUp = 0;
let relayDown = 0;

// ---------------------------------------------------------------- status & errors

function setStatus(text: string, tone: 'info' | 'busy' | 'ok' | 'error' = 'info'): void {
  ui.status.textContent = text;
  ui.status.dataset.tone = tone;
}

function showError(error: unknown): string {
  const readable = describeError(error);
  ui.errorTitle.textContent = readable.title;
  ui.errorDetail.textContent = readable.detail;
  ui.errorCode.textContent = readable.code ? `code: ${readable.code}` : '';
  ui.error.hidden = false;
  console.error(error);
  return readable.title;
}

function hideError(): void {
  ui.error.hidden = true;
}

function setBusy(next: Busy): void {
  busy = next;
  const idle = next === 'idle';
  ui.generate.disabled = !idle;
  ui.stop.disabled = next !== 'generating';
  ui.rotate.disabled = !idle || models.length === 0;
  ui.forget.disabled = !idle || models.length === 0;
  ui.model.disabled = !idle || models.length === 0;
  ui.output.setAttribute('aria-busy', String(next === 'generating'));
  ui.output.classList.toggle('streaming', next === 'generating');
  document.body.dataset.busy = next;
}

// ---------------------------------------------------------------- progress (keys)

const PHASE_SPAN: Record<Exclude<ProgressEvent['phase'], 'ready' | 'loading-wasm'>, [number, number, string]> = {
  'generating-keys': [0, 0.6, 'Making your keys in this browser'],
  'storing-keys': [0.6, 0.7, 'Storing the keys in this browser'],
  'uploading-keys': [0.7, 1, 'Uploading evaluation keys to the relay'],
};

function onProgress(event: ProgressEvent): void {
  if (event.phase === 'generating-keys' && lastPhase !== 'generating-keys') {
    keygenCount++;
    ui.keygenCount.textContent = String(keygenCount);
  }
  lastPhase = event.phase;
  if (run) run.mark = performance.now();

  if (event.phase === 'loading-wasm') {
    if (busy === 'starting') setStatus('Loading the encryption engine…', 'busy');
    return;
  }
  if (event.phase === 'ready') {
    ui.keygenBar.value = 100;
    ui.keygen.dataset.phase = 'ready';
    clearTimeout(hideProgressTimer);
    hideProgressTimer = setTimeout(() => (ui.keygen.hidden = true), 400);
    if (busy === 'generating' && run && run.samples.length === 0) setStatus('Encrypting your prompt…', 'busy');
    if (busy !== 'starting') void refreshKeys();
    return;
  }
  const [from, to, label] = PHASE_SPAN[event.phase];
  const fraction = Math.min(1, Math.max(0, event.progress));
  const percent = Math.round((from + (to - from) * fraction) * 100);
  clearTimeout(hideProgressTimer);
  ui.keygen.hidden = false;
  ui.keygen.dataset.phase = event.phase;
  ui.keygenLabel.textContent = `${label}…`;
  ui.keygenBar.value = percent;
  ui.keygenBar.title = event.message;
  ui.keygenBar.setAttribute('aria-valuetext', `${label}: ${percent}%`);
  setStatus(`${label}… ${percent}%`, 'busy');
}

// ---------------------------------------------------------------- relay log

function onRoundTrip(event: RoundTripEvent): void {
  relayTrips++;
  relayUp += event.bytesUp;
  relayDown += event.bytesDown;
  if (run) {
    run.pending.up += event.bytesUp;
    run.pending.down += event.bytesDown;
    run.pending.trips++;
    run.totals.up += event.bytesUp;
    run.totals.down += event.bytesDown;
    run.totals.trips++;
    run.totals.relayMs += event.relayMs;
    run.totals.cryptoMs += event.cryptoMs;
  }

  const row = document.createElement('tr');
  const cell = (text: string, className?: string, title?: string) => {
    const td = document.createElement('td');
    if (className) td.className = className;
    if (title) td.title = title;
    td.textContent = text;
    row.append(td);
    return td;
  };
  const hash = (value: string) => {
    const td = document.createElement('td');
    const code = document.createElement('code');
    code.textContent = value;
    td.append(code);
    row.append(td);
  };
  cell(String(relayTrips), 'num muted');
  cell(String(event.step), undefined, `${event.stepId} · ${plural(event.vectors, 'vector')}`);
  cell(formatBytes(event.bytesUp), 'num');
  hash(event.upHash);
  cell(formatBytes(event.bytesDown), 'num');
  hash(event.downHash);
  cell(formatMs(event.ms), 'num');
  pendingRows.unshift(row);
  scheduleStats(ROUND_TRIP_REFRESH_MS);
}

/** Rows wait for the next frame: one layout per frame, not one per round trip. */
let pendingRows: HTMLTableRowElement[] = [];

function flushRelayLog(): void {
  if (pendingRows.length === 0) return;
  for (const old of ui.relayRows.querySelectorAll('tr.fresh')) old.classList.remove('fresh');
  for (const row of pendingRows) row.classList.add('fresh');
  ui.relayRows.prepend(...pendingRows.slice(0, MAX_RELAY_ROWS));
  pendingRows = [];
  while (ui.relayRows.rows.length > MAX_RELAY_ROWS) ui.relayRows.lastElementChild?.remove();
  ui.relaySummary.textContent = `${plural(relayTrips, 'round trip')} · ${formatBytes(relayUp)} sent · ${formatBytes(relayDown)} received`;
}

function clearRelayLog(): void {
  relayTrips = 0;
  relayUp = 0;
  relayDown = 0;
  pendingRows = [];
  ui.relayRows.replaceChildren();
  ui.relaySummary.textContent = 'Nothing yet.';
}

// ---------------------------------------------------------------- story & stats

function resetStory(prompt: string): void {
  ui.outputPrompt.textContent = prompt;
  ui.outputGenerated.textContent = '';
  ui.output.dataset.tokens = '0';
  ui.outputPlaceholder.hidden = true;
  ui.storyMeta.textContent = '';
}

function recordToken(current: Run): void {
  const now = performance.now();
  current.samples.push({
    index: current.samples.length + 1,
    ms: now - current.mark,
    bytesUp: current.pending.up,
    bytesDown: current.pending.down,
    roundTrips: current.pending.trips,
  });
  current.mark = now;
  current.pending = { up: 0, down: 0, trips: 0 };
  ui.output.dataset.tokens = String(current.samples.length);
  shownSamples = current.samples;
  scheduleStats();
}

/**
 * How long a round trip's row and figures may wait for the next token's
 * frame. Every frame that changes the page costs Blink style, layout and
 * paint on the main thread (about 8 ms here without a GPU); one frame per
 * round trip was 11 per stories260K token, most of the page's main-thread
 * time, on the thread that also runs the model's client side. Tokens still
 * show at the next frame; a slow token (a large model) still shows its round
 * trips within this time.
 */
const ROUND_TRIP_REFRESH_MS = 250;

let statsFrame = 0;
let statsTimer: ReturnType<typeof setTimeout> | undefined;
/** Refresh the stats, chart and relay log at the next frame, or within `withinMs` (one frame for all that arrive meanwhile). */
function scheduleStats(withinMs = 0): void {
  if (statsFrame) return;
  if (withinMs > 0) {
    statsTimer ??= setTimeout(() => scheduleStats(), withinMs);
    return;
  }
  clearTimeout(statsTimer);
  statsTimer = undefined;
  statsFrame = requestAnimationFrame(() => {
    statsFrame = 0;
    flushRelayLog();
    renderStats();
  });
}

function renderStats(): void {
  const samples = shownSamples;
  const set = (key: string, text: string) => {
    const dd = ui.stats.querySelector<HTMLElement>(`[data-stat="${key}"]`);
    if (dd) dd.textContent = text;
  };
  // The first token also pushes the whole prompt through the model: per-token figures use the rest when there is a rest.
  const steady = samples.length > 1 ? samples.slice(1) : samples;
  const mean = (pick: (s: TokenSample) => number) => steady.reduce((n, s) => n + pick(s), 0) / steady.length;
  const total = (pick: (s: TokenSample) => number) => samples.reduce((n, s) => n + pick(s), 0);
  if (samples.length === 0) {
    for (const key of ['tokens', 'speed', 'latency', 'trips', 'up', 'down', 'up-total', 'down-total', 'per-pass', 'passes', 'relay-cpu', 'client-cpu']) set(key, '–');
  } else {
    // Costs per token over the whole story; live until it ends, then the completion's exact figures.
    const shown = run ?? lastRun;
    if (shown) {
      const n = samples.length;
      const passes = shown.final?.passes ?? shown.totals.trips / shown.stepsPerPass;
      set('passes', String(Math.round(passes)));
      set('per-pass', (shown.final?.tokensPerPass ?? n / Math.max(1, passes)).toFixed(2));
      set('relay-cpu', formatMs((shown.final?.relayCpuMs ?? shown.totals.relayMs) / n));
      set('client-cpu', shown.final ? formatMs(shown.final.clientCpuMs / n) : `≥ ${formatMs(shown.totals.cryptoMs / n)}`);
    }
    const steadyMs = steady.reduce((n, s) => n + s.ms, 0);
    set('tokens', String(samples.length));
    set('speed', steadyMs > 0 ? `${((steady.length * 1000) / steadyMs).toFixed(2)} tok/s` : '–');
    set('latency', formatMs(median(steady.map((s) => s.ms))));
    set('trips', mean((s) => s.roundTrips).toFixed(steady.length > 1 ? 1 : 0));
    set('up', formatBytes(mean((s) => s.bytesUp)));
    set('down', formatBytes(mean((s) => s.bytesDown)));
    set('up-total', formatBytes(total((s) => s.bytesUp)));
    set('down-total', formatBytes(total((s) => s.bytesDown)));
  }
  ui.stats.dataset.tokens = String(samples.length);
  // The chart is rebuilt only when it has something new to show (a token, a new run, a resize).
  const size = `${chartSize.width}x${chartSize.height}`;
  if (samples !== chartDrawn.samples || samples.length !== chartDrawn.count || size !== chartDrawn.size) {
    drawLatencyChart(ui.chart, samples, ui.chartSummary, chartSize);
    chartDrawn = { samples, count: samples.length, size };
  }
}

let chartSize = { width: 0, height: 0 };
let chartDrawn: { samples: readonly TokenSample[] | undefined; count: number; size: string } = { samples: undefined, count: -1, size: '' };

// ---------------------------------------------------------------- models & keys

function currentModel(): ModelInfo | undefined {
  return models.find((m) => m.id === ui.model.value) ?? models[0];
}

function describeModel(model: ModelInfo | undefined): void {
  if (!model) {
    ui.modelInfo.textContent = '';
    return;
  }
  const c = model.config;
  ui.modelInfo.textContent = `${c.nLayers} layers · width ${c.dim} · ${c.vocabSize}-token vocabulary · ${model.roundTripsPerToken} encrypted round trips per token · ${model.preset}`;
  ui.maxTokens.max = String(c.seqLen);
}

async function loadModels(): Promise<boolean> {
  try {
    models = await client.models.list();
  } catch (error) {
    models = [];
    ui.model.replaceChildren(new Option('No models yet', ''));
    showError(error);
    return false;
  }
  const previous = ui.model.value;
  ui.model.replaceChildren(...models.map((m) => new Option(m.id, m.id)));
  if (models.some((m) => m.id === previous)) ui.model.value = previous;
  if (models.length === 0) ui.model.append(new Option('The relay hosts no models', ''));
  describeModel(currentModel());
  return models.length > 0;
}

async function refreshKeys(): Promise<KeyStatus | undefined> {
  const model = currentModel();
  if (!model) {
    renderKeys(undefined, 'No model to hold keys for');
    return undefined;
  }
  try {
    const status = await client.keys.status(model.id);
    renderKeys(status);
    return status;
  } catch (error) {
    renderKeys(undefined, `Unknown: ${describeError(error).title.toLowerCase()}`);
    return undefined;
  }
}

function renderKeys(status: KeyStatus | undefined, fallback = 'Unknown'): void {
  ui.keyStatus.dataset.stored = status ? String(status.stored) : 'unknown';
  if (!status) {
    ui.keyStatusText.textContent = fallback;
    ui.keyDetail.textContent = '';
    return;
  }
  if (!status.stored) {
    ui.keyStatusText.textContent = 'No keys in this browser yet';
    ui.keyDetail.textContent = 'They are made here, once, for your first story.';
    return;
  }
  ui.keyStatusText.textContent = 'Stored in this browser';
  const parts: string[] = [];
  if (status.createdAt) {
    const created = new Date(status.createdAt);
    parts.push(`made ${Number.isNaN(created.getTime()) ? status.createdAt : dateFormat.format(created)}`);
  }
  if (status.evaluationKeyBytes) parts.push(`${formatBytes(status.evaluationKeyBytes)} of evaluation keys uploaded`);
  parts.push(status.session ? 'relay session open' : 'no relay session yet (opened on the next story)');
  ui.keyDetail.textContent = parts.join(' · ').replace(/^./, (c) => c.toUpperCase());
}

// ---------------------------------------------------------------- actions

function readInt(input: HTMLInputElement, min: number, max: number, fallback: number): number {
  const value = Math.round(Number(input.value));
  if (!Number.isFinite(value) || input.value.trim() === '') return fallback;
  return Math.min(max, Math.max(min, value));
}

async function generate(): Promise<void> {
  if (busy !== 'idle') return;
  hideError();
  if (models.length === 0) {
    setBusy('generating');
    setStatus('Asking the relay for its models…', 'busy');
    const ok = await loadModels();
    setBusy('idle');
    if (!ok) {
      setStatus('Still no list of models from the relay. Try again once it is up.', 'error');
      return;
    }
  }
  const model = currentModel();
  if (!model) return;

  const prompt = ui.prompt.value;
  const maxTokens = readInt(ui.maxTokens, 1, model.config.seqLen, 64);
  const temperature = Math.max(0, Number(ui.temperature.value) || 0);
  const seed = readInt(ui.seed, 0, 2 ** 31 - 1, 42);
  ui.maxTokens.value = String(maxTokens);

  const now = performance.now();
  const current: Run = {
    controller: new AbortController(),
    model: model.id,
    maxTokens,
    started: now,
    mark: now,
    stopping: false,
    samples: [],
    pending: { up: 0, down: 0, trips: 0 },
    totals: { up: 0, down: 0, trips: 0, relayMs: 0, cryptoMs: 0 },
    stepsPerPass: model.roundTripsPerToken,
  };
  run = current;
  shownSamples = current.samples;
  clearRelayLog();
  resetStory(prompt);
  renderStats();
  setBusy('generating');
  setStatus('Encrypting your prompt…', 'busy');

  let finish: string | null = null;
  try {
    const stream = await client.completions.create({
      model: model.id,
      prompt,
      max_tokens: maxTokens,
      temperature,
      seed,
      speculative: ui.speculative.checked,
      stream: true,
      signal: current.controller.signal,
    });
    // Read below only when the stream ran to its end; a stopped or failed run must not leave it unhandled.
    stream.completion.catch(() => undefined);
    for await (const chunk of stream) {
      if (current.stopping) break;
      const choice = chunk.choices[0];
      if (!choice) continue;
      if (choice.text) ui.outputGenerated.append(choice.text);
      if (choice.token_id !== undefined || choice.text !== '') {
        recordToken(current);
        setStatus(`Writing… ${current.samples.length} of ${plural(maxTokens, 'token')}`, 'busy');
      }
      if (choice.finish_reason) finish = choice.finish_reason;
    }
    const n = current.samples.length;
    const seconds = formatMs(performance.now() - current.started);
    const whole = current.stopping ? undefined : await stream.completion.catch(() => undefined);
    if (current.stopping) {
      setStatus(`Stopped after ${plural(n, 'token')}.`, 'info');
    } else if (finish === 'stop') {
      setStatus(`Done: the story ended by itself after ${plural(n, 'token')} (${seconds}).`, 'ok');
    } else {
      setStatus(`Done: ${plural(n, 'token')} in ${seconds}.`, 'ok');
    }
    if (whole) {
      current.final = {
        passes: whole.usage.passes,
        tokensPerPass: whole.usage.tokens_per_pass,
        relayCpuMs: whole.fhe.relay_cpu_ms,
        clientCpuMs: whole.fhe.client_cpu_ms,
      };
    }
    const promptTokens = whole ? ` after ${plural(whole.usage.prompt_tokens, 'prompt token')}` : '';
    ui.storyMeta.textContent = `${plural(n, 'token')}${promptTokens} · ${temperature === 0 ? 'greedy' : `temperature ${temperature}, seed ${seed}`}`;
  } catch (error) {
    if (current.stopping || isAbort(error)) {
      setStatus(`Stopped after ${plural(current.samples.length, 'token')}.`, 'info');
    } else {
      const title = showError(error);
      setStatus(`Failed: ${title.charAt(0).toLowerCase()}${title.slice(1)}.`, 'error');
    }
  } finally {
    lastRun = current;
    run = undefined;
    ui.keygen.hidden = true;
    scheduleStats();
    setBusy('idle');
    await refreshKeys();
  }
}

function stop(): void {
  if (!run || run.stopping) return;
  run.stopping = true;
  ui.stop.disabled = true;
  setStatus('Stopping…', 'busy');
  run.controller.abort();
}

async function keyAction(kind: 'rotate' | 'forget'): Promise<void> {
  const model = currentModel();
  if (busy !== 'idle' || !model) return;
  hideError();
  setBusy('keys');
  setStatus(kind === 'rotate' ? 'Making new keys…' : 'Forgetting the keys…', 'busy');
  try {
    if (kind === 'rotate') {
      await client.keys.rotate(model.id);
      setStatus('New keys are stored in this browser; the old ones are forgotten here and on the relay.', 'ok');
    } else {
      await client.keys.forget(model.id);
      setStatus('Keys forgotten in this browser and on the relay. New ones will be made for your next story.', 'ok');
    }
  } catch (error) {
    const title = showError(error);
    setStatus(`${kind === 'rotate' ? 'Rotating' : 'Forgetting'} the keys failed: ${title.charAt(0).toLowerCase()}${title.slice(1)}.`, 'error');
  } finally {
    ui.keygen.hidden = true;
    setBusy('idle');
    await refreshKeys();
  }
}

function renderTemperature(): void {
  const t = Number(ui.temperature.value) || 0;
  ui.temperatureValue.textContent = t === 0 ? '0 · greedy' : t.toFixed(2);
  ui.seed.disabled = t === 0;
}

// ---------------------------------------------------------------- start

const client: FheLlmClient = createClient({ relayUrl: '', onProgress, onRoundTrip });

async function boot(): Promise<void> {
  setBusy('starting');
  renderTemperature();
  renderStats();
  setStatus('Loading the encryption engine…', 'busy');
  const listed = loadModels();
  try {
    await client.ready;
  } catch (error) {
    const title = showError(error);
    setStatus(`The encryption engine could not start: ${title.toLowerCase()}.`, 'error');
    return;
  }
  const ok = await listed;
  setBusy('idle');
  if (!ok) {
    renderKeys(undefined, 'Unknown until the relay lists its models');
    setStatus('Could not get the list of models from the relay. Generate will try again.', 'error');
    return;
  }
  const keys = await refreshKeys();
  setStatus(keys?.stored ? 'Ready: keys loaded from this browser.' : 'Ready: keys will be made for your first story.', 'ok');
}

ui.form.addEventListener('submit', (event) => {
  event.preventDefault();
  void generate();
});
ui.stop.addEventListener('click', stop);
ui.rotate.addEventListener('click', () => void keyAction('rotate'));
ui.forget.addEventListener('click', () => void keyAction('forget'));
ui.temperature.addEventListener('input', renderTemperature);
ui.model.addEventListener('change', () => {
  describeModel(currentModel());
  void refreshKeys();
});
ui.prompt.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && (event.metaKey || event.ctrlKey)) {
    event.preventDefault();
    ui.form.requestSubmit();
  }
});
document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && busy === 'generating') stop();
});
// The chart's size comes from the observer: reading clientWidth after the DOM changed would force a layout per frame.
new ResizeObserver(([entry]) => {
  chartSize = { width: Math.round(entry.contentRect.width), height: Math.round(entry.contentRect.height) };
  scheduleStats();
}).observe(ui.chart);
window.addEventListener('pagehide', () => void client.close());

void boot();
