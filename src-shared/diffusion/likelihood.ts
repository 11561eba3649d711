/**
 * The Gaussian likelihood of linear data, y = A x + n, n ~ N(0, Σ) with Σ = diag(σ_i²), for posterior sampling
 * with a score-based prior, in the prior's units. A known additive image b (y = A x + b + n, M.json's `additive`)
 * is taken from the data once, here: everything below reads y for y − b.
 *
 * Units. The prior describes x_p; the image in data units is x = a·x_p + b (a = flux scale × the model's
 * normalisation scale, b = flux scale × its offset: docs/sampling.md's linear normalisation). So the data see
 *   y = a·A x_p + b·A 1 + n,
 * and every score below is with respect to x_p: the offset moves into the data (y' = y − b·A1) and the
 * operator is a·A.
 *
 * Convolved likelihood (docs/sampling.md). At noise level σ (prior units) the sampler's state is x_t ≈ x_0 + σ z, and
 * the likelihood of the noised image is approximated by
 *   p(y | x_t) ≈ N(y'; a A x_t, Σ + a²σ² A Aᵀ),   ∇ log = a Aᵀ (Σ + a²σ² A Aᵀ)⁻¹ (y' − a A x_t).
 * This is itself an approximation for σ > 0 (x_0 | x_t is not N(x_t, σ²I)); it becomes exact as σ → 0, which is
 * why the final levels of an annealed sampler (and a Langevin corrector there) set the target. How the solve
 * with Σ + a²σ² A Aᵀ is done depends on what the operator says about A Aᵀ (its gram()) and on the noise; one
 * object per method (likelihood/), chosen by chooseSolveMethod (likelihood/choose.ts):
 *  - 'pixel-diagonal' (a mask, the identity): exact, elementwise, for any σ map and masked pixels.
 *  - 'fourier-diagonal' and exact (circular convolution, uv sampling), with one σ for every pixel and nothing
 *    masked: exact, one Fourier multiplier.
 *  - a zero-padded PSF convolution with a separable kernel (a Gaussian PSF), white noise, nothing masked:
 *    exact, through the Kronecker eigen-decomposition of A Aᵀ (kronecker.ts).
 *  - otherwise: preconditioned conjugate gradients on the unknown's grid (likelihood/conjugate-gradients.ts),
 *    relative residual ≤ `cgTol` (default 10⁻³) or `cgMaxIter` iterations (default 30), warm-started. A lens
 *    model (lens → psf → mask) of up to 64² unknowns forms its normal matrix AᵀWA once its products have cost
 *    about as much, and batches of several chains multiply by it in place of the operator and its adjoint
 *    (likelihood/normal-matrix.ts, likelihood/conjugate-gradients.ts; `normalMatrix`).
 * Not offered: the plain circulant approximation of a zero-padded PSF in place of the solve — measured, it makes
 * the likelihood's Jacobian unbounded (boundary modes weighted by 1/σ_n² at every σ) and annealed sampling
 * diverges; the diagonal of A Aᵀ instead is stable but biases the posterior (χ²/pixel of the mean 1.4 against the
 * exact posterior's 1.0 in the 32×32 test problem).
 * At σ = 0 all of these reduce to the exact a Aᵀ Σ⁻¹ (y' − a A x).
 * Masked pixels (NaN/infinite data or σ, or a σ map's NaN) carry no information: weight 0.
 * Correlated noise (Σ = D^{1/2} C D^{1/2}, C circulant: ../operators/noise.ts) has its own two methods: exact in
 * Fourier modes (likelihood/correlated-fourier.ts) where A Aᵀ is exactly circulant, σ constant and nothing masked,
 * else conjugate gradients in data space with Σ restricted to the observed pixels (likelihood/correlated-cg.ts);
 * both also give the σ = 0 score and the power iteration's Aᵀ Σ⁻¹ A. χ² (progress, report) and DPS's misfit stay
 * the marginal ones, Σ (r_i/σ_i)², whose expectation per pixel is 1 for any C with a unit diagonal.
 * A learned noise prior (../operators/noise.ts 'learned') replaces the solve by −Aᵀ s_Q(r) with the noise network
 * at an effective level (likelihood/learned-noise.ts), σ = 0 included; χ², residuals, the noise draws of the
 * samplers' ending, DPS's misfit and the Rao–Blackwell window keep the Gaussian of the noise's empirical σ.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GramDescription, LinearOperator, StructuredOperator } from '../operators/types.js';
import { noiseCorrelation, sigmaArray, validityMask, type LearnedNoise, type NoiseModel } from '../operators/noise.js';
import { readAndDispose } from './readback.js';
import { Spectral2D } from './spectral.js';
import { chooseSolveMethod, type SolveChoice } from './likelihood/choose.js';
import { ConjugateGradientSolver, type FormedNormalMatrix } from './likelihood/conjugate-gradients.js';
import { CorrelatedCgSolver } from './likelihood/correlated-cg.js';
import { CorrelatedFourierSolver } from './likelihood/correlated-fourier.js';
import { FourierSolver } from './likelihood/fourier.js';
import { KroneckerSolver } from './likelihood/kronecker.js';
import { PixelDiagonalSolver } from './likelihood/pixel-diagonal.js';
import { LearnedNoiseSolver } from './likelihood/learned-noise.js';
import { choosePreconditioner } from './likelihood/preconditioners.js';
import { lensNormalMatrix, lensNormalMatrixApplies } from './likelihood/normal-matrix.js';
import type { CgStats, CgWarmStart, LikelihoodMethod, LikelihoodSolver } from './likelihood/solver.js';
import { UserInputError } from '../errors.js';
import type { VisibilityLikelihood } from './visibility-likelihood.js';
import type { ClosureLikelihood } from './closure-likelihood.js';
import type { ScoreModel } from './types.js';

export class LikelihoodInputError extends UserInputError {
  override name = 'LikelihoodInputError';
}

/** x_data = scale · x_prior + offset. */
export interface Affine {
  scale: number;
  offset: number;
}

export interface LikelihoodSpec {
  operator: LinearOperator;
  /** y, row-major [my, mx]; NaN/infinite pixels are masked. */
  data: ArrayLike<number>;
  dataShape: [number, number];
  /**
   * A known additive image b (data units, [my, mx], finite) of y = A x + b + n (M.json's `additive`): the
   * likelihood sees y − b, and `data`, residuals and χ² below are of y − b.
   */
  additive?: ArrayLike<number> | null;
  noise: NoiseModel;
  affine?: Affine;
  /** 'auto' (default) as described above; 'cg' forces conjugate gradients (for tests and comparisons). */
  solver?: 'auto' | 'cg';
  cgTol?: number;
  cgMaxIter?: number;
  /**
   * Conjugate gradients on a lens model (lens → psf → mask) of up to 64² unknowns: form AᵀWA once and multiply by
   * it in the iterations (conjugate-gradients.ts says when; default true; false: the operator and its adjoint at
   * every iteration). `{ minBatch, after }` sets when (tests); `formed`: G and its eigenpairs formed already
   * (formSharedNormalMatrix of a likelihood of the same problem, in another thread), used from the first product.
   */
  normalMatrix?: boolean | { minBatch?: number; after?: number; formed?: FormedNormalMatrix };
  /**
   * Run the conjugate gradients' stopping test on the device (likelihood/cg-loop.ts) even where the backend reads
   * synchronously — what happens anyway on a backend that cannot (tfjs-webgpu in Node); for tests.
   */
  cgOnDevice?: boolean;
  /** Name of the data in messages. */
  name?: string;
  /**
   * A learned noise model's score in place of its prior's network, in the same model units (an analytic noise
   * density: the exact score a learned one is compared with). Lent: not disposed here.
   */
  noiseScore?: ScoreModel;
}

export { CgWarmStart, type CgStats, type LikelihoodMethod } from './likelihood/solver.js';
export type { FormedNormalMatrix } from './likelihood/conjugate-gradients.js';

/**
 * The likelihoods the driver, the samplers and the products take: image-plane data, visibilities
 * (visibility-likelihood.ts), or the closure quantities of visibilities (closure-likelihood.ts).
 */
export type Likelihood = ConvolvedLikelihood | VisibilityLikelihood | ClosureLikelihood;

/**
 * The largest eigenvalue of a symmetric positive semi-definite map M on [ny, nx] images by power iteration from a
 * fixed start (the constant image plus a deterministic ripple, so that no eigenvector is missed for lack of
 * overlap): a lower bound that converges from below, to a relative `tol`. `apply` is a pure tensor function.
 */
export async function largestEigenvalue(shape: [number, number], apply: (u: tf.Tensor) => tf.Tensor, maxIter = 60, tol = 1e-4): Promise<number> {
  const it = powerIteration(shape, apply, maxIter, tol);
  try {
    for (let r = it.next(); ; ) {
      if (r.done) return r.value;
      const rq = r.value;
      const l = (await rq.data())[0]!;
      rq.dispose();
      r = it.next(l);
    }
  } finally {
    it.return(0); // disposes the iterate when a read failed (a no-op after the end)
  }
}

/** largestEigenvalue read back synchronously (for a solver built synchronously; a few dozen small reads). */
export function largestEigenvalueSync(shape: [number, number], apply: (u: tf.Tensor) => tf.Tensor, maxIter = 60, tol = 1e-4): number {
  const it = powerIteration(shape, apply, maxIter, tol);
  try {
    for (let r = it.next(); ; ) {
      if (r.done) return r.value;
      const l = r.value.dataSync()[0]!;
      r.value.dispose();
      r = it.next(l);
    }
  } finally {
    it.return(0);
  }
}

/**
 * The power iteration itself: yields each step's Rayleigh quotient uᵀ M u (a scalar tensor the caller reads and
 * disposes) and takes its value back; returns the last value.
 */
function* powerIteration(shape: [number, number], apply: (u: tf.Tensor) => tf.Tensor, maxIter: number, tol: number): Generator<tf.Tensor, number, number> {
  const [ny, nx] = shape;
  const start = new Float32Array(ny * nx);
  for (let i = 0; i < start.length; i++) start[i] = 1 + 0.5 * Math.sin(12.9898 * i + 78.233 * (i % 7));
  let v: tf.Tensor = tf.tensor3d(start, [1, ny, nx]);
  let lambda = 0;
  try {
    for (let k = 0; k < maxIter; k++) {
      const [next, rq] = tf.tidy(() => {
        const u = tf.div(v, tf.norm(v));
        const w = apply(u);
        return [w, tf.sum(tf.mul(u, w))];
      });
      const l: number = yield rq;
      v.dispose();
      v = next;
      const done = k > 0 && Math.abs(l - lambda) <= tol * Math.abs(l);
      lambda = l;
      if (done) break;
    }
  } finally {
    v.dispose();
  }
  return lambda;
}

export class ConvolvedLikelihood {
  readonly operator: LinearOperator;
  readonly inShape: [number, number];
  readonly dataShape: [number, number];
  readonly affine: Affine;
  readonly method: LikelihoodMethod;
  /** One line for reports: how Σ + σ² A Aᵀ is solved. */
  get description(): string {
    return this.solver.description;
  }
  readonly warnings: string[] = [];
  /** Observed (unmasked) pixels. */
  readonly observed: number;
  /** The data less the additive image, y − b (NaN where masked), and σ per pixel (NaN where masked), row-major. */
  readonly data: Float32Array;
  readonly sigma: Float32Array;
  readonly mask: Float32Array;
  readonly cgTol: number;
  readonly cgMaxIter: number;
  /** Mean σ² over the observed pixels. */
  readonly meanVariance: number;
  /** Mean of W = M/σ² over all pixels (the preconditioner's stand-in for W). */
  readonly meanWeight: number;
  /** Correlated noise: its normalised power spectrum ρ (fft2 layout, mean 1); null for diagonal Σ. */
  readonly correlation: Float32Array | null;
  /** √ρ as a Fourier multiplier on the data grid (correlated noise: noiseDraw). */
  private readonly noiseFilter: { spectral: Spectral2D; sqrtRho: tf.Tensor4D } | null = null;

  private readonly yT: tf.Tensor3D; // y' = (y − b A1) on observed pixels, 0 elsewhere: [1, my, mx]
  private readonly mT: tf.Tensor3D; // mask [1, my, mx]
  private atwy: tf.Tensor | null = null; // AᵀW y' [1, ny, nx], once the normal matrix takes the right-hand side
  private readonly invVarT: tf.Tensor3D; // m/σ² [1, my, mx]
  private readonly relWeightT: tf.Tensor3D; // m·σ̄²/σ² (for DPS's norm) [1, my, mx]
  private readonly sdT: tf.Tensor3D; // m·σ (a draw of the noise from standard normals) [1, my, mx]
  private readonly solver: LikelihoodSolver;
  /** A learned noise prior (its score replaces the Gaussian solve); null for Gaussian noise. */
  readonly learnedNoise: LearnedNoise | null;
  /** A learned noise prior's measured power spectrum ρ (fft2 layout, mean 1): its Gaussian part's; null without. */
  readonly learnedCorrelation: Float32Array | null;
  private readonly noiseScore: ScoreModel | undefined;
  private disposed = false;

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
    const add = spec.additive ?? null;
    if (add && add.length !== my * mx) throw new LikelihoodInputError(`the additive image has ${add.length} values but ${name} is [${my}, ${mx}]`);
    this.operator = op;
    this.inShape = [op.inShape[0], op.inShape[1]];
    this.dataShape = [my, mx];
    this.affine = spec.affine ?? { scale: 1, offset: 0 };
    if (!(this.affine.scale > 0) || !Number.isFinite(this.affine.scale) || !Number.isFinite(this.affine.offset)) {
      throw new LikelihoodInputError(`flux scale / normalisation must be positive and finite, got scale ${this.affine.scale}, offset ${this.affine.offset}`);
    }
    this.cgTol = spec.cgTol ?? 1e-3;
    this.cgMaxIter = spec.cgMaxIter ?? 30;

    const validity = validityMask(spec.data, [my, mx], spec.noise, name);
    if (validity.message) this.warnings.push(validity.message);
    const sig = sigmaArray(spec.noise, [my, mx]);
    const n = my * mx;
    const gram: GramDescription = op.gram();
    // pixels the forward model never reaches (its own masks: A Aᵀ has a zero diagonal there) carry no information;
    // a chain whose A Aᵀ diagonal is not known (lens → psf → mask) still knows its mask's zeros
    const reach = gram.kind === 'pixel-diagonal' ? gram.diag : ((op as StructuredOperator).gramDiagonal?.() ?? (op as StructuredOperator).outputSupport?.());
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
        y[i] = add ? spec.data[i] - add[i] : spec.data[i];
        varr[i] = sig[i] * sig[i];
        inv[i] = 1 / varr[i];
        vsum += varr[i];
        this.data[i] = y[i];
        this.sigma[i] = sig[i];
      } else {
        varr[i] = 1;
        this.data[i] = NaN;
        this.sigma[i] = NaN;
      }
    }
    this.meanVariance = vsum / this.observed;
    this.meanWeight = inv.reduce((acc, v) => acc + v, 0) / n;
    const rel = Float32Array.from(inv, (v) => v * this.meanVariance);

    const shape3: [number, number, number] = [1, my, mx];
    this.mT = tf.tensor3d(this.mask, shape3);
    this.yT = tf.tidy(() => {
      let yp: tf.Tensor = tf.tensor3d(y, shape3);
      if (this.affine.offset !== 0) yp = tf.sub(yp, op.apply(tf.fill([1, this.inShape[0], this.inShape[1]], this.affine.offset)));
      return tf.mul(yp, this.mT) as tf.Tensor3D;
    });
    this.invVarT = tf.tensor3d(inv, shape3);
    this.relWeightT = tf.tensor3d(rel, shape3);
    this.sdT = tf.tensor3d(
      Float32Array.from(this.sigma, (v) => (Number.isFinite(v) ? v : 0)),
      shape3,
    );

    const first = sig[this.mask.indexOf(1)];
    this.learnedNoise = spec.noise.kind === 'learned' ? spec.noise.learned : null;
    this.learnedCorrelation = spec.noise.kind === 'learned' ? (spec.noise.correlation ?? null) : null;
    this.noiseScore = spec.noiseScore;
    this.correlation = noiseCorrelation(spec.noise);
    if (this.correlation) {
      const spectral = new Spectral2D(my, mx);
      this.noiseFilter = { spectral, sqrtRho: spectral.multiplier(Float64Array.from(this.correlation, (v) => Math.sqrt(Math.max(v, 0)))) };
    }
    const choice = chooseSolveMethod({
      operator: op,
      gram,
      whiteNoise: spec.noise.kind === 'scalar' || sig.every((s, i) => !this.mask[i] || s === first),
      allObserved: this.observed === n,
      correlated: this.correlation !== null,
      learned: spec.noise.kind === 'learned',
      learnedCorrelated: this.learnedCorrelation !== null,
      requested: spec.solver,
    });
    this.solver = this.createSolver(choice, varr, spec.cgOnDevice ?? false, spec.normalMatrix !== false ? inv : null, typeof spec.normalMatrix === 'object' ? spec.normalMatrix : {});
    this.method = this.solver.method;
  }

  /** `weight`: W = M/σ² on the data grid, where the conjugate gradients may form AᵀWA (null: they may not). */
  private createSolver(
    choice: SolveChoice,
    variance: Float32Array,
    cgOnDevice: boolean,
    weight: Float32Array | null = null,
    when: { minBatch?: number; after?: number; formed?: FormedNormalMatrix } = {},
  ): LikelihoodSolver {
    const op = this.operator;
    switch (choice.method) {
      case 'pixel-diagonal':
        return new PixelDiagonalSolver(op, choice.reason, choice.diag, variance);
      case 'fourier-diagonal':
        return new FourierSolver(op, choice.reason, choice.diag, this.meanVariance);
      case 'kronecker':
        return new KroneckerSolver(choice.kernel, this.dataShape, choice.reason, this.meanVariance);
      case 'cg': {
        const options = { tol: this.cgTol, maxIter: this.cgMaxIter, onDevice: cgOnDevice };
        // a lens model's normal matrix, formed when the products have cost about as much (conjugate-gradients.ts)
        const normal = weight && lensNormalMatrixApplies(op) ? { form: () => lensNormalMatrix(op, weight), ...when } : null;
        return new ConjugateGradientSolver(op, choice.reason, this.invVarT, this.meanWeight, choosePreconditioner(op, choice.gram, choice.psf), options, normal);
      }
      case 'correlated-fourier':
        return new CorrelatedFourierSolver(op, choice.reason, choice.diag, (this.correlation ?? this.learnedCorrelation)!, this.meanVariance);
      case 'correlated-cg': {
        const options = { tol: this.cgTol, maxIter: this.cgMaxIter, onDevice: cgOnDevice };
        return new CorrelatedCgSolver(op, choice.reason, Float32Array.from(variance, Math.sqrt), this.mask, (this.correlation ?? this.learnedCorrelation)!, choice.aat, options);
      }
      case 'learned-noise': {
        // the effective level's λ: the largest eigenvalue of M A Aᵀ M over the observed pixels (= that of Aᵀ M A),
        // the variance the state's noise puts on the residual where it puts the most (learned-noise.ts)
        const gramMax = largestEigenvalueSync(this.inShape, (u) => op.adjoint(tf.mul(op.apply(u), this.mT)));
        // where A Aᵀ is not λI: the Gaussian of the noise's σ (white, or of the measured spectrum where the noise
        // model has one), solved as that Gaussian noise would be (its variance array)
        const gaussian = choice.gaussian ? this.createSolver(choice.gaussian, variance, cgOnDevice) : null;
        return new LearnedNoiseSolver(op, this.learnedNoise!, this.mT, gramMax > 0 && Number.isFinite(gramMax) ? gramMax : 1, choice.reason, this.noiseScore, gaussian,
          gaussian ? this.learnedCorrelation : null);
      }
    }
  }

  /**
   * A lens model's normal matrix AᵀWA and its deflation eigenpairs, formed now in shared memory for likelihoods of
   * this problem in other threads whose batches hold `batch` chains and solve at least `solves` times each (their
   * spec's `normalMatrix: { formed }`): the same matrix and pairs each would form itself, formed once. Null where
   * they would not form one (not conjugate gradients on a lens model, batches below the normal matrix's minimum, a
   * run too short: conjugate-gradients.ts, formShared).
   */
  formSharedNormalMatrix(batch: number, solves: number): FormedNormalMatrix | null {
    return this.solver instanceof ConjugateGradientSolver ? this.solver.formShared(batch, solves) : null;
  }

  /** The conjugate gradients' counts (zero for the exact methods); settle() adds those still on the device. */
  get cgStats(): CgStats {
    return this.solver.stats;
  }

  /** The data residual in prior units' forward model: M (y' − a A x_p), [B, my, mx]. */
  residual(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.mul(tf.sub(this.yT, tf.mul(this.solver.forward.apply(x), this.affine.scale)), this.mT));
  }

  /**
   * ∇_{x_p} log N(y'; a A x_p, Σ + a²σ² A Aᵀ) for x [B, ny, nx] at noise level σ (prior units, the same for the
   * whole batch). `warm` carries the previous conjugate-gradient solution of these chains. `perturbation`
   * ([B, my, mx], data units) is added to the data of each chain — a draw of the noise (noiseDraw) for
   * Matheron's rule, the data-conditioning step of the samplers' ending (samplers/denoise.ts).
   */
  score(x: tf.Tensor, sigma: number, warm?: CgWarmStart, perturbation?: tf.Tensor): tf.Tensor {
    this.check(x);
    const a = this.affine.scale;
    const c = a * a * sigma * sigma; // weight of A Aᵀ
    return tf.tidy(() => {
      // a lens model's normal matrix, formed: the right-hand side AᵀW r through it, without the residual
      const cg = !perturbation && sigma > 0 && this.solver instanceof ConjugateGradientSolver ? this.solver : null;
      const b = cg?.rightHandSide(x, a, () => this.normalRhs());
      if (cg && b) return tf.mul(cg.solveNormal(b, c, warm), a);
      const r = perturbation ? tf.add(this.residual(x), tf.mul(perturbation, this.mT)) : this.residual(x);
      const g = sigma === 0 && !this.correlation && !this.learnedNoise ? this.solver.forward.adjoint(tf.mul(r, this.invVarT)) : this.solver.solve(r, c, warm);
      return tf.mul(g, a);
    });
  }

  /** AᵀW y' [1, ny, nx] (W = M/σ²), made once, for the right-hand side through the normal matrix. */
  private normalRhs(): tf.Tensor {
    this.atwy ??= tf.keep(tf.tidy(() => this.solver.forward.adjoint(tf.mul(tf.mul(this.yT, this.mT), this.invVarT))));
    return this.atwy;
  }

  /** The shape of the standard normals noiseDraw takes per chain: the data's. */
  get noiseShape(): [number, number] {
    return this.dataShape;
  }

  /**
   * A draw of the data's noise from standard normals z [B, my, mx]: σ ⊙ z for white noise; for correlated noise
   * Σ^½ z = D^½ F⁻¹ √ρ F z (Σ = D^½ C D^½, C = F⁻¹ diag(ρ) F), whose restriction to the observed pixels has the
   * covariance the likelihood restricts Σ to. 0 on masked pixels.
   */
  noiseDraw(z: tf.Tensor): tf.Tensor {
    const f = this.noiseFilter;
    if (!f) return tf.tidy(() => tf.mul(z, this.sdT));
    return tf.tidy(() => tf.mul(f.spectral.apply(z, f.sqrtRho), this.sdT));
  }

  /** Adds what device-side conjugate-gradient solves have counted since the last call to cgStats. */
  settle(): Promise<void> {
    return this.solver.settle();
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
    const a2 = this.affine.scale * this.affine.scale;
    return largestEigenvalue(this.inShape, (u) => {
      const au = tf.mul(this.operator.apply(u), this.mT);
      const atwa = this.correlation ? this.solver.solve(au, 0) : this.operator.adjoint(tf.mul(au, this.invVarT));
      return tf.mul(atwa, a2);
    }, maxIter, tol);
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
    this.solver.dispose();
    if (this.noiseFilter) {
      this.noiseFilter.sqrtRho.dispose();
      this.noiseFilter.spectral.dispose();
    }
    for (const t of [this.yT, this.mT, this.invVarT, this.relWeightT, this.sdT]) t.dispose();
    this.atwy?.dispose();
  }

  private check(x: tf.Tensor): void {
    if (this.disposed) throw new Error('likelihood used after dispose()');
    if (x.rank !== 3 || x.shape[1] !== this.inShape[0] || x.shape[2] !== this.inShape[1]) {
      throw new LikelihoodInputError(`likelihood: expected images [B, ${this.inShape[0]}, ${this.inShape[1]}], got [${x.shape.join(', ')}]`);
    }
  }
}
