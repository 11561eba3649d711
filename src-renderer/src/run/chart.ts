/**
 * A small line chart on a 2-D canvas (χ² per pixel against step; training loss against step): axes with
 * 1-2-5 ticks (linear) or decades (log), a reference line, several series. The data live in `Trace`s,
 * plain growable arrays outside reactive state.
 */

/** A growable (x, y) series. */
export class Trace {
  private xs = new Float64Array(256);
  private ys = new Float64Array(256);
  length = 0;

  push(x: number, y: number): void {
    if (!Number.isFinite(x) || !Number.isFinite(y)) return;
    if (this.length === this.xs.length) {
      const nx = new Float64Array(this.xs.length * 2);
      nx.set(this.xs);
      this.xs = nx;
      const ny = new Float64Array(this.ys.length * 2);
      ny.set(this.ys);
      this.ys = ny;
    }
    this.xs[this.length] = x;
    this.ys[this.length] = y;
    this.length++;
  }

  x(i: number): number {
    return this.xs[i]!;
  }
  y(i: number): number {
    return this.ys[i]!;
  }

  clear(): void {
    this.length = 0;
  }

  last(): { x: number; y: number } | null {
    return this.length ? { x: this.xs[this.length - 1]!, y: this.ys[this.length - 1]! } : null;
  }

  toArrays(): { x: number[]; y: number[] } {
    return { x: Array.from(this.xs.subarray(0, this.length)), y: Array.from(this.ys.subarray(0, this.length)) };
  }
}

/** Ticks at 1, 2 or 5 × 10^k covering [lo, hi], about `count` of them. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return Number.isFinite(lo) ? [lo] : [];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : +v.toPrecision(12));
  return out;
}

/** Powers of ten within [lo, hi] (both > 0); with fewer than two, adds 2× and 5× ticks. */
export function logTicks(lo: number, hi: number): number[] {
  if (!(lo > 0) || !(hi >= lo)) return [];
  const out: number[] = [];
  for (let k = Math.floor(Math.log10(lo)); k <= Math.ceil(Math.log10(hi)); k++) {
    const p = 10 ** k;
    if (p >= lo * (1 - 1e-12) && p <= hi * (1 + 1e-12)) out.push(+p.toPrecision(12));
  }
  if (out.length >= 2) return out;
  const dense: number[] = [];
  for (let k = Math.floor(Math.log10(lo)); k <= Math.ceil(Math.log10(hi)); k++) {
    for (const m of [1, 2, 5]) {
      const v = +(m * 10 ** k).toPrecision(12);
      if (v >= lo * (1 - 1e-12) && v <= hi * (1 + 1e-12)) dense.push(v);
    }
  }
  return dense;
}

export function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(0).replace('e+', 'e');
  return String(+v.toPrecision(6));
}

export interface ChartSeries {
  trace: Trace;
  color: string;
  label: string;
}

export interface ChartOptions {
  logY?: boolean;
  /** A horizontal reference (e.g. χ² = 1). */
  refY?: number;
  xLabel?: string;
  yLabel?: string;
  /** The x range to show at least (e.g. [0, total steps]); it starts at `xMin` (default 0). */
  xMax?: number;
  xMin?: number;
  colors: { axis: string; text: string; grid: string; ref: string };
}

/** The y range of the series (finite, > 0 on a log axis), padded; null when empty. */
export function yRange(series: ChartSeries[], logY: boolean, refY?: number): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of series) {
    for (let i = 0; i < s.trace.length; i++) {
      const y = s.trace.y(i);
      if (logY && !(y > 0)) continue;
      if (y < lo) lo = y;
      if (y > hi) hi = y;
    }
  }
  if (refY !== undefined && (!logY || refY > 0) && lo <= hi) {
    lo = Math.min(lo, refY);
    hi = Math.max(hi, refY);
  }
  if (!(lo <= hi)) return null;
  if (logY) {
    const a = Math.log10(lo);
    const b = Math.log10(hi);
    const pad = Math.max(0.05, (b - a) * 0.05);
    return [10 ** (a - pad), 10 ** (b + pad)];
  }
  if (lo === hi) return [lo - 1, hi + 1];
  const pad = (hi - lo) * 0.05;
  return [lo - pad, hi + pad];
}

/** Grid lines across the plot with their labels to its left, at the tick values (`fy`: value → canvas y). */
export function drawYTicks(ctx: CanvasRenderingContext2D, ticks: number[], fy: (v: number) => number, left: number, pw: number): void {
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const t of ticks) {
    const y = Math.round(fy(t)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(left, y);
    ctx.lineTo(left + pw, y);
    ctx.stroke();
    ctx.fillText(formatTick(t), left - 4, y);
  }
}

/** Tick marks below the plot (or, with `grid`, lines across it) with their labels, at the tick values (`fx`: value → canvas x). */
export function drawXTicks(ctx: CanvasRenderingContext2D, ticks: number[], fx: (v: number) => number, top: number, ph: number, grid: boolean): void {
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const t of ticks) {
    const x = Math.round(fx(t)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(x, grid ? top : top + ph);
    ctx.lineTo(x, top + ph + (grid ? 0 : 3));
    ctx.stroke();
    ctx.fillText(formatTick(t), x, top + ph + 4);
  }
}

/** Draws the chart onto a 2-D context of CSS size w × h. */
export function drawChart(ctx: CanvasRenderingContext2D, w: number, h: number, series: ChartSeries[], opts: ChartOptions): void {
  const logY = opts.logY ?? false;
  ctx.clearRect(0, 0, w, h);
  ctx.font = '10px system-ui, sans-serif';
  const left = 44;
  const right = 8;
  const top = 8;
  const bottom = 26;
  const pw = Math.max(10, w - left - right);
  const ph = Math.max(10, h - top - bottom);
  let xmax = opts.xMax ?? 1;
  for (const s of series) {
    const l = s.trace.last();
    if (l && l.x > xmax) xmax = l.x;
  }
  const xmin = opts.xMin ?? 0;
  const yr = yRange(series, logY, opts.refY) ?? (logY ? [0.1, 10] : [0, 1]);
  const fy = (y: number) => {
    const t = logY ? (Math.log10(y) - Math.log10(yr[0])) / (Math.log10(yr[1]) - Math.log10(yr[0])) : (y - yr[0]) / (yr[1] - yr[0]);
    return top + ph * (1 - t);
  };
  const fx = (x: number) => left + (pw * (x - xmin)) / (xmax - xmin || 1);

  ctx.strokeStyle = opts.colors.grid;
  ctx.fillStyle = opts.colors.text;
  ctx.lineWidth = 1;
  drawYTicks(ctx, logY ? logTicks(yr[0], yr[1]) : niceTicks(yr[0], yr[1], 4), fy, left, pw);
  drawXTicks(ctx, niceTicks(xmin, xmax, 4), fx, top, ph, false);
  ctx.strokeStyle = opts.colors.axis;
  ctx.strokeRect(left + 0.5, top + 0.5, pw, ph);
  if (opts.xLabel) {
    ctx.textAlign = 'right';
    ctx.fillText(opts.xLabel, left + pw, top + ph + 14);
  }
  if (opts.yLabel) {
    ctx.textAlign = 'left';
    ctx.textBaseline = 'top';
    ctx.fillText(opts.yLabel, left + 4, top + 2);
  }
  if (opts.refY !== undefined && (!logY || opts.refY > 0)) {
    const y = fy(opts.refY);
    ctx.strokeStyle = opts.colors.ref;
    ctx.setLineDash([4, 3]);
    ctx.beginPath();
    ctx.moveTo(left, y);
    ctx.lineTo(left + pw, y);
    ctx.stroke();
    ctx.setLineDash([]);
  }
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, pw, ph);
  ctx.clip();
  for (const s of series) {
    ctx.strokeStyle = s.color;
    ctx.fillStyle = s.color;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    let started = false;
    for (let i = 0; i < s.trace.length; i++) {
      const yv = s.trace.y(i);
      if (logY && !(yv > 0)) continue;
      const x = fx(s.trace.x(i));
      const y = fy(yv);
      if (!started) {
        ctx.moveTo(x, y);
        started = true;
      } else ctx.lineTo(x, y);
    }
    ctx.stroke();
    const l = s.trace.last();
    if (l && (!logY || l.y > 0)) {
      ctx.beginPath();
      ctx.arc(fx(l.x), fy(l.y), 2.5, 0, 2 * Math.PI);
      ctx.fill();
    }
  }
  ctx.restore();
}
