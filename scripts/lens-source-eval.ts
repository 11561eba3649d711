// The lensed source against its goals, over simulated lenses (tests/helpers/lens-sim.ts: SIE + shear, a Sérsic
// deflector, the HST ACS PSF, Gaussian noise; sources = Galaxy Zoo validation-split galaxies, never the train
// split). For each simulation, on one 64² source grid of 0.0225″ (the simulation's 1.44″ source extent, centred on
// the optical axis, as lens-fit's and the lens operator's grids are):
//   - the oracle regularised linear inversion through the true lens (the true light subtracted): gradient and
//     curvature regularisation, λ chosen with the truth to maximise the PSNR (a scan in factors of 4, 2, then √2),
//   - lens-fit's own inversion (λ by the evidence) through the fitted lens, its source-inversion.fits (not with
//     FIT_SMALL=1),
//   - `skyscore reconstruct` with the learned prior (galaxy-64) through the true lens (its light as the model's
//     additive image, the flux scale from the back-projection) and through lens-fit's model.json (the realistic
//     path: fitted lens, fitted light, its fluxReference; with FIT_SMALL=1 the back-projection instead).
// PSNR: 10 log10(peak² / MSE), peak = the truth's maximum on the grid, the truth = the simulation's source averaged
// over the grid's pixels (exact overlap); MSE over the source pixels that the fitted pixels' rays reach (the
// back-projection's rule: Σ of the true lens's blurred matrix's column ≥ ¼ of its median), and over the whole grid.
// Coverage: per-pixel coverage at 50 / 68 / 90 / 95 % from the truth's rank among the draws (eval/metrics.ts
// pixelCoverage: unbiased for any number of draws), over those pixels and split into the galaxy (the truth at least
// 5 % of its peak) and its surroundings, with the truth's mean squared deviation from the draws' mean over their
// variance × (1 + 1/N) (1 when calibrated); and, as before, the fraction within mean ± 1σ and ± 1.96σ (σ the draws'
// standard deviation: with 8 draws a calibrated Gaussian posterior gives 62–65 % and 89–91 % there, not 68 / 95). Also: the flux references (back-projection, lens-fit's fluxReference, the truth's
// 99.5th percentile on the same grid) and the posterior std on the grid's edge (outer 4 pixels) and inside. And the
// Monte Carlo share of the mean's squared error (the draws' variance / N over (mean − truth)², summed over the reached
// pixels and over the grid) with the whole grid's bound on what infinitely many draws could gain, −10 log₁₀(1 − share).
// And the region diagnostics (regionDiagnostics; `--table` prints them as a second table): the surroundings split
// where the truth is exactly 0 (the padding around the 64² Galaxy Zoo stamp, its sky clipped at 0) and the rest, the
// pixel-scale texture of the truth and of the draws there, the galaxy's error split into bias (common to both halves of
// the chains) and Monte Carlo, and z over 1, 2, 4, 8 px blocks.
// usage: npx tsx scripts/lens-source-eval.ts [N] [first seed] [samples (default 16, the command's)] [steps (150)]
//        npx tsx scripts/lens-source-eval.ts --table out1.txt out2.txt …   (the json lines as markdown rows)
// env: SKIP_FIT=1 (the true lens only), SKIP_TRUE=1 (the fitted lens only), FIT_SMALL=1 (see below), SKIP_ORACLE=1, SKIP_POSTERIOR=1, KEEP=1 (keep the
// working folder: the truth, the oracle, the fit and the posteriors' FITS files), WORK=DIR (that folder, kept; one
// seed), REUSE=1 (with WORK: take the lens fit and score the posteriors already in it instead of running them again), EXTRA='flags…'
// (more flags for reconstruct, e.g. '--denoise mean' or '--correctors 3'; the table's run column shows them)
// SIGMA=σ (the noise, default 0.02 for a source peak of 1: the same realisation scaled). Also printed: the galaxy's flux
// in the posterior mean and the oracles over the truth's (galaxyFlux: on the galaxy and on it grown by 1, 2, 4 px) and
// the image flux in the fitted pixels of the truth, the oracles and the mean through the true lens over the data's,
// and the mean's and the gradient oracle's flux less the truth's where the data measure the source (B's column sum ≥ 1)
// and where they barely do (below 1)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { galaxySource, galaxyZoo, simulateLens, sourceOnGrid } from '../tests/helpers/lens-sim.js';
import { readFitsImage, writeFits } from '../src-shared/fits/index.js';
import { blurredLensMatrix, convolve } from '../src-shared/lensing/mass.js';
import { sersicImage } from '../src-shared/lensing/light.js';
import { annulusMask } from '../src-shared/lensing/fit.js';
import { differenceGram, regularisation } from '../src-shared/lensing/inversion.js';
import { symmetricEigen } from '../src-shared/linalg/dense.js';
import { fluxReference } from '../src-shared/diffusion/flux-reference.js';
import { pixelCoverage } from '../src-shared/eval/metrics.js';
import type { CsrMatrix } from '../src-shared/operators/csr.js';

const N = 64;
const SCALE = 0.0225;
// SIGMA=σ: the noise (default 0.02 for a source peak of 1; the same noise realisation scaled)
const SIGMA = Number(process.env.SIGMA ?? 0.02);
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

function mulB(B: CsrMatrix, x: Float64Array, out: Float64Array): void {
  for (let r = 0; r < B.nRows; r++) {
    let s = 0;
    for (let p = B.rowPtr[r]; p < B.rowPtr[r + 1]; p++) s += B.values[p] * x[B.colIdx[p]];
    out[r] = s;
  }
}
function mulBt(B: CsrMatrix, y: Float64Array, out: Float64Array): void {
  out.fill(0);
  for (let r = 0; r < B.nRows; r++) for (let p = B.rowPtr[r]; p < B.rowPtr[r + 1]; p++) out[B.colIdx[p]] += B.values[p] * y[r];
}

/**
 * The preconditioner (λC + μI)⁻¹, exact through C's Kronecker-sum structure C = I ⊗ T + T ⊗ I (T's eigenvectors V,
 * eigenvalues e: (λ(eᵢ + eⱼ) + μ)⁻¹ in the basis V ⊗ V); μ = the median of diag(BᵀWB) over the reached pixels.
 */
function kroneckerPreconditioner(kind: 'gradient' | 'curvature', lambda: number, mu: number): (r: Float64Array, out: Float64Array) => void {
  const { values: e, vectors: V } = symmetricEigen(differenceGram(kind, N), N);
  // V's columns are the eigenvectors (checked once below)
  const tmp = new Float64Array(N * N);
  const tmp2 = new Float64Array(N * N);
  const mulL = (A: Float64Array, X: Float64Array, out: Float64Array, transpose: boolean) => {
    // out = (Vᵀ or V) · X
    for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < N; k++) s += (transpose ? A[k * N + i] : A[i * N + k]) * X[k * N + j];
      out[i * N + j] = s;
    }
  };
  const mulR = (X: Float64Array, A: Float64Array, out: Float64Array, transpose: boolean) => {
    // out = X · (V or Vᵀ)
    for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < N; k++) s += X[i * N + k] * (transpose ? A[j * N + k] : A[k * N + j]);
      out[i * N + j] = s;
    }
  };
  return (r, out) => {
    mulL(V, r, tmp, true);
    mulR(tmp, V, tmp2, false);
    for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) tmp2[i * N + j] /= lambda * (e[i] + e[j]) + mu;
    mulL(V, tmp2, tmp, false);
    mulR(tmp, V, out, true);
  };
}

/** (BᵀB/σ² + λC) s = Bᵀy/σ² by conjugate gradients preconditioned with (λC + μI)⁻¹ (warm start x0). */
function solve(B: CsrMatrix, C: CsrMatrix, kind: 'gradient' | 'curvature', y: Float64Array, lambda: number, x0: Float64Array | null): Float64Array {
  const n = B.nCols;
  const w = 1 / (SIGMA * SIGMA);
  const t = new Float64Array(B.nRows);
  const u = new Float64Array(n);
  const apply = (x: Float64Array, out: Float64Array) => {
    mulB(B, x, t);
    mulBt(B, t, u);
    for (let k = 0; k < n; k++) {
      let s = 0;
      for (let p = C.rowPtr[k]; p < C.rowPtr[k + 1]; p++) s += C.values[p] * x[C.colIdx[p]];
      out[k] = w * u[k] + lambda * s;
    }
  };
  const diag = new Float64Array(n);
  for (let r = 0; r < B.nRows; r++) for (let p = B.rowPtr[r]; p < B.rowPtr[r + 1]; p++) diag[B.colIdx[p]] += w * B.values[p] ** 2;
  const pos = Array.from(diag).filter((v) => v > 0).sort((a, b) => a - b);
  const precond = kroneckerPreconditioner(kind, lambda, pos[pos.length >> 1]);
  const b = new Float64Array(n);
  mulBt(B, y, b);
  for (let k = 0; k < n; k++) b[k] *= w;
  const x = x0 ? Float64Array.from(x0) : new Float64Array(n);
  const r = new Float64Array(n);
  apply(x, r);
  for (let k = 0; k < n; k++) r[k] = b[k] - r[k];
  const z = new Float64Array(n);
  precond(r, z);
  const pv = Float64Array.from(z);
  const Ap = new Float64Array(n);
  let rz = r.reduce((s, v, k) => s + v * z[k], 0);
  const bn = Math.sqrt(b.reduce((s, v) => s + v * v, 0));
  for (let it = 0; it < 500; it++) {
    apply(pv, Ap);
    const alpha = rz / pv.reduce((s, v, k) => s + v * Ap[k], 0);
    for (let k = 0; k < n; k++) {
      x[k] += alpha * pv[k];
      r[k] -= alpha * Ap[k];
    }
    if (Math.sqrt(r.reduce((s, v) => s + v * v, 0)) < 1e-6 * bn) break;
    precond(r, z);
    const rz2 = r.reduce((s, v, k) => s + v * z[k], 0);
    for (let k = 0; k < n; k++) pv[k] = z[k] + (rz2 / rz) * pv[k];
    rz = rz2;
  }
  return x;
}

function psnr(est: ArrayLike<number>, truth: Float64Array, region: Uint8Array | null, peak: number): number {
  let s = 0;
  let n = 0;
  for (let k = 0; k < truth.length; k++) {
    if (region && !region[k]) continue;
    s += (est[k] - truth[k]) ** 2;
    n++;
  }
  return 10 * Math.log10((peak * peak) / (s / n));
}

/**
 * The galaxy's flux in an estimate over the truth's: Σ est / Σ truth over the galaxy (the reached pixels where the
 * truth is at least 5 % of its peak), over that set grown by 1, 2 and 4 pixels (4-neighbour dilation), and over the
 * whole grid. A smoother estimate than the truth moves flux across the set's edge into its surroundings, so the first
 * figure reads low for any estimate of finite resolution even where the flux is conserved; the grown sets take that
 * spill back in.
 */
function galaxyFlux(est: ArrayLike<number>, truth: ArrayLike<number>, region: ArrayLike<number>, peak: number, n = N): number[] {
  let set = Uint8Array.from(truth, (t, k) => (region[k] && t >= 0.05 * peak ? 1 : 0));
  const ratio = (m: ArrayLike<number>) => {
    let a = 0;
    let b = 0;
    for (let k = 0; k < truth.length; k++) {
      if (!m[k]) continue;
      a += est[k];
      b += truth[k];
    }
    return a / b;
  };
  const out = [ratio(set)];
  for (let r = 1; r <= 4; r++) {
    const grown = Uint8Array.from(set);
    for (let k = 0; k < set.length; k++) {
      if (!set[k]) continue;
      const i = Math.floor(k / n);
      const j = k % n;
      if (i > 0) grown[k - n] = 1;
      if (i < n - 1) grown[k + n] = 1;
      if (j > 0) grown[k - 1] = 1;
      if (j < n - 1) grown[k + 1] = 1;
    }
    set = grown;
    if (r === 1 || r === 2 || r === 4) out.push(ratio(set));
  }
  out.push(ratio(new Uint8Array(truth.length).fill(1)));
  return out;
}

/** The oracle: λ maximising the PSNR in the region, for one regularisation kind. */
function oracle(B: CsrMatrix, y: Float64Array, kind: 'gradient' | 'curvature', truth: Float64Array, region: Uint8Array, peak: number): { lambda: number; psnr: number; psnrAll: number; source: Float64Array } {
  const C = regularisation(kind, [N, N]).C;
  // scale: tr(BᵀWB)/tr(C)
  let trF = 0;
  for (let p = 0; p < B.values.length; p++) trF += B.values[p] ** 2 / SIGMA ** 2;
  let trC = 0;
  for (let k = 0; k < C.nRows; k++) for (let p = C.rowPtr[k]; p < C.rowPtr[k + 1]; p++) if (C.colIdx[p] === k) trC += C.values[p];
  const cache = new Map<number, { psnr: number; x: Float64Array }>();
  let last: Float64Array | null = null;
  const at = (l: number) => {
    const key = Math.round(l * 1000) / 1000;
    if (!cache.has(key)) {
      const x = solve(B, C, kind, y, Math.exp(key), last);
      last = x;
      cache.set(key, { psnr: psnr(x, truth, region, peak), x });
    }
    return cache.get(key)!.psnr;
  };
  let l = Math.log((1e-3 * trF) / trC);
  let step = Math.log(4);
  // uphill in factors of 4, then 2, then √2
  for (let round = 0; round < 3; round++) {
    for (let guard = 0; guard < 20; guard++) {
      if (at(l + step) > at(l)) l += step;
      else if (at(l - step) > at(l)) l -= step;
      else break;
    }
    step /= 2;
  }
  const best = cache.get(Math.round(l * 1000) / 1000)!;
  return { lambda: Math.exp(l), psnr: best.psnr, psnrAll: psnr(best.x, truth, null, peak), source: best.x };
}

interface PosteriorFigures {
  psnr: number;
  psnrAll: number;
  /** rank coverage (pixelCoverage: the truth's rank among the draws, unbiased for any number of draws) at 50 / 68 / 90 / 95 % over the reached pixels */
  coverage: number[];
  /** the same over the reached pixels where the truth is at least 5 % of its peak (the galaxy) and the others (its surroundings) */
  coverageBright: number[];
  coverageFaint: number[];
  brightPixels: number;
  /** Gaussian intervals mean ± 1σ, ± 1.96σ with σ the draws' std (the earlier figure; biased for few draws) */
  cover68: number;
  cover95: number;
  /** the truth's mean squared deviation from the draws' mean over the draws' variance × (1 + 1/N), bright / faint pixels (1 when calibrated) */
  zBright: number;
  zFaint: number;
  /**
   * the Monte Carlo share of the mean's squared error: Σ draws' variance / N over Σ (mean − truth)², over the reached
   * pixels and the whole grid, and the PSNR gain that infinitely many draws would bound: −10 log₁₀(1 − share)
   */
  mcShare: number;
  mcShareAll: number;
  mcBoundAll: number;
  samples: number;
  /** regionDiagnostics: why the galaxy's and its surroundings' intervals differ (see there) */
  regions: RegionDiagnostics;
  chi2: number | null;
  seconds: number;
  stdEdge: number;
  stdInside: number;
  meanEdgeMax: number;
  flux: { of: string; flux: number; background: number | null; F: number };
  totalFluxRatio: number;
  /** galaxyFlux: the galaxy's flux over the truth's on the galaxy, grown by 1 / 2 / 4 px, the whole grid */
  galaxyFlux: number[];
}

interface RegionDiagnostics {
  /** the surroundings where the truth is exactly 0 (the 96² embedding's padding around the 64² Galaxy Zoo stamp and its sky clipped at 0) and the rest: pixels, z, rank coverage at 68 % */
  zero: { pixels: number; z: number; cover68: number };
  nonzero: { pixels: number; z: number; cover68: number };
  /** pixel-scale texture over the surroundings (a pixel less the mean of its 4 neighbours, rms × √(4/5): a white field's std), in units of the peak: the truth's, the draws' (rms over the draws), the mean's */
  texture: { truth: number; draws: number; mean: number };
  /** the galaxy (truth ≥ 5 % of the peak): rms of the draws' mean's error, of its part common to both halves of the chains (its bias: √mean((m₁ − t)(m₂ − t))), of the Monte Carlo part (√(draws' variance / N)), the draws' std; units of the peak */
  galaxy: { error: number; bias: number; monteCarlo: number; std: number };
  /** z over b × b blocks wholly inside the galaxy / its surroundings (the truth and every draw averaged over the block), b = 1, 2, 4, 8 */
  zByScale: { galaxy: number[]; surroundings: number[] };
}

/**
 * Where the per-region miscalibration comes from, measured on the draws (no sampling): the surroundings split into
 * the pixels where the truth is exactly 0 and the others; the pixel-scale texture of the truth and of the draws
 * there; the galaxy's error split into the part both halves of the chains share (bias) and the Monte Carlo part;
 * and z at coarser scales (a bias of the galaxy's shape would raise z with the block size).
 */
function regionDiagnostics(draws: Float32Array[] | Float64Array[] | ArrayLike<number>[], truth: Float64Array, region: Uint8Array, peak: number): RegionDiagnostics {
  const nD = draws.length;
  const n = truth.length;
  const m = new Float64Array(n);
  const v = new Float64Array(n);
  const m1 = new Float64Array(n);
  const m2 = new Float64Array(n);
  const h = nD >> 1;
  for (let k = 0; k < n; k++) {
    for (let d = 0; d < nD; d++) {
      m[k] += draws[d][k] / nD;
      if (d < h) m1[k] += draws[d][k] / h;
      else if (d < 2 * h) m2[k] += draws[d][k] / h;
    }
    for (let d = 0; d < nD; d++) v[k] += (draws[d][k] - m[k]) ** 2 / (nD - 1);
  }
  const bright = [...truth.keys()].filter((k) => region[k] === 1 && truth[k] >= 0.05 * peak);
  const faint = [...truth.keys()].filter((k) => region[k] === 1 && truth[k] < 0.05 * peak);
  const zOf = (idx: number[]) => idx.reduce((t, k) => t + (truth[k] - m[k]) ** 2 / (v[k] * (1 + 1 / nD)), 0) / idx.length;
  const part = (idx: number[]) => ({ pixels: idx.length, z: zOf(idx), cover68: idx.length ? pixelCoverage(draws.map((d) => idx.map((k) => d[k])), idx.map((k) => truth[k]), [0.68])[0] : NaN });
  const texture = (a: ArrayLike<number>, idx: number[]) => {
    let t = 0;
    let c = 0;
    for (const k of idx) {
      const i = Math.floor(k / N);
      const j = k % N;
      if (i < 1 || j < 1 || i >= N - 1 || j >= N - 1) continue;
      t += (a[k] - (a[k - 1] + a[k + 1] + a[k - N] + a[k + N]) / 4) ** 2;
      c++;
    }
    return t / c;
  };
  // the root of a mean over idx (0 where that mean is negative: the halves' errors anticorrelated), in units of the peak
  const rmsOver = (idx: number[], f: (k: number) => number) => Math.sqrt(Math.max(0, idx.reduce((t, k) => t + f(k), 0) / idx.length)) / peak;
  const zByScale = (idx: number[]) => {
    const set = new Uint8Array(n);
    for (const k of idx) set[k] = 1;
    return [1, 2, 4, 8].map((b) => {
      let z = 0;
      let c = 0;
      for (let bi = 0; bi + b <= N; bi += b) {
        for (let bj = 0; bj + b <= N; bj += b) {
          const ks: number[] = [];
          for (let i = bi; i < bi + b; i++) for (let j = bj; j < bj + b; j++) ks.push(i * N + j);
          if (!ks.every((k) => set[k])) continue;
          const t = ks.reduce((a, k) => a + truth[k], 0) / ks.length;
          const ds = draws.map((d) => ks.reduce((a, k) => a + d[k], 0) / ks.length);
          const mm = ds.reduce((a, x) => a + x, 0) / nD;
          const vv = ds.reduce((a, x) => a + (x - mm) ** 2, 0) / (nD - 1);
          z += (t - mm) ** 2 / (vv * (1 + 1 / nD));
          c++;
        }
      }
      return c ? z / c : NaN;
    });
  };
  return {
    zero: part(faint.filter((k) => truth[k] === 0)),
    nonzero: part(faint.filter((k) => truth[k] !== 0)),
    texture: {
      truth: Math.sqrt(0.8 * texture(truth, faint)) / peak,
      draws: Math.sqrt((0.8 * draws.reduce((t, d) => t + texture(d, faint), 0)) / nD) / peak,
      mean: Math.sqrt(0.8 * texture(m, faint)) / peak,
    },
    galaxy: {
      error: rmsOver(bright, (k) => (m[k] - truth[k]) ** 2),
      bias: rmsOver(bright, (k) => (m1[k] - truth[k]) * (m2[k] - truth[k])),
      monteCarlo: rmsOver(bright, (k) => v[k] / nD),
      std: rmsOver(bright, (k) => v[k]),
    },
    zByScale: { galaxy: zByScale(bright), surroundings: zByScale(faint) },
  };
}

function posterior(dir: string, truth: Float64Array, region: Uint8Array, peak: number, edge: Uint8Array): PosteriorFigures {
  const read = (f: string) => readFitsImage(new Uint8Array(readFileSync(path.join(dir, f)))).data;
  const mean = read('posterior-mean.fits');
  const std = read('posterior-std.fits');
  const cube = read('posterior-samples.fits');
  const nDraws = Math.round(cube.length / truth.length);
  const draws = Array.from({ length: nDraws }, (_, d) => cube.subarray(d * truth.length, (d + 1) * truth.length));
  const levels = [0.5, 0.68, 0.9, 0.95];
  const pick = (keep: (k: number) => boolean) => {
    const idx = [...truth.keys()].filter(keep);
    return { idx, cov: idx.length ? pixelCoverage(draws.map((d) => idx.map((k) => d[k])), idx.map((k) => truth[k]), levels) : levels.map(() => NaN) };
  };
  const all = pick((k) => region[k] === 1);
  const bright = pick((k) => region[k] === 1 && truth[k] >= 0.05 * peak);
  const faint = pick((k) => region[k] === 1 && truth[k] < 0.05 * peak);
  const zOf = (idx: number[]) => {
    let z = 0;
    for (const k of idx) {
      let m = 0;
      for (const d of draws) m += d[k] / nDraws;
      let v = 0;
      for (const d of draws) v += (d[k] - m) ** 2 / (nDraws - 1);
      z += (truth[k] - m) ** 2 / (v * (1 + 1 / nDraws));
    }
    return z / idx.length;
  };
  const report = JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8'));
  // Monte Carlo share of the mean's squared error (the draws' variance / N against (mean − truth)²)
  let vr = 0;
  let er = 0;
  let va = 0;
  let ea = 0;
  for (let k = 0; k < truth.length; k++) {
    let m = 0;
    for (const d of draws) m += d[k] / nDraws;
    let v = 0;
    for (const d of draws) v += (d[k] - m) ** 2 / (nDraws - 1);
    const e = (mean[k] - truth[k]) ** 2;
    va += v / nDraws;
    ea += e;
    if (region[k]) {
      vr += v / nDraws;
      er += e;
    }
  }
  let c1 = 0;
  let c2 = 0;
  let n = 0;
  let se = 0;
  let ne = 0;
  let si = 0;
  let ni = 0;
  let me = 0;
  let tot = 0;
  let totT = 0;
  for (let k = 0; k < truth.length; k++) {
    tot += mean[k];
    totT += truth[k];
    if (edge[k]) {
      se += std[k];
      ne++;
      me = Math.max(me, Math.abs(mean[k] - truth[k]));
    } else if (region[k]) {
      si += std[k];
      ni++;
    }
    if (!region[k]) continue;
    const d = Math.abs(mean[k] - truth[k]);
    if (d <= std[k]) c1++;
    if (d <= 1.96 * std[k]) c2++;
    n++;
  }
  return {
    psnr: psnr(mean, truth, region, peak),
    psnrAll: psnr(mean, truth, null, peak),
    coverage: all.cov,
    coverageBright: bright.cov,
    coverageFaint: faint.cov,
    brightPixels: bright.idx.length,
    zBright: zOf(bright.idx),
    zFaint: zOf(faint.idx),
    mcShare: vr / er,
    mcShareAll: va / ea,
    mcBoundAll: va < ea ? -10 * Math.log10(1 - va / ea) : Infinity,
    samples: nDraws,
    regions: regionDiagnostics(draws, truth, region, peak),
    cover68: c1 / n,
    cover95: c2 / n,
    chi2: report.chi2PerPixel ?? report.diagnostics?.chi2?.value ?? null,
    seconds: report.seconds ?? report.elapsedSeconds ?? NaN,
    stdEdge: se / ne / peak,
    stdInside: si / ni / peak,
    meanEdgeMax: me / peak,
    flux: { ...report.fluxScale.reference, F: report.fluxScale.value },
    totalFluxRatio: tot / totT,
    galaxyFlux: galaxyFlux(mean, truth, region, peak),
  };
}

function cli(args: string[]): number {
  const t0 = Date.now();
  execFileSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src-main', 'cli', 'main.ts'), ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], maxBuffer: 1 << 26 });
  return (Date.now() - t0) / 1000;
}

/** --table FILE…: the json lines of earlier runs as the markdown rows of docs/lensing.md (one per seed and path). */
function table(files: string[]): void {
  // a run with the noise scaled (SIGMA=) says so in its run column
  const sigmaOf = (l: { sigma?: number }) => (l.sigma !== undefined && l.sigma !== 0.02 ? `, σ ${l.sigma}` : '');
  const f = (v: number | undefined | null, d = 2) => (v === undefined || v === null || Number.isNaN(v) ? '—' : v.toFixed(d));
  const byPath: Record<string, number[]> = {};
  const lines = files.flatMap((file) => readFileSync(file, 'utf8').split('\n').filter((t) => t.startsWith('json ')).map((t) => JSON.parse(t.slice(5))));
  // a seed's oracle (at its noise: SIGMA=) from the line that has it (a run with SKIP_ORACLE=1 leaves NaN); the oracle
  // line alone too, at the noise of its file's json lines (0.02 where they do not say)
  const keyOf = (seed: number, sigma: number | undefined) => `${seed}/${sigma ?? 0.02}`;
  const oracleOf = new Map<string, { gradient: { psnr: number }; curvature: { psnr: number } }>();
  for (const l of lines) if (Number.isFinite(l.oracle.gradient.psnr)) oracleOf.set(keyOf(l.seed, l.sigma), l.oracle);
  for (const file of files) {
    const text = readFileSync(file, 'utf8').split('\n');
    const json = text.find((t) => t.startsWith('json '));
    const sigma = json ? JSON.parse(json.slice(5)).sigma : undefined;
    for (const t of text) {
      if (!t.startsWith('seed ') || !t.includes('oracle gradient')) continue;
      const m = /^seed (\d+): oracle gradient ([\d.]+) dB .*curvature ([\d.]+) dB/.exec(t);
      if (m && !oracleOf.has(keyOf(Number(m[1]), sigma))) oracleOf.set(keyOf(Number(m[1]), sigma), { gradient: { psnr: Number(m[2]) }, curvature: { psnr: Number(m[3]) } });
    }
  }
  {
    for (const l of lines) {
      const key = keyOf(l.seed, l.sigma);
      if (!Number.isFinite(l.oracle.gradient.psnr) && oracleOf.has(key)) l.oracle = { ...l.oracle, ...oracleOf.get(key) };
      // a run with SKIP_ORACLE=1 and no other line for its seed: NaN, written as null in the json (Math.max would read 0)
      const best = Math.max(l.oracle.gradient.psnr ?? NaN, l.oracle.curvature.psnr ?? NaN);
      for (const [name, key] of [['true lens', 'posteriorTrueLens'], ['fitted lens', 'posteriorFittedLens']] as const) {
        const q = l[key];
        if (!q) continue;
        const gain = q.psnr - best;
        if (Number.isFinite(gain)) (byPath[name] ??= []).push(gain);
        const pc = (v: number[] | undefined) => (v ? v.map((c) => (100 * c).toFixed(0)).join(' / ') : '—');
        const run = `${l.samples ?? q.samples ?? 8} × ${l.steps ?? 150}${l.extra ? ' ' + l.extra : ''}${sigmaOf(l)}`;
        console.log(`| ${l.seed} | ${l.galaxy} | ${name}, ${run} | ${f(l.oracle.gradient.psnr)} / ${f(l.oracle.curvature.psnr)} | ${f(q.psnr)} (${f(q.psnrAll)}) | ${Number.isFinite(gain) ? (gain >= 0 ? '+' : '') + gain.toFixed(2) : '—'} | ${pc(q.coverage)} % | ${pc(q.coverageBright?.slice(1, 2))} / ${pc(q.coverageFaint?.slice(1, 2))} % (z ${f(q.zBright)} / ${f(q.zFaint)}) | ${(100 * q.cover68).toFixed(0)} / ${(100 * q.cover95).toFixed(0)} % | ${f(q.chi2, 3)} | ${f(q.flux.flux / l.truthFlux)} | ${f(q.totalFluxRatio, 3)} | ${q.seconds.toFixed(0)} s | ${q.mcShare === undefined ? '—' : `${(100 * q.mcShare).toFixed(0)} / ${(100 * q.mcShareAll).toFixed(0)} % (+${f(q.mcBoundAll)} dB)`} |`);
      }
    }
  }
  for (const [k, g] of Object.entries(byPath)) console.log(`${k}: mean gain ${(g.reduce((a, b) => a + b, 0) / g.length).toFixed(2)} dB over ${g.length}`);
  // the region diagnostics (regionDiagnostics), where the lines have them
  const rows: string[] = [];
  for (const l of lines) {
    for (const [name, key] of [['true lens', 'posteriorTrueLens'], ['fitted lens', 'posteriorFittedLens']] as const) {
      const r: RegionDiagnostics | undefined = l[key]?.regions;
      if (!r) continue;
      const pc = (c: number) => `${(100 * c).toFixed(0)} %`;
      const sc = (z: number[]) => z.map((x) => f(x)).join(' / ');
      rows.push(`| ${l.seed} | ${name}, ${l.samples ?? 8} × ${l.steps ?? 150}${l.extra ? ' ' + l.extra : ''}${sigmaOf(l)} | ${r.zero.pixels}: ${f(r.zero.z)}, ${pc(r.zero.cover68)} | ${r.nonzero.pixels}: ${f(r.nonzero.z)}, ${pc(r.nonzero.cover68)} | ${f(r.texture.truth, 4)} / ${f(r.texture.draws, 4)} / ${f(r.texture.mean, 4)} | ${f(r.galaxy.error, 4)} / ${f(r.galaxy.bias, 4)} / ${f(r.galaxy.monteCarlo, 4)} / ${f(r.galaxy.std, 4)} | ${sc(r.zByScale.galaxy)} | ${sc(r.zByScale.surroundings)} |`);
    }
  }
  // the galaxy's flux (galaxyFlux) and the image flux over the data's, where the lines have them
  const fluxRows: string[] = [];
  for (const l of lines) {
    const q = l.posteriorTrueLens;
    if (!q?.galaxyFlux) continue;
    const fl = (v: number[] | undefined) => (v ? v.map((x) => f(x, 3)).join(' / ') : '—');
    const o = l.flux;
    fluxRows.push(`| ${l.seed} | ${l.samples ?? 8} × ${l.steps ?? 150}${l.extra ? ' ' + l.extra : ''}${sigmaOf(l)} | ${fl(q.galaxyFlux)} | ${o && o.oracleGradient > 0 ? fl(o.galaxyGradient) : '—'} | ${o ? `${f(o.noiseFree, 4)} / ${f(o.truth, 4)}` : '—'} | ${f(q.imageFlux, 4)}${o && o.oracleGradient > 0 ? ` / ${f(o.oracleGradient, 4)}` : ''} |`);
  }
  if (fluxRows.length) {
    console.log('\n| seed | run | posterior mean: galaxy flux on the set / +1 / +2 / +4 px / grid | oracle gradient: the same | image flux: noise-free data / truth | posterior mean / oracle |');
    console.log('|---|---|---|---|---|---|');
    for (const row of fluxRows) console.log(row);
  }
  if (rows.length) {
    console.log('\n| seed | run | surroundings, truth 0: pixels: z, 68 % | truth > 0 | texture truth / draws / mean | galaxy error / bias / MC / std | galaxy z at 1 / 2 / 4 / 8 px | surroundings z at 1 / 2 / 4 / 8 px |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const row of rows) console.log(row);
  }
}
if (process.argv[2] === '--table') {
  table(process.argv.slice(3));
  process.exit(0);
}

const Nsim = Number(process.argv[2] ?? 1);
const first = Number(process.argv[3] ?? 2);
const samples = Number(process.argv[4] ?? 16);
const steps = Number(process.argv[5] ?? 150);
const skipPosterior = process.env.SKIP_POSTERIOR === '1';
// SKIP_FIT=1: no lens fit (the true lens only)
const skipFit = process.env.SKIP_FIT === '1';
const { cube, validation } = galaxyZoo();
for (let s = first; s < first + Nsim; s++) {
  const dir = process.env.WORK ? path.resolve(process.env.WORK) : mkdtempSync(path.join(tmpdir(), 'lens-source-eval-'));
  mkdirSync(dir, { recursive: true });
  const p = (f: string) => path.join(dir, f);
  try {
    const u = (k: number) => ((Math.sin(s * 12.9898 + k * 78.233) * 43758.5453) % 1 + 1) % 1;
    const lens = { thetaE: 1.0 + 0.4 * u(1), q: 0.6 + 0.3 * u(2), phi: Math.PI * (u(3) - 0.5), x0: 0.1 * (u(4) - 0.5), y0: 0.1 * (u(5) - 0.5), gamma1: 0.08 * (u(6) - 0.5), gamma2: 0.08 * (u(7) - 0.5) };
    const galaxy = (s * 7) % validation.length;
    const sim = simulateLens({ size: 72, psfSize: 9, seed: s, galaxy, lens, sigma: SIGMA });
    const truth = sourceOnGrid(galaxySource(cube, validation[galaxy], 96, 3, 2), N, SCALE);
    const peak = truth.reduce((m, v) => Math.max(m, v), 0);
    const maskImg = annulusMask(sim.image, 0, 1.75);
    const pixels = Int32Array.from([...maskImg.keys()].filter((k) => maskImg[k]));
    const B = blurredLensMatrix(sim.truth.lens, sim.image, { shape: [N, N], scale: SCALE }, 2, sim.psf, pixels);
    const reach = new Float64Array(N * N);
    for (let q = 0; q < B.values.length; q++) reach[B.colIdx[q]] += B.values[q];
    const pos = Array.from(reach).filter((v) => v > 0).sort((a, b) => a - b);
    const med = pos[pos.length >> 1];
    const region = Uint8Array.from(reach, (v) => (v >= 0.25 * med ? 1 : 0));
    const edge = new Uint8Array(N * N);
    for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) if (i < 4 || j < 4 || i >= N - 4 || j >= N - 4) edge[i * N + j] = 1;
    const light = convolve(sersicImage(sim.truth.light, sim.image, 5).map((v) => v * sim.truth.lightAmplitude), sim.image.shape, sim.psf);
    const y = Float64Array.from(pixels, (k) => sim.data[k] - light[k]);
    const t0 = process.cpuUsage();
    // SKIP_ORACLE=1: no oracle (measured by an earlier run of the same seed)
    const none = { lambda: NaN, psnr: NaN, psnrAll: NaN, source: new Float64Array(N * N) };
    const og = process.env.SKIP_ORACLE === '1' ? none : oracle(B, y, 'gradient', truth, region, peak);
    const oc = process.env.SKIP_ORACLE === '1' ? none : oracle(B, y, 'curvature', truth, region, peak);
    const oracleCpu = (process.cpuUsage(t0).user + process.cpuUsage(t0).system) / 1e6;
    console.log(`seed ${s}: oracle gradient ${og.psnr.toFixed(2)} dB (λ ${og.lambda.toPrecision(3)}), curvature ${oc.psnr.toFixed(2)} dB (λ ${oc.lambda.toPrecision(3)}), ${oracleCpu.toFixed(0)} s CPU; files in ${dir}`);
    // the flux in the fitted pixels (the light subtracted): the data's, the noise-free data's, and the image of the
    // truth and of the oracles through the true lens (Σ B x = Σ of x weighted by B's column sums); the galaxy's flux
    const sumY = y.reduce((a, v) => a + v, 0);
    const imageFlux = (x: ArrayLike<number>) => reach.reduce((a, c, k) => a + c * x[k], 0) / sumY;
    const noiseFreeFlux = pixels.reduce((a, k) => a + sim.noiseFree[k] - light[k], 0) / sumY;
    const fluxLine = {
      dataFlux: sumY,
      noiseFree: noiseFreeFlux,
      truth: imageFlux(truth),
      oracleGradient: imageFlux(og.source),
      oracleCurvature: imageFlux(oc.source),
      galaxyGradient: galaxyFlux(og.source, truth, region, peak),
      galaxyCurvature: galaxyFlux(oc.source, truth, region, peak),
    };
    const fx = (v: number[]) => v.map((x) => x.toFixed(4)).join(' / ');
    const oracleFlux = process.env.SKIP_ORACLE === '1' ? '' : `, oracles ${fluxLine.oracleGradient.toFixed(4)} / ${fluxLine.oracleCurvature.toFixed(4)}; galaxy flux (set / +1 / +2 / +4 px / grid) oracle gradient ${fx(fluxLine.galaxyGradient)}, curvature ${fx(fluxLine.galaxyCurvature)}`;
    console.log(`seed ${s}: image flux in the fitted pixels over the data's: noise-free ${noiseFreeFlux.toFixed(4)}, truth through the grid's lens ${fluxLine.truth.toFixed(4)}${oracleFlux}`);
    if (process.env.ORACLE_ONLY === '1') continue;
    // files for the command line
    const shape: [number, number] = [72, 72];
    writeFileSync(p('obs.fits'), writeFits([{ data: Float32Array.from(sim.data), shape }]));
    writeFileSync(p('psf.fits'), writeFits([{ data: Float32Array.from(sim.psf.data), shape: [sim.psf.shape[1], sim.psf.shape[0]] }]));
    writeFileSync(p('light.fits'), writeFits([{ data: Float32Array.from(light), shape }]));
    writeFileSync(p('truth.fits'), writeFits([{ data: Float32Array.from(truth), shape: [N, N] }]));
    writeFileSync(p('oracle-gradient.fits'), writeFits([{ data: Float32Array.from(og.source), shape: [N, N] }]));
    writeFileSync(p('mask.fits'), writeFits([{ data: Float32Array.from(maskImg), shape }]));
    const L = sim.truth.lens;
    writeFileSync(
      p('M.json'),
      JSON.stringify({
        shape: [N, N],
        operators: [
          { type: 'lens', imageShape: shape, imagePixelScale: 0.05, sourcePixelScale: SCALE, supersample: 2, lens: { model: 'SIE', thetaE: L.thetaE, q: L.q, phi: L.phi, x0: L.x0, y0: L.y0 }, shear: { gamma1: L.gamma1, gamma2: L.gamma2 } },
          { type: 'psf', fits: 'psf.fits' },
          { type: 'mask', fits: 'mask.fits' },
        ],
        additive: { fits: 'light.fits' },
      }),
    );
    const line: Record<string, unknown> = {
      seed: s,
      galaxy,
      samples,
      steps,
      extra: process.env.EXTRA ?? '',
      sigma: SIGMA,
      lens,
      truthFlux: fluxReference(truth),
      truthFluxRegion: fluxReference(truth.filter((_, k) => region[k])),
      regionPixels: region.reduce((a, v) => a + v, 0),
      oracle: { gradient: { lambda: og.lambda, psnr: og.psnr, psnrAll: og.psnrAll }, curvature: { lambda: oc.lambda, psnr: oc.psnr, psnrAll: oc.psnrAll }, cpu: oracleCpu, fluxGradient: fluxReference(og.source) },
      flux: fluxLine,
    };
    if (!skipFit) {
      // FIT_SMALL=1: the lens fit's final source on 24² pixels (its dense 64² inversion, 10–15 factorisations of
      // a 4096² matrix, is left out), and the fitted model put on the 64² grid of 0.0225″ here, without lens-fit's
      // fluxReference (so reconstruct reads the back-projection through the fitted lens)
      const small = process.env.FIT_SMALL === '1';
      const grid = small ? ['--source-size', '24'] : ['--source-size', String(N), '--source-scale', String(SCALE)];
      const fitS = process.env.REUSE === '1' && existsSync(p('fit/lens.json')) ? NaN : cli(['lens-fit', '--obs', p('obs.fits'), '--noise-map', String(SIGMA), '--psf', p('psf.fits'), '--psf-size', '9', '--pixel-scale', '0.05', '--annulus', '0,1.75', ...grid, '--fit-source-size', '18', '--starts', '2', '--no-errors', '--out', p('fit')]);
      const lj = JSON.parse(readFileSync(p('fit/lens.json'), 'utf8'));
      const mj = JSON.parse(readFileSync(p('fit/model.json'), 'utf8'));
      // the fitted deflector light's flux inside the fitted disc over the true light's (above 1: it took the arcs' flux)
      const fitLight = existsSync(p('fit/lens-light.fits')) ? readFitsImage(new Uint8Array(readFileSync(p('fit/lens-light.fits')))).data : null;
      const lightFluxRatio = fitLight ? pixels.reduce((t, k) => t + fitLight[k], 0) / pixels.reduce((t, k) => t + light[k], 0) : null;
      line.fit = { thetaE: lj.parameters.thetaE.value, q: lj.parameters.q.value, chi2PerPixel: lj.chi2PerPixel, lambda: lj.regularisation.lambda, seconds: fitS, fluxReference: mj.fluxReference ?? null, sourceGrid: lj.sourceGrid, lightFluxRatio };
      if (small) {
        mj.shape = [N, N];
        mj.operators[0].sourcePixelScale = SCALE;
        delete mj.fluxReference;
        writeFileSync(p('fit/model.json'), JSON.stringify(mj));
      } else {
        const inv = readFitsImage(new Uint8Array(readFileSync(p('fit/source-inversion.fits')))).data;
        line.evidenceInversionFitted = { psnr: psnr(inv, truth, region, peak), psnrAll: psnr(inv, truth, null, peak), fluxReferenceRatio: (mj.fluxReference?.flux ?? NaN) / fluxReference(truth) };
      }
      console.log(`seed ${s}: lens-fit θE ${lj.parameters.thetaE.value.toFixed(4)} (${L.thetaE.toFixed(4)}), q ${lj.parameters.q.value.toFixed(3)} (${L.q.toFixed(3)}), χ²/px ${lj.chi2PerPixel.toFixed(3)}, light's flux in the disc ${lightFluxRatio?.toFixed(3) ?? '—'} of the truth's, ${fitS.toFixed(0)} s`);
    }
    if (!skipPosterior) {
      // EXTRA: more reconstruct flags (e.g. '--denoise mean'); REUSE=1 with WORK: score the posterior already there
      const extra = (process.env.EXTRA ?? '').split(' ').filter((a) => a.length > 0);
      const rec = (model: string, out: string) =>
        process.env.REUSE === '1' && existsSync(p(path.join(out, 'report.json')))
          ? NaN
          : cli(['reconstruct', '--obs', p('obs.fits'), '--noise', String(SIGMA), '--prior', 'models/galaxy-64', '--n', String(samples), '--steps', String(steps), '--seed', String(s), '--quiet', ...extra, '--model', model, '--out', p(out)]);
      // SKIP_TRUE=1: the fitted lens's posterior only (the true lens's measured by an earlier run)
      if (process.env.SKIP_TRUE !== '1') {
        const tTrue = rec(p('M.json'), 'rec-true');
        const figures = posterior(p('rec-true'), truth, region, peak, edge);
        const mean = readFitsImage(new Uint8Array(readFileSync(p('rec-true/posterior-mean.fits')))).data;
        // the flux where the data measure the source (B's column sum ≥ 1: its light covers an image pixel) and where
        // they barely do (below 1): the truth's, the mean's and the gradient oracle's differences from it
        const byReach = (x: ArrayLike<number>, weak: boolean) => reach.reduce((a, c, k) => a + ((c < 1) === weak ? x[k] - truth[k] : 0), 0);
        const truthWeak = reach.reduce((a, c, k) => a + (c < 1 ? truth[k] : 0), 0);
        const fluxByReach = { truthWeak, truthMeasured: truth.reduce((a, v) => a + v, 0) - truthWeak, meanWeak: byReach(mean, true), meanMeasured: byReach(mean, false), oracleWeak: byReach(og.source, true), oracleMeasured: byReach(og.source, false) };
        line.posteriorTrueLens = { ...figures, imageFlux: imageFlux(mean), fluxByReach, wall: tTrue };
        console.log(`seed ${s}: posterior mean through the true lens: image flux ${imageFlux(mean).toFixed(4)} of the data's, galaxy flux (set / +1 / +2 / +4 px / grid) ${fx(figures.galaxyFlux)}; flux − the truth's where B's column sum < 1 (truth ${truthWeak.toFixed(2)}): mean ${fluxByReach.meanWeak.toFixed(2)}${process.env.SKIP_ORACLE === '1' ? '' : `, oracle ${fluxByReach.oracleWeak.toFixed(2)}`}; ≥ 1 (truth ${fluxByReach.truthMeasured.toFixed(2)}): mean ${fluxByReach.meanMeasured.toFixed(2)}${process.env.SKIP_ORACLE === '1' ? '' : `, oracle ${fluxByReach.oracleMeasured.toFixed(2)}`}`);
      }
      if (!skipFit) {
        const tFit = rec(p('fit/model.json'), 'rec-fit');
        line.posteriorFittedLens = { ...posterior(p('rec-fit'), truth, region, peak, edge), wall: tFit };
      }
    }
    console.log(`json ${JSON.stringify(line)}`);
  } finally {
    if (process.env.KEEP !== '1' && !process.env.WORK) rmSync(dir, { recursive: true, force: true });
  }
}
