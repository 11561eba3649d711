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

/**
 * The step size of Song et al.'s Langevin corrector: ε = 2 (snr ‖z‖/‖s‖)², per chain (each chain's own norms,
 * so that a chain's path does not depend on the other chains of its batch).
 */
export function snrStepSize(score: tf.Tensor, noise: tf.Tensor, snr: number): tf.Tensor {
  return tf.tidy(() => {
    const g2 = perChainSum(tf.square(score));
    const z2 = perChainSum(tf.square(noise));
    return tf.mul(tf.div(z2, tf.maximum(g2, 1e-30)), 2 * snr * snr);
  });
}
