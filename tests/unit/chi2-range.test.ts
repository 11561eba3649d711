/**
 * The expected range of χ² per pixel (src-shared/diffusion/chi2-range.ts) and its warning in report.json: noise
 * alone stays inside it (checked by simulation: χ²_N/N of pure noise), a misfit far above it is flagged for the
 * draws and for the mean, a mean below 1 (it fits part of the noise) is not, draws below the range are.
 */
import { describe, expect, it } from 'vitest';
import { ChainRandom } from '../../src-shared/diffusion/chain-rng.js';
import { CHI2_MODEL_ERROR_FACTOR, CHI2_RANGE_SIGMAS, chi2Range, chi2RangeWarnings } from '../../src-shared/diffusion/chi2-range.js';
import { reconstructionReport, type PosteriorProducts } from '../../src-shared/diffusion/products.js';
import type { SamplingResult } from '../../src-shared/diffusion/posterior.js';
import type { ConvolvedLikelihood } from '../../src-shared/diffusion/likelihood.js';

describe('χ² per pixel: expected range', () => {
  it('is 1 ± 3√(2/N), widened ×1.5', () => {
    const r = chi2Range(4096);
    const sd = Math.sqrt(2 / 4096);
    expect(r.std).toBeCloseTo(sd, 12);
    expect(r.hi).toBeCloseTo((1 + CHI2_RANGE_SIGMAS * sd) * CHI2_MODEL_ERROR_FACTOR, 12);
    expect(r.lo).toBeCloseTo((1 - CHI2_RANGE_SIGMAS * sd) / CHI2_MODEL_ERROR_FACTOR, 12);
    // tiny N: the lower bound does not go negative
    expect(chi2Range(2).lo).toBe(0);
  });

  it('holds χ²/N of pure Gaussian noise: 2000 simulated data sets of 256 pixels, none outside the unwidened 4σ band and none warned', () => {
    const rng = new ChainRandom(3, 0);
    const n = 256;
    const sd = Math.sqrt(2 / n);
    let outside4 = 0;
    for (let t = 0; t < 2000; t++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += rng.normal() ** 2;
      const chi2 = s / n;
      if (Math.abs(chi2 - 1) > 4 * sd) outside4++;
      expect(chi2RangeWarnings({ mean: chi2, draws: chi2, observedPixels: n })).toEqual([]);
    }
    // P(|χ²_256/256 − 1| > 4 sd) ≈ 1e-4 (a little skewed): at most a few of 2000
    expect(outside4).toBeLessThan(4);
  });

  it('flags a misfit of the draws and of the mean, and draws (not a mean) below the range', () => {
    const high = chi2RangeWarnings({ mean: 288.3, draws: 566.4, observedPixels: 4096 });
    expect(high).toHaveLength(2);
    expect(high[0]).toMatch(/posterior samples 566 is above the range 0\.62–1\.60 expected for 4096 observed pixels/);
    expect(high[1]).toMatch(/posterior mean 288 is above the range/);
    expect(high[1]).toMatch(/noise σ/);
    // a posterior mean fits part of the noise: χ² 0.21 with draws at 0.99 is what a well-measured problem gives
    expect(chi2RangeWarnings({ mean: 0.21, draws: 0.99, observedPixels: 4096 })).toEqual([]);
    const low = chi2RangeWarnings({ mean: 0.2, draws: 0.3, observedPixels: 4096 });
    expect(low).toHaveLength(1);
    expect(low[0]).toMatch(/below the range.*overestimated/);
    expect(chi2RangeWarnings({ mean: null, draws: null, observedPixels: 4096 })).toEqual([]);
  });

  it("reaches report.json's warnings after the run's own, only with data", () => {
    const products = { shape: [2, 2], dataShape: [2, 2], n: 2, chi2PerPixel: 54.6, chi2PerPixelSamples: 60 } as unknown as PosteriorProducts;
    const result = { n: 2, steps: 1, sampler: 'pc', samplerSettings: {}, seconds: 1, scoreEvaluations: 2, seed: 0, batchSize: 2 } as unknown as SamplingResult;
    const ctx = { command: 'x', prior: { spec: 'p', kind: 'k', sde: { sigmaMin: 0.01, sigmaMax: 1 }, trainedShape: null }, backend: 'cpu', versions: {}, warnings: ['a note'] };
    const lik = { observed: 4, method: 'pixel-diagonal', description: 'd', cgStats: { solves: 0, iterations: 0, capped: 0, maxRelResidual: 0 } } as unknown as ConvolvedLikelihood;
    const withData = reconstructionReport(products, result, ctx, lik).warnings as string[];
    expect(withData[0]).toBe('a note');
    expect(withData.slice(1).join('\n')).toMatch(/posterior samples 60\.0 is above the range .* for 4 observed pixels[\s\S]*posterior mean 54\.6 is above/);
    expect(reconstructionReport(products, result, ctx, null).warnings).toEqual(['a note']);
  });
});
