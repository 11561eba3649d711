/**
 * How the annealed samplers (pc, em, ald) end. After the last level the chains are draws of p_σmin(x | y), the
 * posterior blurred by noise of σmin, which matters where σmin is not small against the posterior's own spread
 * (galaxy-64: σmin = 0.01 in pixel/255 units). Three endings (docs/sampling.md):
 *  - 'draw' (the default): a second-order Tweedie draw of x₀ given the final state
 *    (tweedieDraw): Tweedie's mean plus noise with the diagonal of Cov[x₀ | x_σmin, y]; per-pixel intervals close
 *    to their level (measured with galaxy-64); 2·8 + 1 score evaluations per chain;
 *  - 'mean': Tweedie's formula x̂ = x + σmin² ∇ log p_σmin(x | y) = E[x₀ | x_σmin = x, y], as in Song et al.'s
 *    samplers: removes the σmin noise, and with it some of the posterior's own finest-scale spread (intervals
 *    slightly narrow); one score evaluation per chain;
 *  - 'none': the raw draws (intervals slightly wide).
 * The posterior mean product does not depend on the choice: it is Rao–Blackwellised (rao-blackwell.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { SamplerOptions, SamplerTarget } from './types.js';

/** x + σ² s(x, σ): Tweedie's estimate of the noise-free state (the target's score, likelihood included). */
export function tweedieDenoise(x: tf.Tensor, target: SamplerTarget, sigma: number): tf.Tensor {
  return tf.tidy(() => tf.add(x, tf.mul(target.score(x, sigma), sigma * sigma)));
}

/** Rademacher probes for the Jacobian's diagonal in tweedieDraw. */
export const TWEEDIE_DRAW_PROBES = 8;

/**
 * A draw of x₀ given the final state, to second order: x̂ + √v ⊙ z, with x̂ = x + σ² s(x) Tweedie's mean and v
 * the diagonal of Tweedie's second moment Cov[x₀ | x_σ = x, y] = σ² (I + σ² ∇s(x)), clipped to [0, σ²] (a
 * covariance between 0 and that of the noise removed). The Jacobian's diagonal is estimated from `probes`
 * Rademacher vectors u (Hutchinson): diag ∇s ≈ mean over u of u ⊙ (s(x + h u) − s(x − h u))/(2h), h = σ/100.
 * The mean (x̂) removes the σ noise of the raw draw, and with it the posterior's own spread at that scale (the
 * denoised draws are too smooth, their intervals slightly narrow); the raw draw keeps all of the σ noise (slightly
 * wide); this puts back the part of that spread the target says x₀ still has. 2·probes + 1 score evaluations
 * per chain; the probes' evaluations are not draws (the Rao–Blackwellised mean leaves them out).
 */
export function tweedieDraw(x: tf.Tensor, target: SamplerTarget, sigma: number, normal: () => tf.Tensor, probes = TWEEDIE_DRAW_PROBES): tf.Tensor {
  const s2 = sigma * sigma;
  const h = sigma / 100;
  return tf.tidy(() => {
    const mean = tf.add(x, tf.mul(target.score(x, sigma), s2));
    let diag: tf.Tensor = tf.zerosLike(x);
    for (let k = 0; k < probes; k++) {
      const next = tf.tidy(() => {
        const u = tf.sign(normal());
        const ds = tf.sub(target.score(tf.add(x, tf.mul(u, h)), sigma, true), target.score(tf.sub(x, tf.mul(u, h)), sigma, true));
        return tf.add(diag, tf.mul(u, tf.div(ds, 2 * h * probes)));
      });
      diag.dispose();
      diag = next;
    }
    const variance = tf.mul(tf.clipByValue(tf.add(tf.mul(diag, s2), 1), 0, 1), s2);
    return tf.add(mean, tf.mul(tf.sqrt(variance), normal()));
  });
}

/** How an annealed sampler ends: a second-order Tweedie draw (default), Tweedie's mean, or the raw draw. */
export const DENOISE_MODES = ['draw', 'mean', 'none'] as const;
export type DenoiseMode = (typeof DENOISE_MODES)[number];

export function isDenoiseMode(s: string): s is DenoiseMode {
  return (DENOISE_MODES as readonly string[]).includes(s);
}

export const DEFAULT_DENOISE: DenoiseMode = 'draw';

export function denoiseSetting(options: SamplerOptions): DenoiseMode {
  const d = options.denoise ?? DEFAULT_DENOISE;
  return d === true ? 'mean' : d === false ? 'none' : d;
}

/** The final step for a denoise mode at the last level σ: x itself for 'none'. */
export function finishDraw(mode: DenoiseMode, x: tf.Tensor, target: SamplerTarget, sigma: number, normal: () => tf.Tensor): tf.Tensor {
  if (mode === 'mean') return tweedieDenoise(x, target, sigma);
  if (mode === 'draw') return tweedieDraw(x, target, sigma, normal);
  return x;
}

/** The settings entry that says how the draws end. */
export function denoiseLabel(mode: DenoiseMode): string {
  return mode === 'mean' ? 'tweedie' : mode === 'draw' ? `tweedie-draw (${TWEEDIE_DRAW_PROBES} probes)` : 'none';
}
