/**
 * The samplers' final denoising step (src-shared/diffusion/samplers/denoise.ts): Tweedie's formula is exact for a
 * Gaussian, and with it pc, em, ald (and ula at a target σ > 0) end on x + σ² s(x, σ) of the very chains they
 * would otherwise return (no data here: nothing to condition on).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { tweedieDenoise } from '../../src-shared/diffusion/samplers/denoise.js';
import { createSampler } from '../../src-shared/diffusion/samplers/index.js';
import type { SamplerTarget, StepContext } from '../../src-shared/diffusion/samplers/types.js';
import { ChainNoise } from '../../src-shared/diffusion/chain-rng.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const TAU2 = 0.04;
const MU = 0.3;
/** p(x₀) = N(μ, τ² I) per pixel: p_σ = N(μ, (τ² + σ²) I), whose score is −(x − μ)/(τ² + σ²). */
function gaussianTarget(batch: number, shape: number[]): SamplerTarget & { calls: number } {
  const t = {
    shape,
    batch,
    calls: 0,
    score(x: tf.Tensor, sigma: number) {
      return t.priorScore(x, sigma);
    },
    priorScore(x: tf.Tensor, sigma: number) {
      t.calls++;
      return tf.tidy(() => tf.div(tf.sub(x, MU), -(TAU2 + sigma * sigma)));
    },
    misfit: null,
    supportsZeroSigma: true,
  };
  return t;
}

describe('final denoising step', () => {
  it("is Tweedie's E[x₀ | x_σ] for a Gaussian: μ + τ²/(τ² + σ²) (x − μ)", () => {
    const x = tf.tensor3d([0.9, -0.2, 0.3, 1.5], [1, 2, 2]);
    const sigma = 0.1;
    const out = tweedieDenoise(x, gaussianTarget(1, [2, 2]), sigma).dataSync();
    const k = TAU2 / (TAU2 + sigma * sigma);
    [0.9, -0.2, 0.3, 1.5].forEach((v, i) => expect(out[i]).toBeCloseTo(MU + k * (v - MU), 6));
    x.dispose();
  });

  for (const name of ['pc', 'em', 'ald'] as const) {
    it(`${name}: the same chains, then x + σmin² s(x, σmin) (one more evaluation); denoise: false keeps the draw`, () => {
      const sde = { sigmaMin: 0.05, sigmaMax: 2 };
      const steps = 40;
      const shape = [4, 4];
      const run = (denoise: boolean) => {
        const sampler = createSampler(name, { sde, steps, options: name === 'ald' ? { denoise, snr: 0.5 } : { denoise } });
        const target = gaussianTarget(3, shape);
        const noise = new ChainNoise(11, 0, 3);
        const ctx: StepContext = { normal: () => noise.tensor(shape), auxNormal: () => tf.randomNormal([3, ...shape]) };
        let x = sampler.init(target, ctx);
        for (let i = 0; i < steps; i++) {
          const next = tf.tidy(() => sampler.step(x, i, target, ctx));
          x.dispose();
          x = next;
        }
        const v = x.dataSync() as Float32Array;
        x.dispose();
        return { v, calls: target.calls, settings: sampler.settings };
      };
      const raw = run(false);
      const den = run(true);
      expect(raw.settings.denoise).toBe('none');
      expect(den.settings.denoise).toBe('tweedie');
      expect(den.calls).toBe(raw.calls + 1);
      const k = TAU2 / (TAU2 + sde.sigmaMin ** 2);
      for (let i = 0; i < raw.v.length; i++) expect(den.v[i]).toBeCloseTo(MU + k * (raw.v[i]! - MU), 5);
    });
  }

  it('ula at a target σ > 0 ends the same way; at σ = 0 it has nothing to remove', async () => {
    const sde = { sigmaMin: 0.05, sigmaMax: 2 };
    const steps = 30;
    const shape = [4, 4];
    const run = async (denoise: boolean, targetSigma: number) => {
      const sampler = createSampler('ula', { sde, steps, options: { denoise, targetSigma, stepSize: 0.002 } });
      const target = gaussianTarget(3, shape);
      const noise = new ChainNoise(11, 0, 3);
      const ctx: StepContext = { normal: (s = shape) => noise.tensor(s), auxNormal: () => tf.randomNormal([3, ...shape]) };
      let x = sampler.init(target, ctx);
      await sampler.prepare?.(x, target, ctx);
      for (let i = 0; i < steps; i++) {
        const next = tf.tidy(() => sampler.step(x, i, target, ctx));
        x.dispose();
        x = next;
      }
      const v = x.dataSync() as Float32Array;
      x.dispose();
      return { v, calls: target.calls, settings: sampler.settings };
    };
    const sigma = 0.2;
    const raw = await run(false, sigma);
    const den = await run(true, sigma);
    expect(raw.settings.denoise).toBe('none');
    expect(den.settings.denoise).toBe('tweedie');
    expect(den.calls).toBe(raw.calls + 1);
    const k = TAU2 / (TAU2 + sigma ** 2);
    for (let i = 0; i < raw.v.length; i++) expect(den.v[i]).toBeCloseTo(MU + k * (raw.v[i]! - MU), 5);
    const exact = await run(true, 0);
    expect(exact.settings.denoise).toBe('none');
    expect(exact.calls).toBe(raw.calls);
  });
});
