/**
 * ula targeting the exact posterior (σ = 0: the Gaussian field's exact score plus AᵀΣ⁻¹(y − Ax)) on a
 * PSF-blurred, noisy 32×32 Gaussian field reproduces the closed-form posterior.
 *
 * ULA's own bias is known for a Gaussian target: along an eigendirection of the precision with eigenvalue λ, the
 * stationary variance is 1/(λ(1 − λΔ/2)); the default step Δ = 0.05/λmax makes it at most 2.56% too wide (the
 * stiffest direction), far less for the soft directions that dominate the pixel variances; the stationary mean
 * is exact. Burn-in: 2500 steps are 5 relaxation times 1/(Δ λmin) = 20 λmax/λmin ≈ 500 of the slowest mode
 * (λmax ≈ 25, λmin ≈ 1 for this problem), leaving e⁻⁵ of the starting offset. Tolerances are those of
 * samplers-gaussian-pc.test.ts (4 Monte Carlo standard errors) plus that bias bound.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src-main/engine/backend.js';
import { gaussianPsf } from '../../src-shared/operators/psf.js';
import { scalarNoise } from '../../src-shared/operators/noise.js';
import { ConvolvedLikelihood } from '../../src-shared/diffusion/likelihood.js';
import { runSampling } from '../../src-shared/diffusion/posterior.js';
import { ULA_STEP_FRACTION } from '../../src-shared/diffusion/samplers/ula.js';
import { comparePosterior } from '../helpers/gaussian-posterior.js';
import { gaussianProblem, type GaussianProblem } from '../helpers/gaussian-problem.js';

const N = 32;
let problem: GaussianProblem;
let lik: ConvolvedLikelihood;

beforeAll(async () => {
  await initBackend('wasm');
  problem = gaussianProblem({ psf: gaussianPsf(2.5), sigmaN: 0.2, seed: 77 });
  lik = new ConvolvedLikelihood({ operator: problem.operator, data: problem.data, dataShape: problem.shape, noise: scalarNoise(problem.sigmaN) });
});

afterAll(() => {
  lik?.dispose();
  problem?.dispose();
});

describe('ula on the exact Gaussian-field posterior (32×32, Gaussian PSF, σ_n = 0.2)', () => {
  it('reproduces the closed-form posterior mean and per-pixel variance', async () => {
    expect(problem.prior.supportsZeroSigma).toBe(true);
    const res = await runSampling(
      { prior: problem.prior, sde: problem.prior.defaultSde(), shape: problem.shape, likelihood: lik },
      { sampler: 'ula', steps: 2500, n: N, seed: 5, batchSize: N },
    );
    expect(res.samplerSettings.targetSigma).toBe(0);
    const lam = Number(res.samplerSettings.lambdaMax);
    // λmax of the posterior precision C⁻¹ + AᵀA/σ² is below 1/min P + 1/σ² (|Â| ≤ 1) and above 1/σ² − …
    expect(lam).toBeGreaterThan(0.9 * (1 / 0.04));
    expect(lam).toBeLessThan(1 / 0.04 + 1 / Math.min(...problem.power));
    expect(Number(res.samplerSettings.stepSize)).toBeCloseTo(ULA_STEP_FRACTION / lam, 12);
    const cmp = comparePosterior(res.samples, N, problem.ref);
    const sdChi = Math.sqrt(2 / problem.n);
    const ulaBias = (ULA_STEP_FRACTION / 2) / (1 - ULA_STEP_FRACTION / 2);
    console.log(`ula: whitened χ²/n ${cmp.whitenedChi2PerDof.toFixed(4)} (1 ± ${sdChi.toFixed(3)}), variance ratio ${cmp.varianceRatio.toFixed(4)} ± ${cmp.varianceRatioSe.toFixed(4)}, λmax ${lam.toFixed(2)}`);
    expect(Math.abs(cmp.whitenedChi2PerDof - 1)).toBeLessThan(4 * sdChi + ulaBias);
    expect(Math.abs(cmp.varianceRatio - 1)).toBeLessThan(Math.min(0.1, 4 * cmp.varianceRatioSe + ulaBias));
  });
});
