/**
 * Everything without a closed form — a non-separable PSF (only approximately circulant), a σ map or masked
 * pixels (which break the diagonal forms), lensing (no structure) — is solved by preconditioned conjugate
 * gradients on the unknown's grid, through the push-through identity
 *   Aᵀ (Σ + c A Aᵀ)⁻¹ r = (I + c AᵀWA)⁻¹ AᵀW r,   W = M Σ⁻¹ (0 on masked pixels).
 * This form, unlike the data-space system, keeps float32 accurate when c ≫ σ_n²: the data-space residual then
 * cancels between c A Aᵀ v and r and stalls near 10⁻² at large σ.
 *
 * Stopped at a relative residual ≤ `tol` (default 10⁻³; as I + c AᵀWA ≥ I it bounds the relative error of the
 * score) or after `maxIter` iterations (default 30), warm-started from the previous solution of the same chains.
 * The cap binds only at large σ (condition number 1 + c·λmax(AᵀWA) ~ 10⁵ there: hundreds of iterations to
 * converge), where the state is mostly injected noise and the annealing's later levels, which converge to `tol`
 * in a few iterations, set the target: the truncated Krylov solution is a stated approximation there, counted in
 * `stats` (solves that hit the cap, largest final residual) and reported. Measured: the 32×32 Gaussian-field
 * posterior with a non-separable PSF is reproduced within Monte Carlo error (tests/unit/samplers-cg).
 * Preconditioners: preconditioners.ts.
 *
 * Where the backend cannot read synchronously (../readback.ts), or when asked to (`onDevice`), the stopping
 * test stays on the device: fixed iterations with a per-chain freeze (cg-loop.ts), statistics read on settle().
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LinearOperator } from '../../operators/types.js';
import { syncReadable } from '../readback.js';
import { conjugateGradients, DeviceCgTally, DeviceStopping, HostStopping, type CgSystem } from './cg-loop.js';
import type { Preconditioner } from './preconditioners.js';
import { noCgStats, type CgWarmStart, type LikelihoodSolver } from './solver.js';

export interface CgOptions {
  tol: number;
  maxIter: number;
  /** Run the stopping test on the device even where the backend reads synchronously (for tests). */
  onDevice: boolean;
}

export class ConjugateGradientSolver implements LikelihoodSolver {
  readonly method = 'cg';
  readonly description: string;
  readonly stats = noCgStats();
  private readonly tally = new DeviceCgTally();

  /**
   * `weight`: W = M/σ² on the data grid, [1, my, mx] (lent: the caller disposes it); `meanWeight`: its mean
   * over all pixels, the preconditioner's stand-in for W. The preconditioner is taken over.
   */
  constructor(
    readonly forward: LinearOperator,
    reason: string,
    private readonly weight: tf.Tensor,
    private readonly meanWeight: number,
    private readonly preconditioner: Preconditioner,
    private readonly options: CgOptions,
  ) {
    const { tol, maxIter } = options;
    this.description = `conjugate gradients (${reason}): relative residual ≤ ${tol}, ≤ ${maxIter} iterations, warm-started; ${preconditioner.description}`;
  }

  solve(r: tf.Tensor, c: number, warm?: CgWarmStart): tf.Tensor {
    const op = this.forward;
    const system: CgSystem = {
      apply: (u) => tf.add(u, tf.mul(op.adjoint(tf.mul(op.apply(u), this.weight)), c)),
      precondition: (u) => this.preconditioner.apply(u, c * this.meanWeight),
    };
    const { tol, maxIter, onDevice } = this.options;
    return tf.tidy(() => {
      const b = op.adjoint(tf.mul(r, this.weight));
      const test = onDevice || !syncReadable() ? new DeviceStopping(b, tol, maxIter, this.tally) : new HostStopping(b, tol, maxIter, this.stats);
      return conjugateGradients(system, b, test, warm);
    });
  }

  settle(): Promise<void> {
    return this.tally.settle(this.stats);
  }

  dispose(): void {
    this.tally.dispose();
    this.preconditioner.dispose();
  }
}
