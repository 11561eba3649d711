import { describe, expect, it } from 'vitest';
import { galaxySource, galaxyZoo, simulateLens } from '../helpers/lens-sim.js';
import { annulusMask, fitLens } from '../../src-shared/lensing/fit.js';
import { sersicImage } from '../../src-shared/lensing/light.js';
import { convolve } from '../../src-shared/lensing/mass.js';

// The deflector's light must not take the lensed source's diffuse flux. The simulation of scripts/lens-source-eval.ts's
// seed 2 (θE 1.23″, q 0.71, a large, diffuse Galaxy Zoo validation galaxy as the source): the light fitted to the
// image alone comes out too wide (rEff ≈ 0.8″ and n ≈ 4.4 against 0.5″ and 3.5), and a single Nelder–Mead run of the
// light's shape at the fitted lens stalled there, 43 in log Z below the true light's shape. That light held 12 %
// more flux than the truth's inside the fitted disc, taken from the arcs: the source came out with 0.65–0.69 of its
// total flux and the posterior through the fitted model (docs/lensing.md) with it.
describe('lens fit: the deflector light on a diffuse source', () => {
  it('recovers the light (rEff, n, its flux in the fitted disc) and the source flux', () => {
    const s = 2;
    const u = (k: number) => ((((Math.sin(s * 12.9898 + k * 78.233) * 43758.5453) % 1) + 1) % 1);
    const lens = { thetaE: 1.0 + 0.4 * u(1), q: 0.6 + 0.3 * u(2), phi: Math.PI * (u(3) - 0.5), x0: 0.1 * (u(4) - 0.5), y0: 0.1 * (u(5) - 0.5), gamma1: 0.08 * (u(6) - 0.5), gamma2: 0.08 * (u(7) - 0.5) };
    const { cube, validation } = galaxyZoo();
    const sim = simulateLens({ size: 72, psfSize: 9, seed: s, galaxy: (s * 7) % validation.length, lens, sigma: 0.02 });
    const mask = annulusMask(sim.image, 0, 1.75);
    // the data as `skyscore lens-fit` reads them from the FITS file (float32)
    const r = fitLens({ data: Float32Array.from(sim.data), sigma: sim.sigma, image: sim.image, mask, psf: sim.psf }, { starts: 2, fitSourceSize: 18, sourceSize: 24, errors: false });
    const P = r.parameters;
    const tl = sim.truth.light;
    expect(Math.abs(P['light0.rEff'].value - tl.rEff) / tl.rEff).toBeLessThan(0.1);
    expect(Math.abs(P['light0.n'].value - tl.n)).toBeLessThan(0.35);
    // the light's flux inside the fitted disc against the true light's (the simulation's, blurred by the PSF)
    const truthLight = convolve(sersicImage(tl, sim.image, 5).map((v) => v * sim.truth.lightAmplitude), sim.image.shape, sim.psf);
    let fitted = 0;
    let truth = 0;
    for (let k = 0; k < mask.length; k++) {
      if (!mask[k]) continue;
      fitted += r.lightImage[k];
      truth += truthLight[k];
    }
    expect(Math.abs(fitted / truth - 1)).toBeLessThan(0.03);
    expect(Math.abs(P.thetaE.value - lens.thetaE) / lens.thetaE).toBeLessThan(0.01);
    // the source's total flux (surface brightness × pixel area) against the simulated source's
    const fine = galaxySource(cube, validation[(s * 7) % validation.length], 96, 3, 2);
    const total = (a: ArrayLike<number>, area: number) => Array.from(a).reduce((t, v) => t + v, 0) * area;
    const ratio = total(r.source, r.sourceGrid.scale ** 2) / total(fine, 0.015 ** 2);
    console.log(`light rEff ${P['light0.rEff'].value.toFixed(3)} n ${P['light0.n'].value.toFixed(2)}, flux in the disc ${(fitted / truth).toFixed(4)} of the truth's, source total ${ratio.toFixed(3)} of the truth's`);
    // the light's rEff, n and amplitude trade off along a valley of the evidence: two searches that end 0.1 apart in
    // log Z (the starts on the full image; the starts on the binned image) read rEff 0.504″ / 0.464″, the light's flux
    // in the disc 1.000 / 0.973 and the source's total 1.02 / 1.10. The stalled light gave 0.65–0.69.
    expect(Math.abs(ratio - 1)).toBeLessThan(0.15);
  }, 1_200_000);
});
