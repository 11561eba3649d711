/**
 * Pixel statistics for display: the finite values sorted once, then min/max, exact percentiles, the IRAF
 * zscale limits and a quantile table for histograms. Pure and allocation-light; NaN and ±Inf pixels are
 * counted and left out.
 */
import { zscaleFromValues } from './zscale.js';

/** The percentile presets offered for display limits (two-sided: p % of the pixels fall inside). */
export const PERCENTILE_PRESETS = [90, 95, 98, 99, 99.5, 99.9, 99.99] as const;

export interface ImageStats {
  /** Number of pixels in the image. */
  count: number;
  /** Pixels that are finite (the others are NaN or ±Inf: blanks, masked). */
  finite: number;
  /** Smallest and largest finite values (NaN when there are none). */
  min: number;
  max: number;
  /** Mean and population standard deviation of the finite values. */
  mean: number;
  std: number;
  /** Median of the finite values. */
  median: number;
  /** Two-sided percentile limits keyed by preset ("99.5" → [0.25 %, 99.75 %] values). */
  percentiles: Record<string, [number, number]>;
  /** IRAF zscale limits (astropy ZScaleInterval defaults). */
  zscale: [number, number];
  /** Sorted finite values sampled at ranks i/(Q−1), i = 0..Q−1 (Q = quantiles.length): the quantile function. */
  quantiles: Float64Array;
}

export const QUANTILE_POINTS = 1025;

/**
 * Linear-interpolation quantile of sorted values (numpy's default, 'linear'): rank q·(n−1).
 * @param q fraction in [0, 1]
 */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const r = Math.min(Math.max(q, 0), 1) * (n - 1);
  const i = Math.floor(r);
  const f = r - i;
  if (i >= n - 1) return sorted[n - 1];
  return sorted[i] + f * (sorted[i + 1] - sorted[i]);
}

/** The finite values of `data` (in their original order) as a Float64Array. */
export function finiteValues(data: ArrayLike<number>): Float64Array {
  let n = 0;
  for (let i = 0; i < data.length; i++) if (Number.isFinite(data[i])) n++;
  const out = new Float64Array(n);
  let k = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (Number.isFinite(v)) out[k++] = v;
  }
  return out;
}

/** Two-sided percentile interval as astropy's PercentileInterval: [(100−p)/2, 100−(100−p)/2] percent. */
export function percentileInterval(sorted: ArrayLike<number>, p: number): [number, number] {
  const lo = (100 - p) / 2 / 100;
  return [quantileSorted(sorted, lo), quantileSorted(sorted, 1 - lo)];
}

/**
 * Sorts float32 values ascending in O(n): LSD radix sort on the IEEE bit patterns (sign-flipped so that
 * unsigned order is numeric order), three passes of 11 bits. No NaN in the input.
 */
export function sortFloat32(src: Float32Array): Float32Array {
  const n = src.length;
  const bits = new Uint32Array(src.buffer, src.byteOffset, n);
  let a = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const b = bits[i];
    a[i] = b & 0x80000000 ? ~b >>> 0 : (b | 0x80000000) >>> 0;
  }
  let b = new Uint32Array(n);
  const count = new Uint32Array(2048);
  for (let shift = 0; shift < 32; shift += 11) {
    count.fill(0);
    for (let i = 0; i < n; i++) count[(a[i] >>> shift) & 2047]++;
    let sum = 0;
    for (let k = 0; k < 2048; k++) {
      const c = count[k];
      count[k] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const v = a[i];
      b[count[(v >>> shift) & 2047]++] = v;
    }
    [a, b] = [b, a];
  }
  for (let i = 0; i < n; i++) {
    const k = a[i];
    a[i] = k & 0x80000000 ? (k ^ 0x80000000) >>> 0 : ~k >>> 0;
  }
  return new Float32Array(a.buffer);
}

/** The finite values of float32 data, sorted (radix), or of other data (comparison sort). */
function sortedFinite(data: ArrayLike<number>): Float32Array | Float64Array {
  if (data instanceof Float32Array) {
    let n = 0;
    for (let i = 0; i < data.length; i++) if (Number.isFinite(data[i])) n++;
    if (n === data.length) return sortFloat32(data);
    const f = new Float32Array(n);
    let k = 0;
    for (let i = 0; i < data.length; i++) if (Number.isFinite(data[i])) f[k++] = data[i];
    return sortFloat32(f);
  }
  return finiteValues(data).sort();
}

export function computeStats(data: ArrayLike<number>): ImageStats {
  // zscale samples the pixels in their original order: take them before sorting
  let nFinite = 0;
  for (let i = 0; i < data.length; i++) if (Number.isFinite(data[i])) nFinite++;
  const zscale = nFinite ? zscaleFromValues(nFinite === data.length ? data : finiteValues(data)) : ([NaN, NaN] as [number, number]);
  const values = sortedFinite(data);
  const finite = values.length;
  let sum = 0;
  for (let i = 0; i < finite; i++) sum += values[i];
  const mean = finite ? sum / finite : NaN;
  let ss = 0;
  for (let i = 0; i < finite; i++) ss += (values[i] - mean) ** 2;
  const std = finite ? Math.sqrt(ss / finite) : NaN;
  const sorted = values;
  const percentiles: Record<string, [number, number]> = {};
  for (const p of PERCENTILE_PRESETS) percentiles[String(p)] = finite ? percentileInterval(sorted, p) : [NaN, NaN];
  const quantiles = new Float64Array(finite ? QUANTILE_POINTS : 0);
  for (let i = 0; i < quantiles.length; i++) quantiles[i] = quantileSorted(sorted, i / (QUANTILE_POINTS - 1));
  return {
    count: data.length,
    finite,
    min: finite ? sorted[0] : NaN,
    max: finite ? sorted[finite - 1] : NaN,
    mean,
    std,
    median: quantileSorted(sorted, 0.5),
    percentiles,
    zscale,
    quantiles,
  };
}
