/**
 * The Gaussian likelihood of linear data, y = A x + n, n ~ N(0, Σ) with Σ = diag(σ_i²), for posterior sampling
 * with a score-based prior, in the prior's units.
 *
 * Units. The prior describes x_p; the image in data units is x = a·x_p + b (a = flux scale × the model's
 * normalisation scale, b = flux scale × its offset: DESIGN.md's linear normalisation). So the data see
 *   y = a·A x_p + b·A 1 + n,
 * and every score below is with respect to x_p: the offset moves into the data (y' = y − b·A1) and the
 * operator is a·A.
 *
 * Convolved likelihood (DESIGN.md). At noise level σ (prior units) the sampler's state is x_t ≈ x_0 + σ z, and
 * the likelihood of the noised image is approximated by
 *   p(y | x_t) ≈ N(y'; a A x_t, Σ + a²σ² A Aᵀ),   ∇ log = a Aᵀ (Σ + a²σ² A Aᵀ)⁻¹ (y' − a A x_t).
 * This is itself an approximation for σ > 0 (x_0 | x_t is not N(x_t, σ²I)); it becomes exact as σ → 0, which is
 * why the final levels of an annealed sampler (and a Langevin corrector there) set the target. How the solve
 * with Σ + a²σ² A Aᵀ is done depends on what the operator says about A Aᵀ (its gram()):
 *  - 'pixel-diagonal' (a mask, the identity): exact, elementwise, for any σ map and masked pixels.
 *  - 'fourier-diagonal' and exact (circular convolution, uv sampling), with one σ for every pixel and nothing
 *    masked: exact, one Fourier multiplier.
 *  - a zero-padded PSF convolution with a separable kernel (a Gaussian PSF), white noise, nothing masked:
 *    exact, through the Kronecker eigen-decomposition of A Aᵀ (kronecker.ts).
 *  - otherwise (a non-separable PSF is only approximately circulant; a σ map or masked pixels break the
 *    diagonal forms; lensing has no structure): preconditioned conjugate gradients on the unknown's grid, with
 *    the push-through identity a Aᵀ(Σ + c A Aᵀ)⁻¹ r = a (I + c AᵀWA)⁻¹ AᵀW r, W = M Σ⁻¹ (0 on masked pixels),
 *    c = a²σ². This form, unlike the data-space system, keeps float32 accurate when c ≫ σ_n² (the data-space
 *    residual then cancels between c A Aᵀ v and r and stalls near 10⁻² at large σ). Stopped at a relative
 *    residual ≤ `tol` (default 10⁻³; as I + c AᵀWA ≥ I it bounds the relative error of the score) or after
 *    `maxIter` iterations (default 30), warm-started from the previous solution of the same chains. The cap
 *    binds only at large σ (condition number 1 + c·λmax(AᵀWA) ~ 10⁵ there: hundreds of iterations to converge),
 *    where the state is mostly injected noise and the annealing's later levels, which converge to `tol` in a
 *    few iterations, set the target: the truncated Krylov solution is a stated approximation there, counted in
 *    cgStats (solves that hit the cap, largest final residual) and reported. Measured: the 32×32 Gaussian-field
 *    posterior with a non-separable PSF is reproduced within Monte Carlo error (tests/unit/samplers-cg). Preconditioner (with W replaced by its mean w̄): the Kronecker
 *    form of the PSF kernel's rank-1 part where the operator is a PSF (possibly followed by masks), else the
 *    circulant approximation of AᵀA where the operator offers one on a grid of the same shape, else none. The plain circulant
 *    approximation is NOT used in place of the solve: measured on a zero-padded PSF, it makes the
 *    likelihood's Jacobian unbounded (boundary modes weighted by 1/σ_n² at every σ) and annealed sampling
 *    diverges; the diagonal of A Aᵀ instead is stable but biases the posterior (χ²/pixel of the mean 1.4 against
 *    the exact posterior's 1.0 in the 32×32 test problem), so neither is offered as a default.
 * At σ = 0 all of these reduce to the exact a Aᵀ Σ⁻¹ (y' − a A x).
 * Masked pixels (NaN/infinite data or σ, or a σ map's NaN) carry no information: weight 0.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GramDescription, LinearOperator, StructuredOperator } from '../operators/types.js';
import { sigmaArray, validityMask, type NoiseModel } from '../operators/noise.js';
import { Spectral2D } from './spectral.js';
import { PsfOperator, type PsfKernel } from '../operators/psf.js';
import { ChainOperator } from '../operators/compose.js';
import { KRONECKER_MAX_SIDE, KroneckerGram } from './kronecker.js';
import { readAndDispose, syncReadable } from './readback.js';
import { UserInputError } from '../errors.js';

export class LikelihoodInputError extends UserInputError {
  override name = 'LikelihoodInputError';
}

/** x_data = scale · x_prior + offset. */
export interface Affine {
  scale: number;
  offset: number;
}

export type LikelihoodMethod = 'pixel-diagonal' | 'fourier-diagonal' | 'kronecker' | 'cg';

export interface LikelihoodSpec {
  operator: LinearOperator;
  /** y, row-major [my, mx]; NaN/infinite pixels are masked. */
  data: ArrayLike<number>;
  dataShape: [number, number];
  noise: NoiseModel;
  affine?: Affine;
  /** 'auto' (default) as described above; 'cg' forces conjugate gradients (for tests and comparisons). */
  solver?: 'auto' | 'cg';
  cgTol?: number;
  cgMaxIter?: number;
  /**
   * Run the conjugate gradients' stopping test on the device (solveOnDevice) even where the backend reads
   * synchronously — what happens anyway on a backend that cannot (tfjs-webgpu in Node); for tests.
   */
  cgOnDevice?: boolean;
  /** Name of the data in messages. */
  name?: string;
}

export interface CgStats {
  solves: number;
  iterations: number;
  /** Solves stopped by maxIter before reaching the tolerance. */
  capped: number;
  /** Largest relative residual at the end of a solve. */
  maxRelResidual: number;
}

/** Warm-start memory of the conjugate-gradient solves for one batch of chains. */
export class CgWarmStart {
  v: tf.Tensor | null = null;
  reset(): void {
    this.v?.dispose();
    this.v = null;
  }
}

type Preconditioner = { kind: 'kronecker'; k: KroneckerGram } | { kind: 'circulant'; d: tf.Tensor4D } | { kind: 'none' };

/**
 * The PSF inside an operator, if it is a PSF convolution optionally followed by pixel masks: its kernel and the
 * product of the masks (null when there are none).
 */
function findPsf(op: LinearOperator): { kernel: PsfKernel; stageMask: Float32Array | null } | null {
  if (op instanceof PsfOperator) return { kernel: op.kernel, stageMask: null };
  if (!(op instanceof ChainOperator) || !(op.stages[0] instanceof PsfOperator)) return null;
  let mask: Float32Array | null = null;
  for (const st of op.stages.slice(1)) {
    const g = st.gram();
    if (g.kind !== 'pixel-diagonal' || !sameShape(st.inShape, st.outShape)) return null;
    const d = g.diag;
    mask = mask ? mask.map((v, i) => v * d[i]) : d.slice();
  }
  return { kernel: op.stages[0].kernel, stageMask: mask };
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a[0] === b[0] && a[1] === b[1];
}

export class ConvolvedLikelihood {
  readonly operator: LinearOperator;
  readonly inShape: [number, number];
  readonly dataShape: [number, number];
  readonly affine: Affine;
  readonly method: LikelihoodMethod;
  /** One line for reports: how Σ + σ² A Aᵀ is solved. */
  readonly description: string;
  readonly warnings: string[] = [];
  /** Observed (unmasked) pixels. */
  readonly observed: number;
  private readonly kron: KroneckerGram | null = null;
  /** The data (NaN where masked) and σ per pixel (NaN where masked), row-major. */
  readonly data: Float32Array;
  readonly sigma: Float32Array;
  readonly mask: Float32Array;
  readonly cgTol: number;
  readonly cgMaxIter: number;
  private readonly cgOnDevice: boolean;
  readonly cgStats: CgStats = { solves: 0, iterations: 0, capped: 0, maxRelResidual: 0 };
  /** Mean σ² over the observed pixels. */
  readonly meanVariance: number;
  /** Mean of W = M/σ² over all pixels (the preconditioner's stand-in for W). */
  readonly meanWeight: number;

  private readonly yT: tf.Tensor3D; // y' = (y − b A1) on observed pixels, 0 elsewhere: [1, my, mx]
  private readonly mT: tf.Tensor3D; // mask [1, my, mx]
  private readonly varT: tf.Tensor3D; // σ² (1 where masked) [1, my, mx]
  private readonly invVarT: tf.Tensor3D; // m/σ² [1, my, mx]
  private readonly relWeightT: tf.Tensor3D; // m·σ̄²/σ² (for DPS's norm) [1, my, mx]
  private readonly diagT: tf.Tensor | null = null; // pixel diagonal of A Aᵀ [1, my, mx] or Fourier multiplier [1, kh, 1, my]
  private readonly spectral: Spectral2D | null = null;
  private readonly precond: Preconditioner = { kind: 'none' };
  private disposed = false;
  /** solveOnDevice's running statistics [iterations, capped solves, largest relative residual], and its solves. */
  private pendingCg: tf.Tensor1D | null = null;
  private pendingSolves = 0;

  constructor(spec: LikelihoodSpec) {
    const op = spec.operator;
    const name = spec.name ?? 'data';
    const [my, mx] = spec.dataShape;
    if (op.outShape[0] !== my || op.outShape[1] !== mx) {
      throw new LikelihoodInputError(
        `the forward model's output is [${op.outShape.join(', ')}] ([ny, nx]) but ${name} is [${my}, ${mx}]: the operator does not produce the data's shape`,
      );
    }
    if (spec.data.length !== my * mx) throw new LikelihoodInputError(`${name}: ${spec.data.length} values for shape [${my}, ${mx}]`);
    this.operator = op;
    this.inShape = [op.inShape[0], op.inShape[1]];
    this.dataShape = [my, mx];
    this.affine = spec.affine ?? { scale: 1, offset: 0 };
    if (!(this.affine.scale > 0) || !Number.isFinite(this.affine.scale) || !Number.isFinite(this.affine.offset)) {
      throw new LikelihoodInputError(`flux scale / normalisation must be positive and finite, got scale ${this.affine.scale}, offset ${this.affine.offset}`);
    }
    this.cgTol = spec.cgTol ?? 1e-3;
    this.cgMaxIter = spec.cgMaxIter ?? 30;
    this.cgOnDevice = spec.cgOnDevice ?? false;

    const validity = validityMask(spec.data, [my, mx], spec.noise, name);
    if (validity.message) this.warnings.push(validity.message);
    const sig = sigmaArray(spec.noise, [my, mx]);
    const n = my * mx;
    const gram: GramDescription = op.gram();
    // pixels the forward model never reaches (its own masks: A Aᵀ has a zero diagonal there) carry no information
    const reach = gram.kind === 'pixel-diagonal' ? gram.diag : (op as StructuredOperator).gramDiagonal?.();
    this.mask = validity.mask.slice();
    let unreached = 0;
    if (reach && reach.length === n) {
      for (let i = 0; i < n; i++) {
        if (reach[i] === 0 && this.mask[i]) {
          this.mask[i] = 0;
          unreached++;
        }
      }
    }
    if (unreached) this.warnings.push(`${unreached} pixel${unreached > 1 ? 's' : ''} of ${name} outside the forward model's mask ignored`);
    this.observed = this.mask.reduce((acc, v) => acc + v, 0);
    if (this.observed === 0) throw new LikelihoodInputError(`${name}: no usable pixel${validity.message ? ` (${validity.message})` : ''}`);
    this.data = new Float32Array(n);
    this.sigma = new Float32Array(n);
    const y = new Float32Array(n);
    const varr = new Float32Array(n);
    const inv = new Float32Array(n);
    let vsum = 0;
    for (let i = 0; i < n; i++) {
      if (this.mask[i]) {
        y[i] = spec.data[i];
        varr[i] = sig[i] * sig[i];
        inv[i] = 1 / varr[i];
        vsum += varr[i];
        this.data[i] = spec.data[i];
        this.sigma[i] = sig[i];
      } else {
        varr[i] = 1;
        this.data[i] = NaN;
        this.sigma[i] = NaN;
      }
    }
    this.meanVariance = vsum / this.observed;
    const rel = Float32Array.from(inv, (v) => v * this.meanVariance);

    const first = sig[this.mask.indexOf(1)];
    const scalarNoise = spec.noise.kind === 'scalar' || sig.every((s, i) => !this.mask[i] || s === first);
    const noneMasked = this.observed === n;
    const forceCg = spec.solver === 'cg';
    const psf = findPsf(op);
    const kronOk = psf !== null && Math.max(my, mx) <= KRONECKER_MAX_SIDE;
    const kron = kronOk ? new KroneckerGram(psf.kernel, [my, mx]) : null;
    let method: LikelihoodMethod;
    let description: string;
    if (!forceCg && gram.kind === 'pixel-diagonal') {
      method = 'pixel-diagonal';
      description = 'exact: A Aᵀ is diagonal in pixels';
    } else if (!forceCg && gram.kind === 'fourier-diagonal' && gram.exact && scalarNoise && noneMasked) {
      method = 'fourier-diagonal';
      description = 'exact: A Aᵀ is diagonal in Fourier modes and the noise is white';
    } else if (!forceCg && kron?.separable && !psf?.stageMask && scalarNoise && noneMasked) {
      method = 'kronecker';
      description = 'exact: separable PSF kernel, A Aᵀ diagonalised as a Kronecker product; white noise';
    } else {
      method = 'cg';
      const why = forceCg
        ? 'requested'
        : !scalarNoise
          ? 'the noise differs between pixels'
          : !noneMasked
            ? 'pixels are masked'
            : psf
              ? 'the PSF kernel is not separable'
              : gram.kind === 'fourier-diagonal'
                ? 'A Aᵀ is only approximately circulant'
                : 'A Aᵀ has no known diagonal form';
      description = `conjugate gradients (${why}): relative residual ≤ ${this.cgTol}, ≤ ${this.cgMaxIter} iterations, warm-started`;
    }
    this.method = method;
    if (method === 'kronecker') this.kron = kron;
    else {
      if (method === 'cg' && kronOk) {
        const k = new KroneckerGram(psf.kernel, [my, mx], 'image');
        this.precond = { kind: 'kronecker', k };
        description += `; preconditioner: Kronecker form of the PSF's rank-1 part (kernel rank-1 error ${k.relError.toExponential(1)})`;
      }
      kron?.dispose();
    }
    const shape3: [number, number, number] = [1, my, mx];
    this.mT = tf.tensor3d(this.mask, shape3);
    this.yT = tf.tidy(() => {
      let yp: tf.Tensor = tf.tensor3d(y, shape3);
      if (this.affine.offset !== 0) yp = tf.sub(yp, op.apply(tf.fill([1, this.inShape[0], this.inShape[1]], this.affine.offset)));
      return tf.mul(yp, this.mT) as tf.Tensor3D;
    });
    this.varT = tf.tensor3d(varr, shape3);
    this.invVarT = tf.tensor3d(inv, shape3);
    this.relWeightT = tf.tensor3d(rel, shape3);

    if (method === 'pixel-diagonal' && gram.kind === 'pixel-diagonal') {
      this.diagT = tf.tensor3d(gram.diag, [1, my, mx]);
    } else if (method === 'fourier-diagonal' && gram.kind === 'fourier-diagonal') {
      this.spectral = new Spectral2D(my, mx);
      this.diagT = this.spectral.multiplier(gram.diag);
    } else if (method !== 'cg' || this.precond.kind === 'kronecker') {
      // exact, or preconditioned above
    } else if (gram.kind === 'fourier-diagonal' && sameShape(op.inShape, op.outShape)) {
      // A Aᵀ ≈ F⁻¹ d F on a square-free same-shape grid: AᵀA has the same approximate spectrum
      this.spectral = new Spectral2D(my, mx);
      this.precond = { kind: 'circulant', d: this.spectral.multiplier(gram.diag) };
      description += '; preconditioner: circulant approximation of AᵀA';
    } else {
      description += '; no preconditioner';
    }
    this.meanWeight = inv.reduce((acc, v) => acc + v, 0) / n;
    this.description = description;
  }

  /** A x (the Kronecker factors for a separable PSF: the same map, several times cheaper). */
  private applyA(x: tf.Tensor): tf.Tensor {
    return this.kron ? this.kron.apply(x) : this.operator.apply(x);
  }

  private applyAt(y: tf.Tensor): tf.Tensor {
    return this.kron ? this.kron.adjoint(y) : this.operator.adjoint(y);
  }

  /** The data residual in prior units' forward model: M (y' − a A x_p), [B, my, mx]. */
  residual(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.mul(tf.sub(this.yT, tf.mul(this.applyA(x), this.affine.scale)), this.mT));
  }

  /**
   * ∇_{x_p} log N(y'; a A x_p, Σ + a²σ² A Aᵀ) for x [B, ny, nx] at noise level σ (prior units, the same for the
   * whole batch). `warm` carries the previous CG solution of these chains.
   */
  score(x: tf.Tensor, sigma: number, warm?: CgWarmStart): tf.Tensor {
    this.check(x);
    const a = this.affine.scale;
    const c = a * a * sigma * sigma; // weight of A Aᵀ
    if (sigma === 0 || this.method !== 'cg') {
      return tf.tidy(() => {
        const r = this.residual(x);
        let v: tf.Tensor;
        if (sigma === 0) v = tf.mul(r, this.invVarT);
        else if (this.method === 'pixel-diagonal') v = tf.div(r, tf.add(this.varT, tf.mul(this.diagT as tf.Tensor, c)));
        else if (this.method === 'kronecker') v = this.kron!.solve(r, this.meanVariance, c);
        else {
          const w = tf.reciprocal(tf.add(tf.mul(this.diagT as tf.Tensor, c), this.meanVariance));
          v = this.spectral!.apply(r, w);
        }
        return tf.mul(this.applyAt(v), a);
      });
    }
    return tf.tidy(() => tf.mul(this.solve(this.applyAt(tf.mul(this.residual(x), this.invVarT)), c, warm), a));
  }

  /** The conjugate gradients' operator: (I + c AᵀWA) u. */
  private cgOperator(u: tf.Tensor, c: number): tf.Tensor {
    return tf.add(u, tf.mul(this.operator.adjoint(tf.mul(this.operator.apply(u), this.invVarT)), c));
  }

  /** The preconditioner: its approximation of (I + c AᵀWA)⁻¹ applied to u (W replaced by its mean). */
  private cgPrecondition(u: tf.Tensor, c: number): tf.Tensor {
    const cw = c * this.meanWeight;
    switch (this.precond.kind) {
      case 'kronecker':
        return this.precond.k.solve(u, 1, cw);
      case 'circulant':
        return this.spectral!.apply(u, tf.reciprocal(tf.add(tf.mul(this.precond.d, cw), 1)));
      default:
        return tf.clone(u);
    }
  }

  /**
   * (I + c AᵀWA) u = b for u on the unknown's grid (W = M Σ⁻¹) by preconditioned conjugate gradients, batched
   * with per-chain step lengths; stops when every chain's residual is ≤ cgTol of its ‖b‖ or after cgMaxIter.
   * Where the backend cannot read synchronously (readback.ts) the stopping test cannot leave the device: see
   * solveOnDevice.
   */
  solve(b: tf.Tensor, c: number, warm?: CgWarmStart): tf.Tensor {
    if (this.cgOnDevice || !syncReadable()) return this.solveOnDevice(b, c, warm);
    const batch = b.shape[0];
    const M = (u: tf.Tensor): tf.Tensor => tf.tidy(() => this.cgOperator(u, c));
    const P = (u: tf.Tensor): tf.Tensor => tf.tidy(() => this.cgPrecondition(u, c));
    const dot = (p: tf.Tensor, q: tf.Tensor): tf.Tensor => tf.sum(tf.mul(p, q), [1, 2], true);

    let u = warm?.v && warm.v.shape[0] === batch ? tf.clone(warm.v) : tf.zerosLike(b);
    let r = tf.tidy(() => tf.sub(b, M(u)));
    let p = P(r);
    let rz = tf.tidy(() => dot(r, p));
    const bNorm = tf.tidy(() => tf.sqrt(tf.sum(tf.square(b), [1, 2]))).dataSync() as Float32Array;
    const relResidual = (): number => {
      const rn = tf.tidy(() => tf.sqrt(tf.sum(tf.square(r), [1, 2]))).dataSync();
      let worst = 0;
      for (let i = 0; i < batch; i++) worst = Math.max(worst, bNorm[i] > 0 ? rn[i] / bNorm[i] : 0);
      return worst;
    };
    let it = 0;
    let rel = relResidual();
    while (rel > this.cgTol && it < this.cgMaxIter) {
      const next = tf.tidy(() => {
        const q = M(p);
        const pq = dot(p, q);
        const alpha = tf.where(tf.greater(pq, 0), tf.div(rz, tf.maximum(pq, 1e-30)), tf.zerosLike(pq));
        const u2 = tf.add(u, tf.mul(alpha, p));
        const r2 = tf.sub(r, tf.mul(alpha, q));
        const z2 = P(r2);
        const rz2 = dot(r2, z2);
        const beta = tf.where(tf.greater(rz, 0), tf.div(rz2, tf.maximum(rz, 1e-30)), tf.zerosLike(rz));
        const p2 = tf.add(z2, tf.mul(beta, p));
        return { u2, r2, p2, rz2 };
      });
      for (const t of [u, r, p, rz]) t.dispose();
      u = next.u2;
      r = next.r2;
      p = next.p2;
      rz = next.rz2;
      it++;
      rel = relResidual();
    }
    for (const t of [r, p, rz]) t.dispose();
    this.cgStats.solves++;
    this.cgStats.iterations += it;
    if (rel > this.cgTol) this.cgStats.capped++;
    this.cgStats.maxRelResidual = Math.max(this.cgStats.maxRelResidual, rel);
    if (warm) {
      warm.v?.dispose();
      warm.v = tf.keep(tf.clone(u));
    }
    return u;
  }

  /**
   * The same iteration without reading anything back (tfjs-webgpu in Node): it always runs cgMaxIter
   * iterations, and a chain whose residual has reached cgTol of its ‖b‖ stops moving (its step length is set to
   * 0 on the device), so the solution is the one `solve` returns, at the price of the iterations a converged
   * batch would have skipped. The statistics (iterations in which some chain still moved, capped solves, the
   * largest final residual) accumulate in a device tensor that settle() adds to cgStats.
   */
  private solveOnDevice(b: tf.Tensor, c: number, warm?: CgWarmStart): tf.Tensor {
    const batch = b.shape[0];
    const M = (u: tf.Tensor): tf.Tensor => this.cgOperator(u, c);
    const P = (u: tf.Tensor): tf.Tensor => this.cgPrecondition(u, c);
    const dot = (p: tf.Tensor, q: tf.Tensor): tf.Tensor => tf.sum(tf.mul(p, q), [1, 2], true);
    const norm = (v: tf.Tensor): tf.Tensor => tf.sqrt(tf.sum(tf.square(v), [1, 2], true));
    const bNorm = tf.tidy(() => norm(b)); // [B, 1, 1]
    const limit = tf.mul(bNorm, this.cgTol);
    let u = warm?.v && warm.v.shape[0] === batch ? tf.clone(warm.v) : tf.zerosLike(b);
    let r = tf.tidy(() => tf.sub(b, M(u)));
    let p = tf.tidy(() => P(r));
    let rz = tf.tidy(() => dot(r, p));
    let moved: tf.Tensor = tf.scalar(0);
    for (let it = 0; it < this.cgMaxIter; it++) {
      const next = tf.tidy(() => {
        const active = tf.greater(norm(r), limit); // [B, 1, 1]
        const moved2 = tf.add(moved, tf.cast(tf.any(active), 'float32'));
        const q = M(p);
        const pq = dot(p, q);
        const alpha = tf.where(tf.logicalAnd(active, tf.greater(pq, 0)), tf.div(rz, tf.maximum(pq, 1e-30)), tf.zerosLike(pq));
        const u2 = tf.add(u, tf.mul(alpha, p));
        const r2 = tf.sub(r, tf.mul(alpha, q));
        const z2 = P(r2);
        const rzNew = dot(r2, z2);
        const beta = tf.where(tf.greater(rz, 0), tf.div(rzNew, tf.maximum(rz, 1e-30)), tf.zerosLike(rz));
        const p2 = tf.where(tf.broadcastTo(active, p.shape), tf.add(z2, tf.mul(beta, p)), p);
        const rz2 = tf.where(active, rzNew, rz);
        return { u2, r2, p2, rz2, moved2 };
      });
      for (const t of [u, r, p, rz, moved]) t.dispose();
      u = next.u2;
      r = next.r2;
      p = next.p2;
      rz = next.rz2;
      moved = next.moved2;
    }
    const stats = tf.tidy(() => {
      const rel = tf.max(tf.where(tf.greater(bNorm, 0), tf.div(norm(r), tf.maximum(bNorm, 1e-30)), tf.zerosLike(bNorm)));
      const capped = tf.cast(tf.greater(rel, this.cgTol), 'float32');
      const prev = this.pendingCg ?? tf.zeros([3]);
      // running sums of the first two entries, the running maximum of the third
      return tf.where(tf.tensor1d([true, true, false], 'bool'), tf.add(prev, tf.stack([moved, capped, rel])), tf.maximum(prev, tf.stack([moved, capped, rel]))) as tf.Tensor1D;
    });
    for (const t of [r, p, rz, moved, bNorm, limit]) t.dispose();
    this.pendingCg?.dispose();
    this.pendingCg = tf.keep(stats);
    this.pendingSolves++;
    if (warm) {
      warm.v?.dispose();
      warm.v = tf.keep(tf.clone(u));
    }
    return u;
  }

  /** Adds what the device-side solves (solveOnDevice) have counted since the last call to cgStats. */
  async settle(): Promise<void> {
    const t = this.pendingCg;
    if (!t) return;
    this.pendingCg = null;
    const [iterations, capped, rel] = await readAndDispose(t);
    this.cgStats.solves += this.pendingSolves;
    this.cgStats.iterations += Math.round(iterations!);
    this.cgStats.capped += Math.round(capped!);
    this.cgStats.maxRelResidual = Math.max(this.cgStats.maxRelResidual, rel!);
    this.pendingSolves = 0;
  }

  /** χ² per observed pixel of each chain's image (prior units in, as the samplers hold them): [B]. */
  async chi2PerPixel(x: tf.Tensor): Promise<Float32Array> {
    this.check(x);
    return readAndDispose(tf.tidy(() => tf.div(tf.sum(tf.mul(tf.square(this.residual(x)), this.invVarT), [1, 2]), this.observed)));
  }

  /**
   * ‖W (y' − a A x_p)‖ per chain with W = σ̄/σ_i on observed pixels (σ̄² the mean σ²): the data misfit DPS
   * differentiates, in data units. Differentiable; [B].
   */
  weightedResidualNorm(x: tf.Tensor): tf.Tensor1D {
    return tf.tidy(() => tf.sqrt(tf.add(tf.sum(tf.mul(tf.square(this.residual(x)), this.relWeightT), [1, 2]), 1e-30)) as tf.Tensor1D);
  }

  /**
   * The largest eigenvalue of a² Aᵀ W A (prior units; W = M Σ⁻¹), the data's precision at its most informative:
   * σ² a² A Aᵀ ≼ Σ exactly when σ² ≤ 1/λ. Power iteration from a fixed start (the constant image plus a
   * deterministic ripple, so that no eigenvector is missed for lack of overlap); a lower bound that converges from
   * below, to a relative 10⁻⁴ for the PSF operators here within a few dozen iterations.
   */
  async normalMaxEigenvalue(maxIter = 60, tol = 1e-4): Promise<number> {
    const [ny, nx] = this.inShape;
    const start = new Float32Array(ny * nx);
    for (let i = 0; i < start.length; i++) start[i] = 1 + 0.5 * Math.sin(12.9898 * i + 78.233 * (i % 7));
    let v = tf.tensor3d(start, [1, ny, nx]);
    let lambda = 0;
    try {
      for (let k = 0; k < maxIter; k++) {
        const [next, rq] = tf.tidy(() => {
          const u = tf.div(v, tf.norm(v));
          const w = tf.mul(this.operator.adjoint(tf.mul(this.operator.apply(u), this.invVarT)), this.affine.scale * this.affine.scale);
          return [w, tf.sum(tf.mul(u, w))];
        });
        const l = (await rq.data())[0]!;
        rq.dispose();
        v.dispose();
        v = next as tf.Tensor3D;
        const done = k > 0 && Math.abs(l - lambda) <= tol * Math.abs(l);
        lambda = l;
        if (done) break;
      }
    } finally {
      v.dispose();
    }
    return lambda;
  }

  /** (y − A x)/σ for an image in data units (NaN where masked), row-major [my, mx]. */
  async normalisedResidual(xData: Float32Array): Promise<Float32Array> {
    const [ny, nx] = this.inShape;
    const ax = await readAndDispose(tf.tidy(() => this.operator.apply(tf.tensor3d(xData, [1, ny, nx]))));
    const out = new Float32Array(ax.length);
    for (let i = 0; i < out.length; i++) out[i] = this.mask[i] ? (this.data[i] - ax[i]) / this.sigma[i] : NaN;
    return out;
  }

  /** χ² per observed pixel of an image in data units. */
  async chi2OfImage(xData: Float32Array): Promise<number> {
    const r = await this.normalisedResidual(xData);
    let s = 0;
    for (let i = 0; i < r.length; i++) if (this.mask[i]) s += r[i] * r[i];
    return s / this.observed;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of [this.yT, this.mT, this.varT, this.invVarT, this.relWeightT, this.diagT, this.pendingCg]) t?.dispose();
    if (this.precond.kind === 'kronecker') this.precond.k.dispose();
    else if (this.precond.kind === 'circulant') this.precond.d.dispose();
    this.kron?.dispose();
    this.spectral?.dispose();
  }

  private check(x: tf.Tensor): void {
    if (this.disposed) throw new Error('likelihood used after dispose()');
    if (x.rank !== 3 || x.shape[1] !== this.inShape[0] || x.shape[2] !== this.inShape[1]) {
      throw new LikelihoodInputError(`likelihood: expected images [B, ${this.inShape[0]}, ${this.inShape[1]}], got [${x.shape.join(', ')}]`);
    }
  }
}
