/**
 * The total-flux constraint of the visibility likelihood (a pseudo-visibility at zero spacing,
 * src-shared/radio/normal-equations.ts's withZeroSpacing; its default from the survey, field.ts's surveyZeroSpacing)
 * against dense float64 closed forms on a 12×12 image whose 71 visibilities avoid the short spacings (0.2–0.45
 * cycles per pixel), so that no visibility measures the total flux:
 *  - the normal equations made by visibilityNormalEquations through the production measurement operator equal the
 *    dense definitions plus (F − Σx)²/σ², and the noise draw holds the pseudo-visibility's term;
 *  - the default sampler with a Gaussian-field prior reproduces the exact posterior of the stacked system with the
 *    pseudo-visibility's row, and the draws' total flux keeps to that posterior's, within σ of F, where without the
 *    constraint the exact posterior's total flux spreads several times wider;
 *  - the survey's rule and the --total-flux flag.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src-main/engine/backend.js';
import { GaussianFieldPrior, powerLawSpectrum } from '../../src-shared/diffusion/priors/gaussian-field.js';
import { VisibilityLikelihood } from '../../src-shared/diffusion/visibility-likelihood.js';
import { runSampling } from '../../src-shared/diffusion/posterior.js';
import { ChainRandom } from '../../src-shared/diffusion/chain-rng.js';
import { visibilityNormalEquations, withZeroSpacing, type WeightedVisibilities } from '../../src-shared/radio/normal-equations.js';
import { surveyZeroSpacing, ZERO_SPACING_FLOOR, type SourceExtent } from '../../src-shared/radio/field.js';
import { zeroSpacingFlag } from '../../src-main/cli/commands/reconstruct.js';
import { visibilityCommandLine } from '../../src-main/reconstruct/visibilities.js';
import type { ImageGrid } from '../../src-shared/radio/grid.js';
import { circulantCovariance, comparePosterior, gaussianDraws, gaussianPosterior, denseVisibilityChi2, type GaussianPosteriorReference, type SparseRows } from '../helpers/gaussian-posterior.js';

const SIDE = 12;
const N = SIDE * SIDE;
const M = N / 2 - 1; // 2M data rows + the pseudo-visibility's two (its imaginary one zero) = N
const C0 = Math.floor(SIDE / 2);
const CELL = 1e-8; // radians
const grid: ImageGrid = { nx: SIDE, ny: SIDE, cell: CELL };
let vis: WeightedVisibilities;
let power: Float64Array;
let cov: Float64Array;
let cInv: Float64Array;
let truth: Float64Array;
let F: number;
let SIGMA: number;
let withRef: GaussianPosteriorReference;
let withoutRef: GaussianPosteriorReference;

/** Phase of visibility k at pixel p (u, v in wavelengths): θ = 2π(u l + v m), l = −(j − c)·cell, m = (i − c)·cell. */
const theta = (k: number, p: number) => 2 * Math.PI * CELL * (vis.u[k] * -((p % SIDE) - C0) + vis.v[k] * (Math.floor(p / SIDE) - C0));
const total = (x: ArrayLike<number>, off = 0) => {
  let s = 0;
  for (let p = 0; p < N; p++) s += x[off + p];
  return s;
};
/** 1ᵀ Σ 1: the variance of the total flux under covariance Σ. */
const totalVariance = (s: Float64Array) => s.reduce((a, b) => a + b, 0);

/** The whitened stacked system [Re; Im] of the visibilities, then (with the constraint) 1ᵀ/σ and a zero row. */
function reference(zero: boolean): GaussianPosteriorReference {
  const a: SparseRows = { n: N, cols: [], vals: [] };
  const y: number[] = [];
  for (let k = 0; k < M; k++) {
    const s = Math.sqrt(vis.weight[k]);
    a.cols.push(Int32Array.from({ length: N }, (_, p) => p));
    a.vals.push(Float64Array.from({ length: N }, (_, p) => s * Math.cos(theta(k, p))));
    y.push(s * vis.re[k]);
    a.cols.push(Int32Array.from({ length: N }, (_, p) => p));
    a.vals.push(Float64Array.from({ length: N }, (_, p) => -s * Math.sin(theta(k, p))));
    y.push(s * vis.im[k]);
  }
  // the pseudo-visibility's real row and its imaginary one (sin 0 = 0: a zero row, datum 0); without the
  // constraint two zero rows, so that the stacked system keeps N rows and the posterior is the visibilities' alone
  a.cols.push(Int32Array.from({ length: N }, (_, p) => p));
  a.vals.push(new Float64Array(N).fill(zero ? 1 / SIGMA : 0));
  y.push(zero ? F / SIGMA : 0);
  a.cols.push(Int32Array.from({ length: N }, (_, p) => p));
  a.vals.push(new Float64Array(N));
  y.push(0);
  return gaussianPosterior(cov, cInv, a, Float64Array.from(y), 1);
}

beforeAll(async () => {
  await initBackend('wasm');
  const r = new ChainRandom(7, 0);
  const u = new Float64Array(M);
  const v = new Float64Array(M);
  for (let k = 0; k < M; k++) {
    // 0.2–0.45 cycles per pixel: no short spacing, the total flux unmeasured
    const rho = 0.2 + 0.25 * r.uniform();
    const phi = 2 * Math.PI * r.uniform();
    u[k] = (rho * Math.cos(phi)) / CELL;
    v[k] = (rho * Math.sin(phi)) / CELL;
  }
  const weight = new Float64Array(M).map(() => 2 + 6 * r.uniform());
  power = powerLawSpectrum(SIDE, SIDE, 10, 4, 2);
  cov = circulantCovariance(power, SIDE, SIDE);
  cInv = circulantCovariance(
    power.map((q) => 1 / q),
    SIDE,
    SIDE,
  );
  truth = gaussianDraws(cov, N, 1, () => r.normal());
  const re = new Float64Array(M);
  const im = new Float64Array(M);
  vis = { u, v, re, im, weight };
  for (let k = 0; k < M; k++) {
    for (let p = 0; p < N; p++) {
      re[k] += Math.cos(theta(k, p)) * truth[p];
      im[k] -= Math.sin(theta(k, p)) * truth[p];
    }
    re[k] += r.normal() / Math.sqrt(weight[k]);
    im[k] += r.normal() / Math.sqrt(weight[k]);
  }
  // the constraint: the true total give or take its σ, σ a fifth of the prior's spread of the total flux
  SIGMA = Math.sqrt(totalVariance(cov)) / 5;
  F = total(truth) + SIGMA * r.normal();
  withRef = reference(true);
  withoutRef = reference(false);
}, 120_000);

describe('the total-flux constraint at zero spacing (12×12, 71 visibilities beyond 0.2 cycles per pixel)', () => {
  it('the normal equations are the visibilities\' plus (F − Σx)²/σ²: K + 11ᵀ/σ², d + F/σ², yᴴWy + F²/σ², its noise draw included', () => {
    const plain = visibilityNormalEquations(vis, grid);
    const eq = visibilityNormalEquations(withZeroSpacing(vis, { flux: F, sigma: SIGMA }), grid);
    const w0 = 1 / SIGMA ** 2;
    expect(eq.visibilities).toBe(M + 1);
    let dd = 0;
    let db = 0;
    for (let p = 0; p < N; p++) dd = Math.max(dd, Math.abs(eq.dirty[p] - plain.dirty[p] - w0 * F));
    for (let q = 0; q < eq.beam.length; q++) db = Math.max(db, Math.abs(eq.beam[q] - plain.beam[q] - w0));
    expect(dd).toBeLessThan(1e-9 * Math.max(1, w0 * Math.abs(F)));
    expect(db).toBeLessThan(1e-9 * w0 * 100);
    expect(Math.abs(eq.yWy - plain.yWy - w0 * F * F)).toBeLessThan(1e-9 * eq.yWy);
    const r = new ChainRandom(3, 0);
    for (let t = 0; t < 3; t++) {
      const x = Float32Array.from({ length: N }, () => r.normal());
      const want = denseVisibilityChi2(x, theta, vis) + (F - total(x)) ** 2 / SIGMA ** 2;
      expect(Math.abs(eq.exact!.chi2(x) - want)).toBeLessThan(1e-8 * want);
      // the residual dirty image: the visibilities' plus w₀(F − Σx) in every pixel
      const rp = plain.exact!.residualImage(x);
      const rz = eq.exact!.residualImage(x);
      for (let p = 0; p < N; p += 17) expect(rz[p] - rp[p]).toBeCloseTo(w0 * (F - total(x)), 6);
    }
    // the noise draw: the visibilities' plus √w₀ z₀ in every pixel (z₀ the pseudo-visibility's real part)
    const zr = Float64Array.from({ length: M + 1 }, () => r.normal());
    const zi = Float64Array.from({ length: M + 1 }, () => r.normal());
    const np = plain.exact!.noiseImage(zr.subarray(0, M), zi.subarray(0, M));
    const nz = eq.exact!.noiseImage(zr, zi);
    for (let p = 0; p < N; p++) expect(nz[p] - np[p]).toBeCloseTo(Math.sqrt(w0) * zr[M], 6);
  });

  it('pc with a Gaussian-field prior samples the exact posterior with the constraint; the total flux keeps within σ of F', async () => {
    const sdWith = Math.sqrt(totalVariance(withRef.cov));
    const sdWithout = Math.sqrt(totalVariance(withoutRef.cov));
    console.log(`total flux: truth ${total(truth).toFixed(3)}, F ${F.toFixed(3)} ± ${SIGMA.toFixed(3)}; exact posterior ${total(withRef.mean).toFixed(3)} ± ${sdWith.toFixed(3)} with the constraint, ${total(withoutRef.mean).toFixed(3)} ± ${sdWithout.toFixed(3)} without`);
    // the visibilities alone leave the total flux to the prior: the constraint is what holds it
    expect(sdWithout).toBeGreaterThan(3 * SIGMA);
    expect(sdWith).toBeLessThan(SIGMA);
    const eq = visibilityNormalEquations(withZeroSpacing(vis, { flux: F, sigma: SIGMA }), grid);
    const prior = new GaussianFieldPrior(power, [SIDE, SIDE]);
    const lik = new VisibilityLikelihood({ equations: eq });
    const before = tf.memory().numTensors;
    try {
      const n = 64;
      const res = await runSampling({ prior, sde: prior.defaultSde(), shape: [SIDE, SIDE], likelihood: lik }, { sampler: 'pc', steps: 500, n, seed: 5, batchSize: n });
      const cmp = comparePosterior(res.samples, n, withRef);
      const sd = Math.sqrt(2 / N);
      const totals = Array.from({ length: n }, (_, c) => total(res.samples, c * N));
      const mt = totals.reduce((a, b) => a + b, 0) / n;
      const st = Math.sqrt(totals.reduce((a, b) => a + (b - mt) ** 2, 0) / (n - 1));
      console.log(
        `zero spacing, pc: whitened χ²/n ${cmp.whitenedChi2PerDof.toFixed(4)} (1 ± ${sd.toFixed(3)}), variance ratio ${cmp.varianceRatio.toFixed(4)} ± ${cmp.varianceRatioSe.toFixed(4)}; ` +
          `the draws' total flux ${mt.toFixed(3)} ± ${st.toFixed(3)} (exact ${total(withRef.mean).toFixed(3)} ± ${sdWith.toFixed(3)})`,
      );
      expect(Math.abs(cmp.whitenedChi2PerDof - 1)).toBeLessThan(4 * sd);
      expect(Math.abs(cmp.varianceRatio - 1)).toBeLessThan(Math.min(0.1, 4 * cmp.varianceRatioSe));
      // the total flux: its mean within 4 standard errors of the exact posterior's, its spread within 25 % of it
      expect(Math.abs(mt - total(withRef.mean))).toBeLessThan((4 * sdWith) / Math.sqrt(n));
      expect(Math.abs(st / sdWith - 1)).toBeLessThan(0.25);
      expect(Math.abs(mt - F)).toBeLessThan(SIGMA);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      lik.dispose();
      prior.dispose();
    }
  }, 300_000);

  it('the survey\'s constraint: its CLEAN flux F, σ = √((0.05 F)² + (F − S)²); none where it detects nothing', () => {
    const ext = (flux: number, shortFlux: number, islands = 1) => ({ flux, islands, amplitude: { shortFlux } }) as unknown as SourceExtent;
    // M87 (MOJAVE, 15 GHz): F 2.699, S 2.426 Jy; BL Lac (43 GHz): F 5.681, S 4.834
    const m87 = surveyZeroSpacing(ext(2.699, 2.426))!;
    expect(m87.flux).toBe(2.699);
    expect(m87.sigma).toBeCloseTo(Math.hypot(ZERO_SPACING_FLOOR * 2.699, 0.273), 9);
    expect(surveyZeroSpacing(ext(5.681, 4.834))!.sigma).toBeCloseTo(0.8934, 4);
    // a compact source (S = F): the floor
    expect(surveyZeroSpacing(ext(1, 1))!.sigma).toBeCloseTo(ZERO_SPACING_FLOOR, 12);
    expect(surveyZeroSpacing(ext(2, 1.5, 0))).toBeNull();
    expect(surveyZeroSpacing(ext(-0.1, 0.2))).toBeNull();
    expect(() => withZeroSpacing(vis, { flux: 1, sigma: 0 })).toThrow(/positive σ/);
  });

  it('--total-flux JY[:SIGMA]|none', () => {
    expect(zeroSpacingFlag(undefined, 'c')).toBeUndefined();
    expect(zeroSpacingFlag('none', 'c')).toBe('none');
    expect(zeroSpacingFlag('2.78', 'c')).toEqual({ flux: 2.78 });
    expect(zeroSpacingFlag('2.78:0.3', 'c')).toEqual({ flux: 2.78, sigma: 0.3 });
    for (const bad of ['x', '2:0', '2:-1', '2:0.1:3', ':0.3', '2:']) expect(() => zeroSpacingFlag(bad, 'c')).toThrow(/--total-flux/);
    // HISTORY's command line gives the constraint (its grid is given, so a rerun has no survey to take it from)
    const line = visibilityCommandLine({ file: '/d/mojave.uvfits', prior: 'models/radio-64', size: 256, cellArcsec: 4.02e-4, product: 'I', sampler: 'pc', n: 4, steps: 100, seed: 1, fluxScale: null, reweight: true, zeroSpacing: { flux: 2.698938798563361, sigma: 0.3043103612873105 } });
    const flag = /--total-flux (\S+)/.exec(line)![1];
    expect(flag).toBe('2.6989388:0.30431036');
    expect(zeroSpacingFlag(flag, 'c')).toEqual({ flux: 2.6989388, sigma: 0.30431036 });
    expect(visibilityCommandLine({ file: 'x.uvfits', prior: 'p', size: 64, cellArcsec: 1e-4, product: 'I', sampler: 'pc', n: 1, steps: 1, seed: 1, fluxScale: null, reweight: false })).not.toContain('--total-flux');
  });
});
