/**
 * The eight flips and 90° rotations of an image (the dihedral group D4), for a prior trained with them as
 * augmentation: such a prior's density is invariant, p(g x) = p(x), so its exact score is equivariant,
 * s(x) = g⁻¹ s(g x) for every g, and a network's departures from that are pure error. The sampler may use, at
 * each noise level, the score through one transform g chosen from σ (deterministic: the same for every chain,
 * batch and worker, so a seed still fixes the samples); over the hundreds of levels of a run the chains then follow
 * the group-averaged score, whose error is smaller, for no extra evaluations.
 *
 * Transform k (0…7) of x [B, ny, nx]: transpose if k & 4, then flip the rows if k & 1, then the columns if k & 2.
 * Every step is a permutation, so g⁻¹ = gᵀ: undo the flips, then the transpose. A model trained on rectangular
 * images saw only the four flips (k < 4). The trainer's augmentation of single images (Float32Array, no tensors)
 * is augmentInto in train/data.ts: the same group.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Invariance } from './types.js';

export const DIHEDRAL_COUNT = 8;

/** How many of the transforms a model's invariance allows: all 8, or the 4 flips. */
export function transformCount(inv: Invariance): number {
  return inv === 'dihedral' ? 8 : 4;
}

/** g_k x for a batch of images [B, ny, nx] (a transpose turns ny×nx into nx×ny). */
export function dihedralApply(x: tf.Tensor, k: number): tf.Tensor {
  return tf.tidy(() => {
    let y = k & 4 ? tf.transpose(x, [0, 2, 1]) : x;
    if (k & 1) y = tf.reverse(y, 1);
    if (k & 2) y = tf.reverse(y, 2);
    return y === x ? tf.clone(x) : y;
  });
}

/** g_k⁻¹ y: the inverse of dihedralApply (= its transpose). */
export function dihedralInverse(y: tf.Tensor, k: number): tf.Tensor {
  return tf.tidy(() => {
    let x = y;
    if (k & 2) x = tf.reverse(x, 2);
    if (k & 1) x = tf.reverse(x, 1);
    if (k & 4) x = tf.transpose(x, [0, 2, 1]);
    return x === y ? tf.clone(y) : x;
  });
}

/**
 * The transform used at noise level σ: a hash of σ's float32 bits, so neighbouring levels of a geometric
 * schedule get unrelated transforms and a level's predictor and corrector (same σ) the same one.
 */
export function dihedralIndexFor(sigma: number, count = DIHEDRAL_COUNT): number {
  const bits = new Uint32Array(new Float32Array([sigma]).buffer)[0]!;
  // a 32-bit integer hash (xorshift-multiply), then the top three bits
  let h = bits ^ 0x9e3779b9;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 29) % count;
}

/** s_g(x) = g⁻¹ s(g x) for a score function of images [B, ny, nx]. */
export function dihedralScore(score: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor, k: number): tf.Tensor {
  return tf.tidy(() => dihedralInverse(score(dihedralApply(x, k)), k));
}
