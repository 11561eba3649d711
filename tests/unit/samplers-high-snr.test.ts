/**
 * Data more precise than the prior's last noise level: the Gaussian-field deconvolution of
 * samplers-gaussian-pc.test.ts with σmin = 0.05 (prior units = data units here, flux scale 1) and a noise
 * σ_n = 5·10⁻⁵, 1000 times below σmin. The chains end at σmin as draws of p_σmin(x | y); only the ending can bring
 * them to the data's precision (samplers/denoise.ts). The exact posterior is computed densely in float64.
 *
 * What fails without the data-conditioned ending (both checked, so that the test can fail):
 *  - the raw draws at σmin carry σmin noise through A: χ² per pixel ≈ (σmin/σ_n)² × (the PSF's power) ≫ 1;
 *  - the summed-score Tweedie mean x + σ² (s_prior + s_lik) counts the prior's shrinkage twice where the data
 *    dominate: its residual σ² A s_prior leaves χ² per pixel ≫ 1.
 * With the ending (default 'draw'): the exact posterior within Monte Carlo error — whitened χ²/n of the draws'
 * mean 1 ± √(2/n) (4 sd accepted), variance ratio within 4 of its standard errors √(2/(N−1) · mean ρ²) — and
 * the draws' χ² per pixel near its expectation for exact draws, χ²(μ) + tr(AΣAᵀ)/(σ_n² n) ≈ 1.
 * The approximation of the ending (the gain uses Cov[x₀ | x_σ] ≈ σ² I) errs by O(σmin²/P(k)) ≤ 1 % here (the
 * spectrum's smallest power is 0.30): far inside these tolerances.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src-main/engine/backend.js';
import { gaussianPsf } from '../../src-shared/operators/psf.js';
import { scalarNoise } from '../../src-shared/operators/noise.js';
import { ConvolvedLikelihood } from '../../src-shared/diffusion/likelihood.js';
import { runSampling } from '../../src-shared/diffusion/posterior.js';
import { posteriorProducts } from '../../src-shared/diffusion/products.js';
import { comparePosterior } from '../helpers/gaussian-posterior.js';
import { gaussianProblem, type GaussianProblem } from '../helpers/gaussian-problem.js';

const N = 64;
const SIGMA_N = 5e-5;
const SIGMA_MIN = 0.05;
let problem: GaussianProblem;
let lik: ConvolvedLikelihood;

beforeAll(async () => {
  await initBackend('wasm');
  problem = gaussianProblem({ psf: gaussianPsf(2.5), sigmaN: SIGMA_N, seed: 99 });
  lik = new ConvolvedLikelihood({ operator: problem.operator, data: problem.data, dataShape: problem.shape, noise: scalarNoise(SIGMA_N) });
});

afterAll(() => {
  lik?.dispose();
  problem?.dispose();
});

async function meanChi2(samples: Float32Array, n: number): Promise<number> {
  const per = problem.n;
  let s = 0;
  for (let k = 0; k < n; k++) s += await lik.chi2OfImage(samples.subarray(k * per, (k + 1) * per));
  return s / n;
}

describe(`noise far below σmin: σ_n = ${SIGMA_N}, σmin = ${SIGMA_MIN} (32×32 Gaussian field, Gaussian PSF FWHM 2.5 px)`, () => {
  it('pc with the default ending reaches the exact posterior; the raw draws and the summed-score Tweedie mean do not fit the data', async () => {
    const sde = { ...problem.prior.defaultSde(), sigmaMin: SIGMA_MIN };
    const base = { prior: problem.prior, sde, shape: problem.shape, likelihood: lik };
    const opts = { sampler: 'pc' as const, steps: 500, n: N, seed: 5, batchSize: N };
    const { ref } = problem;
    const chi2Exact = ref.chi2OfMean + ref.traceAsAt; // E χ² of an exact draw, per pixel
    console.log(`exact posterior: χ²/pixel of the mean ${ref.chi2OfMean.toFixed(4)}, of a draw ${chi2Exact.toFixed(4)}`);

    // the raw draws at σmin, and the summed-score Tweedie mean computed from them
    const raw = await runSampling(base, { ...opts, samplerOptions: { denoise: 'none', raoBlackwell: false } });
    const chi2Raw = await meanChi2(raw.samples, N);
    const x = tf.tensor3d(raw.samples, [N, ...problem.shape]);
    const summed = tf.tidy(() => {
      const sp = problem.prior.score(x, tf.fill([N], SIGMA_MIN) as tf.Tensor1D);
      return tf.add(x, tf.mul(tf.add(sp, lik.score(x, SIGMA_MIN)), SIGMA_MIN * SIGMA_MIN));
    });
    const chi2Summed = await meanChi2((await summed.data()) as Float32Array, N);
    tf.dispose([x, summed]);
    console.log(`raw draws at σmin: χ²/pixel ${chi2Raw.toFixed(1)}; summed-score Tweedie mean: ${chi2Summed.toFixed(1)}`);
    expect(chi2Raw).toBeGreaterThan(1000);
    expect(chi2Summed).toBeGreaterThan(10);
    expect(chi2Summed).toBeGreaterThan(100 * ref.chi2OfMean);

    // the default ending: a data-conditioned second-order Tweedie draw
    const res = await runSampling(base, opts);
    expect(res.samplerSettings.denoise).toMatch(/tweedie-draw/);
    const cmp = comparePosterior(res.samples, N, ref);
    const sdChi = Math.sqrt(2 / problem.n);
    const chi2Draws = await meanChi2(res.samples, N);
    console.log(
      `pc + data-conditioned draw: whitened χ²/n ${cmp.whitenedChi2PerDof.toFixed(4)} (1 ± ${sdChi.toFixed(3)}), variance ratio ${cmp.varianceRatio.toFixed(4)} ± ${cmp.varianceRatioSe.toFixed(4)}, χ²/pixel of the draws ${chi2Draws.toFixed(4)} (exact draws: ${chi2Exact.toFixed(4)})`,
    );
    expect(Math.abs(cmp.whitenedChi2PerDof - 1)).toBeLessThan(4 * sdChi);
    expect(Math.abs(cmp.varianceRatio - 1)).toBeLessThan(Math.min(0.1, 4 * cmp.varianceRatioSe));
    // a draw's χ² per pixel: mean chi2Exact, and for N draws sharing the data its Monte Carlo part is ~ √(2/(N n))
    expect(Math.abs(chi2Draws - chi2Exact)).toBeLessThan(0.05 * chi2Exact + 4 * Math.sqrt(2 / (N * problem.n)));

    // the Rao–Blackwellised mean uses the same conditioned estimate: its whitened error is below the draws' mean's
    // (no bias) and its χ² per pixel is that of the exact mean, not the summed-score mean's
    const rb = comparePosterior(res.conditionalMeans!, N, ref);
    const prod = await posteriorProducts(res, lik.affine, lik);
    console.log(`Rao–Blackwellised mean: whitened χ²/n ${rb.whitenedChi2PerDof.toFixed(4)}, χ²/pixel ${prod.chi2PerPixel!.toFixed(4)} (exact mean ${ref.chi2OfMean.toFixed(4)})`);
    expect(rb.whitenedChi2PerDof).toBeLessThan(1 + 4 * sdChi);
    expect(Math.abs(prod.chi2PerPixel! - ref.chi2OfMean)).toBeLessThan(0.1 * chi2Exact);
  }, 300_000);
});
