/**
 * The Rao–Blackwellised posterior mean. An annealed sampler (pc, em, ald) evaluates the posterior score at states
 * x_σ that it treats as draws of p(x_σ | y), and Tweedie's formula turns each evaluation into
 *   x̂ = x_σ + σ² ∇ log p(x_σ | y) = E[x₀ | x_σ, y],
 * whose average over draws of x_σ is the posterior mean E[x₀ | y] (tower rule), with less Monte Carlo variance
 * than the mean of the final draws x₀ themselves (Rao–Blackwell: the spread of x₀ around E[x₀ | x_σ, y] is
 * averaged out). The final denoising step (samplers/denoise.ts) is the one estimate at σmin; this averages every
 * score evaluation of the chains' last stretch.
 *
 * Which stretch: the score uses the convolved likelihood N(y; A x_σ, Σ + σ² A Aᵀ), an approximation whose error
 * grows with σ (the Tweedie estimate at σ = 0.1 is 1.2 dB worse than at σmin for galaxy-64, docs/sampling.md).
 * The window is the levels where the approximation's extra variance is at most the noise's own,
 * σ² A Aᵀ ≼ Σ, i.e. σ ≤ σ_RB = 1/√λmax(Aᵀ W A) in prior units (and at least σmin, so that the final level always
 * counts). For a PSF of unit sum and white noise σ_n this is σ_n/F, the noise in prior units.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Per-chain running sum of Tweedie estimates over the score evaluations with σ ≤ `sigmaMax`, for one batch. */
export class ConditionalMeanAccumulator {
  /** Allocated up front, so that a run's tensor count stays the same from its first step to its last. */
  private sum: tf.Tensor | null;
  /** Estimates summed per chain (every evaluation covers the whole batch). */
  count = 0;

  /** `shape`: the batch's, [b, ...per-chain shape]. */
  constructor(
    readonly sigmaMax: number,
    shape: number[],
  ) {
    this.sum = tf.zeros(shape);
  }

  /** Whether an estimate at σ counts (the schedule's last level is σmin up to rounding). */
  inWindow(sigma: number): boolean {
    return sigma <= this.sigmaMax * (1 + 1e-9);
  }

  /** Adds x + σ² s(x, σ) for every chain when σ is in the window; may run inside tf.tidy. */
  add(x: tf.Tensor, score: tf.Tensor, sigma: number): void {
    if (!this.inWindow(sigma)) return;
    if (!this.sum) throw new Error('ConditionalMeanAccumulator used after dispose()');
    tf.tidy(() => this.addEstimate(tf.add(x, tf.mul(score, sigma * sigma)), sigma));
  }

  /** Adds an estimate of E[x₀ | x_σ, y] for every chain when σ is in the window; may run inside tf.tidy. */
  addEstimate(estimate: tf.Tensor, sigma: number): void {
    if (!this.inWindow(sigma)) return;
    if (!this.sum) throw new Error('ConditionalMeanAccumulator used after dispose()');
    const sum = this.sum;
    const next = tf.keep(tf.tidy(() => tf.add(sum, estimate)));
    sum.dispose();
    this.sum = next;
    this.count++;
  }

  /** The per-chain averages, [b, ...shape] chain-major (prior units); null when nothing was in the window. */
  async result(): Promise<Float32Array | null> {
    if (!this.sum || this.count === 0) return null;
    const n = this.count;
    const mean = tf.tidy(() => tf.div(this.sum!, n));
    try {
      return (await mean.data()) as Float32Array;
    } finally {
      mean.dispose();
    }
  }

  dispose(): void {
    this.sum?.dispose();
    this.sum = null;
    this.count = 0;
  }
}

/** σ_RB of the module comment from λmax(a² Aᵀ W A); σmin when the data carry no information (λ = 0). */
export function conditionalMeanWindow(lambdaMax: number, sigmaMin: number): number {
  if (!(lambdaMax > 0) || !Number.isFinite(lambdaMax)) return sigmaMin;
  return Math.max(sigmaMin, 1 / Math.sqrt(lambdaMax));
}
