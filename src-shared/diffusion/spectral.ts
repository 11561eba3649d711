/**
 * Real circulant operators F⁻¹ diag(w) F on an [ny, nx] periodic grid (F the 2-D DFT), with w real and even
 * (w(k) = w(−k)), applied to batches [B, ny, nx] with a multiplier that may differ per batch element (one per
 * noise level σ_b). Written as dense matrix products — a real DFT along x, a complex DFT along y and their
 * inverses — so that it runs on every tfjs backend (wasm has no FFT kernel) and is differentiable with the
 * ordinary matMul/transpose gradients. Cost per image: 2·(2·ny·nx·kh + 4·kh·ny²) multiply-adds, kh = ⌊nx/2⌋+1.
 *
 * Multipliers are kept in the layout of the intermediate spectrum, [kh, 1, ny] (column k of the half spectrum,
 * row l), built from a full numpy fft2-layout array with `halfLayout`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { dft2Matrices } from '../operators/dft-matrices.js';

export class Spectral2D {
  readonly ny: number;
  readonly nx: number;
  readonly kh: number;
  private readonly m1: tf.Tensor2D;
  private readonly m2: tf.Tensor2D;
  private readonly m3: tf.Tensor2D;
  private readonly m4: tf.Tensor2D;
  private disposed = false;

  constructor(ny: number, nx: number) {
    if (!Number.isInteger(ny) || !Number.isInteger(nx) || ny < 1 || nx < 1) throw new RangeError(`Spectral2D: bad shape [${ny}, ${nx}]`);
    this.ny = ny;
    this.nx = nx;
    const { kh, m1, m2, m3, m4 } = dft2Matrices([ny, nx], [ny, nx], [ny, nx]);
    this.kh = kh;
    this.m1 = tf.tensor2d(m1, [nx, 2 * kh]);
    this.m2 = tf.tensor2d(m2, [2 * ny, 2 * ny]);
    this.m3 = tf.tensor2d(m3, [2 * ny, 2 * ny]);
    this.m4 = tf.tensor2d(m4, [2 * kh, nx]);
  }

  /** Multiply–adds per image of one `apply`. */
  get macsPerImage(): number {
    const { ny, nx, kh } = this;
    return 2 * (ny * nx * 2 * kh + kh * 4 * ny * ny);
  }

  /**
   * A full fft2-layout array ([ny, nx] row-major, index [l, k]) in the multiplier layout [kh, ny] (row-major),
   * as a plain array (wrap it with `multiplier`).
   */
  halfLayout(full: ArrayLike<number>): Float32Array {
    const { ny, nx, kh } = this;
    if (full.length !== ny * nx) throw new RangeError(`Spectral2D: ${full.length} values for [${ny}, ${nx}]`);
    const out = new Float32Array(kh * ny);
    for (let k = 0; k < kh; k++) for (let l = 0; l < ny; l++) out[k * ny + l] = full[l * nx + k];
    return out;
  }

  /** A constant multiplier tensor [1, kh, 1, ny] from a full fft2-layout array. */
  multiplier(full: ArrayLike<number>): tf.Tensor4D {
    return tf.tensor4d(this.halfLayout(full), [1, this.kh, 1, this.ny]);
  }

  /**
   * F⁻¹ diag(w) F x for x [B, ny, nx] and w broadcastable to [B, kh, 1, ny] (e.g. [1, kh, 1, ny] or
   * [B, kh, 1, ny]). w must be real and even for the result to be the exact (real) circulant product.
   */
  apply(x: tf.Tensor, w: tf.Tensor): tf.Tensor3D {
    if (this.disposed) throw new Error('Spectral2D: used after dispose()');
    return tf.tidy(() => {
      const { ny, nx, kh } = this;
      const b = x.shape[0];
      let t = tf.matMul(tf.reshape(x, [b * ny, nx]), this.m1); // [b·ny, 2kh]
      t = tf.reshape(tf.transpose(tf.reshape(t, [b, ny, 2, kh]), [0, 3, 2, 1]), [b * kh, 2 * ny]);
      t = tf.matMul(t, this.m2); // [b·kh, 2ny] spectrum (re | im over l)
      const z = tf.mul(tf.reshape(t, [b, kh, 2, ny]), w);
      t = tf.matMul(tf.reshape(z, [b * kh, 2 * ny]), this.m3);
      t = tf.reshape(tf.transpose(tf.reshape(t, [b, kh, 2, ny]), [0, 3, 2, 1]), [b * ny, 2 * kh]);
      t = tf.matMul(t, this.m4); // [b·ny, nx]
      return tf.reshape(t, [b, ny, nx]);
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const m of [this.m1, this.m2, this.m3, this.m4]) m.dispose();
  }
}

/** Largest |w(k) − w(−k)| relative to max |w| for a full fft2-layout array (0 for an even spectrum). */
export function evenSymmetryError(full: ArrayLike<number>, ny: number, nx: number): number {
  let maxAbs = 0;
  let maxDiff = 0;
  for (let l = 0; l < ny; l++) {
    for (let k = 0; k < nx; k++) {
      const a = full[l * nx + k];
      const b = full[((ny - l) % ny) * nx + ((nx - k) % nx)];
      maxAbs = Math.max(maxAbs, Math.abs(a));
      maxDiff = Math.max(maxDiff, Math.abs(a - b));
    }
  }
  return maxAbs > 0 ? maxDiff / maxAbs : 0;
}
