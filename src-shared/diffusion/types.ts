import type { Tensor, Tensor1D } from '@tensorflow/tfjs-core';
/** A score model s(x, σ) ≈ ∇x log p_σ(x) in PRIOR units. x: [B, ny, nx] (images) or [B, d] (2-D densities); sigma: [B]. */
export interface ScoreModel {
  readonly kind: string;                       // 'unet' | 'gaussian-field' | 'analytic' | 'mlp'
  /** [ny, nx] the model was trained on / defined for, or null if any size works. */
  readonly trainedShape: [number, number] | null;
  /** Whether `score` can be evaluated on this shape (fully convolutional U-Net: divisible by its down-sampling factor). */
  supportsShape(shape: number[]): boolean;
  score(x: Tensor, sigma: Tensor1D): Tensor;   // differentiable w.r.t. x (DPS backpropagates through it)
  /**
   * Symmetries the model was trained to have (augmentation): 'dihedral' (the 8 flips and 90° rotations),
   * 'flips' (the 4 flips, rectangular training images); absent or null: none known. See dihedral.ts.
   */
  readonly invariance?: Invariance | null;
  dispose(): void;
}
export type Invariance = 'dihedral' | 'flips';
/** A VE SDE, σ(t) = σmin (σmax/σmin)^t. */
export interface VeSde { sigmaMin: number; sigmaMax: number }
