/**
 * The Gaussian-field prior: its score −(C + σ²I)⁻¹x against a dense float64 solve with C built from P by the DFT
 * sum, exact draws with covariance C + σ²I (Monte Carlo), the default SDE, and bad power spectra.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src-main/engine/backend.js';
import { GaussianFieldPrior, powerLawSpectrum } from '../../src-shared/diffusion/priors/gaussian-field.js';
import { ChainRandom } from '../../src-shared/diffusion/chain-rng.js';
import { circulantCovariance, cholesky, forwardSubstituteInPlace } from '../helpers/gaussian-posterior.js';

beforeAll(async () => {
  await initBackend('wasm');
});

function solveSpd(a: Float64Array, n: number, b: Float64Array): Float64Array {
  const l = cholesky(a, n);
  const x = Float64Array.from(b);
  forwardSubstituteInPlace(l, x, n, 1);
  for (let i = n - 1; i >= 0; i--) {
    let s = x[i];
    for (let k = i + 1; k < n; k++) s -= l[k * n + i] * x[k];
    x[i] = s / l[i * n + i];
  }
  return x;
}

describe('Gaussian-field prior', () => {
  const [ny, nx] = [6, 8];
  const n = ny * nx;
  const p = powerLawSpectrum(ny, nx, 4, 1.5, 3);

  it('score = −(C + σ²I)⁻¹ x at every σ, including 0', () => {
    const prior = new GaussianFieldPrior(p, [ny, nx]);
    const c = circulantCovariance(p, ny, nx);
    const r = new ChainRandom(3, 0);
    const x = Float64Array.from({ length: 2 * n }, () => r.normal());
    for (const sigma of [0, 0.1, 1, 30]) {
      const got = tf.tidy(() => prior.score(tf.tensor3d(Float32Array.from(x), [2, ny, nx]), tf.tensor1d([sigma, sigma])).dataSync());
      const cs = Float64Array.from(c);
      for (let i = 0; i < n; i++) cs[i * n + i] += sigma * sigma;
      for (let b = 0; b < 2; b++) {
        const ref = solveSpd(cs, n, x.subarray(b * n, (b + 1) * n)).map((v) => -v);
        let e = 0;
        let m = 0;
        for (let i = 0; i < n; i++) {
          e += (got[b * n + i] - ref[i]) ** 2;
          m += ref[i] ** 2;
        }
        expect(Math.sqrt(e / m), `σ = ${sigma}`).toBeLessThan(2e-5);
      }
    }
    // one σ per batch element
    const got = tf.tidy(() => prior.score(tf.tensor3d(Float32Array.from(x), [2, ny, nx]), tf.tensor1d([0.1, 30])).dataSync());
    const single = tf.tidy(() => prior.score(tf.tensor3d(Float32Array.from(x.subarray(n)), [1, ny, nx]), tf.tensor1d([30])).dataSync());
    for (let i = 0; i < n; i++) expect(got[n + i]).toBeCloseTo(single[i], 6);
    expect(prior.supportsZeroSigma).toBe(true);
    prior.dispose();
  });

  it('draws have covariance C + σ²I (Monte Carlo, 4 standard errors per entry)', () => {
    const prior = new GaussianFieldPrior(p, [ny, nx]);
    const c = circulantCovariance(p, ny, nx);
    const m = 20000;
    const r = new ChainRandom(9, 0);
    const sigma = 0.5;
    const z = tf.tensor3d(Float32Array.from({ length: m * n }, () => r.normal()), [m, ny, nx]);
    const d = tf.tidy(() => prior.sampleFrom(z, sigma).dataSync());
    z.dispose();
    for (const [i, j] of [
      [0, 0],
      [0, 1],
      [5, 13],
      [20, 47],
    ]) {
      let s = 0;
      for (let k = 0; k < m; k++) s += d[k * n + i] * d[k * n + j];
      const est = s / m;
      const cij = c[i * n + j] + (i === j ? sigma * sigma : 0);
      const cii = c[i * n + i] + sigma * sigma;
      const cjj = c[j * n + j] + sigma * sigma;
      // Var(x_i x_j) = C_ii C_jj + C_ij² for zero-mean Gaussians
      expect(Math.abs(est - cij)).toBeLessThan(4 * Math.sqrt((cii * cjj + cij * cij) / m));
    }
    prior.dispose();
  });

  it('default SDE: σmax = √(2 Σ P), σmin = 10⁻³ of the pixel standard deviation', () => {
    const prior = new GaussianFieldPrior(p, [ny, nx]);
    const total = p.reduce((a, b) => a + b, 0);
    expect(prior.pixelVariance).toBeCloseTo(total / n, 12);
    expect(prior.defaultSde().sigmaMax).toBeCloseTo(Math.sqrt(2 * total), 10);
    expect(prior.defaultSde().sigmaMin).toBeCloseTo(1e-3 * Math.sqrt(total / n), 14);
    expect(prior.supportsShape([ny, nx])).toBe(true);
    expect(prior.supportsShape([3, ny, nx])).toBe(true);
    expect(prior.supportsShape([ny, nx + 2])).toBe(false);
    expect(() => tf.tidy(() => prior.score(tf.zeros([1, ny, nx + 2]), tf.tensor1d([1])))).toThrow(/defined on 6×8 images/);
    prior.dispose();
  });

  it('refuses negative, non-finite, all-zero, wrongly sized or asymmetric spectra', () => {
    const bad = (v: ArrayLike<number>, shape: [number, number] = [ny, nx]) => () => new GaussianFieldPrior(v, shape, 'ps.fits');
    expect(bad(p.map((v, i) => (i === 5 ? -1 : v)))).toThrow(/ps\.fits: P must be ≥ 0, got -1 at row 0, column 5/);
    expect(bad(p.map((v, i) => (i === 9 ? NaN : v)))).toThrow(/not finite at row 1, column 1/);
    expect(bad(new Float64Array(n))).toThrow(/zero everywhere/);
    expect(bad(p, [ny, nx + 1])).toThrow(/48 values for shape \[6, 9\]/);
    expect(bad(p.map((v, i) => (i === 1 ? v * 1.5 : v)))).toThrow(/P\(k\) must equal P\(−k\)/);
    try {
      bad(p.map((v, i) => (i === 5 ? -1 : v)))();
    } catch (e) {
      expect((e as Error).name).toBe('GaussianFieldInputError');
    }
    const withZero = new GaussianFieldPrior(p.map((v, i) => (i === 0 ? 0 : v)), [ny, nx]);
    expect(withZero.supportsZeroSigma).toBe(false);
    withZero.dispose();
  });
});
