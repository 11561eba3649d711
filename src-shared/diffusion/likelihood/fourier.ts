/**
 * A Aᵀ = F⁻¹ diag(d) F exactly (a circular convolution, uv sampling) and Σ = σ_n² I (one σ for every pixel,
 * nothing masked): (Σ + c A Aᵀ)⁻¹ = F⁻¹ diag(1/(σ_n² + c d)) F, one Fourier multiplier — exact.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LinearOperator } from '../../operators/types.js';
import { Spectral2D } from '../spectral.js';
import { DataSpaceSolver } from './solver.js';

export class FourierSolver extends DataSpaceSolver {
  readonly method = 'fourier-diagonal';
  private readonly spectral: Spectral2D;
  private readonly diag: tf.Tensor4D;

  /** `diag`: A Aᵀ's Fourier multiplier (numpy fft2 layout, [my, mx]); `variance`: σ_n². */
  constructor(
    operator: LinearOperator,
    reason: string,
    diag: Float32Array,
    private readonly variance: number,
  ) {
    super(operator, reason);
    const [my, mx] = operator.outShape;
    this.spectral = new Spectral2D(my, mx);
    this.diag = this.spectral.multiplier(diag);
  }

  protected solveData(r: tf.Tensor, c: number): tf.Tensor {
    return this.spectral.apply(r, tf.reciprocal(tf.add(tf.mul(this.diag, c), this.variance)));
  }

  dispose(): void {
    this.diag.dispose();
    this.spectral.dispose();
  }
}
