/**
 * What the convolved likelihood (../likelihood.ts) asks of a way of solving with Σ + c A Aᵀ (c = a²σ², the
 * prior's noise level in data units): one object per method — pixel-diagonal.ts, fourier.ts, kronecker.ts,
 * conjugate-gradients.ts for diagonal Σ; correlated-fourier.ts and correlated-cg.ts for correlated noise;
 * learned-noise.ts for a learned noise prior (not Gaussian: its `solve` is −Aᵀ s_Q(r) at the level c) — chosen by
 * choose.ts.
 */
import * as tf from '@tensorflow/tfjs-core';

export type LikelihoodMethod = 'pixel-diagonal' | 'fourier-diagonal' | 'kronecker' | 'cg' | 'correlated-fourier' | 'correlated-cg' | 'learned-noise';

export interface CgStats {
  solves: number;
  iterations: number;
  /** Solves stopped by maxIter before reaching the tolerance. */
  capped: number;
  /** Largest relative residual at the end of a solve. */
  maxRelResidual: number;
}

export function noCgStats(): CgStats {
  return { solves: 0, iterations: 0, capped: 0, maxRelResidual: 0 };
}

/** Warm-start memory of the conjugate-gradient solves for one batch of chains. */
export class CgWarmStart {
  v: tf.Tensor | null = null;
  reset(): void {
    this.v?.dispose();
    this.v = null;
  }
}

/** A and Aᵀ, batched: [B, ny, nx] ↔ [B, my, mx]. */
export interface ForwardMap {
  apply(x: tf.Tensor): tf.Tensor;
  adjoint(y: tf.Tensor): tf.Tensor;
}

export interface LikelihoodSolver {
  readonly method: LikelihoodMethod;
  /** One line for reports: how Σ + c A Aᵀ is solved, and why this way. */
  readonly description: string;
  /**
   * A and Aᵀ as this method applies them: the operator's own, or (Kronecker) an exactly equal factored form
   * that is cheaper.
   */
  readonly forward: ForwardMap;
  /**
   * Aᵀ (Σ + c A Aᵀ)⁻¹ r for data residuals r [B, my, mx] (0 on masked pixels) and c > 0: the score's direction
   * on the unknown's grid, [B, ny, nx]. The exact methods solve in data space and apply Aᵀ; conjugate gradients
   * solve the equivalent image-space system (see conjugate-gradients.ts), warm-started from `warm`.
   * The correlated-noise methods accept c = 0 too (Aᵀ Σ⁻¹ r, which has no elementwise form there).
   * Pure tensor function (the caller tidies).
   */
  solve(r: tf.Tensor, c: number, warm?: CgWarmStart): tf.Tensor;
  /** The iterative solves' counts (zero for the exact methods); settle() adds what is still on the device. */
  readonly stats: CgStats;
  settle(): Promise<void>;
  /** Frees the tensors this solver made (not those it was lent). */
  dispose(): void;
}

/** The exact methods: (Σ + c A Aᵀ)⁻¹ r in data space in closed form, then Aᵀ. */
export abstract class DataSpaceSolver implements LikelihoodSolver {
  abstract readonly method: LikelihoodMethod;
  readonly description: string;
  readonly stats: CgStats = noCgStats();

  constructor(
    readonly forward: ForwardMap,
    reason: string,
  ) {
    this.description = `exact: ${reason}`;
  }

  /** (Σ + c A Aᵀ)⁻¹ r for r [B, my, mx]. */
  protected abstract solveData(r: tf.Tensor, c: number): tf.Tensor;

  solve(r: tf.Tensor, c: number): tf.Tensor {
    return tf.tidy(() => this.forward.adjoint(this.solveData(r, c)));
  }

  async settle(): Promise<void> {}

  abstract dispose(): void;
}
