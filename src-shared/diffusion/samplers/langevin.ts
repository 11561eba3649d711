/**
 * The Langevin building blocks shared by ula, ald and pc's corrector.
 *
 * Overdamped Langevin dynamics dx = D s(x) dt + √(2D) dW (the seed lecture's form with D the diffusion
 * constant; D = 1 samples p when s = ∇ log p) discretised by Euler–Maruyama with step Δ:
 *   x ← x + D Δ s(x) + √(2 D Δ) ξ,  ξ ~ N(0, I).
 * With s = 0 this is Brownian motion: ⟨|x − x₀|²⟩ = 2 d D t after time t = kΔ (d dimensions).
 */
import * as tf from '@tensorflow/tfjs-core';

/** Per-chain sums over every axis but the first, kept broadcastable: [B, 1, …]. */
export function perChainSum(t: tf.Tensor): tf.Tensor {
  const axes = [];
  for (let i = 1; i < t.rank; i++) axes.push(i);
  return tf.sum(t, axes, true);
}

/** One Euler–Maruyama step of overdamped Langevin dynamics; `step` is a number or a per-chain tensor [B, 1, …]. */
export function langevinStep(x: tf.Tensor, score: tf.Tensor, step: number | tf.Tensor, noise: tf.Tensor, diffusion = 1): tf.Tensor {
  return tf.tidy(() => {
    const dStep = typeof step === 'number' ? step * diffusion : tf.mul(step, diffusion);
    const amp = typeof dStep === 'number' ? Math.sqrt(2 * dStep) : tf.sqrt(tf.mul(dStep, 2));
    return tf.add(tf.add(x, tf.mul(score, dStep)), tf.mul(noise, amp));
  });
}

/** Dimension from which the corrector's norms are taken per chain (below it, over the batch). */
export const PER_CHAIN_NORMS_MIN_DIM = 64;

/**
 * The step size of Song et al.'s Langevin corrector, ε = 2 (snr ‖z‖/‖s‖)².
 * For images (dimension ≥ 64) the norms are each chain's own — they concentrate, and a chain's path then does
 * not depend on the other chains of its batch (the same samples whatever the batch split). In low dimension
 * (the 2-D densities) a single chain's ‖s‖ is no estimate of its typical size (it vanishes at a mode, and ε with
 * it blows up), so the norms are averaged over the batch as in Song et al.'s implementation; such runs are
 * reproducible for a given seed and batch size.
 */
export function snrStepSize(score: tf.Tensor, noise: tf.Tensor, snr: number): tf.Tensor {
  return tf.tidy(() => {
    const dim = score.size / score.shape[0];
    const gn = tf.sqrt(perChainSum(tf.square(score)));
    const zn = tf.sqrt(perChainSum(tf.square(noise)));
    if (dim >= PER_CHAIN_NORMS_MIN_DIM) return tf.mul(tf.square(tf.div(zn, tf.maximum(gn, 1e-30))), 2 * snr * snr);
    const ratio = tf.div(tf.mean(zn), tf.maximum(tf.mean(gn), 1e-30));
    return tf.mul(tf.square(ratio), 2 * snr * snr);
  });
}
