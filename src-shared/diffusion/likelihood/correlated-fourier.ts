/**
 * Correlated stationary noise, Σ = σ² C with C = F⁻¹ diag(ρ) F circulant (../../operators/noise.ts), and
 * A Aᵀ = F⁻¹ diag(d) F exactly (uv sampling, a circular convolution, the identity), nothing masked: Σ and A Aᵀ share
 * the Fourier basis, so (Σ + c A Aᵀ)⁻¹ = F⁻¹ diag(1/(σ²ρ + c d)) F — one Fourier multiplier, exact, c = 0
 * included (the score at σ = 0, Aᵀ Σ⁻¹ r).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LinearOperator } from '../../operators/types.js';
import { Spectral2D } from '../spectral.js';
import { DataSpaceSolver } from './solver.js';

export class CorrelatedFourierSolver extends DataSpaceSolver {
  readonly method = 'correlated-fourier';
  private readonly spectral: Spectral2D;
  private readonly noise: tf.Tensor4D;
  private readonly diag: tf.Tensor4D;

  /** `diag`: A Aᵀ's Fourier multiplier and `correlation`: ρ (both numpy fft2 layout, [my, mx]); `variance`: σ². */
  constructor(operator: LinearOperator, reason: string, diag: Float32Array, correlation: Float32Array, variance: number) {
    super(operator, reason);
    const [my, mx] = operator.outShape;
    this.spectral = new Spectral2D(my, mx);
    this.diag = this.spectral.multiplier(diag);
    this.noise = this.spectral.multiplier(Float32Array.from(correlation, (v) => v * variance));
  }

  protected solveData(r: tf.Tensor, c: number): tf.Tensor {
    return this.spectral.apply(r, tf.reciprocal(tf.add(tf.mul(this.diag, c), this.noise)));
  }

  dispose(): void {
    this.diag.dispose();
    this.noise.dispose();
    this.spectral.dispose();
  }
}
