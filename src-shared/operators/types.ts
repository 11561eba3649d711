import type { Tensor } from '@tensorflow/tfjs-core';
import type { Shape2 } from './forward-model-spec.js';

/** [ny, nx], row-major, x fastest (the FITS order: NAXIS1 = nx); defined with the M.json types, which need no tfjs. */
export type { Shape2 };

/**
 * What is known about A Aᵀ (an operator on the output space), for the convolved likelihood
 * N(y; A x_t, Σ + σ_t² A Aᵀ).
 *  - 'pixel-diagonal': A Aᵀ = diag(d) in pixels (a mask); d has the output's size, row-major.
 *  - 'fourier-diagonal': A Aᵀ = F⁻¹ diag(d) F on the output grid, d in numpy fft2 layout
 *    (real, ≥ 0, output's size). `exact` is false where this is only an approximation
 *    (a zero-padded linear convolution is Toeplitz, not circulant).
 *  - 'none': nothing usable; the likelihood must solve with conjugate gradients.
 */
export type GramDescription =
  | { kind: 'pixel-diagonal'; diag: Float32Array; exact: true }
  | { kind: 'fourier-diagonal'; diag: Float32Array; exact: boolean }
  | { kind: 'none' };

/**
 * A linear operator A: R^{inShape} → R^{outShape}, batched over a leading dimension:
 * apply takes [B, ny, nx] (inShape) and returns [B, my, mx] (outShape); adjoint the reverse.
 * Both are pure tensor functions (callers wrap them in tf.tidy; they must not leak).
 */
export interface LinearOperator {
  readonly name: string;
  readonly inShape: Shape2;
  readonly outShape: Shape2;
  apply(x: Tensor): Tensor;
  adjoint(y: Tensor): Tensor;
  /** A Aᵀ as far as it is known exactly (or approximately, flagged). */
  gram(): GramDescription;
  /** Frees tensors held by the operator (precomputed weights, transfer functions). */
  dispose(): void;
}

/**
 * What is known about A itself (not only A Aᵀ), so that compositions can combine their Gram descriptions:
 * an operator diagonal in pixels (a mask) or in Fourier modes (uv sampling: A = F⁻¹ W F; exact: false for
 * the zero-padded PSF convolution, which is only approximately circulant). Optional: absent means no structure.
 */
export interface OperatorStructure {
  kind: 'pixel-diagonal' | 'fourier-diagonal';
  exact: boolean;
}

/** Optional extensions a LinearOperator may implement (all operators of src-shared/operators do). */
export interface StructuredOperator extends LinearOperator {
  readonly structure?: OperatorStructure;
  /**
   * The exact diagonal of A Aᵀ in pixels of the output grid (row-major), where it is cheap to know:
   * the "diagonal of A Aᵀ" approximation of the convolved likelihood. Undefined where not available.
   */
  gramDiagonal?(): Float32Array | undefined;
  /**
   * Which output pixels the operator reaches at all: 0 where row i of A is zero for certain (a mask stage's
   * removed pixels, wherever it stands in a chain), 1 where it may not be. Where the exact diagonal of A Aᵀ is
   * known this is its non-zero pattern; a chain whose diagonal is not (lens → psf → mask) still knows its last
   * mask's zeros. Undefined where nothing is known.
   */
  outputSupport?(): Uint8Array | undefined;
}
