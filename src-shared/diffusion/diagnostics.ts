/**
 * Diagnostics of a reconstruction, beyond χ² of the mean (free of tensor code: the run panel uses it too).
 *
 * χ² per observed pixel alone cannot tell a converged run from a short one: a deconvolution hides the high spatial
 * frequencies from the data, so a mean made of noise there still fits (χ²/px ≈ 1). And a global χ² near 1 can hide
 * a local misfit (a galaxy's core). Three checks:
 *
 * 1. **Stein ratio** of the draws under the sampler's target at σmin (the posterior at the last noise level), the
 *    draws first blurred by fresh N(0, σmin²) noise so that posterior draws become draws of that target:
 *    for draws x of a density p with score s = ∇ log p, Stein's identity gives E‖s(x)‖² = −E tr ∇s(x), so
 *    R = E‖s‖² / (−E tr ∇s) = 1 for draws of p. Draws that carry noise the target does not explain (too few steps,
 *    a diverged chain) make R ≫ 1; draws that are too narrow make it < 1. tr ∇s from Rademacher probes u and
 *    central differences, u·(s(x + hu) − s(x − hu))/2h (Hutchinson), h = σ/100: 1 + 2·probes score evaluations
 *    per draw. Converged runs read 1.1–1.2 (the Gaussian test: 1.19 at 300 levels, 1.11 at 1000; exact draws 1);
 *    a 10-level run gives 6.6 there, 125 with galaxy-64 on the bundled example.
 * 2. **Draws' spread in data space**: mean_k χ²(x_k) − χ²(x̄) = (1/(N n)) Σ_k ‖W^½ A (x_k − x̄)‖² exactly (A linear),
 *    whose expectation for posterior draws is (N−1)/N · tr(W A Σ_post Aᵀ)/n ≤ (N−1)/N for a Gaussian prior
 *    (A Σ_post Aᵀ ≼ the noise covariance): draws that scatter more than the noise in data space are not posterior
 *    draws.
 * 3. **Local misfit**: χ² of the normalised residual in a (2w+1)² window around every pixel. For pure noise the sum
 *    over the m observed pixels of a window is χ²_m; a window is significant where its upper tail probability is
 *    below α / (number of windows) (Bonferroni), so an image of pure noise shows any region with probability ≤ α
 *    (the stated false-alarm rate). Significant windows are joined into connected regions.
 *
 * The expected range of χ² per pixel for pure noise of the stated σ: mean 1, standard deviation √(2/n).
 */
import { DEFAULT_STEPS, isSamplerName } from './samplers/spec.js';
import { chi2Range } from './chi2-range.js';

// ---------------------------------------------------------------- χ² and its expected range

export interface Chi2Range {
  mean: number;
  sd: number;
  /** mean ± k·sd (k = 3). */
  lo: number;
  hi: number;
}

/**
 * χ² per pixel of n observed pixels of pure noise: mean 1, sd √(2/n); the range is ± k sd (default 3) — the noise's
 * own range (chi2-range.ts without its widening for model error, which sets when report.json warns).
 */
export function chi2ExpectedRange(observed: number, k = 3): Chi2Range {
  const r = chi2Range(observed, k, 1);
  return { mean: r.expected, sd: r.std, lo: r.lo, hi: r.hi };
}

export type Chi2Verdict = 'low' | 'expected' | 'high';

export function chi2Verdict(chi2: number, observed: number): Chi2Verdict {
  const r = chi2ExpectedRange(observed);
  return chi2 < r.lo ? 'low' : chi2 > r.hi ? 'high' : 'expected';
}

/** One line on χ² against its expected range, in words. */
export function chi2Text(chi2: number, observed: number): string {
  const r = chi2ExpectedRange(observed);
  const v = chi2Verdict(chi2, observed);
  const range = `expected ${r.lo.toFixed(3)}–${r.hi.toFixed(3)} for ${observed} pixels of noise`;
  if (v === 'expected') return `χ²/px ${chi2.toFixed(3)} (${range})`;
  if (v === 'low') return `χ²/px ${chi2.toFixed(3)} is below the range ${range}: the noise σ may be too large, or the model over-fits`;
  return `χ²/px ${chi2.toFixed(3)} is above the range ${range}: the model does not explain the data (noise σ too small, a wrong PSF, or too few steps)`;
}

// ---------------------------------------------------------------- steps

/** The share of a sampler's default steps below which a run is flagged as short. */
export const SHORT_RUN_FRACTION = 0.2;

/**
 * A warning when a run has too few steps for its sampler (below 20 % of the default: pc under 100 levels, where the
 * exact Gaussian test's mean is off by more than Monte Carlo error — its whitened χ²/n is 1.07 at 200 levels, 1.38
 * at 100, 1.59 at 30), else null.
 */
export function stepsWarning(sampler: string, steps: number): string | null {
  if (!isSamplerName(sampler)) return null;
  const min = Math.ceil(SHORT_RUN_FRACTION * DEFAULT_STEPS[sampler]);
  if (steps >= min) return null;
  return `${steps} steps is few for the ${sampler} sampler (default ${DEFAULT_STEPS[sampler]}; at least ${min} recommended): the draws may not have converged even where χ² looks fine`;
}

// ---------------------------------------------------------------- convergence: Stein ratio

/** The posterior score at one noise level for a batch of images (prior units, [b, ...shape] flattened). */
export type BatchScore = (x: Float32Array, batch: number) => Float32Array | Promise<Float32Array>;

export interface SteinResult {
  /** E‖s‖² / (−E tr ∇s) over the draws: 1 for draws of the target. */
  ratio: number;
  /** Its standard error from the spread between draws (delta method); NaN for one draw. */
  se: number;
  probes: number;
  sigma: number;
  draws: number;
}

/** A small seeded generator for the probes (xorshift32): the check gives the same figure for the same draws. */
function rademacher(seed: number): () => number {
  let s = (seed >>> 0) || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s & 1 ? 1 : -1;
  };
}

/** Standard normal draws from the same generator (Box–Muller on 32-bit uniforms). */
function gaussian(seed: number): () => number {
  let s = (seed >>> 0) ^ 0x5bd1e995 || 1;
  const u = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (s + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

/**
 * Stein ratio of `n` draws (prior units, chain-major, `per` values each) under the target whose score `score`
 * evaluates at noise level `sigma`, in batches of `batch` draws. `renoise` (default true): the draws are draws of
 * the posterior itself (σ = 0), so fresh N(0, σ²) noise is added first to make them draws of the target at σ (the
 * posterior blurred by σ); without it, draws much sharper than σ would read as too narrow.
 */
export async function steinRatio(
  samples: Float32Array,
  n: number,
  per: number,
  score: BatchScore,
  opts: { sigma: number; probes?: number; batch?: number; seed?: number; renoise?: boolean },
): Promise<SteinResult> {
  const probes = opts.probes ?? 4;
  const batch = Math.max(1, Math.min(n, opts.batch ?? 8));
  const h = opts.sigma / 100;
  const rnd = rademacher(opts.seed ?? 1);
  if (opts.renoise !== false) {
    const z = gaussian(opts.seed ?? 1);
    samples = Float32Array.from(samples, (v) => v + opts.sigma * z());
  }
  const a = new Float64Array(n); // ‖s‖² per draw
  const b = new Float64Array(n); // −tr ∇s per draw
  for (let k0 = 0; k0 < n; k0 += batch) {
    const bsz = Math.min(batch, n - k0);
    const x = samples.subarray(k0 * per, (k0 + bsz) * per);
    const s = await score(x, bsz);
    for (let k = 0; k < bsz; k++) {
      let q = 0;
      for (let i = k * per; i < (k + 1) * per; i++) q += s[i]! * s[i]!;
      a[k0 + k] = q;
    }
    for (let p = 0; p < probes; p++) {
      const u = new Float32Array(x.length);
      for (let i = 0; i < u.length; i++) u[i] = rnd();
      const xp = new Float32Array(x.length);
      const xm = new Float32Array(x.length);
      for (let i = 0; i < x.length; i++) {
        xp[i] = x[i]! + h * u[i]!;
        xm[i] = x[i]! - h * u[i]!;
      }
      const sp = await score(xp, bsz);
      const sm = await score(xm, bsz);
      for (let k = 0; k < bsz; k++) {
        let t = 0;
        for (let i = k * per; i < (k + 1) * per; i++) t += (u[i]! * (sp[i]! - sm[i]!)) / (2 * h);
        b[k0 + k] -= t / probes;
      }
    }
  }
  let sa = 0;
  let sb = 0;
  for (let k = 0; k < n; k++) {
    sa += a[k]!;
    sb += b[k]!;
  }
  const ma = sa / n;
  const mb = sb / n;
  const ratio = ma / mb;
  let se = NaN;
  if (n > 1) {
    // delta method for a ratio of means: Var(R) ≈ Var(a − R b) / (n mb²)
    let v = 0;
    for (let k = 0; k < n; k++) v += (a[k]! - ratio * b[k]!) ** 2;
    se = Math.sqrt(v / (n - 1) / n) / Math.abs(mb);
  }
  return { ratio, se, probes, sigma: opts.sigma, draws: n };
}

/** Above this Stein ratio (by more than 3 standard errors) the draws carry noise the posterior does not explain. */
export const STEIN_HIGH = 1.5;
/** Below this (by more than 3 standard errors) the draws are narrower than the posterior. */
export const STEIN_LOW = 0.67;

// ---------------------------------------------------------------- convergence: the draws' spread in data space

export interface SpreadResult {
  /** mean_k χ²(x_k) − χ²(x̄), per observed pixel. */
  spread: number;
  /** The most a Gaussian-prior posterior allows: (N−1)/N, plus 4 standard deviations of its Monte Carlo error. */
  bound: number;
}

export function dataSpread(chi2Draws: number, chi2OfDrawsMean: number, n: number, observed: number): SpreadResult {
  const spread = chi2Draws - chi2OfDrawsMean;
  const bound = (n - 1) / n + 4 * Math.sqrt(2 / Math.max(1, (n - 1) * observed));
  return { spread, bound };
}

// ---------------------------------------------------------------- the verdict

export type ConvergenceVerdict = 'converged' | 'not converged' | 'unchecked';

export interface ConvergenceDiagnostics {
  verdict: ConvergenceVerdict;
  /** Why, in words (one line per finding). */
  reasons: string[];
  stein: SteinResult | null;
  spread: SpreadResult | null;
  stepsWarning: string | null;
}

export function convergenceVerdict(inputs: { sampler: string; steps: number; stein: SteinResult | null; spread: SpreadResult | null }): ConvergenceDiagnostics {
  const { stein, spread } = inputs;
  const reasons: string[] = [];
  const warn = stepsWarning(inputs.sampler, inputs.steps);
  if (stein && Number.isFinite(stein.ratio)) {
    const se = Number.isFinite(stein.se) ? stein.se : 0;
    if (stein.ratio - 3 * se > STEIN_HIGH)
      reasons.push(`the draws carry noise the posterior does not explain: Stein ratio ${stein.ratio.toFixed(2)} ± ${se.toFixed(2)} at σ ${stein.sigma.toPrecision(3)} (1 for posterior draws; flagged above ${STEIN_HIGH})`);
    else if (stein.ratio + 3 * se < STEIN_LOW) reasons.push(`the draws are narrower than the posterior: Stein ratio ${stein.ratio.toFixed(2)} ± ${se.toFixed(2)} (1 for posterior draws; flagged below ${STEIN_LOW})`);
  }
  if (spread && spread.spread > spread.bound)
    reasons.push(`the draws scatter more than the noise in data space: χ²/px of the draws minus that of their mean ${spread.spread.toFixed(3)} (at most ${spread.bound.toFixed(3)} for posterior draws)`);
  const checked = (stein !== null && Number.isFinite(stein.ratio)) || spread !== null;
  const verdict: ConvergenceVerdict = reasons.length ? 'not converged' : checked ? 'converged' : 'unchecked';
  return { verdict, reasons, stein, spread, stepsWarning: warn };
}

// ---------------------------------------------------------------- local misfit

/** ln Γ(z), z > 0 (Lanczos, g = 7). */
function lnGamma(z: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - lnGamma(1 - z);
  z -= 1;
  let x = c[0]!;
  for (let i = 1; i < 9; i++) x += c[i]! / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(x);
}

/** ln Q(a, x), the log of the regularised upper incomplete gamma function (series below a + 1, continued fraction above). */
export function lnGammaQ(a: number, x: number): number {
  if (x <= 0) return 0;
  const lead = a * Math.log(x) - x - lnGamma(a);
  if (x < a + 1) {
    let sum = 1 / a;
    let term = sum;
    for (let k = 1; k < 10000; k++) {
      term *= x / (a + k);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-15) break;
    }
    const p = Math.exp(lead) * sum;
    return Math.log(Math.max(0, 1 - p));
  }
  // Lentz's continued fraction for Q
  const tiny = 1e-300;
  let bb = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / bb;
  let f = d;
  for (let i = 1; i < 10000; i++) {
    const an = -i * (i - a);
    bb += 2;
    d = an * d + bb;
    if (Math.abs(d) < tiny) d = tiny;
    c = bb + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return lead + Math.log(f);
}

/** The smallest S with P(χ²_m > S) ≤ p (bisection on ln Q). */
export function chi2Quantile(m: number, p: number): number {
  const target = Math.log(p);
  let lo = 0;
  let hi = m + 10 * Math.sqrt(2 * m) + 50;
  while (lnGammaQ(m / 2, hi / 2) > target) hi *= 2;
  for (let it = 0; it < 100; it++) {
    const mid = (lo + hi) / 2;
    if (lnGammaQ(m / 2, mid / 2) > target) lo = mid;
    else hi = mid;
    if (hi - lo < 1e-9 * hi) break;
  }
  return hi;
}

/** χ² quantiles already computed (window size and level): the run panel recomputes the regions with every preview. */
const QUANTILES = new Map<string, number>();

export interface MisfitRegion {
  /** Bounding box on the data grid, 0-based inclusive pixel indices (the windows' extent). */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  /** The most significant window's centre and its χ² per pixel. */
  peakX: number;
  peakY: number;
  peakChi2: number;
  /** Significant window centres in the region. */
  pixels: number;
}

export interface LocalMisfit {
  /** Window half-width w: (2w+1)² pixels. */
  radius: number;
  /** The chance that pure noise shows any region (Bonferroni over the windows: at most this). */
  falseAlarmRate: number;
  /** χ²/px a full window must exceed to count. */
  threshold: number;
  regions: MisfitRegion[];
}

/**
 * Significant regions of a normalised residual (y − A·mean)/σ, [ny, nx] row-major, NaN (or non-finite) where
 * masked: windows of (2·radius+1)² pixels whose χ² exceeds pure noise's at the per-window level α / windows.
 */
export function localMisfit(residual: ArrayLike<number>, shape: readonly [number, number] | readonly number[], opts: { radius?: number; falseAlarmRate?: number; maxRegions?: number } = {}): LocalMisfit {
  const [ny, nx] = [shape[0]!, shape[1]!];
  const w = opts.radius ?? 3;
  const alpha = opts.falseAlarmRate ?? 0.01;
  const maxRegions = opts.maxRegions ?? 20;
  // integral images of r² and of the observed count
  const W = nx + 1;
  const sq = new Float64Array((ny + 1) * W);
  const cnt = new Float64Array((ny + 1) * W);
  let observedWindows = 0;
  for (let i = 0; i < ny; i++) {
    let rs = 0;
    let rc = 0;
    for (let j = 0; j < nx; j++) {
      const v = residual[i * nx + j]!;
      if (Number.isFinite(v)) {
        rs += v * v;
        rc += 1;
      }
      sq[(i + 1) * W + j + 1] = sq[i * W + j + 1]! + rs;
      cnt[(i + 1) * W + j + 1] = cnt[i * W + j + 1]! + rc;
    }
  }
  const box = (t: Float64Array, i0: number, j0: number, i1: number, j1: number) => t[(i1 + 1) * W + j1 + 1]! - t[i0 * W + j1 + 1]! - t[(i1 + 1) * W + j0]! + t[i0 * W + j0]!;
  const sums = new Float64Array(ny * nx);
  const counts = new Int32Array(ny * nx);
  for (let i = 0; i < ny; i++) {
    for (let j = 0; j < nx; j++) {
      if (!Number.isFinite(residual[i * nx + j]!)) continue;
      const i0 = Math.max(0, i - w);
      const i1 = Math.min(ny - 1, i + w);
      const j0 = Math.max(0, j - w);
      const j1 = Math.min(nx - 1, j + w);
      sums[i * nx + j] = box(sq, i0, j0, i1, j1);
      counts[i * nx + j] = Math.round(box(cnt, i0, j0, i1, j1));
      observedWindows++;
    }
  }
  const pWindow = alpha / Math.max(1, observedWindows);
  const thresholdFor = (m: number) => {
    const key = `${m}|${pWindow}`;
    let t = QUANTILES.get(key);
    if (t === undefined) {
      if (QUANTILES.size > 4096) QUANTILES.clear();
      t = chi2Quantile(m, pWindow);
      QUANTILES.set(key, t);
    }
    return t;
  };
  const flagged = new Uint8Array(ny * nx);
  for (let k = 0; k < ny * nx; k++) if (counts[k]! > 0 && sums[k]! > thresholdFor(counts[k]!)) flagged[k] = 1;
  // connected regions of significant window centres (8-connected)
  const regions: MisfitRegion[] = [];
  const seen = new Uint8Array(ny * nx);
  const stack: number[] = [];
  for (let k = 0; k < ny * nx; k++) {
    if (!flagged[k] || seen[k]) continue;
    const r: MisfitRegion = { x0: nx, y0: ny, x1: -1, y1: -1, peakX: 0, peakY: 0, peakChi2: -Infinity, pixels: 0 };
    seen[k] = 1;
    stack.push(k);
    while (stack.length) {
      const q = stack.pop()!;
      const i = Math.floor(q / nx);
      const j = q - i * nx;
      r.pixels++;
      r.x0 = Math.min(r.x0, j - w);
      r.x1 = Math.max(r.x1, j + w);
      r.y0 = Math.min(r.y0, i - w);
      r.y1 = Math.max(r.y1, i + w);
      const c = sums[q]! / counts[q]!;
      if (c > r.peakChi2) {
        r.peakChi2 = c;
        r.peakX = j;
        r.peakY = i;
      }
      for (let di = -1; di <= 1; di++) {
        for (let dj = -1; dj <= 1; dj++) {
          const ii = i + di;
          const jj = j + dj;
          if (ii < 0 || jj < 0 || ii >= ny || jj >= nx) continue;
          const qq = ii * nx + jj;
          if (flagged[qq] && !seen[qq]) {
            seen[qq] = 1;
            stack.push(qq);
          }
        }
      }
    }
    r.x0 = Math.max(0, r.x0);
    r.y0 = Math.max(0, r.y0);
    r.x1 = Math.min(nx - 1, r.x1);
    r.y1 = Math.min(ny - 1, r.y1);
    regions.push(r);
  }
  regions.sort((a, b) => b.peakChi2 - a.peakChi2);
  const full = (2 * w + 1) ** 2;
  return { radius: w, falseAlarmRate: alpha, threshold: thresholdFor(full) / full, regions: regions.slice(0, maxRegions) };
}

/** One line per region (the largest few), for report.json's warnings and the run panel. */
export function misfitText(m: LocalMisfit, limit = 3): string[] {
  return m.regions.slice(0, limit).map(
    (r) =>
      `local misfit: χ²/px ${r.peakChi2.toFixed(1)} within ${m.radius} px of pixel (x ${r.peakX}, y ${r.peakY}) (0-based), region x ${r.x0}–${r.x1}, y ${r.y0}–${r.y1}; ` +
      `pure noise shows such a region anywhere in the image with probability ≤ ${m.falseAlarmRate}`,
  );
}

// ---------------------------------------------------------------- everything for report.json

export interface ReconstructionDiagnostics {
  /**
   * χ² per observed pixel against pure noise's range: of the draws (their mean χ²) where there are draws — for
   * posterior draws of a well-specified model its expectation is 1, while the posterior mean's is below 1 by
   * tr(W A Σ_post Aᵀ)/n (it fits better than any draw) —, else of the mean.
   */
  chi2: { value: number; of: 'draws' | 'mean'; ofMean: number | null; observed: number; expected: Chi2Range; verdict: Chi2Verdict } | null;
  convergence: ConvergenceDiagnostics;
  localMisfit: LocalMisfit | null;
}

/** The diagnostics of a run, and the warnings they raise (plain lines for report.json and the app). */
export function reconstructionDiagnostics(inputs: {
  sampler: string;
  steps: number;
  n: number;
  chi2: number | null;
  chi2Draws: number | null;
  chi2OfDrawsMean: number | null;
  observed: number | null;
  residual: ArrayLike<number> | null;
  dataShape: readonly number[] | null;
  stein: SteinResult | null;
}): { diagnostics: ReconstructionDiagnostics; warnings: string[] } {
  const warnings: string[] = [];
  const obs = inputs.observed ?? 0;
  const value = inputs.chi2Draws ?? inputs.chi2;
  const chi2 =
    value !== null && obs > 0
      ? { value, of: inputs.chi2Draws !== null ? ('draws' as const) : ('mean' as const), ofMean: inputs.chi2, observed: obs, expected: chi2ExpectedRange(obs), verdict: chi2Verdict(value, obs) }
      : null;
  // χ² outside the range widened for model error is report.json's warning (chi2-range.ts, products.ts); here the figure
  const spread = inputs.chi2Draws !== null && inputs.chi2OfDrawsMean !== null && inputs.n > 1 && obs > 0 ? dataSpread(inputs.chi2Draws, inputs.chi2OfDrawsMean, inputs.n, obs) : null;
  const convergence = convergenceVerdict({ sampler: inputs.sampler, steps: inputs.steps, stein: inputs.stein, spread });
  if (convergence.stepsWarning) warnings.push(convergence.stepsWarning);
  for (const r of convergence.reasons) warnings.push(`not converged: ${r}`);
  const local = inputs.residual && inputs.dataShape ? localMisfit(inputs.residual, inputs.dataShape) : null;
  if (local) warnings.push(...misfitText(local));
  return { diagnostics: { chi2, convergence, localMisfit: local }, warnings };
}
