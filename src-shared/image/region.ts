/**
 * Regions of an image and their statistics, as DS9's and CARTA's region statistics give them. Pure.
 *
 * Coordinates are 0-based pixel positions (pixel (i, j) has its centre at (i, j)); a box holds the whole pixels
 * from (x0, y0) to (x1, y1) inclusive; a circle holds the pixels whose centres lie within r of its centre.
 * NaN and ±Inf pixels (blanks, masked) are counted apart and left out of every statistic.
 */
import { quantileSorted } from './stats.js';

export type Region = { kind: 'box'; x0: number; y0: number; x1: number; y1: number } | { kind: 'circle'; cx: number; cy: number; r: number };

export interface RegionStats {
  /** Pixels of the image inside the region. */
  pixels: number;
  /** Of these, the finite ones (the statistics are theirs). */
  finite: number;
  sum: number;
  mean: number;
  /** Sample standard deviation (N − 1), NaN below two pixels. */
  std: number;
  median: number;
  /** Median absolute deviation from the median (unscaled: σ ≈ 1.4826 MAD for Gaussian noise). */
  mad: number;
  min: number;
  max: number;
}

/** Row-major indices of the image's pixels inside the region (those off the image are left out). */
export function regionIndices(region: Region, shape: [number, number]): number[] {
  const [ny, nx] = shape;
  const out: number[] = [];
  if (region.kind === 'box') {
    const x0 = Math.max(0, Math.round(Math.min(region.x0, region.x1)));
    const x1 = Math.min(nx - 1, Math.round(Math.max(region.x0, region.x1)));
    const y0 = Math.max(0, Math.round(Math.min(region.y0, region.y1)));
    const y1 = Math.min(ny - 1, Math.round(Math.max(region.y0, region.y1)));
    for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) out.push(y * nx + x);
    return out;
  }
  const { cx, cy, r } = region;
  const r2 = r * r;
  for (let y = Math.max(0, Math.ceil(cy - r)); y <= Math.min(ny - 1, Math.floor(cy + r)); y++) {
    for (let x = Math.max(0, Math.ceil(cx - r)); x <= Math.min(nx - 1, Math.floor(cx + r)); x++) {
      if ((x - cx) ** 2 + (y - cy) ** 2 <= r2) out.push(y * nx + x);
    }
  }
  return out;
}

export function regionStats(data: ArrayLike<number>, shape: [number, number], region: Region): RegionStats {
  const idx = regionIndices(region, shape);
  const vals: number[] = [];
  for (const i of idx) {
    const v = data[i]!;
    if (Number.isFinite(v)) vals.push(v);
  }
  const n = vals.length;
  if (n === 0) return { pixels: idx.length, finite: 0, sum: 0, mean: NaN, std: NaN, median: NaN, mad: NaN, min: NaN, max: NaN };
  let sum = 0;
  for (const v of vals) sum += v;
  const mean = sum / n;
  let ss = 0;
  for (const v of vals) ss += (v - mean) ** 2;
  const sorted = Float64Array.from(vals).sort();
  const median = quantileSorted(sorted, 0.5);
  const dev = Float64Array.from(vals, (v) => Math.abs(v - median)).sort();
  return {
    pixels: idx.length,
    finite: n,
    sum,
    mean,
    std: n > 1 ? Math.sqrt(ss / (n - 1)) : NaN,
    median,
    mad: quantileSorted(dev, 0.5),
    min: sorted[0]!,
    max: sorted[n - 1]!,
  };
}
