/**
 * A Aᵀ of a zero-padded PSF convolution with a separable kernel, diagonalised exactly.
 *
 * With h = s·u vᵀ (rank 1), the zero-padded 2-D convolution is the Kronecker product A = s (T_y ⊗ T_x) of the
 * zero-padded 1-D convolutions (T_y[i, k] = u[i − k + c_y]): the zero padding only truncates each Toeplitz
 * factor. Hence A Aᵀ = s² (T_y T_yᵀ) ⊗ (T_x T_xᵀ) = (U_y ⊗ U_x) diag(s² λ_y ⊗ λ_x) (U_y ⊗ U_x)ᵀ from two small
 * symmetric eigen-decompositions, and (σ_n² I + c A Aᵀ)⁻¹ r = U_y [(U_yᵀ R U_x) / (σ_n² + c s² λ_y λ_xᵀ)] U_xᵀ —
 * exact, four (ny×ny, nx×nx) matrix products per image. This is what a Gaussian PSF gives (its sampled kernel
 * is exactly separable). For other kernels the rank-1 part is the best preconditioner we have for the conjugate
 * gradients: unlike the circulant approximation it has the edges right.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { PsfKernel } from '../operators/psf.js';
import { gramOf, rankOne, symmetricEigen, toeplitzConvolution } from '../linalg/dense.js';

function transposeSquare(a: Float64Array, n: number): Float64Array {
  const t = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) t[j * n + i] = a[i * n + j];
  return t;
}

/** Largest image side for which the eigen-decompositions are done (Jacobi: O(n³) per sweep). */
export const KRONECKER_MAX_SIDE = 512;
/** Relative Frobenius error below which a kernel counts as separable. */
export const SEPARABLE_TOL = 1e-6;

/** Whether the kernel is separable (rank 1 to SEPARABLE_TOL), without building the decomposition. */
export function kernelIsSeparable(kernel: PsfKernel): boolean {
  return rankOne(kernel.data, kernel.shape[0], kernel.shape[1]).relError < SEPARABLE_TOL;
}

/**
 * The kernel's rank-1 part h ≈ s·u vᵀ, its zero-padded 1-D convolutions T_y, T_x on an [ny, nx] grid, and the
 * eigen-decompositions of T_yT_yᵀ and T_xT_xᵀ (side 'data', A Aᵀ's factors) or T_yᵀT_y and T_xᵀT_x ('image').
 */
export function rankOneEigenbases(kernel: PsfKernel, [ny, nx]: [number, number], side: 'data' | 'image' = 'data') {
  const [ky, kx] = kernel.shape;
  const r1 = rankOne(kernel.data, ky, kx);
  const ty = toeplitzConvolution(r1.u, kernel.center[0], ny);
  const tx = toeplitzConvolution(r1.v, kernel.center[1], nx);
  const ey = symmetricEigen(side === 'data' ? gramOf(ty, ny) : gramOf(transposeSquare(ty, ny), ny), ny);
  const ex = symmetricEigen(side === 'data' ? gramOf(tx, nx) : gramOf(transposeSquare(tx, nx), nx), nx);
  return { r1, ty, tx, ey, ex };
}

/** A basis U = U_y ⊗ U_x as tensors (eigenvectors in columns) and their transposes. */
export interface KroneckerTensors {
  uy: tf.Tensor2D;
  uyT: tf.Tensor2D;
  ux: tf.Tensor2D;
  uxT: tf.Tensor2D;
}

/**
 * U [scale(Uᵀ r)] for r [B, ny, nx]: four (ny×ny, nx×nx) matrix products; `scale` acts on the coefficients
 * U_yᵀ R U_x in their transposed layout [B, nx, ny].
 */
export function throughKroneckerBasis(r: tf.Tensor, [ny, nx]: [number, number], u: KroneckerTensors, scale: (coefficients: tf.Tensor) => tf.Tensor): tf.Tensor {
  const b = r.shape[0]!;
  let t = tf.matMul(tf.reshape(r, [b * ny, nx]), u.ux); // R U_x: [b, ny(i), nx(j')]
  t = tf.reshape(tf.transpose(tf.reshape(t, [b, ny, nx]), [0, 2, 1]), [b * nx, ny]);
  t = tf.matMul(t, u.uy); // [b, nx(j'), ny(i')] = U_yᵀ R U_x transposed
  const z = scale(tf.reshape(t, [b, nx, ny]));
  t = tf.matMul(tf.reshape(z, [b * nx, ny]), u.uyT); // [b, nx(j'), ny(i)]
  t = tf.reshape(tf.transpose(tf.reshape(t, [b, nx, ny]), [0, 2, 1]), [b * ny, nx]);
  t = tf.matMul(t, u.uxT); // [b, ny, nx]
  return tf.reshape(t, [b, ny, nx]);
}

export class KroneckerGram {
  readonly relError: number;
  readonly separable: boolean;
  private readonly uy: tf.Tensor2D; // [ny, ny] eigenvectors in columns
  private readonly uyT: tf.Tensor2D;
  private readonly ux: tf.Tensor2D;
  private readonly uxT: tf.Tensor2D;
  private readonly lam: tf.Tensor3D; // [1, nx, ny]: s² λ_x[j] λ_y[i]
  // the factors themselves, for applying A = s (T_y ⊗ T_x) (exact for a separable kernel)
  private readonly tyT: tf.Tensor2D; // s·T_yᵀ [ny, ny]
  private readonly ty: tf.Tensor2D; // s·T_y
  private readonly txT: tf.Tensor2D; // T_xᵀ [nx, nx]
  private readonly tx: tf.Tensor2D;
  private disposed = false;

  /**
   * side 'data': the decomposition of A Aᵀ (for the exact data-space solve); 'image': of AᵀA = s² (T_yᵀT_y) ⊗
   * (T_xᵀT_x), for (v I + c AᵀA)⁻¹ on the unknown's grid (the conjugate gradients' preconditioner).
   */
  constructor(
    kernel: PsfKernel,
    readonly shape: [number, number],
    readonly side: 'data' | 'image' = 'data',
  ) {
    const [ny, nx] = shape;
    const { r1, ty: tyM, tx: txM, ey, ex } = rankOneEigenbases(kernel, shape, side);
    this.relError = r1.relError;
    this.separable = r1.relError < SEPARABLE_TOL;
    this.ty = tf.tensor2d(Float32Array.from(tyM, (v) => v * r1.s), [ny, ny]);
    this.tyT = tf.transpose(this.ty);
    this.tx = tf.tensor2d(Float32Array.from(txM), [nx, nx]);
    this.txT = tf.transpose(this.tx);
    const lam = new Float32Array(nx * ny);
    for (let j = 0; j < nx; j++) for (let i = 0; i < ny; i++) lam[j * ny + i] = r1.s * r1.s * Math.max(0, ex.values[j]) * Math.max(0, ey.values[i]);
    this.uy = tf.tensor2d(Float32Array.from(ey.vectors), [ny, ny]);
    this.uyT = tf.transpose(this.uy);
    this.ux = tf.tensor2d(Float32Array.from(ex.vectors), [nx, nx]);
    this.uxT = tf.transpose(this.ux);
    this.lam = tf.tensor3d(lam, [1, nx, ny]);
  }

  /** (v I + c A Aᵀ)⁻¹ r (side 'data') or (v I + c AᵀA)⁻¹ r (side 'image') for r [B, ny, nx], rank-1 kernel. */
  solve(r: tf.Tensor, v: number, c: number): tf.Tensor {
    if (this.disposed) throw new Error('KroneckerGram used after dispose()');
    return tf.tidy(() => throughKroneckerBasis(r, this.shape, { uy: this.uy, uyT: this.uyT, ux: this.ux, uxT: this.uxT }, (t) => tf.div(t, tf.add(tf.mul(this.lam, c), v))));
  }

  /** A x = s T_y X T_xᵀ for x [B, ny, nx]: the convolution itself (equal to the PSF operator's for a separable kernel). */
  apply(x: tf.Tensor): tf.Tensor {
    return this.sandwich(x, this.txT, this.tyT);
  }

  /** Aᵀ y = s T_yᵀ Y T_x. */
  adjoint(y: tf.Tensor): tf.Tensor {
    return this.sandwich(y, this.tx, this.ty);
  }

  /** L X R for x [B, ny, nx], given R (right factor, [nx, nx]) and Lᵀ ([ny, ny]). */
  private sandwich(x: tf.Tensor, right: tf.Tensor2D, leftT: tf.Tensor2D): tf.Tensor {
    return tf.tidy(() => {
      const [ny, nx] = this.shape;
      const b = x.shape[0];
      let t = tf.matMul(tf.reshape(x, [b * ny, nx]), right);
      t = tf.reshape(tf.transpose(tf.reshape(t, [b, ny, nx]), [0, 2, 1]), [b * nx, ny]);
      t = tf.matMul(t, leftT);
      return tf.transpose(tf.reshape(t, [b, nx, ny]), [0, 2, 1]);
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of [this.uy, this.uyT, this.ux, this.uxT, this.lam, this.ty, this.tyT, this.tx, this.txT]) t.dispose();
  }
}
