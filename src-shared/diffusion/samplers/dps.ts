/**
 * `dps`: diffusion posterior sampling (Chung et al. 2023, their Algorithm for VE). The likelihood is evaluated at
 * the Tweedie estimate x̂₀ = x + σ_i² s(x, σ_i) and differentiated through the network:
 *   x' = x + (σ_i² − σ_{i+1}²) s(x, σ_i) + √(σ_i² − σ_{i+1}²) z          (reverse diffusion, prior score only)
 *   x ← x' − ζ ∇_x ‖W(y − A x̂₀(x))‖² / ‖W(y − A x̂₀(x))‖                 (per chain)
 * with the misfit in prior units (W = σ̄/σ_i per pixel, divided by the flux scale) so that ζ (default 1) does not
 * depend on the data's units. DPS is a heuristic: it does not sample the exact posterior (its samples are not
 * calibrated), but it needs no structure of A A ᵀ. Cost per step: one score evaluation plus one forward and one
 * backward pass through the network. The chains end at σmin as denoise.ts says (default: a data-conditioned
 * Tweedie draw).
 */
import * as tf from '@tensorflow/tfjs-core';
import { sigmaSchedule } from '../sde.js';
import { SamplerInputError, type Sampler, type SamplerFactoryArgs } from './types.js';
import { ensureGradients } from '../nn/gradients.js';
import { denoiseLabel, denoiseSetting, finishDraw } from './denoise.js';

// autodiff through the network and the operator (CJS tfjs-core in Node registers no gradients itself)
ensureGradients();

export function createDps({ sde, steps, options }: SamplerFactoryArgs): Sampler {
  const sig = sigmaSchedule(sde, steps + 1);
  const zeta = options.zeta ?? 1;
  const denoise = denoiseSetting(options);
  if (!(zeta > 0) || !Number.isFinite(zeta)) throw new SamplerInputError(`dps: ζ must be positive, got ${zeta}`);
  return {
    name: 'dps',
    steps,
    evalsPerStep: 2,
    settings: { zeta, predictor: 'reverse-diffusion', denoise: denoiseLabel(denoise) },
    init: (target, ctx) => {
      if (!target.misfit) throw new SamplerInputError('dps samples a posterior: it needs data (use pc, em or ald for prior samples)');
      return tf.tidy(() => tf.mul(ctx.normal(), sde.sigmaMax));
    },
    sigmaAfter: (i) => sig[i + 1],
    step(x, i, target, ctx) {
      const misfit = target.misfit!;
      const s2 = sig[i] * sig[i];
      return tf.tidy(() => {
        const s = target.priorScore(x, sig[i]);
        const norm = tf.reshape(misfit(tf.add(x, tf.mul(s, s2))), [-1, ...x.shape.slice(1).map(() => 1)]);
        const g = tf.grad((xx: tf.Tensor) => {
          const x0 = tf.add(xx, tf.mul(target.priorScore(xx, sig[i]), s2));
          return tf.sum(tf.square(misfit(x0)));
        })(x);
        const d = s2 - sig[i + 1] * sig[i + 1];
        const xp = tf.add(tf.add(x, tf.mul(s, d)), tf.mul(ctx.normal(), Math.sqrt(d)));
        const next = tf.sub(xp, tf.mul(tf.div(g, tf.maximum(norm, 1e-30)), zeta));
        return i === steps - 1 ? finishDraw(denoise, next, target, sig[i + 1], ctx.normal) : next;
      });
    },
  };
}
