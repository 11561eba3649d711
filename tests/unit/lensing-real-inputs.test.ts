/**
 * The lens fit's inputs as HST products give them (docs/lensing.md, *A SLACS-like ACS cutout*): the pixel scale
 * from a rotated CD matrix, σ from an inverse-variance weight map, pixels sharper than the PSF (cosmic rays) left
 * out, the arcs' pixels without lone ones, and the first θE by the evidence where the light model leaves a bright
 * residual at the deflector's centre.
 */
import { describe, expect, it } from 'vitest';
import { FitsHeader } from '../../src-shared/fits/index.js';
import { DEFAULT_FIT_RADIUS, defaultFitRadius, implausibleLensNote, pixelScaleFromWcs, sigmaFromWeights, LensInputError } from '../../src-shared/lensing/inputs.js';
import { psfNeighbourRatio, sharpOutliers } from '../../src-shared/lensing/outliers.js';
import { arcPixels, annulusMask, firstThetaE, fitPixels, ringRadius, scanRadii } from '../../src-shared/lensing/fit.js';
import { lightColumns } from '../../src-shared/lensing/light.js';
import { pixelCentre } from '../../src-shared/operators/lens-model.js';
import { hstPsf, simulateLens } from '../helpers/lens-sim.js';

const header = (cards: Record<string, string | number>) => {
  const h = new FitsHeader();
  for (const [k, v] of Object.entries(cards)) h.set(k, v);
  return h;
};

describe('the pixel scale from the WCS', () => {
  it('reads a rotated CD matrix, PC × CDELT and CUNIT; refuses non-square pixels; null without a celestial WCS', () => {
    const s = 0.05 / 3600;
    const a = (37 * Math.PI) / 180;
    const cd = header({ CTYPE1: 'RA---TAN', CTYPE2: 'DEC--TAN', CD1_1: -s * Math.cos(a), CD1_2: s * Math.sin(a), CD2_1: s * Math.sin(a), CD2_2: s * Math.cos(a) });
    const r = pixelScaleFromWcs(cd)!;
    expect(r.scale).toBeCloseTo(0.05, 10);
    expect(r.source).toBe('the CD matrix');
    const pc = header({ CTYPE1: 'RA---SIN', CTYPE2: 'DEC--SIN', CDELT1: -0.04 / 3600, CDELT2: 0.04 / 3600, PC1_1: Math.cos(a), PC1_2: -Math.sin(a), PC2_1: Math.sin(a), PC2_2: Math.cos(a) });
    expect(pixelScaleFromWcs(pc)!.scale).toBeCloseTo(0.04, 10);
    expect(pixelScaleFromWcs(header({ CTYPE1: 'GLON-CAR', CTYPE2: 'GLAT-CAR', CDELT1: -0.1, CDELT2: 0.1, CUNIT1: 'arcsec', CUNIT2: 'arcsec' }))!.scale).toBeCloseTo(0.1, 12);
    expect(() => pixelScaleFromWcs(header({ CTYPE1: 'RA---TAN', CTYPE2: 'DEC--TAN', CDELT1: -0.05 / 3600, CDELT2: 0.06 / 3600 }))).toThrow(LensInputError);
    expect(() => pixelScaleFromWcs(header({ CTYPE1: 'RA---TAN', CTYPE2: 'DEC--TAN', CD1_1: s, CD1_2: s, CD2_1: s, CD2_2: s }))).toThrow(/singular/);
    expect(pixelScaleFromWcs(header({ CTYPE1: 'LINEAR', CTYPE2: 'LINEAR', CDELT1: 0.05, CDELT2: 0.05 }))).toBeNull();
    expect(pixelScaleFromWcs(header({ CTYPE1: 'RA---TAN', CTYPE2: 'DEC--TAN' }))).toBeNull();
  });

  it('σ = 1/√w from an inverse-variance map; weight 0, negative or NaN leaves the pixel out', () => {
    const { sigma, excluded } = sigmaFromWeights(Float32Array.of(4, 0, 100, NaN, -1, 0.25));
    expect(Array.from(sigma.slice(0, 1))).toEqual([0.5]);
    expect(sigma[2]).toBeCloseTo(0.1, 12);
    expect(sigma[5]).toBe(2);
    for (const k of [1, 3, 4]) expect(sigma[k]).toBeNaN();
    expect(excluded).toBe(3);
    // and the fit leaves those pixels out
    const d = { data: new Float64Array(6).fill(1), sigma, image: { shape: [2, 3] as [number, number], scale: 0.1 }, mask: null, psf: null };
    expect(Array.from(fitPixels(d))).toEqual([0, 2, 5]);
  });
});

describe('the default fitted disc', () => {
  it('3″ about the centre of a 360² cutout of 0.05″; none where the image lies within it', () => {
    expect(DEFAULT_FIT_RADIUS).toBe(3);
    expect(defaultFitRadius([360, 360], 0.05)).toBe(3);
    expect(defaultFitRadius([80, 80], 0.05)).toBeNull(); // half-diagonal 2.83″
    expect(defaultFitRadius([86, 86], 0.05)).toBe(3); // 3.04″
  });
});

describe('an implausible galaxy-scale lens', () => {
  it('is noted below q 0.4 or above a shear of 0.15, not within', () => {
    expect(implausibleLensNote({ q: 0.8, gamma1: 0.05, gamma2: -0.05 })).toBeNull();
    expect(implausibleLensNote({ q: 0.19, gamma1: 0.03, gamma2: 0.44 })).toMatch(/q 0\.190 < 0\.4 and external shear 0\.441 > 0\.15/);
    expect(implausibleLensNote({ q: 0.39, gamma1: 0, gamma2: 0 })).toMatch(/--light 2/);
    expect(implausibleLensNote({ q: 0.9, gamma1: 0.12, gamma2: 0.1 })).toMatch(/shear 0\.156/);
  });
});

describe('pixels sharper than the PSF', () => {
  it('flags hot pixels and a two-pixel cosmic ray on a galaxy, not a star, the galaxy, arcs or noise', () => {
    const n = 48;
    const psf = hstPsf(11);
    const ratio = psfNeighbourRatio(psf);
    expect(ratio).toBeGreaterThan(0.1);
    expect(ratio).toBeLessThan(0.9);
    // a smooth galaxy, a star (the PSF itself) and noise of σ = 1
    const data = new Float64Array(n * n);
    const sigma = new Float64Array(n * n).fill(1);
    let seed = 7;
    const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const r2 = (i - 24) ** 2 + ((j - 24) / 0.7) ** 2;
        data[i * n + j] = 400 * Math.exp(-Math.sqrt(r2) / 2.5) + Math.sqrt(-2 * Math.log(rnd() + 1e-300)) * Math.cos(2 * Math.PI * rnd());
      }
    }
    const [ky, kx] = psf.shape;
    const peak = Math.max(...psf.data);
    for (let a = 0; a < ky; a++) for (let b = 0; b < kx; b++) data[(8 + a - psf.center[0]) * n + 36 + b - psf.center[1]] += (300 * psf.data[a * kx + b]) / peak;
    const hot = [10 * n + 10, 30 * n + 20, 40 * n + 30]; // one on the galaxy's wing
    for (const p of hot) data[p] += 40;
    data[20 * n + 30] += 60; // a two-pixel cosmic ray
    data[20 * n + 31] += 30;
    const all = Int32Array.from({ length: n * n }, (_, k) => k);
    const found = Array.from(sharpOutliers(data, sigma, null, [n, n], all, psf));
    expect(found.sort((a, b) => a - b)).toEqual([...hot, 20 * n + 30, 20 * n + 31].sort((a, b) => a - b));
    // without the PSF's sharpness rule (a PSF of one pixel: every neighbour ratio 0) nothing is sharper than it
    const delta = { data: Float64Array.of(1), shape: [1, 1] as [number, number], center: [0, 0] as [number, number] };
    expect(sharpOutliers(data, sigma, null, [n, n], all, delta).length).toBe(0);
  });

  it("the arcs' pixels leave out a lone pixel above 4σ", () => {
    const n = 20;
    const data = new Float64Array(n * n);
    const sigma = new Float64Array(n * n).fill(1);
    data[5 * n + 5] = 10; // lone
    data[12 * n + 12] = 6; // with a neighbour above 3σ
    data[12 * n + 13] = 3.5;
    const d = { data, sigma, image: { shape: [n, n] as [number, number], scale: 0.05 }, mask: null, psf: null };
    expect(Array.from(arcPixels(d, fitPixels(d), null))).toEqual([12 * n + 12]);
  });
});

describe('the first θE', () => {
  it('from a two-component light where one Sérsic leaves a bright core residual that pulls the ring radius inwards, refined by the evidence', () => {
    const sim = simulateLens({ size: 72, psfSize: 9, seed: 3, galaxy: 4 });
    const { data, sigma, image, psf } = sim;
    // what a Sérsic model misses of a real galaxy's core: a compact excess, 150σ at its peak
    const [ny, nx] = image.shape;
    const c = sim.truth.light;
    const dataX = Float64Array.from(data, (v, k) => {
      const x = pixelCentre(k % nx, nx, image.scale) - c.x0;
      const y = pixelCentre(Math.floor(k / nx), ny, image.scale) - c.y0;
      return v + 3 * Math.exp(-(x * x + y * y) / (2 * 0.2 * 0.2));
    });
    const d = { data: dataX, sigma, image, mask: annulusMask(image, 0, 1.75), psf };
    const pixels = fitPixels(d);
    // the light model: the true Sérsic at its true amplitude, as a fit of the light alone would come near
    const col = lightColumns([c], image, psf, Int32Array.from({ length: nx * ny }, (_, k) => k), 2)[0];
    const lightModel = Float64Array.from(col, (v) => v * sim.truth.lightAmplitude);
    const t = sim.truth.lens.thetaE;
    const ring = ringRadius(d, pixels, lightModel, [c.x0, c.y0])!;
    expect(Math.abs(ring - t) / t).toBeGreaterThan(0.15);
    // a two-component light fitted alone takes up the excess: the ring's radius, then the evidence's best within ×1.25
    const f = firstThetaE(d, pixels, 1, [c.x0, c.y0], [c], { maxEval: 1500, fitN: 24, regKind: 'gradient', ss: 2, scan: true, progress: () => {} })!;
    expect(Math.abs(f.ring - t) / t).toBeLessThan(0.1);
    expect(f.scan.length).toBeGreaterThan(10);
    expect(Math.abs(f.thetaE - t) / t).toBeLessThan(0.05);
    // the evidence's scan alone, about the biased radius, cannot reach the truth beyond its window
    const sc = scanRadii(d, pixels, [c], [c.x0, c.y0], ring, 24, 'gradient', 2)!;
    expect(Math.max(...sc.scan.map((e) => e.thetaE))).toBeLessThan(t);
  });
});

describe('HDU selectors of a multi-extension file', () => {
  it('FILE.fits[ERR], [WHT,1] and [2] pick the HDU; an unknown name lists the HDUs', async () => {
    const { writeFits } = await import('../../src-shared/fits/index.js');
    const { splitHduSelector, resolveHduSelector } = await import('../../src-main/forward-model-files.js');
    const hdr = (name: string) => {
      const h = new FitsHeader();
      h.set('EXTNAME', name);
      return h;
    };
    const img = (v: number, name: string) => ({ data: new Float32Array(6).fill(v), shape: [3, 2], header: hdr(name), bitpix: -32 });
    const bytes = writeFits([{ data: new Float32Array(0), shape: [] }, img(1, 'SCI'), img(2, 'ERR'), img(3, 'WHT')] as Parameters<typeof writeFits>[0]);
    expect(splitHduSelector('/nowhere/x.fits[ERR]')).toEqual({ file: '/nowhere/x.fits', selector: 'ERR' });
    expect(splitHduSelector('/nowhere/x.fits')).toEqual({ file: '/nowhere/x.fits', selector: null });
    expect(resolveHduSelector(bytes, 'x.fits', 'err')).toBe(2);
    expect(resolveHduSelector(bytes, 'x.fits', 'WHT,1')).toBe(3);
    expect(resolveHduSelector(bytes, 'x.fits', '1')).toBe(1);
    expect(() => resolveHduSelector(bytes, 'x.fits', 'WHT,2')).toThrow(/no image HDU named WHT with EXTVER 2/);
    expect(() => resolveHduSelector(bytes, 'x.fits', 'CTX')).toThrow(/0 \(no image\); 1 SCI \[3, 2\]; 2 ERR/);
    expect(() => resolveHduSelector(bytes, 'x.fits', '7')).toThrow(/no HDU 7/);
  });
});
