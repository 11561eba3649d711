/**
 * Preconditioners for the conjugate gradients' image-space system (I + c AᵀWA) u = b (conjugate-gradients.ts):
 * approximations of (I + k AᵀA)⁻¹ with W replaced by its mean w̄, k = c·w̄. In order of preference:
 *  - the PSF is the operator (possibly followed by masks) and the image is small enough for the
 *    eigen-decompositions: the Kronecker form of the PSF kernel's rank-1 part (../kronecker.ts, side 'image'),
 *    exact for a separable kernel and, unlike the circulant approximation, right at the edges;
 *  - A Aᵀ has an (approximate) Fourier multiplier on a grid of the unknown's shape: the circulant approximation
 *    of AᵀA with that multiplier;
 *  - none.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GramDescription, LinearOperator } from '../../operators/types.js';
import { KRONECKER_MAX_SIDE, KroneckerGram } from '../kronecker.js';
import { Spectral2D } from '../spectral.js';
import { dft2Matrices } from '../../operators/dft-matrices.js';
import { kernelRfft2 } from '../../operators/fft.js';
import type { PsfInOperator } from './choose.js';

export interface Preconditioner {
  /** For the likelihood's description, e.g. 'preconditioner: circulant approximation of AᵀA'. */
  readonly description: string;
  /** ≈ (I + k AᵀA)⁻¹ u for u [B, ny, nx]; a pure tensor function. */
  apply(u: tf.Tensor, k: number): tf.Tensor;
  dispose(): void;
}

export function choosePreconditioner(operator: LinearOperator, gram: GramDescription, psf: PsfInOperator | null): Preconditioner {
  const [my, mx] = operator.outShape;
  if (psf && Math.max(my, mx) <= KRONECKER_MAX_SIDE) return new KroneckerPreconditioner(new KroneckerGram(psf.kernel, [my, mx], 'image'));
  const [ny, nx] = operator.inShape;
  if (gram.kind === 'fourier-diagonal' && ny === my && nx === mx) return new CirculantPreconditioner(gram.diag, [my, mx]);
  return NO_PRECONDITIONER;
}

class KroneckerPreconditioner implements Preconditioner {
  readonly description: string;
  constructor(private readonly gram: KroneckerGram) {
    this.description = `preconditioner: Kronecker form of the PSF's rank-1 part (kernel rank-1 error ${gram.relError.toExponential(1)})`;
  }
  apply(u: tf.Tensor, k: number): tf.Tensor {
    return this.gram.solve(u, 1, k);
  }
  dispose(): void {
    this.gram.dispose();
  }
}

/** AᵀA ≈ F⁻¹ d F where A Aᵀ ≈ F⁻¹ d F on a grid of the same shape: the same approximate spectrum. */
export class CirculantPreconditioner implements Preconditioner {
  readonly description = 'preconditioner: circulant approximation of AᵀA';
  private readonly spectral: Spectral2D;
  private readonly d: tf.Tensor4D;
  constructor(diag: Float32Array, [ny, nx]: [number, number]) {
    this.spectral = new Spectral2D(ny, nx);
    this.d = this.spectral.multiplier(diag);
  }
  apply(u: tf.Tensor, k: number): tf.Tensor {
    return this.spectral.apply(u, tf.reciprocal(tf.add(tf.mul(this.d, k), 1)));
  }
  dispose(): void {
    this.d.dispose();
    this.spectral.dispose();
  }
}

/**
 * P (I + k C₊)⁻¹ Pᵀ for a two-level Toeplitz K, a zero-padded linear convolution with an even kernel k(Δ) given at
 * every offset |Δ| < n (the visibility likelihood's dirty beam): C is the circulant on the (2ny − 1)×(2nx − 1) grid
 * whose first column is k wrapped, so that K = P C Pᵀ exactly (P: the image grid inside the larger one); C₊ has C's
 * eigenvalues (real: k is even) clamped at 0, which keeps the preconditioner symmetric positive definite — C itself
 * is not semi-definite (the beam truncated at the field's offsets: the coverage smeared by a Dirichlet kernel). Applied
 * as pad, Fourier divide, crop, at the cost of a product with K. Exactness does not depend on it (conjugate
 * gradients reach the same solution with any such preconditioner); its benefit does: measured in docs/radio.md.
 */
export class EmbeddedCirculantPreconditioner implements Preconditioner {
  readonly description = "preconditioner: P (I + k C)⁻¹ Pᵀ, C the circulant embedding of K on the grid of offsets (eigenvalues clamped at 0)";
  private readonly kh: number;
  private readonly py: number;
  private readonly m1: tf.Tensor2D;
  private readonly m2: tf.Tensor2D;
  private readonly m3: tf.Tensor2D;
  private readonly m4: tf.Tensor2D;
  private readonly lam: tf.Tensor3D; // [kh, 2, py], the eigenvalues twice (re and im rows)

  constructor(
    kernel: Float64Array,
    private readonly shape: [number, number],
  ) {
    const [ny, nx] = shape;
    const ky = 2 * ny - 1;
    const kx = 2 * nx - 1;
    if (kernel.length !== ky * kx) throw new RangeError(`EmbeddedCirculantPreconditioner: the kernel must be [${ky}, ${kx}]`);
    const { kh, m1, m2, m3, m4 } = dft2Matrices(shape, shape, [ky, kx]);
    this.kh = kh;
    this.py = ky;
    const h = kernelRfft2(kernel, ky, kx, ny - 1, nx - 1, ky, kx);
    const lam = new Float32Array(kh * 2 * ky);
    for (let l = 0; l < ky; l++) {
      for (let k = 0; k < kh; k++) {
        const v = Math.max(0, h.re[l * kh + k]);
        lam[k * 2 * ky + l] = v;
        lam[k * 2 * ky + ky + l] = v;
      }
    }
    this.m1 = tf.tensor2d(m1, [nx, 2 * kh]);
    this.m2 = tf.tensor2d(m2, [2 * ny, 2 * ky]);
    this.m3 = tf.tensor2d(m3, [2 * ky, 2 * ny]);
    this.m4 = tf.tensor2d(m4, [2 * kh, nx]);
    this.lam = tf.tensor3d(lam, [kh, 2, ky]);
  }

  apply(u: tf.Tensor, k: number): tf.Tensor {
    return tf.tidy(() => {
      const b = u.shape[0]!;
      const [ny, nx] = this.shape;
      const { kh, py } = this;
      let t: tf.Tensor2D = tf.matMul(tf.reshape(u, [b * ny, nx]), this.m1); // [b·ny, 2kh]
      t = tf.reshape(tf.transpose(tf.reshape(t, [b, ny, 2, kh]), [0, 3, 2, 1]), [b * kh, 2 * ny]);
      t = tf.matMul(t, this.m2); // [b·kh, 2py]
      const z = tf.div(tf.reshape(t, [b, kh, 2, py]), tf.add(tf.mul(this.lam, k), 1));
      t = tf.matMul(tf.reshape(z, [b * kh, 2 * py]), this.m3); // [b·kh, 2ny]
      t = tf.reshape(tf.transpose(tf.reshape(t, [b, kh, 2, ny]), [0, 3, 2, 1]), [b * ny, 2 * kh]);
      return tf.reshape(tf.matMul(t, this.m4), [b, ny, nx]);
    });
  }

  dispose(): void {
    for (const t of [this.m1, this.m2, this.m3, this.m4, this.lam]) t.dispose();
  }
}

/**
 * V (I + k Λ)⁻¹ Vᵀ from the eigendecomposition K = V Λ Vᵀ (V row-major [N, N], column j the eigenvector of Λ_j): the
 * exact inverse up to float32 rounding, for grids small enough to hold V (N² floats) and to decompose K.
 */
export class EigenPreconditioner implements Preconditioner {
  readonly description = 'preconditioner: V (I + k Λ)⁻¹ Vᵀ from the eigendecomposition of K';
  private readonly v: tf.Tensor2D;
  private readonly vt: tf.Tensor2D;
  private readonly lam: tf.Tensor2D;
  constructor(
    values: Float64Array,
    vectors: Float32Array,
    private readonly shape: [number, number],
  ) {
    const n = shape[0] * shape[1];
    if (values.length !== n || vectors.length !== n * n) throw new RangeError(`EigenPreconditioner: need ${n} eigenvalues and ${n}² vector entries`);
    this.v = tf.tensor2d(vectors, [n, n]);
    this.vt = tf.transpose(this.v);
    this.lam = tf.tensor2d(Float32Array.from(values, (x) => Math.max(0, x)), [1, n]);
  }
  apply(u: tf.Tensor, k: number): tf.Tensor {
    return tf.tidy(() => {
      const b = u.shape[0]!;
      const n = this.shape[0] * this.shape[1];
      const y = tf.div(tf.matMul(tf.reshape(u, [b, n]), this.v), tf.add(tf.mul(this.lam, k), 1));
      return tf.reshape(tf.matMul(y, this.vt), [b, this.shape[0], this.shape[1]]);
    });
  }
  dispose(): void {
    for (const t of [this.v, this.vt, this.lam]) t.dispose();
  }
}

/**
 * The deflation (spectral) preconditioner of I + k G from G's top eigenpairs G v_i = λ_i v_i (i < m, orthonormal,
 * λ_m the next Ritz value below them):
 *   P⁻¹ = V diag(1/(1 + k λ_i)) Vᵀ + (I − V Vᵀ)/(1 + k λ_m).
 * Symmetric positive definite for any orthonormal V; with exact pairs the preconditioned spectrum is 1 on V's span
 * and (1 + k λ)/(1 + k λ_m) ∈ (1/(1 + k λ_m), 1] on the rest, so the condition number falls from 1 + k λ₁ to
 * 1 + k λ_m. Here k is the full weight c (G = AᵀWA carries W). Cost per application: two products [B, N]·[N, m].
 */
export class DeflationPreconditioner implements Preconditioner {
  readonly description: string;
  private readonly v: tf.Tensor2D;
  /** Vᵀ [m, N], kept: the wasm backend's product with a transposed right factor (transposeB) takes its slow loop, 3.2 against 0.5 ms of CPU for 8 chains on 100 pairs of 4096 */
  private readonly vt: tf.Tensor2D;
  private readonly lam: tf.Tensor2D;
  readonly next: number;
  constructor(
    values: ArrayLike<number>,
    vectors: Float64Array | Float32Array,
    readonly m: number,
    private readonly shape: [number, number],
  ) {
    const n = shape[0] * shape[1];
    if (values.length <= m || vectors.length !== n * m) throw new RangeError(`DeflationPreconditioner: need ${m + 1} values and ${n} × ${m} vector entries`);
    // kept: built while a solve runs, possibly inside the caller's tidy
    this.v = tf.keep(tf.tensor2d(Float32Array.from(vectors), [n, m]));
    this.vt = tf.keep(tf.transpose(this.v));
    this.lam = tf.keep(tf.tensor2d(Float32Array.from({ length: m }, (_, i) => Math.max(0, values[i])), [1, m]));
    this.next = Math.max(0, values[m]);
    this.description = `preconditioner: deflation by AᵀWA's top ${m} eigenpairs (Lanczos; λ₁ ${values[0].toPrecision(3)}, λ${m + 1} ${this.next.toPrecision(3)})`;
  }
  apply(u: tf.Tensor, k: number): tf.Tensor {
    return tf.tidy(() => {
      const b = u.shape[0]!;
      const n = this.shape[0] * this.shape[1];
      const flat = tf.reshape(u, [b, n]);
      const e = 1 / (1 + k * this.next);
      // V (diag(1/(1 + kλ)) − e) Vᵀ u + e u
      const y = tf.mul(tf.matMul(flat, this.v), tf.sub(tf.reciprocal(tf.add(tf.mul(this.lam, k), 1)), e));
      return tf.reshape(tf.add(tf.matMul(y, this.vt), tf.mul(flat, e)), u.shape);
    });
  }
  dispose(): void {
    this.v.dispose();
    this.vt.dispose();
    this.lam.dispose();
  }
}

const NO_PRECONDITIONER: Preconditioner = {
  description: 'no preconditioner',
  apply: (u) => tf.clone(u),
  dispose: () => {},
};
