/**
 * The default sampler (pc: reverse-diffusion predictor + one Langevin corrector step per level, snr 0.16,
 * 500 levels) on the Gaussian-field deconvolution problem reproduces the exact posterior, computed densely in
 * float64 in the test; the predictor alone (em) does not (the check of the whole chain: docs/sampling.md).
 *
 * Tolerances (N independent chains, n = 1024 pixels, Σ the exact posterior covariance):
 *  - mean: N (m − μ)ᵀ Σ⁻¹ (m − μ) ~ χ²_n for exact samples, i.e. χ²/n = 1 ± √(2/n) = 1 ± 0.044; accepted within
 *    4 standard deviations. It also catches a wrong variance: chains too narrow or too wide shift it by the
 *    ratio of variances, but it is mainly the mean's test.
 *  - variance: the pixel-averaged ratio of sample to exact variance has, for exact samples, the standard error
 *    √(2/(N−1) · mean_ij ρ_ij²) (ρ the exact posterior correlations): ±0.6% for N = 64. Accepted within 4 of
 *    them (and within 10 % in any case); per pixel, the mean |ratio − 1| must be near its exact-sampling value
 *    E|χ²_{N−1}/(N−1) − 1| (computed), within 10%.
 *  - χ² per pixel of the sample mean: expected χ²(μ) + tr(AΣAᵀ)/(N σ_n² n) with standard deviation
 *    √(4 tᵀΣt/N)/n (t = Aᵀ(y − Aμ)/σ_n²); accepted within 4 of them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src-main/engine/backend.js';
import { gaussianPsf } from '../../src-shared/operators/psf.js';
import { scalarNoise } from '../../src-shared/operators/noise.js';
import { ConvolvedLikelihood } from '../../src-shared/diffusion/likelihood.js';
import { runSampling } from '../../src-shared/diffusion/posterior.js';
import { posteriorProducts } from '../../src-shared/diffusion/products.js';
import { DEFAULT_SAMPLER, DEFAULT_STEPS } from '../../src-shared/diffusion/samplers/index.js';
import { comparePosterior, expectedChi2OfSampleMean } from '../helpers/gaussian-posterior.js';
import { gaussianProblem, type GaussianProblem } from '../helpers/gaussian-problem.js';

const N = 64;
let problem: GaussianProblem;
let lik: ConvolvedLikelihood;

/** E|X/(k) − 1| for X ~ χ²_k, by quadrature of the χ² density. */
function expectedAbsRatioError(k: number): number {
  const logNorm = -(k / 2) * Math.log(2) - lgamma(k / 2);
  let s = 0;
  const h = 0.01;
  for (let x = h / 2; x < 6 * k; x += h) s += Math.abs(x / k - 1) * Math.exp(logNorm + (k / 2 - 1) * Math.log(x) - x / 2) * h;
  return s;
}

function lgamma(z: number): number {
  // Lanczos (g = 7, n = 9)
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  z -= 1;
  let x = c[0];
  for (let i = 1; i < 9; i++) x += c[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(x);
}

beforeAll(async () => {
  await initBackend('wasm');
  problem = gaussianProblem({ psf: gaussianPsf(2.5), sigmaN: 0.1, seed: 2024 });
  lik = new ConvolvedLikelihood({ operator: problem.operator, data: problem.data, dataShape: problem.shape, noise: scalarNoise(problem.sigmaN) });
});

afterAll(() => {
  lik?.dispose();
  problem?.dispose();
});

describe('Gaussian-field posterior, 32×32, Gaussian PSF (FWHM 2.5 px), σ_n = 0.1', () => {
  it('the reference is self-consistent: Σ (Woodbury) times Σ⁻¹ = C⁻¹ + AᵀA/σ_n² is the identity', () => {
    const { ref } = problem;
    const n = ref.n;
    // check on a few columns of Σ: (C⁻¹ + AᵀA/σ²) Σ e_j = e_j
    for (const j of [0, 37, 528, 1023]) {
      const col = new Float64Array(n);
      for (let i = 0; i < n; i++) col[i] = ref.cov[i * n + j];
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += ref.cInv[i * n + k] * col[k];
        out[i] = s;
      }
      const ac = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const c = ref.a.cols[i];
        const v = ref.a.vals[i];
        for (let k = 0; k < c.length; k++) ac[i] += v[k] * col[c[k]];
      }
      for (let i = 0; i < n; i++) {
        const c = ref.a.cols[i];
        const v = ref.a.vals[i];
        for (let k = 0; k < c.length; k++) out[c[k]] += (v[k] * ac[i]) / ref.sigmaN ** 2;
      }
      for (let i = 0; i < n; i++) expect(Math.abs(out[i] - (i === j ? 1 : 0))).toBeLessThan(1e-8);
    }
    expect(lik.method).toBe('kronecker');
  });

  it(`the default sampler (${DEFAULT_SAMPLER}, ${DEFAULT_STEPS.pc} steps) reproduces the exact posterior`, async () => {
    expect(DEFAULT_SAMPLER).toBe('pc');
    const res = await runSampling(
      { prior: problem.prior, sde: problem.prior.defaultSde(), shape: problem.shape, likelihood: lik },
      { sampler: DEFAULT_SAMPLER, steps: DEFAULT_STEPS.pc, n: N, seed: 7, batchSize: N },
    );
    const cmp = comparePosterior(res.samples, N, problem.ref);
    const sdChi = Math.sqrt(2 / problem.n);
    console.log(`pc: whitened χ²/n ${cmp.whitenedChi2PerDof.toFixed(4)} (1 ± ${sdChi.toFixed(3)}), variance ratio ${cmp.varianceRatio.toFixed(4)} ± ${cmp.varianceRatioSe.toFixed(4)}, mean |ratio − 1| ${cmp.meanAbsVarianceError.toFixed(4)}`);
    expect(Math.abs(cmp.whitenedChi2PerDof - 1)).toBeLessThan(4 * sdChi);
    expect(Math.abs(cmp.varianceRatio - 1)).toBeLessThan(Math.min(0.1, 4 * cmp.varianceRatioSe));
    const absExpected = expectedAbsRatioError(N - 1);
    expect(Math.abs(cmp.meanAbsVarianceError / absExpected - 1)).toBeLessThan(0.1);
    // χ² per pixel of the mean of the draws
    const per = problem.n;
    const drawsMean = new Float32Array(per);
    for (let c = 0; c < N; c++) for (let i = 0; i < per; i++) drawsMean[i] += res.samples[c * per + i] / N;
    const chi2Draws = await lik.chi2OfImage(drawsMean);
    const e = expectedChi2OfSampleMean(problem.ref, N);
    console.log(`pc: χ²/pixel of the draws' mean ${chi2Draws.toFixed(4)}, expected ${e.mean.toFixed(4)} ± ${e.sd.toFixed(4)}`);
    expect(Math.abs(chi2Draws - e.mean)).toBeLessThan(4 * e.sd);
    expect(res.scoreEvaluations).toBe(N * DEFAULT_STEPS.pc * 2 + N * 17);

    // The product mean is Rao–Blackwellised (rao-blackwell.ts): the same expectation, less Monte Carlo noise.
    // Its whitened error N (m − μ)ᵀ Σ⁻¹ (m − μ)/n is ~1 for the draws' mean (above) and must be well below it
    // (0.43–0.46 measured over seeds; a bias of the estimator would push it up, not down). Its χ² per pixel
    // lies between the exact mean's and the draws' mean's expectation.
    expect(res.samplerSettings.raoBlackwellSigma).toBeCloseTo(1 / Math.sqrt(await lik.normalMaxEigenvalue()), 10);
    const rb = comparePosterior(res.conditionalMeans!, N, problem.ref);
    const prod = await posteriorProducts(res, lik.affine, lik);
    console.log(`pc, Rao–Blackwellised mean: whitened χ²/n ${rb.whitenedChi2PerDof.toFixed(4)} (the draws': ${cmp.whitenedChi2PerDof.toFixed(4)}); χ²/pixel ${prod.chi2PerPixel!.toFixed(4)}, exact mean ${problem.ref.chi2OfMean.toFixed(4)}`);
    expect(rb.whitenedChi2PerDof).toBeLessThan(0.65);
    expect(prod.chi2PerPixel!).toBeGreaterThan(problem.ref.chi2OfMean - 4 * e.sd);
    expect(prod.chi2PerPixel!).toBeLessThan(e.mean);
  });

  it('the predictor alone (em) is biased with the convolved likelihood', async () => {
    const res = await runSampling(
      { prior: problem.prior, sde: problem.prior.defaultSde(), shape: problem.shape, likelihood: lik },
      { sampler: 'em', steps: 500, n: N, seed: 7, batchSize: N },
    );
    const cmp = comparePosterior(res.samples, N, problem.ref);
    console.log(`em: whitened χ²/n ${cmp.whitenedChi2PerDof.toFixed(4)}, variance ratio ${cmp.varianceRatio.toFixed(4)} ± ${cmp.varianceRatioSe.toFixed(4)}`);
    // far outside the Monte Carlo error of exact samples
    expect(cmp.whitenedChi2PerDof - 1).toBeGreaterThan(10 * Math.sqrt(2 / problem.n));
    expect(1 - cmp.varianceRatio).toBeGreaterThan(5 * cmp.varianceRatioSe);
  });
});
