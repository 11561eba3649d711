/**
 * The Gaussian likelihood of interferometric visibilities, y_k = (A x)_k + n_k with A_kp = exp(−2πi(u_k l_p +
 * v_k m_p)) (src-shared/radio/ states the convention) and complex noise of weight w_k (1/σ_k² of each of the real
 * and imaginary parts), for posterior sampling in the prior's units — with the interface of the image-plane
 * likelihood (ConvolvedLikelihood), so that the driver, the samplers and the products take either.
 *
 * Everything the likelihood needs of the visibilities is in its normal equations. For a real image x,
 *   χ²(x) = Σ_k w_k |y_k − (A x)_k|² = yᴴWy − 2 xᵀd + xᵀK x,
 *   d = Re(Aᴴ W y)  (the weighted dirty image, unnormalised),
 *   K = Re(Aᴴ W A), K_pq = Σ_k w_k cos 2π(u_k (l_p − l_q) + v_k (m_p − m_q)) = k(p − q),
 * so K is a Toeplitz convolution with the unnormalised dirty beam k on the (2ny−1)×(2nx−1) grid of pixel offsets:
 * applied exactly as a zero-padded linear convolution (PsfOperator with that kernel, by FFT), never as a matrix.
 *
 * Convolved likelihood (as ../likelihood.ts): with x = a·x_p + b, the score in prior units at noise level σ is
 *   a Aᵀ(Σ + a²σ² A Aᵀ)⁻¹(y − A x) = a (I + a²σ² K)⁻¹ (d − b K1 − a K x_p)   (push-through identity),
 * solved by conjugate gradients on the image grid (likelihood/cg-loop.ts; without a preconditioner by default: the
 * circulant approximations of K tried, on the image grid and embedded on the offsets grid, converge no faster; K's
 * eigendecomposition, where a small grid allows it, makes the solves exact in one or two iterations), each chain
 * stopping at its own tolerance, so that a chain's solution does not depend on the chains solved with it. At σ = 0 it is
 * the exact a (d' − a K x_p). The samples of a Gaussian prior through it are the exact posterior's (tested against
 * the dense closed form: tests/unit/visibility-likelihood.test.ts).
 *
 * χ² is reported per real degree of freedom, χ²/(2M) for M visibilities (1 for a model within the noise when the
 * weights are 1/σ² of each part). Products can pass exact float64 χ² and residual images computed from the
 * visibilities (`exact`); without them the normal equations give them (float32 arithmetic).
 */
import * as tf from '@tensorflow/tfjs-core';
import { PsfOperator } from '../operators/psf.js';
import { fft2d } from '../operators/fft.js';
import { readAndDispose, syncReadable } from './readback.js';
import { conjugateGradients, DeviceCgTally, DeviceStopping, HostStopping, type CgSystem } from './likelihood/cg-loop.js';
import { CirculantPreconditioner, EigenPreconditioner, EmbeddedCirculantPreconditioner, type Preconditioner } from './likelihood/preconditioners.js';
import { noCgStats, type CgStats, type CgWarmStart } from './likelihood/solver.js';
import { LikelihoodInputError, largestEigenvalue, type Affine } from './likelihood.js';

/** The normal equations of a visibility data set on an image grid (data units). */
export interface VisibilityNormalEquations {
  /** The image grid [ny, nx]. */
  shape: [number, number];
  /** d = Re(Aᴴ W y), row-major [ny, nx]. */
  dirty: Float64Array;
  /** k(Δ) = Re(Aᴴ W A) at pixel offset Δ = (Δi, Δj), row-major [2ny − 1, 2nx − 1], Δ = 0 at (ny − 1, nx − 1). */
  beam: Float64Array;
  /** yᴴ W y. */
  yWy: number;
  /** Visibilities used (weight > 0): M, each two real degrees of freedom. */
  visibilities: number;
  /** Exact float64 evaluations from the visibilities themselves, where the caller has the measurement operator. */
  exact?: {
    /** Σ_k w_k |y_k − (A x)_k|² for an image x in data units. */
    chi2(x: Float32Array): number;
    /** Re(Aᴴ W (y − A x)), [ny, nx]. */
    residualImage(x: Float32Array): Float64Array;
    /**
     * Re(Aᴴ W η) for the noise draw η = z/√w of standard normals z (real and imaginary parts, one per
     * visibility): a draw of N(0, K) in the image plane — the data's noise as the likelihood sees it.
     */
    noiseImage(zRe: Float64Array, zIm: Float64Array): Float64Array;
  };
}

export interface VisibilityLikelihoodSpec {
  equations: VisibilityNormalEquations;
  affine?: Affine;
  cgTol?: number;
  /**
   * Most iterations of a warm-started solve (the sampling loop's); default 300, as the cold solves': the solves
   * stop on the tolerance. A cap the solves reach leaves the likelihood's pull short and the draws further from the
   * data than the posterior's (MOJAVE M87, 2 × 50 steps: docs/radio.md, *The capped solves on MOJAVE M87*);
   * `solvesWarning` says so.
   */
  cgMaxIter?: number;
  /**
   * Most iterations of a solve without a warm start (the endings' conditioning, the Rao–Blackwellised estimates:
   * the products' fit to the data rests on them); default 300.
   */
  cgMaxIterCold?: number;
  /**
   * 'none' (the default), 'circulant' (T. Chan's circulant approximation of K on the image grid) or 'embedded'
   * (P (I + cC₊)⁻¹ Pᵀ, C the exact circulant embedding of K on the (2ny − 1)×(2nx − 1) grid of offsets, its negative
   * eigenvalues clamped). Neither beats none (docs/radio.md, *The linear solves*): cold solves to 10⁻³ on VLBA BL Lac
   * (176² × 0.0666 mas) take 58–107 iterations without, 213 to over 500 with the circulant, 72–89 with the embedding
   * at 1.2–1.7 × the cost of an iteration; on a synthetic VLA file (96²) the embedding fails at σ ≥ 0.3. At a²σ²λ of
   * 10³–10¹¹ a preconditioner must hold K's measured directions to about 1/√(a²σ²λ); one built from K's Fourier
   * structure misplaces them by far more, and the preconditioned spectrum spreads instead of clustering.
   */
  preconditioner?: 'none' | 'circulant' | 'embedded';
  /**
   * K's eigendecomposition K = V Λ Vᵀ where the caller has it (small grids only: V is N × N): the preconditioner is
   * then V (I + cΛ)⁻¹ Vᵀ, (I + cK)⁻¹ itself up to float32 rounding, whatever `preconditioner` says.
   */
  eigen?: { values: Float64Array; vectors: Float32Array };
  cgOnDevice?: boolean;
  name?: string;
}

export class VisibilityLikelihood {
  readonly kind = 'visibilities';
  readonly inShape: [number, number];
  /** The residual is shown on the image grid (the residual dirty image). */
  readonly dataShape: [number, number];
  readonly affine: Affine;
  readonly method = 'cg';
  readonly description: string;
  readonly warnings: string[] = [];
  /** Real degrees of freedom of the data (2 per visibility): χ² is divided by this. */
  readonly observed: number;
  readonly visibilities: number;
  readonly stats: CgStats = noCgStats();
  private readonly tally = new DeviceCgTally();
  private readonly eq: VisibilityNormalEquations;
  private readonly kOp: PsfOperator;
  private readonly dT: tf.Tensor3D; // d' = d − b K1, [1, ny, nx]
  private readonly precond: Preconditioner | null;
  private readonly beamPeak: number;
  private readonly cgTol: number;
  private readonly cgMaxIter: number;
  private readonly cgMaxIterCold: number;
  private readonly cgOnDevice: boolean;
  private disposed = false;

  constructor(spec: VisibilityLikelihoodSpec) {
    const eq = spec.equations;
    const [ny, nx] = eq.shape;
    const name = spec.name ?? 'visibilities';
    if (eq.dirty.length !== ny * nx) throw new LikelihoodInputError(`${name}: ${eq.dirty.length} dirty-image values for [${ny}, ${nx}]`);
    if (eq.beam.length !== (2 * ny - 1) * (2 * nx - 1)) throw new LikelihoodInputError(`${name}: the beam must be [${2 * ny - 1}, ${2 * nx - 1}]`);
    if (!(eq.visibilities > 0)) throw new LikelihoodInputError(`${name}: no visibility with a positive weight`);
    this.eq = eq;
    this.inShape = [ny, nx];
    this.dataShape = [ny, nx];
    this.affine = spec.affine ?? { scale: 1, offset: 0 };
    if (!(this.affine.scale > 0) || !Number.isFinite(this.affine.scale) || !Number.isFinite(this.affine.offset)) {
      throw new LikelihoodInputError(`flux scale / normalisation must be positive and finite, got scale ${this.affine.scale}, offset ${this.affine.offset}`);
    }
    this.visibilities = eq.visibilities;
    this.observed = 2 * eq.visibilities;
    this.cgTol = spec.cgTol ?? 1e-3;
    this.cgMaxIter = spec.cgMaxIter ?? 300;
    this.cgMaxIterCold = spec.cgMaxIterCold ?? 300;
    this.cgOnDevice = spec.cgOnDevice ?? false;
    this.beamPeak = eq.beam[(ny - 1) * (2 * nx - 1) + (nx - 1)];
    if (!(this.beamPeak > 0)) throw new LikelihoodInputError(`${name}: the beam's peak (the sum of the weights) must be positive`);
    this.kOp = new PsfOperator([ny, nx], { data: eq.beam, shape: [2 * ny - 1, 2 * nx - 1], center: [ny - 1, nx - 1] });
    const b = this.affine.offset;
    this.dT = tf.tidy(() => {
      const d = tf.tensor3d(Float32Array.from(eq.dirty), [1, ny, nx]);
      return (b === 0 ? d : tf.sub(d, tf.mul(this.kOp.apply(tf.ones([1, ny, nx])), b))) as tf.Tensor3D;
    });
    this.precond = spec.eigen
      ? new EigenPreconditioner(spec.eigen.values, spec.eigen.vectors, [ny, nx])
      : spec.preconditioner === 'circulant'
        ? new CirculantPreconditioner(wrappedBeamSpectrum(eq.beam, ny, nx), [ny, nx])
        : spec.preconditioner === 'embedded'
          ? new EmbeddedCirculantPreconditioner(eq.beam, [ny, nx])
          : null;
    this.description =
      `visibilities: ${eq.visibilities} complex samples through the normal equations (the dirty beam's Toeplitz convolution); conjugate gradients, relative residual ≤ ${this.cgTol}, ` +
      `≤ ${this.cgMaxIter} iterations warm-started in the sampling loop, ≤ ${this.cgMaxIterCold} without a warm start (the ending's conditioning); ${this.precond ? this.precond.description.replace('AᵀA', 'AᴴWA') : 'no preconditioner'}`;
  }

  get cgStats(): CgStats {
    return this.stats;
  }

  /**
   * The warning for solves that stopped at their iteration cap above the tolerance (null when none did): a short
   * solve under-weights the data in that score, so the chains end further from the data than the posterior's and
   * χ² of the draws and of the mean comes out high. Read after the run (and settle()): `stats` counts every solve.
   */
  solvesWarning(): string | null {
    const { solves, capped, maxRelResidual } = this.stats;
    if (!(capped > 0)) return null;
    return (
      `${capped} of ${solves} linear solves of the visibility likelihood stopped at their iteration cap (${this.cgMaxIter} warm-started, ${this.cgMaxIterCold} without a warm start) ` +
      `with a relative residual above the tolerance ${this.cgTol}, at worst ${maxRelResidual.toExponential(2)} (${(maxRelResidual / this.cgTol).toPrecision(3)} × it): ` +
      `their scores under-weight the data, so the draws and the mean end further from the data than the posterior's and their χ² per visibility is biased high ` +
      `(report.json's likelihood.cgCapped counts them)`
    );
  }

  /** K x for x [B, ny, nx] (data units in, data units out). */
  private k(x: tf.Tensor): tf.Tensor {
    return this.kOp.apply(x);
  }

  /** d' − a K x_p: the image-plane gradient of −χ²/2 in data units, for x in prior units. */
  private gradient(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.sub(this.dT, tf.mul(this.k(x), this.affine.scale)));
  }

  /** Standard normals per chain for noiseDraw: a real and an imaginary part per visibility, [1, 2M]. */
  get noiseShape(): [number, number] {
    return [1, 2 * this.visibilities];
  }

  /**
   * The data's noise as the likelihood sees it, Re(Aᴴ W η) with η = z/√w (z: standard normals [B, 1, 2M], real
   * parts then imaginary ones): a perturbation for score() — Matheron's rule in the samplers' ending.
   */
  noiseDraw(z: tf.Tensor): tf.Tensor {
    const exact = this.eq.exact;
    if (!exact) throw new LikelihoodInputError('a draw of the visibilities\' noise needs the measurement operator (VisibilityNormalEquations.exact)');
    const [ny, nx] = this.inShape;
    const m = this.visibilities;
    const zs = z.dataSync();
    const b = z.shape[0];
    const out = new Float32Array(b * ny * nx);
    for (let k = 0; k < b; k++) {
      const zr = Float64Array.from(zs.subarray(k * 2 * m, k * 2 * m + m));
      const zi = Float64Array.from(zs.subarray(k * 2 * m + m, (k + 1) * 2 * m));
      out.set(Float32Array.from(exact.noiseImage(zr, zi)), k * ny * nx);
    }
    return tf.tensor3d(out, [b, ny, nx]);
  }

  /**
   * a (I + a²σ² K)⁻¹ (d' + p − a K x_p) for x [B, ny, nx] (prior units) at noise level σ; `perturbation` p is a
   * noiseDraw (image plane), `warm` the chains' previous conjugate-gradient solution.
   */
  score(x: tf.Tensor, sigma: number, warm?: CgWarmStart, perturbation?: tf.Tensor): tf.Tensor {
    this.check(x);
    const a = this.affine.scale;
    const c = a * a * sigma * sigma;
    return tf.tidy(() => {
      const g = perturbation ? tf.add(this.gradient(x), perturbation) : this.gradient(x);
      if (sigma === 0) return tf.mul(g, a);
      const precond = this.precond;
      const system: CgSystem = {
        apply: (u) => tf.add(u, tf.mul(this.k(u), c)),
        precondition: precond ? (u) => precond.apply(u, c) : (u) => tf.clone(u),
      };
      const cap = warm ? this.cgMaxIter : this.cgMaxIterCold;
      const test = this.cgOnDevice || !syncReadable() ? new DeviceStopping(g, this.cgTol, cap, this.tally) : new HostStopping(g, this.cgTol, cap, this.stats, true);
      return tf.mul(conjugateGradients(system, g, test, warm), a);
    });
  }

  settle(): Promise<void> {
    return this.tally.settle(this.stats);
  }

  /** χ²(x) = yᴴWy − 2 xᵀd + xᵀKx for x in prior units (x = a x_p + b), [B] as a tensor. */
  private chi2Tensor(x: tf.Tensor): tf.Tensor1D {
    return tf.tidy(() => {
      const { scale: a, offset: b } = this.affine;
      const xd = tf.add(tf.mul(x, a), b);
      const d = tf.tensor3d(Float32Array.from(this.eq.dirty), [1, this.inShape[0], this.inShape[1]]);
      const quad = tf.sum(tf.mul(xd, this.k(xd)), [1, 2]);
      const lin = tf.sum(tf.mul(xd, d), [1, 2]);
      return tf.add(tf.sub(quad, tf.mul(lin, 2)), this.eq.yWy) as tf.Tensor1D;
    });
  }

  async chi2PerPixel(x: tf.Tensor): Promise<Float32Array> {
    this.check(x);
    return readAndDispose(tf.tidy(() => tf.div(this.chi2Tensor(x), this.observed)));
  }

  /** √χ² scaled to data units by the weights' mean σ (DPS's misfit); differentiable, [B]. */
  weightedResidualNorm(x: tf.Tensor): tf.Tensor1D {
    const meanSigma = Math.sqrt(this.observed / (2 * this.beamPeak));
    return tf.tidy(() => tf.mul(tf.sqrt(tf.add(tf.relu(this.chi2Tensor(x)), 1e-30)), meanSigma) as tf.Tensor1D);
  }

  /** λmax(a² K) by power iteration (largestEigenvalue), as ConvolvedLikelihood.normalMaxEigenvalue. */
  normalMaxEigenvalue(maxIter = 60, tol = 1e-4): Promise<number> {
    const a2 = this.affine.scale * this.affine.scale;
    return largestEigenvalue(this.inShape, (u) => tf.mul(this.k(u), a2), maxIter, tol);
  }

  /**
   * The residual dirty image Re(Aᴴ W (y − A x)) of an image in data units, divided by its noise standard
   * deviation √k(0) (its covariance is K): N(0, 1) in every pixel for a model within the noise.
   */
  async normalisedResidual(xData: Float32Array): Promise<Float32Array> {
    const [ny, nx] = this.inShape;
    let r: ArrayLike<number>;
    if (this.eq.exact) r = this.eq.exact.residualImage(xData);
    else {
      const kx = await readAndDispose(tf.tidy(() => this.k(tf.tensor3d(xData, [1, ny, nx]))));
      r = Float64Array.from(this.eq.dirty, (d, i) => d - kx[i]);
    }
    const s = 1 / Math.sqrt(this.beamPeak);
    return Float32Array.from(r, (v) => v * s);
  }

  /** χ² per real degree of freedom of an image in data units. */
  async chi2OfImage(xData: Float32Array): Promise<number> {
    if (this.eq.exact) return this.eq.exact.chi2(xData) / this.observed;
    const [ny, nx] = this.inShape;
    const t = tf.tensor3d(xData, [1, ny, nx]);
    try {
      const { scale: a, offset: b } = this.affine;
      const xp = tf.tidy(() => tf.div(tf.sub(t, b), a));
      const v = await readAndDispose(tf.tidy(() => this.chi2Tensor(xp)));
      xp.dispose();
      return v[0]! / this.observed;
    } finally {
      t.dispose();
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.tally.dispose();
    this.precond?.dispose();
    this.kOp.dispose();
    this.dT.dispose();
  }

  private check(x: tf.Tensor): void {
    if (this.disposed) throw new Error('likelihood used after dispose()');
    if (x.rank !== 3 || x.shape[1] !== this.inShape[0] || x.shape[2] !== this.inShape[1]) {
      throw new LikelihoodInputError(`likelihood: expected images [B, ${this.inShape[0]}, ${this.inShape[1]}], got [${x.shape.join(', ')}]`);
    }
  }
}

/**
 * T. Chan's optimal circulant approximation of the two-level Toeplitz K on the [ny, nx] grid (each diagonal of K
 * averaged with its wrapped partner, weights (n − |Δ|)/n per axis): positive semi-definite like K. Its spectrum in
 * numpy fft2 layout (real: the beam is even), clamped at 0 against rounding.
 */
function wrappedBeamSpectrum(beam: Float64Array, ny: number, nx: number): Float32Array {
  const re = new Float64Array(ny * nx);
  const im = new Float64Array(ny * nx);
  const w = 2 * nx - 1;
  for (let i = 0; i < 2 * ny - 1; i++) {
    const oi = i - (ny - 1);
    const di = ((oi % ny) + ny) % ny;
    const fi = (ny - Math.abs(oi)) / ny;
    for (let j = 0; j < w; j++) {
      const oj = j - (nx - 1);
      const dj = ((oj % nx) + nx) % nx;
      re[di * nx + dj] += fi * ((nx - Math.abs(oj)) / nx) * beam[i * w + j];
    }
  }
  fft2d(re, im, ny, nx);
  return Float32Array.from(re, (v) => Math.max(0, v));
}
