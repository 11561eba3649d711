/**
 * The second-order Tweedie draw that can end pc, em and ald (`denoise: 'draw'`, samplers/denoise.ts):
 * x̂ + √v ⊙ z with v = σ² clip(1 + σ² diag ∇s, 0, 1). For a Gaussian x₀ ~ N(μ, C) observed as x = x₀ + σ z,
 * Cov[x₀ | x] = σ² C (C + σ² I)⁻¹ exactly, so where C is diagonal the draw is an exact draw of x₀: the raw state
 * is too wide by σ², Tweedie's mean too narrow by σ² C/(C + σ²), the draw right. Checked per pixel with a diagonal
 * Gaussian target (Hutchinson's estimate of the diagonal is then exact), and through the sampler driver with a
 * Gaussian-field prior (a circulant C: the diagonal is estimated, the off-diagonal covariance dropped).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src-main/engine/backend.js';
import { tweedieDraw, tweedieDenoise } from '../../src-shared/diffusion/samplers/denoise.js';
import type { SamplerTarget } from '../../src-shared/diffusion/samplers/types.js';
import { ChainNoise } from '../../src-shared/diffusion/chain-rng.js';
import { runSampling } from '../../src-shared/diffusion/posterior.js';
import { GaussianFieldPrior, powerLawSpectrum } from '../../src-shared/diffusion/priors/gaussian-field.js';

beforeAll(async () => {
  await initBackend('wasm');
});

/** A target whose noised density is N(μ, C + σ² I) with C = diag(c): score −(x − μ)/(c + σ²). */
function diagonalGaussian(shape: number[], batch: number, mu: Float32Array, c: Float32Array): SamplerTarget & { priorCalls: number; draws: number } {
  const t = {
    shape,
    batch,
    misfit: null,
    supportsZeroSigma: true,
    priorCalls: 0,
    draws: 0,
    score(x: tf.Tensor, sigma: number): tf.Tensor {
      t.draws++;
      return t.priorScore(x, sigma);
    },
    priorScore(x: tf.Tensor, sigma: number): tf.Tensor {
      t.priorCalls++;
      return tf.tidy(() => tf.neg(tf.div(tf.sub(x, tf.tensor(mu, shape)), tf.add(tf.tensor(c, shape), sigma * sigma))));
    },
  };
  return t;
}

describe('second-order Tweedie draw', () => {
  it('is an exact draw of x₀ for a diagonal Gaussian (per-pixel variance C, where the mean gives C²/(C + σ²))', () => {
    const shape = [4, 8];
    const npix = 32;
    const B = 4000;
    const sigma = 0.5;
    // prior variances from 0.03 σ² to 30 σ²: from pixels the noise swamps to pixels it barely touches
    const c = Float32Array.from({ length: npix }, (_, i) => sigma * sigma * 10 ** (-1.5 + (3 * i) / (npix - 1)));
    const mu = Float32Array.from({ length: npix }, (_, i) => Math.sin(i));
    const target = diagonalGaussian(shape, B, mu, c);
    const noise = new ChainNoise(11, 0, B);
    const normal = () => noise.tensor(shape);
    // states of the noised marginal: x = x₀ + σ z, x₀ ~ N(μ, C)
    const x = tf.tidy(() => tf.add(tf.add(tf.tensor(mu, shape), tf.mul(normal(), tf.sqrt(tf.tensor(c, shape)))), tf.mul(normal(), sigma)));
    const draw = tweedieDraw(x, target, sigma, normal, 4);
    // the ending denoises with the prior's score alone (no data here: nothing to condition on): the mean's
    // evaluation at the state itself and 2 per probe; none through the posterior's score
    expect(target.priorCalls).toBe(1 + 8);
    expect(target.draws).toBe(0);
    const mean = tweedieDenoise(x, target, sigma);
    const variance = (t: tf.Tensor) => tf.tidy(() => tf.moments(t, 0).variance.dataSync() as Float32Array);
    const vDraw = variance(draw);
    const vMean = variance(mean);
    const vRaw = variance(x);
    const tol = 4 * Math.sqrt(2 / B); // 4 standard errors of a variance from B draws
    for (let i = 0; i < npix; i++) {
      expect(vDraw[i]! / c[i]!, `pixel ${i}`).toBeGreaterThan(1 - tol);
      expect(vDraw[i]! / c[i]!, `pixel ${i}`).toBeLessThan(1 + tol);
      const ratioMean = c[i]! / (c[i]! + sigma * sigma);
      expect(vMean[i]! / c[i]!, `pixel ${i}`).toBeCloseTo(ratioMean, 1);
      expect(vRaw[i]! / c[i]!, `pixel ${i}`).toBeCloseTo(1 + (sigma * sigma) / c[i]!, -Math.log10(4 * (1 + (sigma * sigma) / c[i]!) * tol));
    }
    // and the draws are centred on the mean, which is unbiased for x₀'s mean
    const dMean = tf.tidy(() => tf.sub(tf.mean(draw, 0), tf.mean(mean, 0)).dataSync() as Float32Array);
    for (let i = 0; i < npix; i++) expect(Math.abs(dMean[i]!)).toBeLessThan(4 * Math.sqrt(c[i]! / B));
    tf.dispose([x, draw, mean]);
  });

  it('through the driver (pc, Gaussian-field prior, a coarse last level): draws with the prior’s variance, the same chains otherwise', async () => {
    const S = 16;
    const power = powerLawSpectrum(S, S, 10, 3, 2);
    const prior = new GaussianFieldPrior(power, [S, S]);
    const sd = Math.sqrt(prior.pixelVariance);
    // a last level at 0.4 of the pixel standard deviation: where the three endings differ clearly
    const sde = { ...prior.defaultSde(), sigmaMin: 0.4 * sd };
    const problem = { prior, sde, shape: [S, S] };
    const opts = { sampler: 'pc' as const, steps: 150, n: 256, seed: 4, batchSize: 128 };
    const ratio = async (denoise: 'mean' | 'draw' | 'none') => {
      const r = await runSampling(problem, { ...opts, samplerOptions: { denoise } });
      let s = 0;
      for (const v of r.samples) s += v * v;
      return { ratio: s / r.samples.length / prior.pixelVariance, evaluations: r.scoreEvaluations, settings: r.samplerSettings };
    };
    const draw = await ratio('draw');
    const mean = await ratio('mean');
    const raw = await ratio('none');
    // the spectrum's mean-square per pixel: what exact draws give (± ~3 % for 256 chains of a correlated field)
    expect(draw.ratio).toBeGreaterThan(0.9);
    expect(draw.ratio).toBeLessThan(1.1);
    expect(mean.ratio).toBeLessThan(draw.ratio - 0.05);
    expect(raw.ratio).toBeGreaterThan(draw.ratio + 0.05);
    expect(raw.ratio).toBeCloseTo(1 + 0.16, 1);
    expect(draw.settings.denoise).toMatch(/tweedie-draw/);
    // 16 probe evaluations per chain on top of the mean's one
    expect(draw.evaluations - mean.evaluations).toBe(opts.n * 16);
  }, 120_000);
});
