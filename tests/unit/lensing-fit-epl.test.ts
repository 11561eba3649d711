import { describe, expect, it } from 'vitest';
import { simulateLens } from '../helpers/lens-sim.js';
import { annulusMask, fitLens } from '../../src-shared/lensing/fit.js';
import { lensParamsFromMass } from '../../src-shared/lensing/mass.js';

// The lens fit with the elliptical power law (mass: 'epl') on one simulated power-law lens (tests/helpers/lens-sim.ts,
// the lens of lensing-fit.test.ts with a slope γ = 2.25): 72×72 pixels of 0.05″, a 1.75″ disc, the default 24² fit
// grid, one start. About 4 minutes on 2 shared cores. At an 18² fit grid this simulation's slope comes out 2.386,
// 0.135 steeper, where its error is 0.051 with the fit grid's terms: a bias no term of the error budget measures
// (docs/lensing.md, The power-law slope). scripts/lens-epl-recovery.ts runs the same fit for other slopes, seeds and fit grids.
describe('EPL lens fit on a simulated power-law lens', () => {
  it('recovers the slope γ within its stated error (2σ), θE within 1 %, and fits the data to χ²/pixel ≈ 1', () => {
    const gamma = 2.25;
    const sim = simulateLens({ size: 72, psfSize: 9, seed: 1, galaxy: 3, lens: { gamma } });
    const mask = annulusMask(sim.image, 0, 1.75);
    const r = fitLens({ data: sim.data, sigma: sim.sigma, image: sim.image, mask, psf: sim.psf }, { mass: 'epl', starts: 1, fitSourceSize: 24, sourceSize: 24, maxEvaluations: 600 });
    expect(r.massProfile).toBe('epl');
    expect(r.names.slice(0, 8)).toEqual(['thetaE', 'e1', 'e2', 'x0', 'y0', 'gamma1', 'gamma2', 'gamma']);
    expect(r.lens.gamma).toBe(r.parameters.gamma.value);
    expect(lensParamsFromMass(r.mass).gamma).toBe(r.lens.gamma);
    const P = r.parameters;
    const g = P.gamma;
    expect(g.error).not.toBeNull();
    // the stated error includes the fit grid's discretisation term, the largest part for γ (docs/lensing.md)
    expect(g.error!).toBeGreaterThan(0);
    expect(g.error!).toBeLessThan(0.25);
    expect(Math.abs(g.value - gamma) / g.error!).toBeLessThan(2);
    expect(Math.abs(g.value - gamma)).toBeLessThan(0.2);
    // it moved from the start (γ = 2) towards the truth
    expect(Math.abs(g.value - gamma)).toBeLessThan(Math.abs(2 - gamma));
    const t = sim.truth.lens;
    expect(Math.abs(P.thetaE.value - t.thetaE) / t.thetaE).toBeLessThan(0.01);
    for (const k of ['thetaE', 'q', 'x0', 'y0', 'gamma1', 'gamma2'] as const) expect(Math.abs(P[k].value - t[k]) / P[k].error!).toBeLessThan(3);
    expect(r.chi2PerPixel).toBeGreaterThan(0.85);
    expect(r.chi2PerPixel).toBeLessThan(1.15);
  }, 1_200_000);

  it('an unknown mass profile is refused', () => {
    const sim = simulateLens({ size: 40, psfSize: 5, seed: 2, galaxy: 3, lens: { thetaE: 0.6 } });
    const d = { data: sim.data, sigma: sim.sigma, image: sim.image, mask: null, psf: sim.psf };
    expect(() => fitLens(d, { mass: 'nfw' as 'sie' })).toThrow(/the mass profile must be one of sie, epl, got 'nfw'/);
  });
});
