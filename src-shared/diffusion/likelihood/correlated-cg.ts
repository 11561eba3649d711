/**
 * Correlated noise Σ = D^{1/2} C D^{1/2} (C = F⁻¹ diag(ρ) F circulant, D = diag(σ_i²): ../../operators/noise.ts)
 * wherever the Fourier form is not exact — a zero-padded PSF (Toeplitz, not circulant), a σ map, masked pixels,
 * lensing: preconditioned conjugate gradients in data space on the observed pixels,
 *   (Σ_oo + c A_o A_oᵀ) v = r_o,   score direction Aᵀ v  (v = 0 on masked pixels),
 * where _o keeps the observed rows. A masked pixel is removed from the data vector, so the noise covariance is Σ
 * restricted to the observed pixels, Σ_oo = E_o Σ E_oᵀ (E_o extracts them): it is applied exactly by putting the
 * observed values on the full grid with zeros elsewhere (E_oᵀ), filtering with Σ there, and keeping the observed
 * pixels again (E_o) — the noise of the masked pixels is marginalised out, not set to anything. Only products
 * with Σ are needed, never its inverse (a masked circulant has no closed-form inverse), hence data space.
 *
 * Preconditioner: D_o^{-1/2} E_o F⁻¹ diag(1/(ρ + (c/σ̄²) d)) F E_oᵀ D_o^{-1/2}, the exact inverse when σ is one
 * constant σ̄ (σ̄²: the mean σ² over observed pixels), nothing is masked and A Aᵀ = F⁻¹ diag(d) F; d is A Aᵀ's
 * (approximate) Fourier multiplier where the operator has one (a PSF's |H|²), else the mean of its diagonal.
 * Being a principal block of a positive-definite matrix it is positive definite, so CG stays valid.
 * Stopped at a relative residual ≤ tol or after maxIter iterations (cg-loop.ts, warm-started); c = 0 is allowed
 * (the score at σ = 0: Aᵀ Σ_oo⁻¹ r).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LinearOperator } from '../../operators/types.js';
import { syncReadable } from '../readback.js';
import { Spectral2D } from '../spectral.js';
import { conjugateGradients, DeviceCgTally, DeviceStopping, HostStopping, type CgSystem } from './cg-loop.js';
import type { CgOptions } from './conjugate-gradients.js';
import { noCgStats, type CgWarmStart, type LikelihoodSolver } from './solver.js';

export class CorrelatedCgSolver implements LikelihoodSolver {
  readonly method = 'correlated-cg';
  readonly description: string;
  readonly stats = noCgStats();
  private readonly tally = new DeviceCgTally();
  private readonly spectral: Spectral2D;
  private readonly rho: tf.Tensor4D;
  private readonly aat: tf.Tensor4D;
  private readonly m: tf.Tensor3D;
  private readonly s: tf.Tensor3D; // σ on observed pixels, 0 elsewhere
  private readonly invS: tf.Tensor3D; // 1/σ on observed pixels, 0 elsewhere
  private readonly meanVariance: number;

  /**
   * `sigma`: σ per data pixel and `mask`: 1 observed, 0 masked (row-major [my, mx]); `correlation`: ρ and
   * `aat`: A Aᵀ's (approximate) Fourier multiplier (fft2 layout [my, mx]).
   */
  constructor(
    readonly forward: LinearOperator,
    reason: string,
    sigma: Float32Array,
    mask: Float32Array,
    correlation: Float32Array,
    aat: Float32Array,
    private readonly options: CgOptions,
  ) {
    const [my, mx] = forward.outShape;
    const n = my * mx;
    const s = new Float32Array(n);
    const inv = new Float32Array(n);
    let v = 0;
    let count = 0;
    for (let i = 0; i < n; i++) {
      if (!mask[i]) continue;
      s[i] = sigma[i];
      inv[i] = 1 / sigma[i];
      v += sigma[i] * sigma[i];
      count++;
    }
    this.meanVariance = v / Math.max(count, 1);
    const shape3: [number, number, number] = [1, my, mx];
    this.m = tf.tensor3d(mask, shape3);
    this.s = tf.tensor3d(s, shape3);
    this.invS = tf.tensor3d(inv, shape3);
    this.spectral = new Spectral2D(my, mx);
    this.rho = this.spectral.multiplier(correlation);
    this.aat = this.spectral.multiplier(aat);
    const { tol, maxIter } = options;
    this.description =
      `conjugate gradients on the observed data pixels, Σ applied as a Fourier filter (${reason}): relative residual ≤ ${tol}, ` +
      `≤ ${maxIter} iterations, warm-started; preconditioner: the circulant inverse of ρ + c·|H|²/σ̄² between σ⁻¹ weights`;
  }

  /** Σ_oo v for v [B, my, mx] that is 0 on masked pixels (the result is too). */
  covariance(v: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.mul(this.s, this.spectral.apply(tf.mul(this.s, v), this.rho)));
  }

  solve(r: tf.Tensor, c: number, warm?: CgWarmStart): tf.Tensor {
    const op = this.forward;
    const k = c / this.meanVariance;
    const system: CgSystem = {
      apply: (v) => (c === 0 ? this.covariance(v) : tf.add(this.covariance(v), tf.mul(tf.mul(op.apply(op.adjoint(v)), this.m), c))),
      precondition: (u) => tf.mul(this.invS, this.spectral.apply(tf.mul(this.invS, u), tf.reciprocal(tf.add(this.rho, tf.mul(this.aat, k))))),
    };
    const { tol, maxIter, onDevice } = this.options;
    return tf.tidy(() => {
      const b = tf.mul(r, this.m);
      const test = onDevice || !syncReadable() ? new DeviceStopping(b, tol, maxIter, this.tally) : new HostStopping(b, tol, maxIter, this.stats);
      const v = conjugateGradients(system, b, test, warm);
      return op.adjoint(v);
    });
  }

  settle(): Promise<void> {
    return this.tally.settle(this.stats);
  }

  dispose(): void {
    this.tally.dispose();
    this.spectral.dispose();
    for (const t of [this.rho, this.aat, this.m, this.s, this.invS]) t.dispose();
  }
}
