/**
 * The conjugate-gradient path of the convolved likelihood (a non-separable PSF: A Aᵀ has no diagonal form) still
 * gives the exact posterior with pc: a 24×24 Gaussian field blurred by a rotated elliptical Gaussian PSF. The
 * capped, warm-started CG (≤ 30 iterations, relative residual 10⁻³) is only an approximation at large σ; the
 * posterior it leads to is checked against the dense float64 closed form with the tolerances of
 * samplers-gaussian-pc.test.ts (4 Monte Carlo standard errors; N = 16 chains keeps the test short:
 * the whitened mean test does not lose power with N, the variance ratio's error is ±1.3%).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src-main/engine/backend.js';
import { psfFromImage } from '../../src-shared/operators/psf.js';
import { scalarNoise } from '../../src-shared/operators/noise.js';
import { ConvolvedLikelihood } from '../../src-shared/diffusion/likelihood.js';
import { runSampling } from '../../src-shared/diffusion/posterior.js';
import { comparePosterior } from '../helpers/gaussian-posterior.js';
import { gaussianProblem, type GaussianProblem } from '../helpers/gaussian-problem.js';
import { ellipticalKernel } from '../helpers/psf-kernels.js';

const N = 16;
let problem: GaussianProblem;
let lik: ConvolvedLikelihood;

beforeAll(async () => {
  await initBackend('wasm');
  problem = gaussianProblem({ side: 24, psf: psfFromImage(ellipticalKernel(9, 1.6, 0.8, 0.5), [9, 9]), sigmaN: 0.1, seed: 11 });
  lik = new ConvolvedLikelihood({ operator: problem.operator, data: problem.data, dataShape: problem.shape, noise: scalarNoise(problem.sigmaN) });
});

afterAll(() => {
  lik?.dispose();
  problem?.dispose();
});

describe('posterior through conjugate gradients (non-separable PSF, 24×24)', () => {
  it('pc reproduces the exact posterior', async () => {
    expect(lik.method).toBe('cg');
    expect(lik.description).toMatch(/not separable.*Kronecker/);
    const res = await runSampling(
      { prior: problem.prior, sde: problem.prior.defaultSde(), shape: problem.shape, likelihood: lik },
      { sampler: 'pc', steps: 250, n: N, seed: 3, batchSize: N },
    );
    const cmp = comparePosterior(res.samples, N, problem.ref);
    const sdChi = Math.sqrt(2 / problem.n);
    const st = lik.cgStats;
    console.log(
      `pc/cg: whitened χ²/n ${cmp.whitenedChi2PerDof.toFixed(4)} (1 ± ${sdChi.toFixed(3)}), variance ratio ${cmp.varianceRatio.toFixed(4)} ± ${cmp.varianceRatioSe.toFixed(4)}; ` +
        `CG ${(st.iterations / st.solves).toFixed(1)} iterations per solve, ${st.capped} of ${st.solves} capped`,
    );
    expect(Math.abs(cmp.whitenedChi2PerDof - 1)).toBeLessThan(4 * sdChi);
    expect(Math.abs(cmp.varianceRatio - 1)).toBeLessThan(Math.min(0.1, 4 * cmp.varianceRatioSe));
    // the cap binds only at the large noise levels (the first part of the schedule)
    expect(st.capped).toBeLessThan(st.solves / 2);
  });
});
