import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src-shared/operators/random.js';
import {
  CORRELATION_SIGNIFICANCE,
  decideNoiseCorrelation,
  estimateSkyCorrelation,
  skyPixels,
  whitenedPsf,
  whitenImage,
  whiteningKernel,
  noiseRealisation,
} from '../../src-shared/lensing/whitening.js';
import { estimateNoiseSpectrum } from '../../src-shared/noise/spectrum.js';
import type { Shape2 } from '../../src-shared/operators/types.js';
import { lensFitNoiseCorrelation, noiseCorrelationDecision, SKY_FALLBACK_GROWTHS_ARCSEC, type LensFitMask } from '../../src-main/reconstruct/lens-fit-run.js';
import { lightImage } from '../../src-shared/lensing/light.js';
import { gaussianPsf } from '../../src-shared/operators/psf.js';
import { FitsHeader } from '../../src-shared/fits/index.js';
import type { ImageFile } from '../../src-main/forward-model-files.js';

// Correlated noise of a known kernel: unit white noise filtered by [a, 1 − 2a, a] along each axis (a drizzle-like
// smoothing that keeps the large-scale variance: the taps sum to 1). Per axis the variance is v1 = 2a² + (1 − 2a)² and
// the neighbour correlation 2a(1 − 2a)/v1; the per-pixel variance is v1², the large-scale variance 1.
const A = 0.12;
const V1 = 2 * A * A + (1 - 2 * A) ** 2;
const RHO1 = (2 * A * (1 - 2 * A)) / V1;

function filtered(n: number, seed: number, a = A): Float64Array {
  const rng = new SeededRandom(seed);
  const m = n + 2;
  const w = Float64Array.from({ length: m * m }, () => rng.normal());
  const t = [a, 1 - 2 * a, a];
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < 3; p++) for (let q = 0; q < 3; q++) s += t[p] * t[q] * w[(i + p) * m + j + q];
      out[i * n + j] = s;
    }
  }
  return out;
}

function white(n: number, seed: number): Float64Array {
  const rng = new SeededRandom(seed);
  return Float64Array.from({ length: n * n }, () => rng.normal());
}

/** Neighbour correlations and variance of the finite pixels (plain sums: an independent check of the estimator). */
function lag1(img: ArrayLike<number>, n: number): { x: number; y: number; v: number } {
  let sx = 0;
  let nx = 0;
  let sy = 0;
  let ny = 0;
  let s0 = 0;
  let n0 = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const v = img[i * n + j];
      if (!Number.isFinite(v)) continue;
      s0 += v * v;
      n0++;
      if (j + 1 < n && Number.isFinite(img[i * n + j + 1])) {
        sx += v * img[i * n + j + 1];
        nx++;
      }
      if (i + 1 < n && Number.isFinite(img[(i + 1) * n + j])) {
        sy += v * img[(i + 1) * n + j];
        ny++;
      }
    }
  }
  const v = s0 / n0;
  return { x: sx / nx / v, y: sy / ny / v, v };
}

describe('the noise correlation of the lens fit (whitening.ts)', () => {
  const n = 192;
  const shape: Shape2 = [n, n];

  it('measures a known kernel: neighbour correlation, per-pixel and large-scale variance', () => {
    const sigma = new Float64Array(n * n).fill(0.5);
    const data = Float64Array.from(filtered(n, 1), (v) => 0.5 * v);
    const sky = skyPixels(data, sigma, shape, null);
    const e = estimateSkyCorrelation(data, sigma, shape, sky, 'auto')!;
    expect(e).not.toBeNull();
    // expected 0.304, per-pixel variance 0.368, large-scale 1
    expect(Math.abs(e.lag1.x - RHO1)).toBeLessThan(0.02);
    expect(Math.abs(e.lag1.y - RHO1)).toBeLessThan(0.02);
    expect(Math.abs(e.varianceRatio - V1 * V1) / (V1 * V1)).toBeLessThan(0.03);
    expect(Math.abs(e.largeScaleRatio - 1)).toBeLessThan(0.1);
    // the standard error is 1/√pairs of white noise
    expect(e.lag1Error.x).toBeCloseTo(1 / Math.sqrt(e.skyPixels - e.skyPixels / n), 3);
  });

  it('whitens an independent realisation: neighbour correlation ≈ 0 and unit variance after, with a σ that varies', () => {
    // σ grows by 2× across the field; n = σ·m
    const sigma = Float64Array.from({ length: n * n }, (_, k) => 0.3 * (1 + (k % n) / n));
    const estData = Float64Array.from(filtered(n, 2), (v, k) => sigma[k] * v);
    const e = estimateSkyCorrelation(estData, sigma, shape, skyPixels(estData, sigma, shape, null), 'auto')!;
    const k = whiteningKernel(e.spectrum, e.spectrumShape);
    expect(k.whiteness).toBeLessThan(0.02);
    const test = Float64Array.from(filtered(n, 3), (v, i) => sigma[i] * v);
    const before = lag1(Float64Array.from(test, (v, i) => v / sigma[i]), n);
    expect(before.x).toBeGreaterThan(0.25);
    const w = whitenImage(test, sigma, shape, k);
    const z = Float64Array.from(w.data, (v, i) => v / w.sigma[i]);
    const after = lag1(z, n);
    expect(Math.abs(after.x)).toBeLessThan(0.02);
    expect(Math.abs(after.y)).toBeLessThan(0.02);
    expect(Math.abs(after.v - 1)).toBeLessThan(0.03);
    // the edge (within R of it) has no whitened value
    expect(Number.isNaN(w.data[0])).toBe(true);
    expect(w.dropped).toBe(n * n - (n - 2 * k.radius) ** 2);
  });

  it('leaves out the pixels near an invalid one (weight 0) and fills it with 0, not with its neighbours', () => {
    const sigma = new Float64Array(64 * 64).fill(1);
    sigma[32 * 64 + 32] = Infinity;
    const data = new Float64Array(64 * 64).fill(1);
    const e = { spectrum: Float64Array.from({ length: 64 * 64 }, (_, k) => 0.4 + 0.3 * Math.cos((2 * Math.PI * (k % 64)) / 64)), shape: [64, 64] as Shape2 };
    const k = whiteningKernel(e.spectrum, e.shape);
    const w = whitenImage(data, sigma, [64, 64], k);
    const R = k.radius;
    expect(Number.isNaN(w.data[32 * 64 + 32 + R])).toBe(true);
    expect(Number.isFinite(w.data[32 * 64 + 32 + R + 1])).toBe(true);
    // a constant image is multiplied by the filter's gain Σw
    expect(w.data[20 * 64 + 20]).toBeCloseTo(k.sum, 10);
  });

  it("decides 'none' on white noise (5 realisations) and 'whiten' on drizzle-like noise", () => {
    const sigma = new Float64Array(n * n).fill(0.02);
    for (let s = 10; s < 15; s++) {
      const data = Float64Array.from(white(n, s), (v) => 0.02 * v);
      const d = decideNoiseCorrelation(data, sigma, shape, 'auto', null);
      expect(d.estimate).not.toBeNull();
      expect(d.whiten).toBe(false);
      expect(Math.abs(d.estimate!.lag1.x)).toBeLessThan(CORRELATION_SIGNIFICANCE * d.estimate!.lag1Error.x);
      expect(Math.abs(d.estimate!.varianceRatio - 1)).toBeLessThan(0.03);
    }
    const data = Float64Array.from(filtered(n, 20), (v) => 0.02 * v);
    const d = decideNoiseCorrelation(data, sigma, shape, 'auto', null);
    expect(d.whiten).toBe(true);
    expect(d.text).toMatch(/correlated/);
    // 'none' measures nothing
    expect(decideNoiseCorrelation(data, sigma, shape, 'none', null)).toMatchObject({ whiten: false, estimate: null });
  });

  it('decides the same whether σ states the large-scale noise (1/√WHT) or the per-pixel rms (one σ from the sky)', () => {
    // a stronger drizzle-like kernel (a = 0.2): per-pixel variance (2a² + (1 − 2a)²)² = 0.194 of the large-scale one,
    // R² = 5.2; with σ = the per-pixel rms P(0) reads 5.2 σ², which the former bound P(0) ≤ 3 refused as not blank
    const a = 0.2;
    const v = (2 * a * a + (1 - 2 * a) ** 2) ** 2;
    const m = filtered(n, 7, a);
    for (const s of [0.5, 0.5 * Math.sqrt(v)]) {
      const sigma = new Float64Array(n * n).fill(s);
      const d = decideNoiseCorrelation(Float64Array.from(m, (x) => 0.5 * x), sigma, shape, 'auto', null);
      expect(d.estimate).not.toBeNull();
      expect(Math.abs(d.estimate!.largeScaleRatio / d.estimate!.varianceRatio - 1 / v) / (1 / v)).toBeLessThan(0.15);
      expect(d.whiten).toBe(true);
      expect(noiseCorrelationDecision(d, d.whiten)).toBe('whitened');
    }
  });

  it('keeps sources and the excluded region out of the sky', () => {
    const sigma = new Float64Array(n * n).fill(1);
    const data = filtered(n, 30);
    // a bright smooth source (a Gaussian of 4 px) would add correlation at every lag if it stayed in
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) data[i * n + j] += 20 * Math.exp(-((i - 150) ** 2 + (j - 40) ** 2) / 32);
    const exclude = new Uint8Array(n * n);
    for (let i = 60; i < 130; i++) for (let j = 60; j < 130; j++) exclude[i * n + j] = 1;
    const sky = skyPixels(data, sigma, shape, exclude);
    expect(sky[150 * n + 40]).toBe(0);
    expect(sky[95 * n + 95]).toBe(0);
    const e = estimateSkyCorrelation(data, sigma, shape, sky, 'auto')!;
    expect(Math.abs(e.lag1.x - RHO1)).toBeLessThan(0.02);
    expect(Math.abs(e.varianceRatio - V1 * V1) / (V1 * V1)).toBeLessThan(0.03);
  });

  it('whitens the PSF to unit sum with the gain the data get, and its realisation measures back', () => {
    const sigma = new Float64Array(n * n).fill(1);
    const data = filtered(n, 40);
    const e = estimateSkyCorrelation(data, sigma, shape, skyPixels(data, sigma, shape, null), 'auto')!;
    const k = whiteningKernel(e.spectrum, e.spectrumShape);
    const psf = { data: Float64Array.from({ length: 25 }, (_, i) => Math.exp(-((((i / 5) | 0) - 2) ** 2) - ((i % 5) - 2) ** 2)), shape: [5, 5] as Shape2, center: [2, 2] as [number, number] };
    const s0 = psf.data.reduce((a, b) => a + b, 0);
    psf.data.forEach((v, i) => (psf.data[i] = v / s0));
    const w = whitenedPsf(psf, k);
    expect(w.psf.shape).toEqual([5 + 2 * k.radius, 5 + 2 * k.radius]);
    expect(w.psf.data.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(w.gain).toBeCloseTo(k.sum, 12);
    // the gain on smooth signal is ≈ P(0)^(−1/2) ≈ 1 for this kernel
    expect(Math.abs(w.gain - 1 / Math.sqrt(e.largeScaleRatio))).toBeLessThan(0.05);
    const real = noiseRealisation(e);
    const back = estimateNoiseSpectrum(real, [256, 256], [256, 256]);
    expect(Math.abs(back.lag1.x - e.lag1.x)).toBeLessThan(0.02);
    expect(Math.abs(back.variance - e.varianceRatio) / e.varianceRatio).toBeLessThan(0.03);
  });
});

// A PyAutoLens-size cutout: 151² pixels of 0.05″ (7.55″ across) and the lens fit's default 3″ disc, grown by its own
// radius for the sky (nothing within 6″ of the centre): no pixel of the cutout is left, where the corners outside 3″
// hold about 11 000.
describe("the lens fit's sky on a small cutout (lensFitNoiseCorrelation's smaller growths)", () => {
  const n = 151;
  const scale = 0.05;
  const sig = 0.02;
  const disc: LensFitMask = { kind: 'annulus', r1: 0, r2: 3, followThetaE: true };
  const obs = (data: Float64Array): ImageFile => ({ data, shape: [n, n], fitsShape: [n, n], header: new FitsHeader(), bitpix: -64 });
  const sigma = new Float64Array(n * n).fill(sig);
  const psf = gaussianPsf(2);
  /** a deflector of Sérsic index 4 (rEff 1.2″, q ≈ 0.8) whose wings lie `atFourArcsec` σ above the sky at 4″ */
  const deflector = (atFourArcsec: number): Float64Array => {
    const img = lightImage([{ x0: 0.03, y0: -0.02, e1: 0.1, e2: 0.04, rEff: 1.2, n: 4 }], [1], { shape: [n, n], scale }, psf, 2);
    const c = (n - 1) / 2;
    const at4 = img[c * n + c + 80];
    return Float64Array.from(img, (v) => (v / at4) * atFourArcsec * sig);
  };
  /** a compact deflector (a Gaussian of 0.3″): nothing of it beyond 3″ */
  const compact = Float64Array.from({ length: n * n }, (_, k) => {
    const i = Math.floor(k / n) - 75;
    const j = (k % n) - 75;
    return 50 * sig * Math.exp(-(i * i + j * j) / (2 * 36));
  });
  const drizzled = (seed: number) => Float64Array.from(filtered(n, seed), (v) => sig * v);
  const whiteNoise = (seed: number) => Float64Array.from(white(n, seed), (v) => sig * v);
  const plus = (a: Float64Array, b: Float64Array) => Float64Array.from(a, (v, k) => v + b[k]);

  it('measures drizzle-like noise outside the disc grown by less than its own radius, and says which growth', () => {
    const d = lensFitNoiseCorrelation(obs(plus(drizzled(50), compact)), sigma, disc, scale, 'auto');
    // its own radius (3″) leaves no sky pixel; 1″ does: the corners beyond 4″
    expect(d.sky).toMatchObject({ ownGrowthArcsec: 3, skyPixelsAtOwnGrowth: 0, growthArcsec: SKY_FALLBACK_GROWTHS_ARCSEC[0], lightSubtracted: false });
    expect(d.estimate).not.toBeNull();
    expect(d.estimate!.skyPixels).toBeGreaterThan(2000);
    expect(d.whiten).toBe(true);
    expect(Math.abs(d.estimate!.lag1.x - RHO1)).toBeLessThan(0.04);
    expect(Math.abs(d.estimate!.lag1.y - RHO1)).toBeLessThan(0.04);
    expect(Math.abs(d.estimate!.varianceRatio - V1 * V1) / (V1 * V1)).toBeLessThan(0.08);
    expect(d.text).toMatch(/^noise correlation: correlated .* grown by 1″ \(its own radius, 3″, leaves 0 sky pixels in the cutout\)/);
  });

  it('does not call white noise on the same cutout correlated (5 realisations)', () => {
    for (let s = 60; s < 65; s++) {
      const d = lensFitNoiseCorrelation(obs(plus(whiteNoise(s), compact)), sigma, disc, scale, 'auto');
      expect(d.estimate).not.toBeNull();
      expect(d.whiten).toBe(false);
      expect(Math.abs(d.estimate!.varianceRatio - 1)).toBeLessThan(0.06);
    }
  });

  it('keeps the growth of its own radius where the cutout is large enough (a 360² one)', () => {
    const m = 360;
    const data = Float64Array.from(white(m, 70), (v) => sig * v);
    const big: ImageFile = { data, shape: [m, m], fitsShape: [m, m], header: new FitsHeader(), bitpix: -64 };
    const d = lensFitNoiseCorrelation(big, new Float64Array(m * m).fill(sig), disc, scale, 'auto');
    expect(d.sky).toMatchObject({ growthArcsec: 3, ownGrowthArcsec: 3, lightSubtracted: false });
    expect(d.text).not.toMatch(/grown by/);
  });

  it("refuses a sky that holds the deflector's wings, and measures it with the deflector's light subtracted", () => {
    // a bright deflector: 10σ per pixel at 4″; its wings in the corners read as correlation on white noise
    const bright = deflector(10);
    const wn = plus(whiteNoise(80), bright);
    const noPsf = lensFitNoiseCorrelation(obs(wn), sigma, disc, scale, 'auto');
    expect(noPsf.whiten).toBe(false);
    expect(noPsf.text).toMatch(/not used: .* is not blank/);
    expect(noPsf.estimate!.largeScaleRatio / noPsf.estimate!.varianceRatio).toBeGreaterThan(6.75);
    // lens.json's decision says why: the sky refused, not a correlation found insignificant
    expect(noiseCorrelationDecision(noPsf, false)).toMatch(/^white \(not used: the sky is not blank, large-scale \/ per-pixel variance [0-9.]+ above 6\.75\)$/);
    // with the PSF: the light alone fitted to the disc and subtracted; white noise is then white
    const white1 = lensFitNoiseCorrelation(obs(wn), sigma, disc, scale, 'auto', undefined, psf);
    expect(white1.sky?.lightSubtracted).toBe(true);
    expect(white1.estimate).not.toBeNull();
    expect(white1.whiten).toBe(false);
    expect(white1.estimate!.largeScaleRatio / white1.estimate!.varianceRatio).toBeLessThan(6.75);
    expect(noiseCorrelationDecision(white1, false)).toBe('white (correlation not significant)');
    // drizzle-like noise under the same deflector: correlated, measured as on the blank sky
    const drz = lensFitNoiseCorrelation(obs(plus(drizzled(81), bright)), sigma, disc, scale, 'auto', undefined, psf);
    expect(drz.sky?.lightSubtracted).toBe(true);
    expect(drz.whiten).toBe(true);
    expect(Math.abs(drz.estimate!.lag1.x - RHO1)).toBeLessThan(0.04);
    expect(Math.abs(drz.estimate!.lag1.y - RHO1)).toBeLessThan(0.04);
    expect(drz.text).toMatch(/residual of the deflector's light alone/);
    expect(noiseCorrelationDecision(drz, true)).toBe('whitened');
  }, 120_000);
});
