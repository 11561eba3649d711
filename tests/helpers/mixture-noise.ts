/**
 * A non-Gaussian noise of known density for the learned-noise tests: i.i.d. per pixel,
 * Q(n) = Σ_k w_k N(n; 0, s_k²). Its convolution with N(0, σ²) is the mixture with variances s_k² + σ², so the
 * score of Q ∗ N(0, σ²) — what a noise-conditional score network learns at level σ — is exact in closed form.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../../src-shared/diffusion/nn/rng.js';
import type { ScoreModel } from '../../src-shared/diffusion/types.js';

export interface Mixture {
  weights: number[];
  sigmas: number[];
}

/** 0.9·N(0, 0.02²) + 0.1·N(0, 0.12²): impulsive, σ 0.0424, excess kurtosis 16.3. */
export const MIXTURE_NOISE: Mixture = { weights: [0.9, 0.1], sigmas: [0.02, 0.12] };

export function mixtureVariance(m: Mixture): number {
  return m.weights.reduce((a, w, k) => a + w * m.sigmas[k] ** 2, 0);
}

export function mixtureExcessKurtosis(m: Mixture): number {
  const m4 = 3 * m.weights.reduce((a, w, k) => a + w * m.sigmas[k] ** 4, 0);
  return m4 / mixtureVariance(m) ** 2 - 3;
}

/** d/dn log (Q ∗ N(0, σ²))(n), float64. */
export function mixtureScore(m: Mixture, n: number, sigma = 0): number {
  let p = 0;
  let dp = 0;
  const logs = m.sigmas.map((s, k) => {
    const v = s * s + sigma * sigma;
    return Math.log(m.weights[k]) - 0.5 * Math.log(v) - (n * n) / (2 * v);
  });
  const top = Math.max(...logs);
  m.sigmas.forEach((s, k) => {
    const v = s * s + sigma * sigma;
    const e = Math.exp(logs[k] - top);
    p += e;
    dp += e * (-n / v);
  });
  return dp / p;
}

/** n i.i.d. draws of the mixture. */
export function drawMixtureNoise(rng: Rng, n: number, m: Mixture): Float32Array {
  const z = rng.fillNormal(new Float32Array(n));
  const u = rng.fillUniform(new Float32Array(n), 0, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let k = 0;
    let c = m.weights[0];
    while (u[i] > c && k < m.weights.length - 1) c += m.weights[++k];
    out[i] = m.sigmas[k] * z[i];
  }
  return out;
}

/**
 * The exact noise-conditional score of the mixture as a ScoreModel in a noise prior's model units
 * u = (n − offset)/scale: ∇_u log (Q_u ∗ N(0, s²))(u), one level s for the batch.
 */
export function mixtureScoreModel(m: Mixture, offset: number, scale: number): ScoreModel {
  return {
    kind: 'analytic',
    trainedShape: null,
    supportsShape: () => true,
    score(u: tf.Tensor, sigma: tf.Tensor1D): tf.Tensor {
      return tf.tidy(() => {
        const s = sigma.dataSync()[0]!;
        const n = tf.add(u, offset / scale);
        const parts = m.sigmas.map((sk, k) => {
          const v = (sk / scale) ** 2 + s * s;
          return { v, lw: tf.sub(Math.log(m.weights[k]!) - 0.5 * Math.log(v), tf.div(tf.square(n), 2 * v)) };
        });
        const lse = tf.logSumExp(tf.stack(parts.map((q) => q.lw)), 0);
        let out: tf.Tensor = tf.zerosLike(u);
        for (const q of parts) out = tf.add(out, tf.mul(tf.exp(tf.sub(q.lw, lse)), tf.div(n, -q.v)));
        return out;
      });
    },
    dispose() {},
  };
}
