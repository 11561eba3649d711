/**
 * Classical deconvolution baselines the learned posterior is compared with (`npm run eval`, the model cards):
 *  - Richardson–Lucy: x ← x · Aᵀ(y / A x) / Aᵀ1, for an operator with non-negative entries (a PSF);
 *    data clipped at 0 and A x floored at a small ε (RL assumes Poisson-like, non-negative data).
 *  - Wiener (Tikhonov form): the minimiser of |y − A x|² + λ |x|², i.e. the Wiener filter of a white signal
 *    of variance σ²/λ, solved exactly for the real (zero-padded, non-circulant) operator by conjugate gradients
 *    on (AᵀA + λ I) x = Aᵀ y. No circulant approximation, so no wrap-around artefacts at the edges.
 * Both report every iterate / setting so an evaluation can pick each method's best setting.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LinearOperator } from '../operators/types.js';

const EPS = 1e-12;

/** Richardson–Lucy iterations; calls `onIterate(k, x)` with each iterate's pixels ([ny*nx], k from 1). */
export async function richardsonLucy(
  A: LinearOperator,
  y: Float32Array,
  iterations: number,
  onIterate?: (k: number, x: Float32Array) => void | Promise<void>,
): Promise<Float32Array> {
  const [my, mx] = A.outShape;
  const [ny, nx] = A.inShape;
  const yt = tf.tidy(() => tf.relu(tf.tensor3d(y, [1, my, mx])));
  const norm = tf.tidy(() => tf.maximum(A.adjoint(tf.ones([1, my, mx])), EPS));
  // start from a flat image with the data's total flux
  const flux = Math.max(EPS, y.reduce((s, v) => s + Math.max(v, 0), 0));
  let x = tf.fill([1, ny, nx], flux / (ny * nx));
  try {
    for (let k = 1; k <= iterations; k++) {
      const next = tf.tidy(() => {
        const ratio = tf.div(yt, tf.maximum(A.apply(x), EPS));
        return tf.div(tf.mul(x, A.adjoint(ratio)), norm);
      });
      x.dispose();
      x = next;
      if (onIterate) await onIterate(k, (await x.data()) as Float32Array);
    }
    return (await x.data()) as Float32Array;
  } finally {
    x.dispose();
    yt.dispose();
    norm.dispose();
  }
}

/** Solves (AᵀA + λI) x = Aᵀ y by conjugate gradients (float32 tensors); returns x and the final relative residual. */
export async function wienerTikhonov(
  A: LinearOperator,
  y: Float32Array,
  lambda: number,
  opts: { tol?: number; maxIter?: number } = {},
): Promise<{ x: Float32Array; relResidual: number; iterations: number }> {
  if (!(lambda > 0)) throw new RangeError(`wienerTikhonov: λ must be positive, got ${lambda}`);
  const tol = opts.tol ?? 1e-5;
  const maxIter = opts.maxIter ?? 500;
  const [my, mx] = A.outShape;
  const [ny, nx] = A.inShape;
  const normalOp = (v: tf.Tensor) => tf.tidy(() => tf.add(A.adjoint(A.apply(v)), tf.mul(v, lambda)));
  const b = tf.tidy(() => A.adjoint(tf.tensor3d(y, [1, my, mx])));
  let x: tf.Tensor = tf.zeros([1, ny, nx]);
  let r: tf.Tensor = b.clone();
  let p: tf.Tensor = b.clone();
  const bnorm = Math.sqrt((await tf.tidy(() => tf.sum(tf.square(b))).data())[0]!) || 1;
  let rs = (await tf.tidy(() => tf.sum(tf.square(r))).data())[0]!;
  let k = 0;
  try {
    for (; k < maxIter && Math.sqrt(rs) / bnorm > tol; k++) {
      const Ap = normalOp(p);
      const pAp = (await tf.tidy(() => tf.sum(tf.mul(p, Ap))).data())[0]!;
      const alpha = rs / pAp;
      const [xn, rn] = tf.tidy(() => [tf.add(x, tf.mul(p, alpha)), tf.sub(r, tf.mul(Ap, alpha))]);
      Ap.dispose();
      x.dispose();
      r.dispose();
      x = xn!;
      r = rn!;
      const rsNew = (await tf.tidy(() => tf.sum(tf.square(r))).data())[0]!;
      const pn = tf.tidy(() => tf.add(r, tf.mul(p, rsNew / rs)));
      p.dispose();
      p = pn;
      rs = rsNew;
    }
    return { x: (await x.data()) as Float32Array, relResidual: Math.sqrt(rs) / bnorm, iterations: k };
  } finally {
    for (const t of [x, r, p, b]) t.dispose();
  }
}
