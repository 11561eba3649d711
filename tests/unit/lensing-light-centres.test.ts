import { describe, expect, it } from 'vitest';
import { simulateLens } from '../helpers/lens-sim.js';
import { annulusMask, fitLens, LensFitInputError } from '../../src-shared/lensing/fit.js';
import { sersicImage } from '../../src-shared/lensing/light.js';
import { convolve, ellipticityFromQPhi } from '../../src-shared/lensing/mass.js';

// Tied light centres (fitLens's lightCentres 'tied'): the second Sérsic component concentric with the first. The
// simulation of lensing-fit.test.ts (θE 1.2″, a Galaxy Zoo source, σ 0.02) with a second, wide component of the
// deflector's light at the first's centre (an envelope: n 1, rEff 1.2″, q 0.7).
describe('lens fit: tied light centres', () => {
  it('keeps the second component on the first centre, fits two parameters fewer and recovers the lens and the light', () => {
    const sim = simulateLens({ size: 72, psfSize: 9, seed: 4, galaxy: 3 });
    const [e1, e2] = ellipticityFromQPhi(0.7, 0.3);
    const envelope = { x0: sim.truth.light.x0, y0: sim.truth.light.y0, e1, e2, rEff: 1.2, n: 1 };
    const envAmp = 0.02;
    const env = convolve(sersicImage(envelope, sim.image, 5).map((v) => v * envAmp), sim.image.shape, sim.psf);
    const data = Float64Array.from(sim.data, (v, k) => v + env[k]);
    const mask = annulusMask(sim.image, 0, 1.75);
    const r = fitLens({ data, sigma: sim.sigma, image: sim.image, mask, psf: sim.psf }, { lightComponents: 2, lightCentres: 'tied', starts: 1, fitSourceSize: 18, sourceSize: 24, errors: false });
    expect(r.light.length).toBe(2);
    // one centre for both (the same numbers, not a second search that ended near)
    expect(r.light[1].x0).toBe(r.light[0].x0);
    expect(r.light[1].y0).toBe(r.light[0].y0);
    expect(r.parameters['light1.x0'].value).toBe(r.parameters['light0.x0'].value);
    // the fit vector: the mass's 7, the first component's 6, the second's 4
    expect(r.names).toHaveLength(7 + 6 + 4);
    expect(r.names).not.toContain('light1.x0');
    expect(r.names).not.toContain('light1.y0');
    expect(r.names).toContain('light1.n');
    const t = sim.truth.lens;
    expect(Math.abs(r.parameters.thetaE.value - t.thetaE) / t.thetaE).toBeLessThan(0.01);
    expect(Math.hypot(r.light[0].x0 - sim.truth.light.x0, r.light[0].y0 - sim.truth.light.y0)).toBeLessThan(0.01);
    // the light's flux in the disc against the truth's (both components, blurred)
    const core = convolve(sersicImage(sim.truth.light, sim.image, 5).map((v) => v * sim.truth.lightAmplitude), sim.image.shape, sim.psf);
    let fitted = 0;
    let truth = 0;
    for (let k = 0; k < mask.length; k++) {
      if (!mask[k]) continue;
      fitted += r.lightImage[k];
      truth += core[k] + env[k];
    }
    expect(Math.abs(fitted / truth - 1)).toBeLessThan(0.03);
    expect(r.chi2PerPixel).toBeLessThan(1.15);
  }, 1_200_000);

  it('an unknown choice is refused', () => {
    const sim = simulateLens({ size: 40, psfSize: 5, seed: 2, galaxy: 3, lens: { thetaE: 0.6 } });
    expect(() => fitLens({ data: sim.data, sigma: sim.sigma, image: sim.image, mask: null, psf: sim.psf }, { lightCentres: 'joint' } as never)).toThrow(LensFitInputError);
    expect(() => fitLens({ data: sim.data, sigma: sim.sigma, image: sim.image, mask: null, psf: sim.psf }, { lightCentres: 'joint' } as never)).toThrow(/the light's centres must be one of free, tied, got 'joint'/);
  });
});
