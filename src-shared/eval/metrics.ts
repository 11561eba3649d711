/**
 * Figures of merit for reconstructions: PSNR, χ² of residuals, per-pixel credible-interval coverage and
 * the TARP expected-coverage test (Lemos et al. 2023). Pure functions on plain arrays.
 */

/** PSNR in dB of `est` against `truth`, with the data range of the truth (max − min) unless given. */
export function psnr(truth: ArrayLike<number>, est: ArrayLike<number>, dataRange?: number): number {
  if (truth.length !== est.length || truth.length === 0) throw new RangeError('psnr: arrays of different or zero length');
  let lo = Infinity;
  let hi = -Infinity;
  let se = 0;
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i]!;
    lo = Math.min(lo, t);
    hi = Math.max(hi, t);
    se += (t - est[i]!) ** 2;
  }
  const range = dataRange ?? hi - lo;
  const mse = se / truth.length;
  return 10 * Math.log10((range * range) / mse);
}

/** Mean of ((y − model)/σ)² over the pixels where `valid` (if given) is non-zero. */
export function chi2PerPixel(y: ArrayLike<number>, model: ArrayLike<number>, sigma: number | ArrayLike<number>, valid?: ArrayLike<number>): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < y.length; i++) {
    if (valid && !valid[i]) continue;
    const sg = typeof sigma === 'number' ? sigma : sigma[i]!;
    s += ((y[i]! - model[i]!) / sg) ** 2;
    n++;
  }
  return s / n;
}

/** Sorts a copy and returns the q-quantile (linear interpolation between order statistics). */
function quantileSorted(sorted: Float64Array, q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/**
 * Per-pixel coverage: for each level, the fraction of pixels whose true value lies inside the central
 * credible interval of that level estimated from the samples ([nSamples][nPixels]).
 */
export function pixelCoverage(samples: ArrayLike<number>[], truth: ArrayLike<number>, levels: number[]): number[] {
  const n = samples.length;
  const npix = truth.length;
  const hits = new Float64Array(levels.length);
  const col = new Float64Array(n);
  for (let p = 0; p < npix; p++) {
    for (let s = 0; s < n; s++) col[s] = samples[s]![p]!;
    col.sort();
    levels.forEach((lv, li) => {
      const a = quantileSorted(col, (1 - lv) / 2);
      const b = quantileSorted(col, (1 + lv) / 2);
      const t = truth[p]!;
      if (t >= a && t <= b) hits[li]!++;
    });
  }
  return Array.from(hits, (h) => h / npix);
}

/** A small seeded generator for the TARP reference points (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface TarpResult {
  /** Credibility levels α at which the expected coverage was evaluated. */
  alpha: number[];
  /** Expected coverage probability at each α; a calibrated posterior gives ECP ≈ α. */
  ecp: number[];
  /** Largest |ECP − α| over the levels. */
  maxDeviation: number;
}

/**
 * TARP: for each simulation j, a random reference point r_j (uniform in the per-pixel range of the truths,
 * as Lemos et al. suggest), f_j = fraction of posterior samples closer to r_j than the truth is;
 * ECP(α) = mean_j 1[f_j < α]. A calibrated posterior gives ECP(α) = α for all α.
 */
export function tarp(problems: { samples: ArrayLike<number>[]; truth: ArrayLike<number> }[], opts: { levels?: number; seed?: number } = {}): TarpResult {
  const nl = opts.levels ?? 20;
  const rand = rng(opts.seed ?? 1);
  const npix = problems[0]!.truth.length;
  const lo = new Float64Array(npix).fill(Infinity);
  const hi = new Float64Array(npix).fill(-Infinity);
  for (const pr of problems)
    for (let p = 0; p < npix; p++) {
      lo[p] = Math.min(lo[p]!, pr.truth[p]!);
      hi[p] = Math.max(hi[p]!, pr.truth[p]!);
    }
  const f: number[] = [];
  for (const pr of problems) {
    const ref = new Float64Array(npix);
    for (let p = 0; p < npix; p++) ref[p] = lo[p]! + rand() * (hi[p]! - lo[p]!);
    const dist = (x: ArrayLike<number>) => {
      let s = 0;
      for (let p = 0; p < npix; p++) s += (x[p]! - ref[p]!) ** 2;
      return s;
    };
    const dt = dist(pr.truth);
    let closer = 0;
    for (const s of pr.samples) if (dist(s) < dt) closer++;
    f.push(closer / pr.samples.length);
  }
  const alpha: number[] = [];
  const ecp: number[] = [];
  let maxDeviation = 0;
  for (let i = 1; i < nl; i++) {
    const a = i / nl;
    const e = f.filter((v) => v < a).length / f.length;
    alpha.push(a);
    ecp.push(e);
    maxDeviation = Math.max(maxDeviation, Math.abs(e - a));
  }
  return { alpha, ecp, maxDeviation };
}
