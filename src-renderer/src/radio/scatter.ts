/**
 * A scatter plot on a 2-D canvas (the uv coverage, amplitude against uv distance): axes with 1-2-5 ticks
 * (run/chart.ts), point series drawn as small squares, an optional mirrored copy (−x, −y) for the conjugate
 * visibilities, an equal-aspect mode, and a view range that zooms about a point.
 */
import { niceTicks, drawXTicks, drawYTicks } from '../run/chart';

export interface ScatterSeries {
  x: Float32Array;
  y: Float32Array;
  color: string;
  label: string;
  /** Also draw (−x, −y) (the conjugate visibilities), in the same colour. */
  mirror?: boolean;
  /** Point size in CSS pixels (default 1.5). */
  size?: number;
}

export interface Range {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

export interface ScatterColors {
  axis: string;
  text: string;
  grid: string;
  background: string;
}

export interface ScatterOptions {
  xLabel: string;
  yLabel: string;
  /** Data values are divided by these for the axes (e.g. 1e3 for kλ). */
  xScale?: number;
  yScale?: number;
  /** One data unit is as long on both axes (the uv plane). */
  equalAspect?: boolean;
  colors: ScatterColors;
}

export const MARGIN = { left: 48, right: 10, top: 10, bottom: 30 };

/** The range covering every point (and the mirrored ones), padded by 5 %; [0, 1] when empty. */
export function dataRange(series: ScatterSeries[], opts: { symmetric?: boolean; yFromZero?: boolean } = {}): Range {
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (const s of series) {
    for (let i = 0; i < s.x.length; i++) {
      const x = s.x[i]!;
      const y = s.y[i]!;
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
      if (s.mirror) {
        if (-x < x0) x0 = -x;
        if (-x > x1) x1 = -x;
        if (-y < y0) y0 = -y;
        if (-y > y1) y1 = -y;
      }
    }
  }
  if (!(x0 <= x1)) return { x0: 0, x1: 1, y0: 0, y1: 1 };
  if (opts.symmetric) {
    const r = Math.max(Math.abs(x0), Math.abs(x1), Math.abs(y0), Math.abs(y1)) * 1.05 || 1;
    return { x0: -r, x1: r, y0: -r, y1: r };
  }
  if (opts.yFromZero) y0 = Math.min(0, y0);
  const px = (x1 - x0) * 0.03 || 1;
  const py = (y1 - y0) * 0.05 || 1;
  return { x0: opts.yFromZero ? Math.min(0, x0) : x0 - px, x1: x1 + px, y0: opts.yFromZero ? y0 : y0 - py, y1: y1 + py };
}

/** The plotting box of a canvas of CSS size w × h: square and centred in equal-aspect mode. */
export function plotBox(w: number, h: number, equalAspect: boolean): { left: number; top: number; pw: number; ph: number } {
  let pw = Math.max(10, w - MARGIN.left - MARGIN.right);
  let ph = Math.max(10, h - MARGIN.top - MARGIN.bottom);
  let left = MARGIN.left;
  let top = MARGIN.top;
  if (equalAspect) {
    const s = Math.min(pw, ph);
    left += (pw - s) / 2;
    top += (ph - s) / 2;
    pw = s;
    ph = s;
  }
  return { left, top, pw, ph };
}

/** In equal-aspect mode, widens the shorter side of the range so one unit is as long on both axes. */
export function squareRange(r: Range): Range {
  const cx = (r.x0 + r.x1) / 2;
  const cy = (r.y0 + r.y1) / 2;
  const h = Math.max(r.x1 - r.x0, r.y1 - r.y0) / 2;
  return { x0: cx - h, x1: cx + h, y0: cy - h, y1: cy + h };
}

/** The range zoomed by `factor` (< 1: in) about the data point (cx, cy). */
export function zoomRange(r: Range, cx: number, cy: number, factor: number): Range {
  return { x0: cx + (r.x0 - cx) * factor, x1: cx + (r.x1 - cx) * factor, y0: cy + (r.y0 - cy) * factor, y1: cy + (r.y1 - cy) * factor };
}

/** Draws the plot; returns the number of points drawn inside the range. */
export function drawScatter(ctx: CanvasRenderingContext2D, w: number, h: number, series: ScatterSeries[], range: Range, opts: ScatterOptions): number {
  const r = opts.equalAspect ? squareRange(range) : range;
  const { left, top, pw, ph } = plotBox(w, h, !!opts.equalAspect);
  const xs = opts.xScale ?? 1;
  const ys = opts.yScale ?? 1;
  ctx.clearRect(0, 0, w, h);
  ctx.fillStyle = opts.colors.background;
  ctx.fillRect(left, top, pw, ph);
  ctx.font = '10px system-ui, sans-serif';
  const fx = (x: number) => left + (pw * (x - r.x0)) / (r.x1 - r.x0);
  const fy = (y: number) => top + ph * (1 - (y - r.y0) / (r.y1 - r.y0));
  ctx.strokeStyle = opts.colors.grid;
  ctx.fillStyle = opts.colors.text;
  ctx.lineWidth = 1;
  drawYTicks(ctx, niceTicks(r.y0 / ys, r.y1 / ys, 5), (t) => fy(t * ys), left, pw);
  drawXTicks(ctx, niceTicks(r.x0 / xs, r.x1 / xs, 5), (t) => fx(t * xs), top, ph, true);
  ctx.strokeStyle = opts.colors.axis;
  ctx.strokeRect(left + 0.5, top + 0.5, pw, ph);
  ctx.textAlign = 'right';
  ctx.fillText(opts.xLabel, left + pw, top + ph + 16);
  ctx.save();
  ctx.translate(10, top + ph / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillText(opts.yLabel, 0, 0);
  ctx.restore();
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, pw, ph);
  ctx.clip();
  let drawn = 0;
  for (const s of series) {
    ctx.fillStyle = s.color;
    const sz = s.size ?? 1.5;
    const half = sz / 2;
    const signs = s.mirror ? [1, -1] : [1];
    for (const sg of signs) {
      for (let i = 0; i < s.x.length; i++) {
        const xv = sg * s.x[i]!;
        const yv = sg * s.y[i]!;
        if (!(xv >= r.x0 && xv <= r.x1 && yv >= r.y0 && yv <= r.y1)) continue;
        ctx.fillRect(fx(xv) - half, fy(yv) - half, sz, sz);
        drawn++;
      }
    }
  }
  ctx.restore();
  return drawn;
}

/** The data point under CSS pixel (px, py) of the canvas. */
export function pixelToData(px: number, py: number, w: number, h: number, range: Range, equalAspect: boolean): { x: number; y: number } {
  const r = equalAspect ? squareRange(range) : range;
  const { left, top, pw, ph } = plotBox(w, h, equalAspect);
  return { x: r.x0 + ((px - left) / pw) * (r.x1 - r.x0), y: r.y0 + (1 - (py - top) / ph) * (r.y1 - r.y0) };
}

/** Wavelength units for a uv extent: λ, kλ or Mλ (scale and label). */
export function uvUnit(maxUv: number): { scale: number; label: string } {
  if (maxUv >= 1e6) return { scale: 1e6, label: 'Mλ' };
  if (maxUv >= 1e3) return { scale: 1e3, label: 'kλ' };
  return { scale: 1, label: 'λ' };
}
