/**
 * `em`: Euler–Maruyama on the reverse VE SDE dx = −g(t)² s(x, σ(t)) dt + g(t) dW̄, from t = 1 (x ~ N(0, σmax² I))
 * to t = 0 in `steps` equal steps Δt = 1/steps:
 *   x ← x + g(t_i)² Δt s(x, σ(t_i)) + g(t_i) √Δt z.
 * One score evaluation per step. With the convolved likelihood this predictor alone is biased (its error does
 * not shrink with the step count: the likelihood approximation at σ > 0 steers it); pc adds a corrector.
 */
import * as tf from '@tensorflow/tfjs-core';
import { diffusionSquared, sigmaAt, timeGrid } from '../sde.js';
import type { Sampler, SamplerFactoryArgs } from './types.js';
import { denoiseLabel, denoiseSetting, finishDraw } from './denoise.js';

export function createEm({ sde, steps, options }: SamplerFactoryArgs): Sampler {
  const t = timeGrid(steps + 1);
  const denoise = denoiseSetting(options);
  const dt = 1 / steps;
  return {
    name: 'em',
    steps,
    evalsPerStep: 1,
    scoresAtDraws: true,
    settings: { predictor: 'euler-maruyama', denoise: denoiseLabel(denoise) },
    init: (_target, ctx) => tf.tidy(() => tf.mul(ctx.normal(), sde.sigmaMax)),
    sigmaAfter: (i) => sigmaAt(sde, t[i + 1]),
    step(x, i, target, ctx) {
      return tf.tidy(() => {
        const g2 = diffusionSquared(sde, t[i]);
        const s = target.score(x, sigmaAt(sde, t[i]));
        const next = tf.add(tf.add(x, tf.mul(s, g2 * dt)), tf.mul(ctx.normal(), Math.sqrt(g2 * dt)));
        return i === steps - 1 ? finishDraw(denoise, next, target, sigmaAt(sde, t[i + 1]), ctx.normal) : next;
      });
    },
  };
}
