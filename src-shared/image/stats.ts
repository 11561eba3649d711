/**
 * Pixel statistics for display: min/max, mean and standard deviation, exact percentiles and median, the IRAF
 * zscale limits and a quantile table for histograms. NaN and ±Inf pixels are counted and left out.
 *
 * Up to EXACT_STATS_PIXELS finite values (and for any data that is not float32) the values are sorted once
 * and everything is exact. Larger float32 images (a 4096² plane has 16.7 M pixels) are not sorted:
 * - count, min, max, mean and std are exact (one pass each over every pixel, sums in float64);
 * - the median and the preset percentile limits are exact order statistics found by a two-pass radix select
 *   on the IEEE bit patterns (a histogram of the upper 16 bits, then of the lower 16 bits inside the bins that
 *   hold the wanted ranks), interpolated between neighbouring ranks as numpy's 'linear' method does;
 * - the quantile table (histogram x-axis, percentiles between the presets, histogram equalisation) comes from
 *   a stratified subsample of QUANTILE_SAMPLE finite pixels (one pixel at a fixed pseudo-random offset inside
 *   each of QUANTILE_SAMPLE equal runs of pixels: deterministic). Its rank error at fraction q has standard
 *   deviation ≤ √(q(1−q)/m), m = QUANTILE_SAMPLE = 2¹⁸: ≤ 9.8·10⁻⁴ of the pixels at the median, ≤ 1.4·10⁻⁴ at
 *   the 0.5 % tail — no more than the table's own 1/1024 grid between which it is interpolated.
 * The zscale limits take ≤ 1000 pixels at a regular stride in either case, as IRAF and astropy do.
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
/** Above this many finite float32 values the statistics are not sorted (see the module's comment). */
export const EXACT_STATS_PIXELS = 1 << 20;
/** Size of the stratified subsample of large images that gives their quantile table. */
export const QUANTILE_SAMPLE = 1 << 18;

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
  if (data instanceof Float32Array && data.length > EXACT_STATS_PIXELS) {
    const large = largeFloat32Stats(data);
    if (large) return large;
  }
  // zscale samples the pixels in their original order: take them before sorting
  const values = sortedFinite(data);
  const finite = values.length;
  const zscale = finite ? zscaleFromValues(finite === data.length ? data : finiteValues(data)) : ([NaN, NaN] as [number, number]);
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

/**
 * The float32 value of a sortable key. The key of a bit pattern b is ~b for negative values and b | 2³¹ for
 * the others: unsigned order of keys is numeric order of values.
 */
function valueOfKey(k: number): number {
  const u = new Uint32Array(1);
  u[0] = k & 0x80000000 ? (k ^ 0x80000000) >>> 0 : ~k >>> 0;
  return new Float32Array(u.buffer)[0];
}

/**
 * Exact order statistics (0-based ranks among the finite values) of float32 data: `hi` counts the upper 16 bits
 * of every key (pass one); this pass counts the lower 16 bits of the keys in the bins that hold the ranks, and
 * sums (v − mean)² over the finite values on the way.
 */
function selectRanks(bits: Uint32Array, hi: Uint32Array, ranks: number[], data: Float32Array, mean: number): { values: number[]; ss: number } {
  // the upper bin of each rank, and the rank's position inside it
  const cum = new Float64Array(65537);
  for (let k = 0; k < 65536; k++) cum[k + 1] = cum[k] + hi[k];
  const binOf = ranks.map((r) => {
    let a = 0;
    let b = 65535;
    while (a < b) {
      const m = (a + b) >>> 1;
      if (cum[m + 1] > r) b = m;
      else a = m + 1;
    }
    return a;
  });
  const slot = new Int32Array(65536).fill(-1);
  const bins: number[] = [];
  for (const b of binOf) if (slot[b] < 0) slot[b] = bins.push(b) - 1;
  const lo = new Uint32Array(bins.length * 65536);
  let ss = 0;
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i];
    if ((b & 0x7f800000) === 0x7f800000) continue;
    const d = data[i] - mean;
    ss += d * d;
    const k = b & 0x80000000 ? ~b >>> 0 : (b | 0x80000000) >>> 0;
    const s = slot[k >>> 16];
    if (s >= 0) lo[s * 65536 + (k & 0xffff)]++;
  }
  const values = ranks.map((r, j) => {
    const b = binOf[j];
    const base = slot[b] * 65536;
    let left = r - cum[b];
    for (let k = 0; k < 65536; k++) {
      left -= lo[base + k];
      if (left < 0) return valueOfKey(((b << 16) | k) >>> 0);
    }
    return NaN; // unreachable: the bin holds the rank
  });
  return { values, ss };
}

/** The statistics of a large float32 image in two passes over its pixels; null when ≤ EXACT_STATS_PIXELS are finite. */
function largeFloat32Stats(data: Float32Array): ImageStats | null {
  const n = data.length;
  const bits = new Uint32Array(data.buffer, data.byteOffset, n);
  // pass 1: count, min, max, sum and the upper-16-bit histogram of the keys
  const hi = new Uint32Array(65536);
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let finite = 0;
  for (let i = 0; i < n; i++) {
    const b = bits[i];
    if ((b & 0x7f800000) === 0x7f800000) continue;
    const v = data[i];
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    finite++;
    hi[(b & 0x80000000 ? ~b >>> 0 : (b | 0x80000000) >>> 0) >>> 16]++;
  }
  if (finite <= EXACT_STATS_PIXELS) return null;
  const mean = sum / finite;
  // exact median and preset percentiles: the two neighbouring ranks of each (numpy 'linear')
  const fractions = [0.5];
  for (const p of PERCENTILE_PRESETS) fractions.push((100 - p) / 200, 1 - (100 - p) / 200);
  const ranks: number[] = [];
  for (const q of fractions) {
    const r = q * (finite - 1);
    ranks.push(Math.floor(r), Math.min(finite - 1, Math.floor(r) + 1));
  }
  // pass 2: the exact ranks, and the squared deviations
  const { values: vals, ss } = selectRanks(bits, hi, ranks, data, mean);
  const at = (j: number) => {
    const r = fractions[j] * (finite - 1);
    const f = r - Math.floor(r);
    const a = vals[2 * j];
    const b = vals[2 * j + 1];
    return f === 0 ? a : a + f * (b - a);
  };
  const percentiles: Record<string, [number, number]> = {};
  PERCENTILE_PRESETS.forEach((p, k) => (percentiles[String(p)] = [at(1 + 2 * k), at(2 + 2 * k)]));
  // the quantile table from a stratified subsample; its ends are the exact min and max
  const sample = stratifiedSample(data, bits, finite, QUANTILE_SAMPLE);
  const sorted = sortFloat32(sample);
  const quantiles = new Float64Array(QUANTILE_POINTS);
  for (let i = 0; i < QUANTILE_POINTS; i++) quantiles[i] = quantileSorted(sorted, i / (QUANTILE_POINTS - 1));
  quantiles[0] = min;
  quantiles[QUANTILE_POINTS - 1] = max;
  return {
    count: n,
    finite,
    min,
    max,
    mean,
    std: Math.sqrt(ss / finite),
    median: at(0),
    percentiles,
    zscale: zscaleFromValues(finite === n ? data : new FiniteView(data, finite, 1000)),
    quantiles,
  };
}

/**
 * m finite values: one from each of m equal runs of the pixels, at an offset inside the run drawn from a fixed
 * xorshift stream (the first finite pixel at or after it in the run; a run with none gives one from the next).
 */
export function stratifiedSample(data: Float32Array, bits: Uint32Array, finite: number, m: number): Float32Array {
  const n = data.length;
  const out = new Float32Array(Math.min(m, finite));
  const runs = out.length;
  let s = 0x2545f491;
  let k = 0;
  for (let j = 0; j < runs && k < runs; j++) {
    const a = Math.floor((j * n) / runs);
    const b = Math.floor(((j + 1) * n) / runs);
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    let i = a + Math.floor(((s >>> 0) / 4294967296) * (b - a));
    while (i < n && (bits[i] & 0x7f800000) === 0x7f800000) i++;
    if (i < n) out[k++] = data[i];
  }
  // too few (runs of blanks at the end): fill from the start with finite values
  for (let i = 0; k < runs && i < n; i++) if ((bits[i] & 0x7f800000) !== 0x7f800000) out[k++] = data[i];
  return out;
}

/**
 * The finite values of data in their order, as zscale reads them: only the ≤ nSamples values at its stride are
 * ever read, so they are gathered in one pass instead of copying every finite value.
 */
class FiniteView implements ArrayLike<number> {
  readonly length: number;
  [i: number]: number;
  constructor(data: Float32Array, finite: number, nSamples: number) {
    this.length = finite;
    const stride = Math.max(1, Math.floor(finite / nSamples));
    let f = 0;
    let taken = 0;
    for (let i = 0; i < data.length && taken < nSamples; i++) {
      const v = data[i];
      if (!Number.isFinite(v)) continue;
      if (f % stride === 0) {
        this[f] = v;
        taken++;
      }
      f++;
    }
  }
}
