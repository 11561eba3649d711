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

const NO_PRECONDITIONER: Preconditioner = {
  description: 'no preconditioner',
  apply: (u) => tf.clone(u),
  dispose: () => {},
};
