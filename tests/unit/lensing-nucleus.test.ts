import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src-shared/operators/random.js';
import { gaussianPsf, type PsfKernel } from '../../src-shared/operators/psf.js';
import type { Shape2 } from '../../src-shared/operators/types.js';
import { lightImage } from '../../src-shared/lensing/light.js';
import { nucleusPixels, psfFwhmPixels, sharpOutliers } from '../../src-shared/lensing/outliers.js';
import { sharpCutMask, whitenedSharpOutliers } from '../../src-shared/lensing/sharp-whitened.js';
import { dilate, estimateSkyCorrelation, skyPixels, whitenedPsf, whitenImage, whiteningKernel } from '../../src-shared/lensing/whitening.js';

// A deflector whose core is sharper than the fitting PSF allows: a de Vaucouleurs galaxy plus a point nucleus, both
// through a narrow PSF (FWHM 1.3 px), fitted through a broader one (FWHM 2 px) — as a real galaxy's core is against
// Sérsic profiles through a model PSF (docs/lensing.md, *Measured on real SLACS lenses*). Two cosmic rays: one
// 4 px from the centre, on the galaxy's bright core, and one far out; in the whitened test a two-pixel ray 8 px from
// the centre besides (as on SDSSJ0753+3416, where such rays' boxes blanked the core).
const N = 81;
const C = 40; // the centre pixel (x0 = y0 = 0)
const SCALE = 0.05;
const shape: Shape2 = [N, N];
const grid = { shape, scale: SCALE };
const NEAR = (C + 4) * N + C + 1;
const FAR = (C - 22) * N + C + 17;
const PAIR = [(C - 6) * N + C + 5, (C - 6) * N + C + 6];
const GAL = 3;
const NUC = 75;

function point(psf: PsfKernel, flux: number, at: number, out: Float64Array) {
  const [ky, kx] = psf.shape;
  for (let a = 0; a < ky; a++) for (let b = 0; b < kx; b++) out[at + (a - psf.center[0]) * N + b - psf.center[1]] += flux * psf.data[a * kx + b];
}

/** the noiseless deflector (galaxy and nucleus through the narrow PSF) */
function deflector(): Float64Array {
  const img = lightImage([{ x0: 0, y0: 0, e1: 0.08, e2: 0, rEff: 0.45, n: 4 }], [GAL], grid, gaussianPsf(1.3), 4);
  point(gaussianPsf(1.3), NUC, C * N + C, img);
  return img;
}

describe("the deflector's nucleus is no cosmic ray (outliers.ts, sharp-whitened.ts)", () => {
  it('keeps a nucleus sharper than the PSF at the light centre, cuts a cosmic ray 4 px from it and one far out', () => {
    const psf = gaussianPsf(2);
    expect(psfFwhmPixels(psf)).toBeGreaterThan(1.8);
    expect(psfFwhmPixels(psf)).toBeLessThan(2.2);
    const rng = new SeededRandom(3);
    const sigma = new Float64Array(N * N).fill(1);
    const smooth = lightImage([{ x0: 0, y0: 0, e1: 0.08, e2: 0, rEff: 0.45, n: 4 }], [60], grid, psf, 4);
    // the data: the galaxy (through the broad PSF: the model is right there) and the nucleus through the narrow one
    const data = Float64Array.from(smooth, (v) => v + rng.normal());
    point(gaussianPsf(0.8), 400, C * N + C, data);
    data[NEAR] += 60;
    data[FAR] += 60;
    const all = Int32Array.from({ length: N * N }, (_, k) => k);
    // against the galaxy alone the nucleus is sharper than the PSF: without the rule it is cut with the rays
    const plain = Array.from(sharpOutliers(data, sigma, smooth, shape, all, psf));
    expect(plain).toContain(C * N + C);
    expect(plain).toContain(NEAR);
    expect(plain).toContain(FAR);
    const withNucleus = Array.from(sharpOutliers(data, sigma, smooth, shape, all, psf, { nucleus: { x: C, y: C } }));
    expect(withNucleus).not.toContain(C * N + C);
    expect(withNucleus).toContain(NEAR);
    expect(withNucleus).toContain(FAR);
    // only the nucleus's pixels (within the PSF's FWHM of the centre) are spared
    for (const q of plain.filter((x) => !withNucleus.includes(x))) expect(Math.hypot(Math.floor(q / N) - C, (q % N) - C)).toBeLessThanOrEqual(psfFwhmPixels(psf));
    // the zone is the nucleus's only where the data peak there: a centre 4 px beside the peak keeps nothing
    expect(nucleusPixels(data, shape, { x: C + 4, y: C }, psf).size).toBe(0);
    expect(nucleusPixels(data, shape, { x: C + 0.4, y: C - 0.3 }, psf).has(C * N + C)).toBe(true);
  });

  it('in whitened data: the core\'s misfit is kept, the rays near the core and far out are cut, the core not blanked', () => {
    // correlated noise (a drizzle-like 3-tap smoothing per axis) and its whitening kernel from a blank realisation
    const a = 0.12;
    const t = [a, 1 - 2 * a, a];
    const noise = (n: number, seed: number): Float64Array => {
      const rng = new SeededRandom(seed);
      const m = n + 2;
      const w = Float64Array.from({ length: m * m }, () => rng.normal());
      const out = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let p = 0; p < 3; p++) for (let q = 0; q < 3; q++) out[i * n + j] += t[p] * t[q] * w[(i + p) * m + j + q];
      return out;
    };
    const blank = noise(160, 1);
    const one = new Float64Array(160 * 160).fill(1);
    const e = estimateSkyCorrelation(blank, one, [160, 160], skyPixels(blank, one, [160, 160], null), 'auto')!;
    const k = whiteningKernel(e.spectrum, e.spectrumShape);
    const psf = gaussianPsf(2);
    const n = noise(N, 2);
    const data = Float64Array.from(deflector(), (v, i) => v + n[i]);
    // a cosmic ray is a spike in the data as given
    data[NEAR] += 60;
    data[FAR] += 60;
    data[PAIR[0]] += 45;
    data[PAIR[1]] += 40;
    // σ the white noise's before the smoothing (the whitened noise's: unit variance once whitened)
    const sigma = new Float64Array(N * N).fill(1);
    const wi = whitenImage(data, sigma, shape, k);
    const wp = whitenedPsf(psf, k);
    const res = whitenedSharpOutliers({ data: wi.data, sigma: wi.sigma, psf: wp.psf }, { data, sigma, psf }, k.radius, null, grid, 2);
    // the whitened test against the light finds pixels of the core that the data as given clear: kept
    expect(res.kept.length).toBeGreaterThan(0);
    for (const p of res.kept) expect(Math.hypot(Math.floor(p / N) - C, (p % N) - C)).toBeLessThanOrEqual(res.nucleusRadius + 1);
    expect(res.sharp).toContain(NEAR);
    expect(res.sharp).toContain(FAR);
    // nothing within 2 px of the centre (the nucleus and its misfit) is cut
    for (const p of res.sharp) expect(Math.hypot(Math.floor(p / N) - C, (p % N) - C)).toBeGreaterThan(2);
    expect(res.nucleusRadius).toBeCloseTo(psfFwhmPixels(psf) + k.radius, 12);
    for (const p of PAIR) expect(res.sharp).toContain(p);
    // the pixels taken out: every sharp pixel's box of side 2R + 1 would cover the nucleus and most of the core
    const dist = (p: number) => Math.hypot(Math.floor(p / N) - res.core!.y, (p % N) - res.core!.x);
    const hit = new Uint8Array(N * N);
    for (const p of res.sharp) hit[p] = 1;
    const boxes = dilate(hit, N, N, k.radius);
    const zone = Array.from({ length: N * N }, (_, p) => p).filter((p) => dist(p) <= res.nucleusRadius);
    expect(boxes[C * N + C]).toBe(1);
    expect(zone.filter((p) => boxes[p]).length).toBeGreaterThan(zone.length / 2);
    // …where the cut leaves the core: within the nucleus's reach only the sharp pixels themselves, beyond it the boxes
    const cut = sharpCutMask(res, shape, k.radius);
    expect(cut[C * N + C]).toBe(0);
    for (const p of zone) expect(cut[p]).toBe(res.sharp.includes(p) ? 1 : 0);
    for (let p = 0; p < N * N; p++) if (dist(p) > res.nucleusRadius) expect(cut[p]).toBe(boxes[p]);
    for (const p of res.sharp) expect(cut[p]).toBe(1);
  });
});
