/**
 * A Aᵀ = diag(d) in pixels (a mask, the identity): (Σ + c A Aᵀ)⁻¹ r = r / (σ² + c d), elementwise — exact for
 * any σ map and any masked pixels (r is 0 there).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LinearOperator } from '../../operators/types.js';
import { DataSpaceSolver } from './solver.js';

export class PixelDiagonalSolver extends DataSpaceSolver {
  readonly method = 'pixel-diagonal';
  private readonly variance: tf.Tensor3D;
  private readonly diag: tf.Tensor3D;

  /** `variance`: σ² per data pixel (any positive value where masked), `diag`: the diagonal of A Aᵀ; row-major [my, mx]. */
  constructor(operator: LinearOperator, reason: string, diag: Float32Array, variance: Float32Array) {
    super(operator, reason);
    const [my, mx] = operator.outShape;
    this.variance = tf.tensor3d(variance, [1, my, mx]);
    this.diag = tf.tensor3d(diag, [1, my, mx]);
  }

  protected solveData(r: tf.Tensor, c: number): tf.Tensor {
    return tf.div(r, tf.add(this.variance, tf.mul(this.diag, c)));
  }

  dispose(): void {
    this.variance.dispose();
    this.diag.dispose();
  }
}
