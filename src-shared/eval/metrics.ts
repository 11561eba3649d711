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

/**
 * The share of the randomised PIT u = (r + U)/(N + 1), U ~ Uniform(0, 1), that falls in [a, b], where r (0…N) is
 * the truth's rank among N samples: |[r/(N+1), (r+1)/(N+1)] ∩ [a, b]|·(N + 1). For a calibrated posterior r is
 * uniform on 0…N, so u is exactly Uniform(0, 1) whatever N.
 */
function pitShare(rank: number, n: number, a: number, b: number): number {
  const lo = rank / (n + 1);
  const hi = (rank + 1) / (n + 1);
  return Math.max(0, Math.min(hi, b) - Math.max(lo, a)) * (n + 1);
}

/**
 * Per-pixel coverage: for each level α, the fraction of pixels whose true value lies inside the posterior's
 * central α credible interval, from the truth's rank among the samples ([nSamples][nPixels]; ties count
 * half): the expected share of the randomised PIT in [(1 − α)/2, (1 + α)/2]. Unbiased for any number of
 * samples: the interval between interpolated sample quantiles is not (from 16 exact posterior draws it covers
 * 0.44 / 0.60 / 0.79 / 0.84 at 50 / 68 / 90 / 95 %, from 8 draws 0.39 / 0.53 / 0.70 / 0.74).
 */
export function pixelCoverage(samples: ArrayLike<number>[], truth: ArrayLike<number>, levels: number[]): number[] {
  const n = samples.length;
  const npix = truth.length;
  const hits = new Float64Array(levels.length);
  for (let p = 0; p < npix; p++) {
    const t = truth[p]!;
    let below = 0;
    let ties = 0;
    for (let s = 0; s < n; s++) {
      const v = samples[s]![p]!;
      if (v < t) below++;
      else if (v === t) ties++;
    }
    // a half-integer rank (an odd number of ties) shares its weight between the two neighbouring ranks
    const rank = below + ties / 2;
    const r0 = Math.floor(rank);
    const r1 = Math.ceil(rank);
    levels.forEach((lv, li) => {
      const [a, b] = [(1 - lv) / 2, (1 + lv) / 2];
      hits[li]! += (pitShare(r0, n, a, b) + pitShare(r1, n, a, b)) / 2;
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
 * TARP: for each simulation j, a random reference point r_j (uniform in the per-pixel range of the truths of its size,
 * as Lemos et al. suggest), c_j = the number of the N posterior samples closer to r_j than the truth is, and
 * f_j = (c_j + U)/(N + 1) its randomised PIT; ECP(α) = mean_j P(f_j < α) (the expectation over U, so no
 * randomness is added). A calibrated posterior gives ECP(α) = α for all α and any N (c_j/N, as in the paper,
 * is biased for small N: with 16 samples P(c/N < 0.5) = 8/17).
 */
export function tarp(problems: { samples: ArrayLike<number>[]; truth: ArrayLike<number> }[], opts: { levels?: number; seed?: number } = {}): TarpResult {
  const nl = opts.levels ?? 20;
  const rand = rng(opts.seed ?? 1);
  // the reference box: per pixel, the range of the truths of the same size (pixels of images of different sizes
  // do not correspond, so each size has its own box; equal sizes share one)
  const boxes = new Map<number, { lo: Float64Array; hi: Float64Array }>();
  for (const pr of problems) {
    const npix = pr.truth.length;
    let b = boxes.get(npix);
    if (!b) boxes.set(npix, (b = { lo: new Float64Array(npix).fill(Infinity), hi: new Float64Array(npix).fill(-Infinity) }));
    for (let p = 0; p < npix; p++) {
      b.lo[p] = Math.min(b.lo[p]!, pr.truth[p]!);
      b.hi[p] = Math.max(b.hi[p]!, pr.truth[p]!);
    }
  }
  const closerCounts: Array<[number, number]> = [];
  for (const pr of problems) {
    const npix = pr.truth.length;
    const { lo, hi } = boxes.get(npix)!;
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
    closerCounts.push([closer, pr.samples.length]);
  }
  const alpha: number[] = [];
  const ecp: number[] = [];
  let maxDeviation = 0;
  for (let i = 1; i < nl; i++) {
    const a = i / nl;
    const e = closerCounts.reduce((acc, [c, n]) => acc + pitShare(c, n, 0, a), 0) / closerCounts.length;
    alpha.push(a);
    ecp.push(e);
    maxDeviation = Math.max(maxDeviation, Math.abs(e - a));
  }
  return { alpha, ecp, maxDeviation };
}
