/**
 * Layers of the score networks, as pure tensor functions of their parameters (NHWC images).
 * Every op used here has forward-op gradients on all backends (wasm included).
 */
import * as tf from '@tensorflow/tfjs-core';
import './gradients.js';

export type Get = (name: string) => tf.Tensor;

/** SiLU x·sigmoid(x) from differentiable ops (second derivatives work: used by the small MLPs). */
export function silu<T extends tf.Tensor>(x: T): T {
  return tf.mul(x, tf.sigmoid(x));
}

const siluOp = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  const s = tf.sigmoid(x);
  save([x, s]);
  return {
    value: tf.mul(x, s),
    // d/dx x·σ(x) = σ(x)·(1 + x·(1 − σ(x)))
    gradFunc: (dy: tf.Tensor, [xs, ss]: tf.Tensor[]) => tf.mul(dy, tf.mul(ss, tf.add(tf.mul(xs, tf.sub(1, ss)), 1))),
  };
});

/** SiLU with a hand-written first derivative (fewer passes over the activations; first order only): the U-Net's. */
export function siluFast<T extends tf.Tensor>(x: T): T {
  return siluOp(x) as T;
}

/** Number of GroupNorm groups for c channels (NCSN++: min(c/4, 32)). */
export function groupsFor(c: number): number {
  return Math.max(1, Math.min(Math.floor(c / 4), 32));
}

/** GroupNorm over (H, W, C/G) per sample and group, then a per-channel affine map. */
export function groupNorm(x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor, groups: number, eps = 1e-6): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, c] = x.shape;
    if (c % groups !== 0) throw new Error(`groupNorm: ${c} channels do not split into ${groups} groups`);
    const xg = tf.reshape(x, [n, h * w, groups, c / groups]);
    const mean = tf.mean(xg, [1, 3], true);
    const centred = tf.sub(xg, mean);
    const variance = tf.mean(tf.square(centred), [1, 3], true);
    const normed = tf.mul(centred, tf.rsqrt(tf.add(variance, eps)));
    return tf.add(tf.mul(tf.reshape(normed, [n, h, w, c]), gamma), beta) as tf.Tensor4D;
  });
}

/** x [B, in] · w [in, out] + b. */
export function dense(x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  return tf.add(tf.matMul(x, w as tf.Tensor2D), b) as tf.Tensor2D;
}

/**
 * Gaussian random Fourier features of log σ: [sin(2π W log σ), cos(2π W log σ)] with fixed W ~ N(0, scale²).
 * sigma [B] → [B, 2·len(W)].
 */
export function fourierEmbedding(sigma: tf.Tensor1D, W: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => {
    const proj = tf.mul(tf.reshape(tf.log(sigma), [-1, 1]), tf.mul(tf.reshape(W, [1, -1]), 2 * Math.PI));
    return tf.concat([tf.sin(proj), tf.cos(proj)], 1) as tf.Tensor2D;
  });
}

/** 2×2 average pooling (the down-sampling of the U-Net, before a 3×3 convolution). */
export function downsample(x: tf.Tensor4D): tf.Tensor4D {
  return tf.avgPool(x, 2, 2, 'valid');
}

/** Nearest-neighbour ×2 up-sampling by reshape and broadcast (its gradient is a sum: forward ops only). */
export function upsample(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, c] = x.shape;
    const x6 = tf.reshape(x, [n, h, 1, w, 1, c]);
    const b = tf.mul(x6, tf.ones([1, 1, 2, 1, 2, 1]));
    return tf.reshape(b, [n, 2 * h, 2 * w, c]) as tf.Tensor4D;
  });
}
