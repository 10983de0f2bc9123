import { formatBytes, formatMs, median } from './format.ts';

/** One generated token as the chart sees it. */
export interface TokenSample {
  /** 1-based position among the generated tokens. */
  index: number;
  ms: number;
  bytesUp: number;
  bytesDown: number;
  roundTrips: number;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

function el<K extends keyof SVGElementTagNameMap>(name: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A round axis maximum: 1, 2, 2.5 or 5 times a power of ten, at least `value`. */
function niceCeil(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

/**
 * Draws per-token latency as bars into `svg`, sized to its box (as last
 * observed, so drawing never forces a layout) so text is never stretched. The first token (which also processes the prompt)
 * is drawn in a lighter tone; a dashed line marks the median of the rest.
 */
export function drawLatencyChart(svg: SVGSVGElement, samples: readonly TokenSample[], summary: SVGDescElement, box: { width: number; height: number }): void {
  const width = Math.max(200, Math.round(box.width || 320));
  const height = Math.max(120, Math.round(box.height || 150));
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('preserveAspectRatio', 'xMinYMin meet');
  svg.replaceChildren(summary);

  const left = 44;
  const right = 8;
  const top = 18;
  const bottom = 22;
  const plotW = width - left - right;
  const plotH = height - top - bottom;

  const steady = samples.slice(1).map((s) => s.ms);
  const typical = median(steady);
  // Keep the scale readable: a slow first token (key upload, long prompt) is clipped, not allowed to flatten the rest.
  const cap = steady.length >= 3 ? Math.max(...steady) * 1.15 : Math.max(...samples.map((s) => s.ms), 1);
  const yMax = niceCeil(cap);
  const y = (ms: number) => top + plotH - (Math.min(ms, yMax) / yMax) * plotH;

  const grid = el('g', { class: 'chart-grid' });
  for (let i = 0; i <= 4; i++) {
    const value = (yMax * i) / 4;
    const yy = Math.round(y(value)) + 0.5;
    grid.append(el('line', { x1: left, x2: width - right, y1: yy, y2: yy }));
    if (samples.length > 0) grid.append(el('text', { x: left - 6, y: yy + 3.5, 'text-anchor': 'end' }, value === 0 ? '0' : formatMs(value)));
  }
  svg.append(grid);

  if (samples.length === 0) {
    svg.append(el('text', { x: left + plotW / 2, y: top + plotH / 2, 'text-anchor': 'middle', class: 'chart-empty' }, 'Generate a story to see each token’s cost'));
    summary.textContent = 'No tokens yet.';
    return;
  }

  const slots = Math.max(samples.length, 24);
  const slot = plotW / slots;
  const gap = slot > 4 ? Math.min(2, slot * 0.25) : 0;
  const bars = el('g', { class: 'chart-bars' });
  for (const [i, s] of samples.entries()) {
    const x = left + i * slot + gap / 2;
    const yy = y(s.ms);
    const clipped = s.ms > yMax;
    const bar = el('rect', {
      x: x.toFixed(2),
      y: yy.toFixed(2),
      width: Math.max(0.75, slot - gap).toFixed(2),
      height: Math.max(1, top + plotH - yy).toFixed(2),
      rx: slot > 6 ? 1.5 : 0,
      class: i === 0 ? 'bar first' : clipped ? 'bar clipped' : 'bar',
    });
    bar.append(
      el(
        'title',
        {},
        `Token ${s.index}${i === 0 ? ' (with the prompt)' : ''}: ${formatMs(s.ms)} · ${s.roundTrips} round trips · sent ${formatBytes(s.bytesUp)} · received ${formatBytes(s.bytesDown)}`,
      ),
    );
    bars.append(bar);
  }
  svg.append(bars);

  if (Number.isFinite(typical)) {
    const yy = Math.round(y(typical)) + 0.5;
    svg.append(el('line', { x1: left, x2: width - right, y1: yy, y2: yy, class: 'chart-median' }));
    // Legend above the plot, so the label never sits on the bars.
    svg.append(el('line', { x1: width - right - 98, x2: width - right - 82, y1: 6.5, y2: 6.5, class: 'chart-median' }));
    svg.append(el('text', { x: width - right, y: 10, 'text-anchor': 'end', class: 'chart-median-label' }, `median ${formatMs(typical)}`));
  }

  const axis = el('g', { class: 'chart-axis' });
  axis.append(el('text', { x: left, y: height - 6 }, 'token 1'));
  if (samples.length > 1) {
    axis.append(el('text', { x: left + (samples.length - 0.5) * slot, y: height - 6, 'text-anchor': samples.length > slots * 0.8 ? 'end' : 'middle' }, String(samples.length)));
  }
  svg.append(axis);

  const rest = Number.isFinite(typical) ? `, then a median of ${formatMs(typical)} per token.` : '.';
  summary.textContent = `${samples.length} tokens. First token ${formatMs(samples[0].ms)}${rest}`;
}
