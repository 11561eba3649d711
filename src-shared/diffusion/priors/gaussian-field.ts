/**
 * The analytic Gaussian-field prior `gaussian-field:PK.fits`: x ~ N(0, C), C = F⁻¹ diag(P) F with F the
 * orthonormal 2-D DFT and P ≥ 0 a power spectrum in numpy fft2 layout ([ny, nx], index [l, k] for the
 * frequencies (l, k) of np.fft.fftfreq), even: P(k) = P(−k), so that C is real and symmetric.
 *
 * Its VE-perturbed density is again Gaussian, p_σ = N(0, C + σ² I), so the score is exact at every σ:
 *   s(x, σ) = −(C + σ² I)⁻¹ x = −F⁻¹ diag(1/(P + σ²)) F x.
 * At σ = 0 it is defined only where every P(k) > 0 (`supportsZeroSigma`).
 * The per-pixel prior variance is mean(P) (Parseval with the orthonormal F); the expected squared distance
 * between two draws is 2 Σ P = 2 tr C, whence the default σmax (the rule of thumb of docs/sampling.md: σmax ≈ the
 * largest distance between two prior images).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ScoreModel, VeSde } from '../types.js';
import { Spectral2D, evenSymmetryError } from '../spectral.js';
import { UserInputError } from '../../errors.js';

export class GaussianFieldInputError extends UserInputError {
  override name = 'GaussianFieldInputError';
}

/** Relative tolerance on P(k) = P(−k) (float32 files written by numpy are exactly even; allow rounding). */
const SYMMETRY_TOL = 1e-5;

export class GaussianFieldPrior implements ScoreModel {
  readonly kind = 'gaussian-field';
  readonly trainedShape: [number, number];
  /** P in numpy fft2 layout, float64. */
  readonly power: Float64Array;
  /** Every P(k) > 0: the score exists at σ = 0 and C is invertible. */
  readonly supportsZeroSigma: boolean;
  /** The prior variance of one pixel, mean(P). */
  readonly pixelVariance: number;
  private readonly spectral: Spectral2D;
  private readonly pT: tf.Tensor4D;

  constructor(power: ArrayLike<number>, shape: [number, number], where = 'power spectrum') {
    const [ny, nx] = shape;
    if (!Number.isInteger(ny) || !Number.isInteger(nx) || ny < 2 || nx < 2) {
      throw new GaussianFieldInputError(`${where}: the image must be at least 2×2, got [${ny}, ${nx}]`);
    }
    if (power.length !== ny * nx) throw new GaussianFieldInputError(`${where}: ${power.length} values for shape [${ny}, ${nx}]`);
    const p = Float64Array.from(power as ArrayLike<number>);
    let sum = 0;
    let min = Infinity;
    for (let i = 0; i < p.length; i++) {
      const v = p[i];
      if (!Number.isFinite(v)) throw new GaussianFieldInputError(`${where}: P is not finite at row ${Math.floor(i / nx)}, column ${i % nx}`);
      if (v < 0) throw new GaussianFieldInputError(`${where}: P must be ≥ 0, got ${v} at row ${Math.floor(i / nx)}, column ${i % nx}`);
      sum += v;
      min = Math.min(min, v);
    }
    if (!(sum > 0)) throw new GaussianFieldInputError(`${where}: P is zero everywhere`);
    const asym = evenSymmetryError(p, ny, nx);
    if (asym > SYMMETRY_TOL) {
      throw new GaussianFieldInputError(
        `${where}: P(k) must equal P(−k) (numpy fft2 layout of a real field); the largest relative difference is ${asym.toExponential(2)}`,
      );
    }
    // symmetrise exactly, so that the operator is exactly real-symmetric in float64 bookkeeping
    const ps = new Float64Array(p.length);
    for (let l = 0; l < ny; l++) {
      for (let k = 0; k < nx; k++) ps[l * nx + k] = 0.5 * (p[l * nx + k] + p[((ny - l) % ny) * nx + ((nx - k) % nx)]);
    }
    this.power = ps;
    this.trainedShape = [ny, nx];
    this.supportsZeroSigma = min > 0;
    this.pixelVariance = sum / (ny * nx);
    this.spectral = new Spectral2D(ny, nx);
    this.pT = this.spectral.multiplier(ps);
  }

  supportsShape(shape: number[]): boolean {
    if (shape.length < 2) return false;
    return shape[shape.length - 2] === this.trainedShape[0] && shape[shape.length - 1] === this.trainedShape[1];
  }

  /** s(x, σ) = −F⁻¹ diag(1/(P + σ²)) F x, x: [B, ny, nx], sigma: [B]. */
  score(x: tf.Tensor, sigma: tf.Tensor1D): tf.Tensor {
    this.checkShape(x);
    return tf.tidy(() => {
      const s2 = tf.reshape(tf.square(sigma), [-1, 1, 1, 1]);
      const w = tf.neg(tf.reciprocal(tf.add(this.pT, s2)));
      return this.spectral.apply(x, w);
    });
  }

  /**
   * Exact draws from p_σ = N(0, C + σ² I): F⁻¹ diag(√(P + σ²)) F z for white z [B, ny, nx] (the caller's
   * standard normals, so that chains stay reproducible).
   */
  sampleFrom(z: tf.Tensor, sigma = 0): tf.Tensor {
    this.checkShape(z);
    return tf.tidy(() => this.spectral.apply(z, tf.sqrt(tf.add(this.pT, sigma * sigma))));
  }

  /** C x = F⁻¹ diag(P) F x. */
  covarianceTimes(x: tf.Tensor): tf.Tensor {
    this.checkShape(x);
    return this.spectral.apply(x, this.pT);
  }

  /** σmax = √(2 Σ P) (the typical distance between two draws), σmin = 10⁻³ of the pixel standard deviation. */
  defaultSde(): VeSde {
    const [ny, nx] = this.trainedShape;
    const total = this.pixelVariance * ny * nx;
    return { sigmaMin: 1e-3 * Math.sqrt(this.pixelVariance), sigmaMax: Math.sqrt(2 * total) };
  }

  dispose(): void {
    this.spectral.dispose();
    this.pT.dispose();
  }

  private checkShape(x: tf.Tensor): void {
    if (x.rank !== 3 || !this.supportsShape(x.shape)) {
      throw new GaussianFieldInputError(
        `gaussian-field prior is defined on ${this.trainedShape[0]}×${this.trainedShape[1]} images; got a tensor of shape [${x.shape.join(', ')}]`,
      );
    }
  }
}

/** A power spectrum P(k) = amplitude · (1 + |k|²/k0²)^(−slope/2) on an [ny, nx] grid (|k| in cycles per image side). */
export function powerLawSpectrum(ny: number, nx: number, amplitude: number, k0: number, slope: number): Float64Array {
  const p = new Float64Array(ny * nx);
  for (let l = 0; l < ny; l++) {
    const fy = l <= ny / 2 ? l : l - ny;
    for (let k = 0; k < nx; k++) {
      const fx = k <= nx / 2 ? k : k - nx;
      p[l * nx + k] = amplitude * Math.pow(1 + (fy * fy + fx * fx) / (k0 * k0), -slope / 2);
    }
  }
  return p;
}
