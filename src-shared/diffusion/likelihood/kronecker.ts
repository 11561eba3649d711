/**
 * A zero-padded PSF convolution with a separable kernel (a Gaussian PSF) and Σ = σ_n² I: A Aᵀ is a Kronecker
 * product of two small symmetric matrices, and (Σ + c A Aᵀ)⁻¹ r follows exactly from their eigen-decompositions
 * (../kronecker.ts). A itself is applied through the same factors: the same map, several times cheaper.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { PsfKernel } from '../../operators/psf.js';
import { KroneckerGram } from '../kronecker.js';
import { DataSpaceSolver } from './solver.js';

export class KroneckerSolver extends DataSpaceSolver {
  readonly method = 'kronecker';
  private readonly gram: KroneckerGram;

  /** `shape`: the image's (= the data's) [ny, nx]; `variance`: σ_n². */
  constructor(kernel: PsfKernel, shape: [number, number], reason: string, private readonly variance: number) {
    const gram = new KroneckerGram(kernel, shape);
    super(gram, reason);
    this.gram = gram;
  }

  protected solveData(r: tf.Tensor, c: number): tf.Tensor {
    return this.gram.solve(r, this.variance, c);
  }

  dispose(): void {
    this.gram.dispose();
  }
}
