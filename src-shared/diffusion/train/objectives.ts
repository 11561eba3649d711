/**
 * Score-matching objectives (all return a scalar to minimise; callers differentiate it w.r.t. the parameters).
 *
 *  - Denoising score matching (Vincent 2011; NCSN weighting λ(σ) = σ²): with x̃ = x + σ z,
 *    ½ σ² ‖s(x̃, σ) + z/σ‖² = ½ ‖σ s(x̃, σ) + z‖². The network output is net = σ·s, so the loss is the mean over
 *    images and pixels of (net(x̃, σ) + z)² — 1 for a network that outputs 0, lower as it learns.
 *  - Hyvärinen score matching: E[½‖s(x)‖² + tr ∇ₓs(x)], the trace computed exactly (one gradient per dimension:
 *    meant for low-dimensional densities).
 *  - Sliced score matching (Song et al. 2019): E_v[vᵀ∇ₓ(vᵀs(x))] + ½‖s(x)‖² (variance-reduced form, Gaussian v)
 *    or + ½(vᵀs)² (plain form).
 */
import * as tf from '@tensorflow/tfjs-core';
import '../nn/gradients.js';

/** The network's output σ·s(x, σ) for a batch. */
export type NetFn = (x: tf.Tensor, sigma: tf.Tensor1D) => tf.Tensor;
/** A noise-free score s(x) for [B, d] points. */
export type ScoreFn = (x: tf.Tensor2D) => tf.Tensor2D;

/** DSM loss: mean of (net(x + σz, σ) + z)² over all elements. x, noise: [B, …]; sigma: [B]. */
export function dsmLoss(net: NetFn, x: tf.Tensor, noise: tf.Tensor, sigma: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const bshape = [sigma.shape[0], ...x.shape.slice(1).map(() => 1)];
    const xt = tf.add(x, tf.mul(noise, tf.reshape(sigma, bshape)));
    const out = net(xt, sigma);
    return tf.mean(tf.square(tf.add(out, noise))) as tf.Scalar;
  });
}

/** Hyvärinen's objective E[½‖s(x)‖² + tr ∇ₓ s(x)] with the exact Jacobian trace. x: [B, d]. */
export function hyvarinenLoss(score: ScoreFn, x: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const [b, d] = x.shape;
    const s = score(x);
    let trace: tf.Tensor = tf.zeros([b]);
    for (let i = 0; i < d; i++) {
      // ∂s_i/∂x_i for every point: the points are independent, so the gradient of Σ_b s_i(x_b) gives them all.
      const gi = tf.grad((xx: tf.Tensor) => tf.sum(tf.slice(score(xx as tf.Tensor2D), [0, i], [b, 1])))(x);
      trace = tf.add(trace, tf.reshape(tf.slice(gi, [0, i], [b, 1]), [b]));
    }
    const half = tf.mul(tf.sum(tf.square(s), 1), 0.5);
    return tf.mean(tf.add(half, trace)) as tf.Scalar;
  });
}

/**
 * Sliced score matching. v: [M, B, d] projection vectors (M per point, e.g. standard normal).
 * varianceReduced: ½‖s‖² (exact expectation over Gaussian v) instead of ½(vᵀs)².
 */
export function slicedLoss(score: ScoreFn, x: tf.Tensor2D, v: tf.Tensor3D, varianceReduced = true): tf.Scalar {
  return tf.tidy(() => {
    const [m, b, d] = v.shape;
    if (b !== x.shape[0] || d !== x.shape[1]) throw new Error(`slicedLoss: v has shape [${v.shape.join(', ')}], x [${x.shape.join(', ')}]`);
    const s = score(x);
    let total: tf.Tensor = tf.zeros([b]);
    for (let k = 0; k < m; k++) {
      const vk = tf.reshape(tf.slice(v, [k, 0, 0], [1, b, d]), [b, d]);
      // ∇ₓ(vᵀ s(x)) per point, then vᵀ of it: the directional second derivative.
      const g = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(score(xx as tf.Tensor2D), vk)))(x);
      const vJv = tf.sum(tf.mul(g, vk), 1);
      const quad = varianceReduced ? tf.mul(tf.sum(tf.square(s), 1), 0.5) : tf.mul(tf.square(tf.sum(tf.mul(s, vk), 1)), 0.5);
      total = tf.add(total, tf.add(vJv, quad));
    }
    return tf.div(tf.mean(total), m) as tf.Scalar;
  });
}
