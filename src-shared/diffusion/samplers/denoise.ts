/**
 * How the samplers end. After the last level the chains are draws of p_σ(x | y) at σ = σmin (ula: at its target
 * σ), the posterior blurred by noise of σ, which matters where σ is not small against the posterior's own spread
 * (galaxy-64: σmin = 0.01 in pixel/255 units) — and wherever the data are more precise than σ (high-S/N data:
 * a noise below a·σ per pixel in data units, a the flux scale). Every ending first removes the noise with the
 * prior alone and then conditions on the data with the exact likelihood (docs/sampling.md, *Endings*):
 *   x̂ = x + σ² s_prior(x, σ)                   Tweedie's E[x₀ | x_σ = x] under the prior,
 *   x₀ | x, y ≈ N(x̂, V) conditioned on y = a A x₀ + n, with V ≈ σ² I in the gain (the approximation):
 *   x̂ + K (y' − a A x̂),  K = σ² a Aᵀ (Σ + a²σ² A Aᵀ)⁻¹ (target.condition).
 * For a Gaussian prior whose variance is large against σ² this is exact at any noise level: the data fix the
 * directions they measure to their own precision however far below σ it lies, and the prior the rest. (Adding
 * the prior's and the likelihood's scores at σ, x + σ² (s_prior + s_lik), the earlier form, counts the shrinkage
 * twice where the data dominate: its residual is σ² a A s_prior, which leaves χ² per pixel far above 1 when the
 * noise is far below a·σ.) Three endings:
 *  - 'draw' (the default): a draw of x₀ given the final state: x̂ + √v ⊙ z with v the diagonal of the prior's
 *    Cov[x₀ | x_σ] = σ² (I + σ² ∇s_prior), then conditioned by Matheron's rule, x₁ + K (y' + η − a A x₁) with η
 *    a draw of the data's noise; 2·8 + 1 prior score evaluations and one likelihood solve per chain;
 *  - 'mean': the conditioned Tweedie mean x̂ + K (y' − a A x̂), without noise (intervals slightly narrow);
 *  - 'none': the raw draws (intervals slightly wide; not fitted below σ).
 * The posterior mean product does not depend on the choice: it is Rao–Blackwellised (rao-blackwell.ts) with the
 * same conditioned estimate.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { SamplerTarget } from './types.js';
import { DEFAULT_DENOISE, type DenoiseMode, type SamplerOptions } from './spec.js';

/**
 * Tweedie's estimate of the noise-free state: x + σ² s_prior(x, σ), conditioned on the data (target.condition;
 * recorded for the Rao–Blackwellised mean). Without data, Tweedie's formula with the prior's score.
 */
export function tweedieDenoise(x: tf.Tensor, target: SamplerTarget, sigma: number): tf.Tensor {
  return tf.tidy(() => {
    const xHat = tf.add(x, tf.mul(target.priorScore(x, sigma), sigma * sigma));
    return target.condition ? target.condition(xHat, sigma, { record: true }) : xHat;
  });
}

/** Rademacher probes for the Jacobian's diagonal in tweedieDraw. */
export const TWEEDIE_DRAW_PROBES = 8;

/**
 * A draw of x₀ given the final state, to second order: x̂ + √v ⊙ z, with x̂ = x + σ² s_prior(x) Tweedie's mean
 * and v the diagonal of Tweedie's second moment Cov[x₀ | x_σ = x] = σ² (I + σ² ∇s_prior(x)), clipped to [0, σ²]
 * (a covariance between 0 and that of the noise removed); then conditioned on the data by Matheron's rule
 * (target.condition with a draw of the data's noise). The Jacobian's diagonal is estimated from `probes`
 * Rademacher vectors u (Hutchinson): diag ∇s ≈ mean over u of u ⊙ (s(x + h u) − s(x − h u))/(2h), h = σ/100.
 * The mean (x̂) removes the σ noise of the raw draw, and with it the posterior's own spread at that scale (the
 * denoised draws are too smooth, their intervals slightly narrow); the raw draw keeps all of the σ noise (slightly
 * wide); this puts back the part of that spread the prior says x₀ still has, and the data's own. 2·probes + 1
 * prior score evaluations and two likelihood solves per chain (the conditioned mean x̂ + K (y' − a A x̂) is
 * recorded for the Rao–Blackwellised mean, as the 'mean' ending records it; the probes are not draws).
 */
export function tweedieDraw(x: tf.Tensor, target: SamplerTarget, sigma: number, normal: (shape?: number[]) => tf.Tensor, probes = TWEEDIE_DRAW_PROBES): tf.Tensor {
  const s2 = sigma * sigma;
  const h = sigma / 100;
  return tf.tidy(() => {
    const mean = tf.add(x, tf.mul(target.priorScore(x, sigma), s2));
    let diag: tf.Tensor = tf.zerosLike(x);
    for (let k = 0; k < probes; k++) {
      const next = tf.tidy(() => {
        const u = tf.sign(normal());
        const ds = tf.sub(target.priorScore(tf.add(x, tf.mul(u, h)), sigma), target.priorScore(tf.sub(x, tf.mul(u, h)), sigma));
        return tf.add(diag, tf.mul(u, tf.div(ds, 2 * h * probes)));
      });
      diag.dispose();
      diag = next;
    }
    const variance = tf.mul(tf.clipByValue(tf.add(tf.mul(diag, s2), 1), 0, 1), s2);
    const draw = tf.add(mean, tf.mul(tf.sqrt(variance), normal()));
    if (!target.condition) return draw;
    target.condition(mean, sigma, { record: true }); // the last level's estimate for the Rao–Blackwellised mean, as 'mean' records it
    return target.condition(draw, sigma, { noise: normal });
  });
}

/** How a sampler ends: a second-order Tweedie draw (default), Tweedie's mean, or the raw draw. */
export function denoiseSetting(options: SamplerOptions): DenoiseMode {
  const d = options.denoise ?? DEFAULT_DENOISE;
  return d === true ? 'mean' : d === false ? 'none' : d;
}

/** The final step for a denoise mode at the last level σ: x itself for 'none'. */
export function finishDraw(mode: DenoiseMode, x: tf.Tensor, target: SamplerTarget, sigma: number, normal: (shape?: number[]) => tf.Tensor): tf.Tensor {
  if (mode === 'mean') return tweedieDenoise(x, target, sigma);
  if (mode === 'draw') return tweedieDraw(x, target, sigma, normal);
  return x;
}

/** The settings entry that says how the draws end. */
export function denoiseLabel(mode: DenoiseMode): string {
  return mode === 'mean' ? 'tweedie' : mode === 'draw' ? `tweedie-draw (${TWEEDIE_DRAW_PROBES} probes)` : 'none';
}
