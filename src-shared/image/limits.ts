/**
 * Display limits [lo, hi] from the image statistics: min/max, IRAF zscale, two-sided percentiles, by hand,
 * or symmetric about zero (for residuals: ±the larger |limit| of a percentile interval).
 */
import { PERCENTILE_PRESETS, type ImageStats } from './stats.js';
import { UserInputError } from '../errors.js';

export type LimitsSpec =
  | { mode: 'minmax' }
  | { mode: 'zscale' }
  | { mode: 'percentile'; percent: number }
  | { mode: 'symmetric'; percent: number }
  | { mode: 'manual'; lo: number; hi: number };

export class LimitsInputError extends UserInputError {
  override name = 'LimitsInputError';
}

function percentileOf(stats: ImageStats, percent: number): [number, number] {
  const hit = stats.percentiles[String(percent)];
  if (hit) return hit;
  // between presets: from the quantile table (≤ 1/1024 of the pixels from the exact rank)
  const q = stats.quantiles;
  if (!q.length) return [NaN, NaN];
  const at = (f: number) => {
    const r = f * (q.length - 1);
    const i = Math.min(Math.floor(r), q.length - 2);
    return q[i] + (r - i) * (q[i + 1] - q[i]);
  };
  const lo = (100 - percent) / 200;
  return [at(lo), at(1 - lo)];
}

/**
 * The limits for this spec. A degenerate interval (lo ≥ hi, e.g. a constant image) is widened to
 * [v − ½, v + ½] (or by |v|·1e-6 for large v) so that the display is defined.
 */
export function computeLimits(spec: LimitsSpec, stats: ImageStats): [number, number] {
  let lo: number;
  let hi: number;
  switch (spec.mode) {
    case 'minmax':
      [lo, hi] = [stats.min, stats.max];
      break;
    case 'zscale':
      [lo, hi] = stats.zscale;
      break;
    case 'percentile':
      if (!(spec.percent > 0 && spec.percent <= 100)) throw new LimitsInputError(`percentile must be in (0, 100], got ${spec.percent}`);
      [lo, hi] = percentileOf(stats, spec.percent);
      break;
    case 'symmetric': {
      if (!(spec.percent > 0 && spec.percent <= 100)) throw new LimitsInputError(`percentile must be in (0, 100], got ${spec.percent}`);
      const [a, b] = percentileOf(stats, spec.percent);
      const m = Math.max(Math.abs(a), Math.abs(b));
      [lo, hi] = [-m, m];
      break;
    }
    case 'manual':
      if (!Number.isFinite(spec.lo) || !Number.isFinite(spec.hi)) throw new LimitsInputError('limits must be finite numbers');
      if (!(spec.lo < spec.hi)) throw new LimitsInputError(`the lower limit (${spec.lo}) must be below the upper (${spec.hi})`);
      [lo, hi] = [spec.lo, spec.hi];
      break;
  }
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  if (!(lo < hi)) {
    const pad = Math.max(0.5 * Math.abs(lo) * 1e-6, lo === 0 ? 0.5 : Math.abs(lo) * 1e-6);
    return [lo - pad, hi + pad];
  }
  return [lo, hi];
}

export { PERCENTILE_PRESETS };

