/**
 * The model card's figures: `npm run figures -- --model DIR [--n 16] [--steps K] [--seed S]
 * [--backend B] [--sampler S] [--stretch linear|asinh] [--out-dir DIR] [--only loss|samples]
 * [--samples-fits FILE] [--data CUBE.fits] [--smooth H] [--y-scale auto|log|linear]`.
 *
 * Writes two PNGs into the model folder (or --out-dir):
 *   loss.png     training loss per train-log.jsonl entry (light), a centred running mean (dark) and the
 *                validation loss (the entries where valLoss is not null) against the training step, with the
 *                images seen on the top axis (model.json's training.batch, or batchAtStart up to the step where a
 *                resumed segment changed it); log-scale y when the losses span a factor ≥ 5.
 *   samples.png  N unconditional samples of the prior (the code `skyscore sample` runs: resolvePrior,
 *                initBackend, runSampling, toDataUnits; default sampler pc with its full default steps) beside
 *                N images of the VALIDATION split (the SPLIT column of the cube's table, as src-main/evaluation.ts
 *                reads it) of the Galaxy Zoo cube or of --data — or all images of a --data cube without a SPLIT
 *                column that the model was not trained on —, in the same display stretch (linear from 0 to the
 *                largest pixel of the validation images shown, or asinh), FITS row 0 at the bottom.
 * --samples-fits takes the samples from a cube written by `skyscore sample` (e.g. on a GPU machine) instead of
 * sampling here.
 *
 * Rendering: an HTML page (inline SVG plot; images drawn on <canvas>) shown in Debian's Chromium through
 * playwright-core, the figure element screenshotted to PNG. The pure parts (log parsing, smoothing, ticks,
 * scales, the stretch, the grid layout, the SVG and HTML builders) are exported for tests/unit/model-card-figures.test.ts.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { UserInputError } from '../src-shared/errors.js';

// ---------------------------------------------------------------------------------------------------------
// errors

/** Bad input (a missing or malformed log, a bad flag): exit 2 with one line. */
export class FiguresInputError extends UserInputError {
  override name = 'FiguresInputError';
}

// ---------------------------------------------------------------------------------------------------------
// the training log

export interface LogEntry {
  step: number;
  loss: number;
  valLoss: number | null;
}

/**
 * Parses train-log.jsonl (one JSON object per line; blank lines ignored). A resumed run appends entries that
 * start again after its checkpoint's step: an entry whose step is not above the previous one's drops every
 * earlier entry at or after its step (the resumed run supersedes the interrupted one).
 */
export function parseTrainLog(text: string, name = 'train-log.jsonl'): LogEntry[] {
  const out: LogEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch {
      throw new FiguresInputError(`${name} line ${i + 1}: not valid JSON`);
    }
    if (typeof o !== 'object' || o === null) throw new FiguresInputError(`${name} line ${i + 1}: not a JSON object`);
    const r = o as Record<string, unknown>;
    const step = r.step;
    const loss = r.loss;
    const val = r.valLoss ?? null;
    if (typeof step !== 'number' || !Number.isInteger(step) || step < 0) throw new FiguresInputError(`${name} line ${i + 1}: 'step' must be a non-negative integer`);
    if (typeof loss !== 'number') throw new FiguresInputError(`${name} line ${i + 1}: 'loss' must be a number`);
    if (val !== null && typeof val !== 'number') throw new FiguresInputError(`${name} line ${i + 1}: 'valLoss' must be a number or null`);
    while (out.length && out[out.length - 1]!.step >= step) out.pop();
    out.push({ step, loss, valLoss: val });
  }
  if (!out.length) throw new FiguresInputError(`${name}: no log entries`);
  return out;
}

/**
 * Centred running mean with half-width h: out[i] is the mean of values[i−k … i+k], k = min(h, i, n−1−i), so
 * the window stays centred (no lag) and shrinks towards the ends (the end points are the values themselves).
 * A straight line is left unchanged. Non-finite values are left out of the means (NaN where a window has none).
 */
export function centredMean(values: readonly number[], h: number): number[] {
  if (!Number.isInteger(h) || h < 0) throw new FiguresInputError(`smoothing half-width must be a non-negative integer, got ${h}`);
  const n = values.length;
  // prefix sums of the finite values and of their count
  const sum = new Float64Array(n + 1);
  const cnt = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    const ok = Number.isFinite(v);
    sum[i + 1] = sum[i]! + (ok ? v : 0);
    cnt[i + 1] = cnt[i]! + (ok ? 1 : 0);
  }
  return Array.from({ length: n }, (_, i) => {
    const k = Math.min(h, i, n - 1 - i);
    const c = cnt[i + k + 1]! - cnt[i - k]!;
    return c > 0 ? (sum[i + k + 1]! - sum[i - k]!) / c : NaN;
  });
}

/** The default half-width for n log entries: about n/150 (windows of ~1.3 % of the run; none below 75 entries). */
export function defaultHalfWidth(n: number): number {
  return Math.round(n / 150);
}

/** The median gap between consecutive log steps (the logging interval), or null for fewer than two entries. */
export function logInterval(entries: readonly LogEntry[]): number | null {
  if (entries.length < 2) return null;
  const gaps = entries.slice(1).map((e, i) => e.step - entries[i]!.step).sort((a, b) => a - b);
  return gaps[Math.floor((gaps.length - 1) / 2)]!;
}

// ---------------------------------------------------------------------------------------------------------
// axes

/** Rounds away binary noise (0.30000000000000004 → 0.3). */
const clean = (v: number) => Number(v.toPrecision(12));

/** The step of 1, 2 or 5 × 10^k nearest above range/target. */
export function niceStep(range: number, target: number): number {
  const raw = range / Math.max(1, target);
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  const m = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  return clean(m * p);
}

/** Ticks at multiples of a 1-2-5 step (at least `minStep`) inside [min, max] (about `target` of them). */
export function niceTicks(min: number, max: number, target = 5, minStep = 0): number[] {
  if (!(Number.isFinite(min) && Number.isFinite(max)) || max < min) throw new Error(`bad axis range [${min}, ${max}]`);
  if (max === min) return [clean(min)];
  const step = Math.max(niceStep(max - min, target), minStep);
  const out: number[] = [];
  const k0 = Math.ceil(min / step - 1e-9);
  const k1 = Math.floor(max / step + 1e-9);
  for (let k = k0; k <= k1; k++) out.push(clean(k * step));
  return out;
}

/** [min, max] widened to whole multiples of the nice step (a degenerate range is widened around its value). */
export function niceDomain(min: number, max: number, target = 5): [number, number] {
  if (max === min) {
    const d = min === 0 ? 1 : Math.abs(min) * 0.1;
    return niceDomain(min - d, max + d, target);
  }
  const step = niceStep(max - min, target);
  return [clean(Math.floor(min / step + 1e-9) * step), clean(Math.ceil(max / step - 1e-9) * step)];
}

/**
 * Log-axis ticks inside [min, max] (min > 0): labelled ticks at 10^k, or at 1, 2, 5 × 10^k, or at every
 * 1…9 × 10^k — the first of these giving at least three — and minor ticks at the other 1…9 × 10^k.
 */
export function logTicks(min: number, max: number): { major: number[]; minor: number[] } {
  if (!(min > 0) || !(max >= min) || !Number.isFinite(max)) throw new Error(`bad log axis range [${min}, ${max}]`);
  const all: number[] = [];
  for (let e = Math.floor(Math.log10(min)) - 1; e <= Math.ceil(Math.log10(max)) + 1; e++) {
    for (let m = 1; m <= 9; m++) {
      const v = clean(m * 10 ** e);
      if (v >= min * (1 - 1e-12) && v <= max * (1 + 1e-12)) all.push(v);
    }
  }
  const mant = (v: number) => Math.round(v / 10 ** Math.floor(Math.log10(v) + 1e-12));
  for (const set of [[1], [1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]]) {
    const major = all.filter((v) => set.includes(mant(v)));
    if (major.length >= 3 || set.length === 9) return { major, minor: all.filter((v) => !major.includes(v)) };
  }
  return { major: all, minor: [] };
}

/** Log scale when every value is positive and they span a factor of at least `ratio`. */
export function useLogScale(values: readonly number[], ratio = 5): boolean {
  const v = values.filter((x) => Number.isFinite(x));
  if (!v.length || v.some((x) => x <= 0)) return false;
  return Math.max(...v) / Math.min(...v) >= ratio;
}

/** Tick labels: 0; 10k / 1.5M for large values; 1e-4 for tiny ones; otherwise up to six significant digits. */
export function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6) return `${clean(v / 1e6)}M`;
  if (a >= 1e4) return `${clean(v / 1e3)}k`;
  if (a < 1e-3) {
    const [m, e] = v.toExponential().split('e');
    return `${clean(Number(m))}e${Number(e)}`;
  }
  return String(Number(v.toPrecision(6)));
}

export interface Scale {
  (v: number): number;
  domain: [number, number];
  range: [number, number];
}

export function linearScale(domain: [number, number], range: [number, number]): Scale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const f = ((v: number) => r0 + ((v - d0) / (d1 - d0)) * (r1 - r0)) as Scale;
  f.domain = domain;
  f.range = range;
  return f;
}

export function logScale(domain: [number, number], range: [number, number]): Scale {
  const [l0, l1] = [Math.log10(domain[0]), Math.log10(domain[1])];
  const [r0, r1] = range;
  const f = ((v: number) => r0 + ((Math.log10(v) - l0) / (l1 - l0)) * (r1 - r0)) as Scale;
  f.domain = domain;
  f.range = range;
  return f;
}

// ---------------------------------------------------------------------------------------------------------
// images seen against the step

/** Batch sizes by step: `batch` images per step from `fromStep` on (ascending fromStep, the first at 0). */
export type BatchSegments = Array<{ fromStep: number; batch: number }>;

/** Images seen after `step` steps. */
export function imagesAtStep(segs: BatchSegments, step: number): number {
  let images = 0;
  for (let i = 0; i < segs.length; i++) {
    const end = i + 1 < segs.length ? Math.min(step, segs[i + 1]!.fromStep) : step;
    if (end > segs[i]!.fromStep) images += (end - segs[i]!.fromStep) * segs[i]!.batch;
  }
  return images;
}

/** The (fractional) step at which `images` images had been seen. */
export function stepAtImages(segs: BatchSegments, images: number): number {
  let seen = 0;
  for (let i = 0; i < segs.length; i++) {
    const { fromStep, batch } = segs[i]!;
    const next = i + 1 < segs.length ? segs[i + 1]!.fromStep : Infinity;
    const span = (next - fromStep) * batch;
    if (images <= seen + span) return fromStep + (images - seen) / batch;
    seen += span;
  }
  return NaN;
}

/**
 * The batch segments of a run from model.json: `training.batch` throughout, or, when a resumed segment changed it
 * (`training.batchAtStart`), `batchAtStart` up to the step at which the images seen (`imagesSeen` after `steps`)
 * say the batch changed. Null when model.json does not say, or when the images seen fit neither (a run whose batch
 * changed more than once, or back: a later segment that took the run's first batch again).
 */
export function batchSegments(meta: { steps?: number; imagesSeen?: number; training?: { batch?: number; batchAtStart?: number } }): BatchSegments | null {
  const b = meta.training?.batch;
  if (typeof b !== 'number' || !(b > 0)) return null;
  const b0 = meta.training?.batchAtStart;
  const { steps, imagesSeen } = meta;
  const known = typeof steps === 'number' && typeof imagesSeen === 'number';
  if (typeof b0 !== 'number' || b0 === b) return !known || b * steps === imagesSeen ? [{ fromStep: 0, batch: b }] : null;
  if (!known || !(b0 > 0)) return null;
  const change = (b * steps - imagesSeen) / (b - b0);
  if (!Number.isInteger(change) || change <= 0 || change >= steps) return null;
  return [
    { fromStep: 0, batch: b0 },
    { fromStep: change, batch: b },
  ];
}

// ---------------------------------------------------------------------------------------------------------
// the loss plot (SVG)

export interface LossPlotOptions {
  model: string;
  entries: LogEntry[];
  /** Images per step (model.json training.batch), or the batch by step (batchSegments); null: no images-seen axis. */
  batch: number | BatchSegments | null;
  /** Half-width of the centred running mean, in log entries (default: defaultHalfWidth(entries.length)). */
  smoothing?: number;
  yScale?: 'auto' | 'log' | 'linear';
  /** A line under the title (e.g. the loss's definition). */
  subtitle?: string;
  width?: number;
  height?: number;
}

export const PLOT_MARGIN = { left: 88, right: 28, top: 104, bottom: 62 };

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const fmt = (v: number) => String(Math.round(v * 100) / 100);

function polyline(points: [number, number][], attrs: string): string {
  return `<polyline fill="none" ${attrs} points="${points.map(([x, y]) => `${fmt(x)},${fmt(y)}`).join(' ')}"/>`;
}

export interface LossPlot {
  svg: string;
  width: number;
  height: number;
  x: Scale;
  y: Scale;
  logY: boolean;
  smoothing: number;
  smoothed: number[];
  validation: LogEntry[];
}

/** The loss figure as a standalone SVG string (the page around it only adds fonts). */
export function lossPlot(o: LossPlotOptions): LossPlot {
  const width = o.width ?? 960;
  const height = o.height ?? 560;
  const m = PLOT_MARGIN;
  const [px0, px1, py0, py1] = [m.left, width - m.right, m.top, height - m.bottom];
  const entries = o.entries.filter((e) => Number.isFinite(e.loss));
  if (!entries.length) throw new FiguresInputError('the training log has no finite loss');
  const validation = o.entries.filter((e) => e.valLoss !== null && Number.isFinite(e.valLoss));
  const smoothing = o.smoothing ?? defaultHalfWidth(entries.length);
  const smoothed = centredMean(entries.map((e) => e.loss), smoothing);
  const every = logInterval(entries);
  const window = 2 * smoothing + 1;
  const smoothLabel =
    smoothing === 0 ? 'training loss (per log entry; too few to smooth)' : `training loss, centred running mean of ${window} entries${every ? ` (${formatTick(window * every)} steps)` : ''}`;
  const yValues = [...entries.map((e) => e.loss), ...validation.map((e) => e.valLoss!)];
  const logY = o.yScale === 'log' ? true : o.yScale === 'linear' ? false : useLogScale(yValues);
  if (logY && yValues.some((v) => v <= 0)) throw new FiguresInputError('a log-scale y axis needs positive losses');
  const lastStep = Math.max(...o.entries.map((e) => e.step));
  const x = linearScale([0, Math.max(lastStep, 1)], [px0, px1]);
  let yMin = Math.min(...yValues);
  let yMax = Math.max(...yValues);
  let y: Scale;
  let yMajor: number[];
  let yMinor: number[] = [];
  if (logY) {
    if (yMax === yMin) [yMin, yMax] = [yMin / 1.5, yMax * 1.5];
    const pad = (Math.log10(yMax) - Math.log10(yMin)) * 0.04;
    y = logScale([10 ** (Math.log10(yMin) - pad), 10 ** (Math.log10(yMax) + pad)], [py1, py0]);
    const t = logTicks(y.domain[0], y.domain[1]);
    [yMajor, yMinor] = [t.major, t.minor];
  } else {
    const d = niceDomain(yMin, yMax, 6);
    y = linearScale(d, [py1, py0]);
    yMajor = niceTicks(d[0], d[1], 6);
  }
  const xTicks = niceTicks(0, x.domain[1], 8, 1);

  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Liberation Sans, sans-serif" font-size="13" fill="#222">`);
  parts.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#fff"/>`);
  parts.push(`<defs><clipPath id="plot"><rect x="${px0}" y="${py0}" width="${px1 - px0}" height="${py1 - py0}"/></clipPath></defs>`);
  // title
  parts.push(`<text class="title" x="${width / 2}" y="26" text-anchor="middle" font-size="18" font-weight="bold">${escapeXml(`${o.model}: training and validation loss`)}</text>`);
  if (o.subtitle) parts.push(`<text class="subtitle" x="${width / 2}" y="46" text-anchor="middle" font-size="12" fill="#555">${escapeXml(o.subtitle)}</text>`);
  // grid
  for (const t of yMinor) parts.push(`<line class="grid-minor" x1="${px0}" x2="${px1}" y1="${fmt(y(t))}" y2="${fmt(y(t))}" stroke="#f0f0f0"/>`);
  for (const t of yMajor) parts.push(`<line class="grid" x1="${px0}" x2="${px1}" y1="${fmt(y(t))}" y2="${fmt(y(t))}" stroke="#ddd"/>`);
  for (const t of xTicks) parts.push(`<line class="grid" x1="${fmt(x(t))}" x2="${fmt(x(t))}" y1="${py0}" y2="${py1}" stroke="#ddd"/>`);
  // data
  const clip = 'clip-path="url(#plot)"';
  parts.push(`<g class="series-train" ${clip}>${polyline(entries.map((e) => [x(e.step), y(e.loss)]), 'stroke="#9ecae1" stroke-width="1"')}</g>`);
  const sm: [number, number][] = [];
  entries.forEach((e, i) => Number.isFinite(smoothed[i]) && sm.push([x(e.step), y(smoothed[i]!)]));
  parts.push(`<g class="series-smoothed" ${clip}>${polyline(sm, 'stroke="#08519c" stroke-width="2.2" stroke-linejoin="round"')}</g>`);
  if (validation.length) {
    // markers unclipped: the last evaluation sits on the right edge
    const vp: [number, number][] = validation.map((e) => [x(e.step), y(e.valLoss!)]);
    parts.push(
      `<g class="series-validation">${polyline(vp, 'stroke="#d94801" stroke-width="1.5"')}${vp
        .map(([cx, cy]) => `<circle cx="${fmt(cx)}" cy="${fmt(cy)}" r="3.2" fill="#d94801"/>`)
        .join('')}</g>`,
    );
  }
  // axes
  parts.push(`<rect x="${px0}" y="${py0}" width="${px1 - px0}" height="${py1 - py0}" fill="none" stroke="#333"/>`);
  for (const t of xTicks) {
    const X = fmt(x(t));
    parts.push(`<line x1="${X}" x2="${X}" y1="${py1}" y2="${py1 + 5}" stroke="#333"/><text class="xtick" x="${X}" y="${py1 + 19}" text-anchor="middle">${formatTick(t)}</text>`);
  }
  parts.push(`<text class="xlabel" x="${(px0 + px1) / 2}" y="${py1 + 44}" text-anchor="middle" font-size="14">training step</text>`);
  for (const t of yMinor) parts.push(`<line x1="${px0 - 3}" x2="${px0}" y1="${fmt(y(t))}" y2="${fmt(y(t))}" stroke="#333"/>`);
  for (const t of yMajor) {
    const Y = fmt(y(t));
    parts.push(`<line x1="${px0 - 6}" x2="${px0}" y1="${Y}" y2="${Y}" stroke="#333"/><text class="ytick" x="${px0 - 9}" y="${Y}" dy="0.35em" text-anchor="end">${formatTick(t)}</text>`);
  }
  const ylabel = `loss${logY ? ' (log scale)' : ''}`;
  parts.push(`<text class="ylabel" transform="translate(20 ${(py0 + py1) / 2}) rotate(-90)" text-anchor="middle" font-size="14">${ylabel}</text>`);
  const segs: BatchSegments | null = typeof o.batch === 'number' ? (o.batch > 0 ? [{ fromStep: 0, batch: o.batch }] : null) : o.batch?.length ? o.batch : null;
  if (segs) {
    const imgTicks = niceTicks(0, imagesAtStep(segs, x.domain[1]), 8, 1);
    for (const t of imgTicks) {
      const X = fmt(x(stepAtImages(segs, t)));
      parts.push(`<line x1="${X}" x2="${X}" y1="${py0 - 5}" y2="${py0}" stroke="#333"/><text class="x2tick" x="${X}" y="${py0 - 9}" text-anchor="middle">${formatTick(t)}</text>`);
    }
    const how =
      segs.length === 1
        ? `step × batch ${segs[0]!.batch}`
        : `batch ${segs.map((g, i) => (i + 1 < segs.length ? `${g.batch} to step ${segs[i + 1]!.fromStep}` : `then ${g.batch}`)).join(', ')}`;
    parts.push(`<text class="x2label" x="${(px0 + px1) / 2}" y="${py0 - 32}" text-anchor="middle" font-size="14">images seen (${how})</text>`);
  }
  // legend (top right inside the plot)
  const items: [string, string][] = [];
  if (smoothing > 0) items.push([`training loss (per log entry)`, '<line x1="0" x2="26" y1="0" y2="0" stroke="#9ecae1" stroke-width="1.5"/>']);
  items.push([smoothLabel, '<line x1="0" x2="26" y1="0" y2="0" stroke="#08519c" stroke-width="2.2"/>']);
  if (validation.length) items.push([`validation loss (${validation.length} evaluation${validation.length === 1 ? '' : 's'})`, '<line x1="0" x2="26" y1="0" y2="0" stroke="#d94801" stroke-width="1.5"/><circle cx="13" cy="0" r="3.2" fill="#d94801"/>']);
  else items.push(['validation loss: none in the log', '']);
  const lw = 8 + 34 + Math.max(...items.map(([t]) => t.length)) * 7.4 + 8;
  const lh = 10 + items.length * 20;
  const lx = px1 - lw - 10;
  const ly = py0 + 10;
  parts.push(`<g class="legend" transform="translate(${fmt(lx)} ${ly})"><rect x="0" y="0" width="${fmt(lw)}" height="${lh}" fill="#fff" fill-opacity="0.92" stroke="#bbb"/>`);
  items.forEach(([label, sym], i) => {
    const yy = 15 + i * 20;
    parts.push(`<g transform="translate(8 ${yy})">${sym}</g><text x="42" y="${yy}" dy="0.35em" font-size="12.5">${escapeXml(label)}</text>`);
  });
  parts.push('</g></svg>');
  return { svg: parts.join('\n'), width, height, x, y, logY, smoothing, smoothed, validation };
}

// ---------------------------------------------------------------------------------------------------------
// images: stretch, orientation, grid

export interface Stretch {
  kind: 'linear' | 'asinh';
  /** Data value shown black. */
  lo: number;
  /** Data value shown white. */
  hi: number;
  /** asinh softening β (data units): linear below about β, logarithmic above. */
  beta?: number;
}

/** Display level in [0, 1] of a data value (clipped outside [lo, hi]); NaN stays NaN. */
export function stretchValue(v: number, s: Stretch): number {
  if (Number.isNaN(v)) return NaN;
  const span = s.hi - s.lo;
  if (!(span > 0)) throw new FiguresInputError(`display range must have hi > lo, got [${s.lo}, ${s.hi}]`);
  const d = Math.min(Math.max(v - s.lo, 0), span);
  if (s.kind === 'linear') return d / span;
  const beta = s.beta ?? span / 10;
  if (!(beta > 0)) throw new FiguresInputError(`asinh softening must be positive, got ${beta}`);
  return Math.asinh(d / beta) / Math.asinh(span / beta);
}

/** A one-line description of the stretch for the figure. */
export function describeStretch(s: Stretch, what: string): string {
  if (s.kind === 'linear') return `linear stretch: ${formatTick(s.lo)} (black) to ${formatTick(s.hi)} (white) = ${what}; values outside clipped`;
  const beta = s.beta ?? (s.hi - s.lo) / 10;
  return `asinh stretch asinh((x − ${formatTick(s.lo)})/β) / asinh((${formatTick(s.hi)} − ${formatTick(s.lo)})/β), β = ${formatTick(Number(beta.toPrecision(3)))}; white = ${what}; values outside clipped`;
}

/**
 * RGBA pixels for display of one [ny, nx] image stored in FITS order (row 0 = the bottom row): rows flipped so
 * row 0 comes out at the bottom, grey levels from the stretch, NaN pixels red.
 */
export function imageToRgba(data: ArrayLike<number>, ny: number, nx: number, s: Stretch): Uint8ClampedArray {
  if (data.length !== nx * ny) throw new Error(`image has ${data.length} pixels, expected ${ny}×${nx}`);
  const out = new Uint8ClampedArray(nx * ny * 4);
  for (let r = 0; r < ny; r++) {
    const src = (ny - 1 - r) * nx;
    for (let c = 0; c < nx; c++) {
      const t = stretchValue(data[src + c]!, s);
      const o = (r * nx + c) * 4;
      if (Number.isNaN(t)) {
        out[o] = 255;
        out[o + 1] = 0;
        out[o + 2] = 0;
      } else {
        const g = Math.round(255 * t);
        out[o] = g;
        out[o + 1] = g;
        out[o + 2] = g;
      }
      out[o + 3] = 255;
    }
  }
  return out;
}

export interface GridLayout {
  cols: number;
  rows: number;
  width: number;
  height: number;
  /** Top-left corner of cell i (row-major from the top left). */
  cells: [number, number][];
}

/** n cells of `cell` px with `gap` px between them, in ⌈√n⌉ columns. */
export function gridLayout(n: number, cell: number, gap: number): GridLayout {
  if (!Number.isInteger(n) || n < 1) throw new Error(`grid needs a positive number of cells, got ${n}`);
  const cols = Math.ceil(Math.sqrt(n - 1e-9));
  const rows = Math.ceil(n / cols);
  const cells: [number, number][] = [];
  for (let i = 0; i < n; i++) cells.push([(i % cols) * (cell + gap), Math.floor(i / cols) * (cell + gap)]);
  return { cols, rows, width: cols * cell + (cols - 1) * gap, height: rows * cell + (rows - 1) * gap, cells };
}

/** `count` indices spread evenly over 0…total−1 (the first always included). */
export function evenlySpaced(total: number, count: number): number[] {
  if (count > total) throw new FiguresInputError(`asked for ${count} images, only ${total} available`);
  return Array.from({ length: count }, (_, k) => Math.floor((k * total) / count));
}

// ---------------------------------------------------------------------------------------------------------
// pages

const PAGE_STYLE = `
  html, body { margin: 0; padding: 0; background: #fff; }
  body { font-family: "DejaVu Sans", "Liberation Sans", sans-serif; color: #222; }
  #figure { display: inline-block; padding: 14px 18px; background: #fff; }
  #figure > svg { display: block; }
  h1 { font-size: 18px; margin: 0 0 4px 0; text-align: center; }
  .sub { font-size: 12px; color: #555; text-align: center; margin: 0 0 12px 0; }
  .panels { display: grid; column-gap: 36px; justify-content: center; }
  .panels h2 { font-size: 15px; margin: 0 0 2px 0; text-align: center; }
  .panels .note { font-size: 11.5px; color: #555; text-align: center; margin: 0 0 8px 0; align-self: end; }
  .grid { position: relative; margin: 0 auto; }
  canvas { position: absolute; image-rendering: pixelated; }
  .bar { margin: 14px auto 0 auto; }
  .foot { font-size: 11.5px; color: #444; text-align: center; margin-top: 6px; }
`;

export function lossPage(plot: LossPlot): string {
  return `<!doctype html><html><head><meta charset="utf-8"><style>${PAGE_STYLE}</style></head><body><div id="figure">${plot.svg}</div><script>window.__ready = true;</script></body></html>`;
}

export interface PanelImages {
  caption: string;
  note: string;
  images: Float32Array[];
}

export interface SamplesPageOptions {
  title: string;
  subtitle: string;
  ny: number;
  nx: number;
  panels: PanelImages[];
  stretch: Stretch;
  stretchWhat: string;
  /** Displayed size of one image, CSS px. */
  cell?: number;
  gap?: number;
  /** Unit of the colour bar's values. */
  unit?: string;
}

function base64(bytes: Uint8ClampedArray): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** The samples figure: two panels of image grids in one stretch, a colour bar and the stretch's description. */
export function samplesPage(o: SamplesPageOptions): string {
  const cell = o.cell ?? 96;
  const gap = o.gap ?? 4;
  const n = Math.max(...o.panels.map((p) => p.images.length));
  const grid = gridLayout(n, cell, gap);
  const draws: { id: string; w: number; h: number; data: string }[] = [];
  const panelW = Math.max(grid.width, 300);
  // a CSS grid of one column per panel, rows caption / note / images, so the image grids line up
  const cells: string[][] = [[], [], []];
  o.panels.forEach((p, pi) => {
    const canvases = p.images
      .map((img, i) => {
        const id = `c${pi}_${i}`;
        draws.push({ id, w: o.nx, h: o.ny, data: base64(imageToRgba(img, o.ny, o.nx, o.stretch)) });
        const [left, top] = grid.cells[i]!;
        return `<canvas id="${id}" width="${o.nx}" height="${o.ny}" style="left:${left}px;top:${top}px;width:${cell}px;height:${cell}px"></canvas>`;
      })
      .join('');
    cells[0]!.push(`<h2>${escapeXml(p.caption)}</h2>`);
    cells[1]!.push(`<div class="note">${escapeXml(p.note)}</div>`);
    cells[2]!.push(`<div class="grid" style="width:${grid.width}px;height:${grid.height}px">${canvases}</div>`);
  });
  const panelsHtml = `<div class="panels" style="grid-template-columns:repeat(${o.panels.length}, ${panelW}px)">${cells.flat().join('')}</div>`;
  // colour bar: value along x (linear in data units), grey level from the stretch
  const barW = Math.min(panelW * o.panels.length + 36 * (o.panels.length - 1), 520);
  const ramp = new Float32Array(barW);
  for (let i = 0; i < barW; i++) ramp[i] = o.stretch.lo + ((i + 0.5) / barW) * (o.stretch.hi - o.stretch.lo);
  draws.push({ id: 'bar', w: barW, h: 1, data: base64(imageToRgba(ramp, 1, barW, o.stretch)) });
  const ticks = niceTicks(o.stretch.lo, o.stretch.hi, 5);
  const bx = linearScale([o.stretch.lo, o.stretch.hi], [0, barW]);
  const tickSvg = ticks
    .map((t) => `<line x1="${fmt(bx(t))}" x2="${fmt(bx(t))}" y1="0" y2="5" stroke="#333"/><text x="${fmt(bx(t))}" y="18" text-anchor="middle" font-size="11.5">${formatTick(t)}</text>`)
    .join('');
  const unit = o.unit ? ` (${escapeXml(o.unit)})` : '';
  const bar = `<div class="bar" style="width:${barW}px"><div style="position:relative;height:14px"><canvas id="bar" width="${barW}" height="1" style="left:0;top:0;width:${barW}px;height:14px;outline:1px solid #888"></canvas></div><svg width="${barW + 2}" height="22" style="overflow:visible;display:block" font-family="DejaVu Sans, sans-serif" fill="#222">${tickSvg}</svg><div class="foot" style="margin-top:2px">pixel value${unit}</div></div>`;
  const script = `
    const draws = ${JSON.stringify(draws)};
    for (const d of draws) {
      const bin = atob(d.data);
      const px = new Uint8ClampedArray(bin.length);
      for (let i = 0; i < bin.length; i++) px[i] = bin.charCodeAt(i);
      document.getElementById(d.id).getContext('2d').putImageData(new ImageData(px, d.w, d.h), 0, 0);
    }
    window.__ready = true;`;
  return `<!doctype html><html><head><meta charset="utf-8"><style>${PAGE_STYLE}</style></head><body><div id="figure"><h1>${escapeXml(o.title)}</h1><div class="sub">${escapeXml(o.subtitle)}</div>${panelsHtml}${bar}<div class="foot">${escapeXml(describeStretch(o.stretch, o.stretchWhat))}; same stretch for both panels. FITS row 0 at the bottom.</div></div><script>${script}</script></body></html>`;
}

// ---------------------------------------------------------------------------------------------------------
// rendering (Chromium through playwright-core)

export const CHROMIUM = process.env.SKYSCORE_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-quic', '--no-first-run', '--disable-sync'];

export interface Renderer {
  /** PNG of the page's #figure element. */
  png(html: string): Promise<Buffer>;
  close(): Promise<void>;
}

export async function openRenderer(deviceScaleFactor = 2): Promise<Renderer> {
  const { chromium } = await import('playwright-core');
  let browser;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  } catch (e) {
    throw new Error(`could not start Chromium at ${CHROMIUM} (set SKYSCORE_CHROMIUM): ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
  const context = await browser.newContext({ deviceScaleFactor, viewport: { width: 1600, height: 1200 } });
  return {
    async png(html: string) {
      const page = await context.newPage();
      try {
        await page.setContent(html, { waitUntil: 'load' });
        await page.waitForFunction(() => (window as unknown as { __ready?: boolean }).__ready === true, undefined, { timeout: 30_000 });
        return await page.locator('#figure').screenshot({ type: 'png', animations: 'disabled' });
      } finally {
        await page.close();
      }
    },
    close: () => browser.close(),
  };
}

/** Width and height of a PNG from its IHDR chunk. */
export function pngSize(png: Uint8Array): { width: number; height: number } {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (png.length < 24 || sig.some((b, i) => png[i] !== b)) throw new Error('not a PNG');
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: dv.getUint32(16), height: dv.getUint32(20) };
}

// ---------------------------------------------------------------------------------------------------------
// the command

const USAGE = `usage: npm run figures -- --model DIR [--n 16] [--steps K] [--seed S] [--backend B] [--sampler pc|em|ald|ula]
                        [--stretch linear|asinh] [--out-dir DIR] [--only loss|samples] [--samples-fits FILE]
                        [--data CUBE.fits] [--smooth H] [--y-scale auto|log|linear] [--quiet]`;

const OPTIONS = {
  model: { type: 'string' },
  n: { type: 'string' },
  steps: { type: 'string' },
  seed: { type: 'string' },
  backend: { type: 'string' },
  sampler: { type: 'string' },
  stretch: { type: 'string' },
  'out-dir': { type: 'string' },
  only: { type: 'string' },
  'samples-fits': { type: 'string' },
  data: { type: 'string' },
  smooth: { type: 'string' },
  'y-scale': { type: 'string' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean' },
} as const;

function intFlag(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new FiguresInputError(`--${name} must be an integer ≥ ${min}, got '${v}'`);
  return n;
}

interface ModelJson {
  training?: { batch?: number; batchAtStart?: number; lossUnit?: string };
  steps?: number;
  imagesSeen?: number;
  data?: { files?: string[]; source?: string; split?: string | null };
  normalisation?: { offset: number; scale: number };
}

async function readModelJson(dir: string): Promise<ModelJson> {
  const file = path.join(dir, 'model.json');
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    throw new FiguresInputError(`${file}: no such file (is ${dir} a model folder?)`);
  }
  try {
    return JSON.parse(text) as ModelJson;
  } catch {
    throw new FiguresInputError(`${file}: not valid JSON`);
  }
}

async function main(argv: string[]): Promise<number> {
  let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];
  try {
    values = parseArgs({ args: argv, options: OPTIONS }).values;
  } catch (e) {
    throw new FiguresInputError(`${(e as Error).message}\n${USAGE}`, { cause: e });
  }
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (!values.model) throw new FiguresInputError(`--model DIR is required\n${USAGE}`);
  const modelDir = path.resolve(values.model);
  const outDir = path.resolve(values['out-dir'] ?? modelDir);
  const only = values.only;
  if (only !== undefined && only !== 'loss' && only !== 'samples') throw new FiguresInputError(`--only must be loss or samples, got '${only}'`);
  const stretchKind = values.stretch ?? 'linear';
  if (stretchKind !== 'linear' && stretchKind !== 'asinh') throw new FiguresInputError(`--stretch must be linear or asinh, got '${stretchKind}'`);
  const yScale = values['y-scale'] ?? 'auto';
  if (yScale !== 'auto' && yScale !== 'log' && yScale !== 'linear') throw new FiguresInputError(`--y-scale must be auto, log or linear, got '${yScale}'`);
  const smoothing = intFlag('smooth', values.smooth, 0);
  const n = intFlag('n', values.n, 1) ?? 16;
  const seed = intFlag('seed', values.seed, 0) ?? 0;
  const stepsFlag = intFlag('steps', values.steps, 1);
  const quiet = values.quiet === true;
  const log = (s: string) => quiet || process.stderr.write(`figures: ${s}\n`);
  const meta = await readModelJson(modelDir);
  const modelName = path.basename(modelDir);

  const { writeFileAtomic } = await import('../src-main/io.js');
  const jobs: { file: string; html: string }[] = [];

  if (only !== 'samples') {
    const logFile = path.join(modelDir, 'train-log.jsonl');
    let text: string;
    try {
      text = await fs.readFile(logFile, 'utf8');
    } catch {
      throw new FiguresInputError(`${logFile}: no such file (the loss figure needs the training log; --only samples skips it)`);
    }
    const entries = parseTrainLog(text, logFile);
    const batch = batchSegments(meta);
    const lastStep = entries[entries.length - 1]!.step;
    const batchText = batch ? (batch.length === 1 ? `batch ${batch[0]!.batch}` : `batch ${batch.map((g) => g.batch).join(' then ')}`) : null;
    const subtitle = [
      meta.training?.lossUnit ? `loss = ${meta.training.lossUnit}` : null,
      `${lastStep} steps${batch ? `, ${batchText}, ${formatTick(imagesAtStep(batch, lastStep))} images seen` : ''}`,
    ]
      .filter(Boolean)
      .join(' · ');
    const plot = lossPlot({ model: modelName, entries, batch, smoothing, yScale: yScale as 'auto' | 'log' | 'linear', subtitle });
    log(`loss: ${entries.length} log entries, ${plot.validation.length} validation losses, ${plot.logY ? 'log' : 'linear'} y, running mean half-width ${plot.smoothing} entries`);
    jobs.push({ file: path.join(outDir, 'loss.png'), html: lossPage(plot) });
  }

  if (only !== 'loss') {
    const { readFits } = await import('../src-shared/fits/index.js');
    const { readInputFile } = await import('../src-main/io.js');
    const { GALAXY_CUBE } = await import('../src-main/evaluation.js');
    // validation images
    const cubeFile = path.resolve(values.data ?? GALAXY_CUBE);
    const file = readFits(await readInputFile(cubeFile));
    const cube = file.hdus[0]!.readImage();
    const [nx, ny] = [cube.shape[0]!, cube.shape[1]!];
    const nimg = cube.shape[2] ?? 1;
    const tableHdu = file.hdus.find((h) => h.kind === 'bintable' || h.kind === 'table');
    const split = tableHdu?.readTable().column('SPLIT');
    const trainedOn = [...(meta.data?.files ?? []), meta.data?.source ?? ''].map((f) => path.basename(f));
    // a cube without a SPLIT column is held out as a whole when the model was not trained on it
    const wholeCube = !split && values.data !== undefined && !trainedOn.includes(path.basename(cubeFile));
    if (!split && !wholeCube) throw new FiguresInputError(`${cubeFile}: no table with a SPLIT column (the validation images are those with SPLIT = validation; a --data cube the model was not trained on is used whole)`);
    const labels = split ? (split.data as unknown as string[]) : Array.from({ length: nimg }, () => 'validation');
    if (labels.length !== nimg) throw new FiguresInputError(`${cubeFile}: the SPLIT column has ${labels.length} rows for ${nimg} images`);
    const valIdx = labels.map((s, i) => (String(s).trim().toLowerCase() === 'validation' ? i : -1)).filter((i) => i >= 0);
    if (!valIdx.length) throw new FiguresInputError(`${cubeFile}: no image has SPLIT = validation`);
    if (!trainedOn.includes(path.basename(cubeFile)) && !wholeCube) log(`note: model.json does not list ${path.basename(cubeFile)} among its training files`);
    if (!wholeCube && meta.data && meta.data.split !== undefined && meta.data.split !== 'SPLIT') log(`note: the model's train/validation split was '${meta.data.split}', not the SPLIT column`);
    const npix = nx * ny;
    const chosen = evenlySpaced(valIdx.length, n).map((k) => valIdx[k]!);
    const valImages = chosen.map((gi) => Float32Array.from(cube.data.subarray(gi * npix, (gi + 1) * npix)));

    // samples
    let samples: Float32Array[];
    let sampleNote: string;
    if (values['samples-fits']) {
      const sf = path.resolve(values['samples-fits']);
      const hdu = readFits(await readInputFile(sf)).hdus[0]!;
      const img = hdu.readImage();
      const [sx, sy, sn] = [img.shape[0]!, img.shape[1]!, img.shape[2] ?? 1];
      if (sx !== nx || sy !== ny) throw new FiguresInputError(`${sf}: samples are ${sy}×${sx}, the validation images ${ny}×${nx}`);
      if (sn < n) throw new FiguresInputError(`${sf}: holds ${sn} samples, --n asks for ${n}`);
      samples = Array.from({ length: n }, (_, i) => Float32Array.from(img.data.subarray(i * npix, (i + 1) * npix)));
      const sampler = hdu.header.get('SKYSAMP');
      const steps = hdu.header.get('SKYSTEPS');
      const sd = hdu.header.get('SKYSEED');
      sampleNote = `${n} of ${sn} samples in ${path.basename(sf)}${sampler !== undefined ? ` (${sampler}, ${steps} steps, seed ${sd})` : ''}`;
    } else {
      const { initBackend, isBackendName } = await import('../src-main/engine/backend.js');
      const { checkPriorShape, resolvePrior } = await import('../src-main/priors.js');
      const { runSampling } = await import('../src-shared/diffusion/posterior.js');
      const { toDataUnits } = await import('../src-shared/diffusion/products.js');
      const { DEFAULT_STEPS, isSamplerName } = await import('../src-shared/diffusion/samplers/index.js');
      const { progressPrinter } = await import('../src-main/cli/commands/reconstruct.js');
      const backend = values.backend ?? 'auto';
      if (backend !== 'auto' && !isBackendName(backend)) throw new FiguresInputError(`unknown --backend '${backend}'`);
      const sampler = values.sampler ?? 'pc';
      if (!isSamplerName(sampler) || sampler === 'dps') throw new FiguresInputError(`--sampler must be pc, em, ald or ula, got '${sampler}'`);
      const steps = stepsFlag ?? DEFAULT_STEPS[sampler];
      const info = await initBackend(backend);
      const prior = await resolvePrior(modelDir);
      try {
        if (prior.kind === 'analytic') throw new FiguresInputError(`${modelDir} is not an image prior`);
        const w = checkPriorShape(prior, [ny, nx], 'the validation images');
        if (w) log(`note: ${w}`);
        log(`sampling ${n} images of ${prior.name} (${sampler}, ${steps} steps, seed ${seed}) on ${info.backend}`);
        const result = await runSampling(
          { prior: prior.model, sde: prior.sde, shape: [ny, nx] },
          { sampler, steps, n, seed, batchSize: Math.min(n, 16), onProgress: progressPrinter('figures', quiet), previewIntervalMs: 0 },
        );
        const data = toDataUnits(result.samples, { scale: prior.normalisation.scale, offset: prior.normalisation.offset });
        samples = Array.from({ length: n }, (_, i) => data.slice(i * npix, (i + 1) * npix));
        log(`sampled in ${result.seconds.toFixed(1)} s`);
        sampleNote = `${sampler} sampler, ${steps} steps, seed ${seed}, backend ${info.backend}`;
      } finally {
        prior.dispose();
      }
    }
    let vmax = 0;
    for (const im of valImages) for (const v of im) if (v > vmax) vmax = v;
    if (!(vmax > 0)) throw new FiguresInputError(`${cubeFile}: the validation images shown have no positive pixel`);
    const stretch: Stretch = { kind: stretchKind, lo: 0, hi: vmax };
    const html = samplesPage({
      title: `${modelName}: samples from the prior and validation images`,
      subtitle: `${n} unconditional samples beside ${n} images of ${path.basename(cubeFile)} held out from training`,
      ny,
      nx,
      stretch,
      stretchWhat: `the largest pixel of the ${n} validation images shown`,
      unit: meta.normalisation?.scale === 255 ? 'data units: 8-bit counts' : 'data units',
      panels: [
        { caption: 'samples from the prior', note: sampleNote, images: samples },
        {
          caption: 'validation images',
          note: wholeCube ? `not in the training data: ${n} of ${valIdx.length}, evenly spaced` : `SPLIT = validation (never trained on): ${n} of ${valIdx.length}, evenly spaced`,
          images: valImages,
        },
      ],
    });
    jobs.push({ file: path.join(outDir, 'samples.png'), html });
  }

  const renderer = await openRenderer(2);
  try {
    for (const j of jobs) {
      const png = await renderer.png(j.html);
      await writeFileAtomic(j.file, png);
      const { width, height } = pngSize(png);
      process.stdout.write(`figures: wrote ${j.file} (${width}×${height})\n`);
    }
  } finally {
    await renderer.close();
  }
  return 0;
}

// run only when executed (the tests import the pure parts)
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: Error) => {
      if (e instanceof UserInputError) {
        process.stderr.write(`figures: ${e.message}\n`);
        process.exit(2);
      }
      process.stderr.write(`figures: internal error: ${e.stack ?? e.message}\n`);
      process.exit(1);
    },
  );
}
