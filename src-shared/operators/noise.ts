import { NoiseInputError } from './errors.js';
import { fft2d } from './fft.js';
import type { Shape2 } from './types.js';
import type { PriorMeta } from '../diffusion/nn/prior-meta.js';

/**
 * Gaussian noise model of the data n ~ N(0, Σ):
 *  - 'scalar': Σ = σ² I;
 *  - 'map': Σ = diag(σ_i²), a σ per pixel (row-major, the data's shape);
 *  - 'correlated': stationary correlated noise, optionally modulated by a σ map,
 *      Σ = D^{1/2} C D^{1/2},  D = diag(σ_i²),  C = F⁻¹ diag(ρ) F (circulant on the data grid),
 *    with ρ the normalised power spectrum (numpy fft2 layout, [my, mx], real, even, ≥ 0, mean 1, so that
 *    C has a unit diagonal and Σ_ii = σ_i²). `sigma` holds σ_i for every pixel (a constant for stationary
 *    noise; NaN marks a pixel without information, as for a map).
 *  - 'learned': a noise of any density Q, given by a score network of its noise-conditional score
 *    ∇ log (Q ∗ N(0, σ²))(n) (a learned noise prior, `skyscore train --kind noise`); not Gaussian, so the likelihood
 *    has its own method (../diffusion/likelihood/learned-noise.ts). `sigma` holds the noise's empirical standard
 *    deviation for every pixel: χ², residuals and the Gaussian stand-ins (noise draws, DPS's misfit) use it;
 *    `correlation`, where given, the noise's normalised power spectrum ρ (as for 'correlated', measured on a blank
 *    sky or noise-only image): the likelihood's Gaussian part is then the correlated Gaussian of that spectrum, and
 *    the network supplies only the noise's departure from it.
 */
export type NoiseModel =
  | { kind: 'scalar'; sigma: number }
  | { kind: 'map'; sigma: Float32Array; shape: Shape2 }
  | { kind: 'correlated'; sigma: Float32Array; shape: Shape2; correlation: Float32Array; stationary: boolean }
  | { kind: 'learned'; sigma: Float32Array; shape: Shape2; learned: LearnedNoise; correlation?: Float32Array };

/**
 * A learned noise prior, as plain data (it is cloned into sampling workers; the likelihood builds the network):
 * the U-Net of `network` gives s(u, s) ≈ ∇_u log (Q_u ∗ N(0, s²))(u) for the noise in model units
 * u = (n − offset)/scale (offset and scale in data units), trained for s in [sigmaMin, sigmaMax].
 */
export interface LearnedNoise {
  /** model.json (with its noisePrior block) and the weights file's bytes. */
  network: { meta: PriorMeta; weights: Uint8Array };
  offset: number;
  scale: number;
  /** The noise's variance in model units (1 when scale is its standard deviation): the Gaussian limit above sigmaMax. */
  variance: number;
  sigmaMin: number;
  sigmaMax: number;
  /** Its name in reports (the folder). */
  name: string;
}

/**
 * The learned noise model of data of shape `shape`: σ (its empirical standard deviation, data units) on every
 * pixel, NaN where the data are not finite.
 */
export function learnedNoiseModel(learned: LearnedNoise, shape: Shape2, correlation?: Float32Array): NoiseModel {
  const s = learned.scale * Math.sqrt(learned.variance);
  if (!(s > 0) || !Number.isFinite(s) || !Number.isFinite(learned.offset)) throw new NoiseInputError(`learned noise ${learned.name}: its scale and variance must be positive and finite`);
  if (!(learned.sigmaMin > 0) || !(learned.sigmaMax > learned.sigmaMin)) throw new NoiseInputError(`learned noise ${learned.name}: needs 0 < σmin < σmax`);
  if (correlation && correlation.length !== shape[0] * shape[1]) throw new NoiseInputError(`learned noise ${learned.name}: its power spectrum has ${correlation.length} values, the data ${shape[0] * shape[1]}`);
  return { kind: 'learned', sigma: new Float32Array(shape[0] * shape[1]).fill(s), shape: [shape[0], shape[1]], learned, ...(correlation ? { correlation } : {}) };
}

export function scalarNoise(sigma: number, what = 'noise σ'): NoiseModel {
  if (!Number.isFinite(sigma) || !(sigma > 0)) throw new NoiseInputError(`${what} must be a positive number, got ${sigma}`);
  return { kind: 'scalar', sigma };
}

/**
 * A per-pixel σ map. Finite values must be positive (a zero or negative σ is an error: it names the first
 * such pixel); NaN or infinite σ marks a pixel without information and masks it (see validityMask).
 */
export function noiseMap(sigma: ArrayLike<number>, shape: Shape2, what = 'noise map'): NoiseModel {
  const n = shape[0] * shape[1];
  if (sigma.length !== n) throw new NoiseInputError(`${what}: ${sigma.length} values for shape [${shape.join(', ')}]`);
  let bad = 0;
  let first = -1;
  for (let i = 0; i < n; i++) {
    const s = sigma[i];
    if (Number.isFinite(s) && !(s > 0)) {
      if (first < 0) first = i;
      bad++;
    }
  }
  if (bad > 0) {
    const [r, c] = [Math.floor(first / shape[1]), first % shape[1]];
    throw new NoiseInputError(
      `${what}: σ must be positive; ${bad} pixel${bad > 1 ? 's are' : ' is'} ≤ 0 (first at row ${r}, column ${c}: ${sigma[first]})`,
    );
  }
  return { kind: 'map', sigma: Float32Array.from(sigma), shape: [shape[0], shape[1]] };
}

/** σ for every pixel of an [ny, nx] image (NaN where a map marks the pixel as unusable). */
export function sigmaArray(noise: NoiseModel, shape: Shape2): Float32Array {
  const n = shape[0] * shape[1];
  if (noise.kind === 'scalar') return new Float32Array(n).fill(noise.sigma);
  if (noise.shape[0] !== shape[0] || noise.shape[1] !== shape[1]) {
    throw new NoiseInputError(`noise ${noise.kind === 'map' ? 'map' : 'model'} shape [${noise.shape.join(', ')}] does not match the data shape [${shape.join(', ')}]`);
  }
  return noise.sigma.slice();
}

/** ρ below this (relative to its mean 1) is raised to it, so that Σ stays invertible (condition number ≤ 10⁶). */
export const CORRELATION_FLOOR = 1e-6;

/**
 * Correlated stationary Gaussian noise from its power spectrum P (numpy fft2 layout on the data grid, [my, mx],
 * data units² so that the pixel variance is mean_k P(k): numpy's ifft2(P)[0, 0]), optionally modulated by a σ
 * map: Σ = D^{1/2} C D^{1/2} with C = F⁻¹ diag(P / mean P) F (unit diagonal) and D = diag(σ_i²).
 * Without `sigma`, σ = √(mean P) everywhere (P then fixes Σ entirely). P must be finite and ≥ 0 with a positive
 * mean; it is symmetrised, (P(k) + P(−k))/2, so that C is real, and floored at CORRELATION_FLOOR of its mean
 * (where P vanishes Σ would be singular).
 */
export function correlatedNoise(power: ArrayLike<number>, shape: Shape2, sigma?: number | ArrayLike<number>, what = 'noise power spectrum'): NoiseModel {
  const [ny, nx] = shape;
  const n = ny * nx;
  if (power.length !== n) throw new NoiseInputError(`${what}: ${power.length} values for the data shape [${ny}, ${nx}] (the spectrum must be on the data's grid)`);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = power[i];
    if (!Number.isFinite(v) || v < 0) {
      throw new NoiseInputError(`${what}: values must be finite and ≥ 0; index [${Math.floor(i / nx)}, ${i % nx}] is ${v}`);
    }
    sum += v;
  }
  if (!(sum > 0)) throw new NoiseInputError(`${what}: all zero`);
  const mean = sum / n;
  const rho = new Float32Array(n);
  for (let l = 0; l < ny; l++) {
    for (let k = 0; k < nx; k++) {
      const j = ((ny - l) % ny) * nx + ((nx - k) % nx);
      rho[l * nx + k] = Math.max((power[l * nx + k] + power[j]) / 2 / mean, CORRELATION_FLOOR);
    }
  }
  let sig: Float32Array;
  let stationary: boolean;
  if (sigma === undefined || typeof sigma === 'number') {
    const s = sigma ?? Math.sqrt(mean);
    if (!(s > 0) || !Number.isFinite(s)) throw new NoiseInputError(`noise σ must be a positive number, got ${s}`);
    sig = new Float32Array(n).fill(s);
    stationary = true;
  } else {
    const m = noiseMap(sigma, shape, 'noise σ map');
    sig = m.sigma as Float32Array;
    const first = sig.find((v) => Number.isFinite(v));
    stationary = sig.every((v) => !Number.isFinite(v) || v === first);
  }
  return { kind: 'correlated', sigma: sig, shape: [ny, nx], correlation: rho, stationary };
}

/** The model's normalised power spectrum ρ (mean 1, fft2 layout), or null for white noise (ρ ≡ 1). */
export function noiseCorrelation(noise: NoiseModel): Float32Array | null {
  return noise.kind === 'correlated' ? noise.correlation : null;
}

/** The noise model's name in reports: white (one σ), sigma-map, correlated, or correlated with a σ map. */
export function noiseModelName(noise: NoiseModel): string {
  if (noise.kind === 'scalar') return 'white';
  if (noise.kind === 'map') return 'sigma-map';
  if (noise.kind === 'learned') return 'learned';
  return noise.stationary ? 'correlated' : 'correlated, σ map';
}

/** Poisson–Gaussian noise of a counts detector, in the data's units (ADU). */
export interface PoissonGaussianParams {
  /** e⁻ per ADU (FITS GAIN / CCDGAIN / ATODGAIN). */
  gain: number;
  /** Read noise in e⁻ (rms per pixel). */
  readNoise: number;
  /** A sky level (ADU) subtracted from the data before they reach SkyScore, added back for the shot noise; default 0. */
  sky?: number;
}

/**
 * σ per pixel of Poisson–Gaussian counts at the expected signal μ (ADU, sky included where not subtracted):
 * Var = max(μ + sky, 0)/gain + readNoise²/gain² (ADU²) — the Gaussian approximation of the Poisson shot noise,
 * good from a few counts per pixel up. NaN in μ gives NaN (a pixel without information).
 */
export function poissonGaussianSigma(mu: ArrayLike<number>, p: PoissonGaussianParams): Float32Array {
  checkPoissonGaussian(p);
  const sky = p.sky ?? 0;
  const rn2 = (p.readNoise * p.readNoise) / (p.gain * p.gain);
  const out = new Float32Array(mu.length);
  for (let i = 0; i < mu.length; i++) out[i] = Math.sqrt(Math.max(mu[i] + sky, 0) / p.gain + rn2);
  return out;
}

/**
 * The Poisson–Gaussian noise of counts data as a σ map: σ = poissonGaussianSigma at a pilot estimate of the
 * expected signal, the data's 3×3 box mean (boxMean) — the variance is evaluated once, at the data, not at the
 * unknown image (an approximation: where the PSF is sharper than the box the pilot is low at peaks, so σ is slightly
 * under-estimated there). NaN data pixels stay NaN (masked).
 */
export function poissonGaussianNoise(data: ArrayLike<number>, shape: Shape2, p: PoissonGaussianParams): NoiseModel {
  const pilot = boxMean(data, shape, 1);
  const sig = poissonGaussianSigma(pilot, p);
  for (let i = 0; i < sig.length; i++) if (!Number.isFinite(data[i])) sig[i] = NaN;
  return noiseMap(sig, shape, 'Poisson–Gaussian σ map');
}

export function checkPoissonGaussian(p: PoissonGaussianParams): void {
  if (!(p.gain > 0) || !Number.isFinite(p.gain)) throw new NoiseInputError(`gain must be a positive number of e⁻ per ADU, got ${p.gain}`);
  if (!(p.readNoise > 0) || !Number.isFinite(p.readNoise)) {
    throw new NoiseInputError(`read noise must be a positive number of e⁻, got ${p.readNoise} (with no read noise a pixel without counts would have σ = 0)`);
  }
  if (p.sky !== undefined && !Number.isFinite(p.sky)) throw new NoiseInputError(`sky must be a finite number of ADU, got ${p.sky}`);
}

/**
 * The pilot estimate of the expected signal for a Poisson–Gaussian σ map: the data smoothed by a
 * (2r+1)² box mean over their finite pixels (r = 1 by default), so that the variance map follows the signal and
 * not the noise of each pixel (a pixel's own noise in its σ would bias χ² low where it fluctuates up). NaN where a
 * pixel's box has no finite pixel.
 */
export function boxMean(data: ArrayLike<number>, shape: Shape2, r = 1): Float32Array {
  const [ny, nx] = shape;
  const out = new Float32Array(ny * nx);
  for (let i = 0; i < ny; i++) {
    for (let j = 0; j < nx; j++) {
      let s = 0;
      let c = 0;
      for (let a = Math.max(0, i - r); a <= Math.min(ny - 1, i + r); a++) {
        for (let b = Math.max(0, j - r); b <= Math.min(nx - 1, j + r); b++) {
          const v = data[a * nx + b];
          if (Number.isFinite(v)) {
            s += v;
            c++;
          }
        }
      }
      out[i * nx + j] = c ? s / c : NaN;
    }
  }
  return out;
}

export interface Validity {
  /** 1 where the pixel is usable, 0 where it is masked (row-major). */
  mask: Float32Array;
  /** Pixels masked because the data are NaN or infinite. */
  nonFiniteData: number;
  /** Further pixels masked because the σ map is NaN or infinite there. */
  nonFiniteSigma: number;
  /** Total masked. */
  masked: number;
  /** Human-readable report, empty when nothing is masked. */
  message: string;
}

/**
 * Which data pixels can be used: NaN or infinite pixels are masked and counted — never propagated —
 * as are pixels whose σ (from a map) is NaN or infinite. Combine the mask with the forward model's
 * (e.g. a mask operator) or use it to weight the likelihood.
 */
export function validityMask(data: ArrayLike<number>, shape: Shape2, noise?: NoiseModel, what = 'data'): Validity {
  const n = shape[0] * shape[1];
  if (data.length !== n) throw new NoiseInputError(`${what}: ${data.length} values for shape [${shape.join(', ')}]`);
  const sig = noise ? sigmaArray(noise, shape) : undefined;
  const mask = new Float32Array(n);
  let nonFiniteData = 0;
  let nonFiniteSigma = 0;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(data[i])) nonFiniteData++;
    else if (sig && !Number.isFinite(sig[i])) nonFiniteSigma++;
    else mask[i] = 1;
  }
  const masked = nonFiniteData + nonFiniteSigma;
  const parts: string[] = [];
  if (nonFiniteData) parts.push(`${nonFiniteData} NaN/infinite pixel${nonFiniteData > 1 ? 's' : ''} in ${what}`);
  if (nonFiniteSigma) parts.push(`${nonFiniteSigma} pixel${nonFiniteSigma > 1 ? 's' : ''} with NaN/infinite σ`);
  const message = parts.length ? `${parts.join(' and ')} masked (${masked} of ${n})` : '';
  return { mask, nonFiniteData, nonFiniteSigma, masked, message };
}

/** The data with masked pixels set to 0 (so they never reach a tensor as NaN). */
export function sanitize(data: ArrayLike<number>, mask: Float32Array): Float32Array {
  const out = new Float32Array(mask.length);
  for (let i = 0; i < mask.length; i++) out[i] = mask[i] ? data[i] : 0;
  return out;
}

/**
 * y + n with n ~ N(0, Σ), drawn from `normal` (a seeded standard-normal generator): σ_i z_i for white noise and
 * σ maps; for correlated noise σ_i (F⁻¹ √ρ F z)_i, the circulant square root of C applied to white noise (float64).
 */
export function addNoise(y: ArrayLike<number>, noise: NoiseModel, shape: Shape2, normal: () => number): Float32Array {
  const sig = sigmaArray(noise, shape);
  const out = new Float32Array(sig.length);
  const z = new Float64Array(sig.length);
  for (let i = 0; i < sig.length; i++) z[i] = Number.isFinite(sig[i]) ? normal() : 0;
  const corr = noiseCorrelation(noise);
  if (corr) {
    const im = new Float64Array(z.length);
    fft2d(z, im, shape[0], shape[1]);
    for (let i = 0; i < z.length; i++) {
      const s = Math.sqrt(corr[i]);
      z[i] *= s;
      im[i] *= s;
    }
    fft2d(z, im, shape[0], shape[1], true);
  }
  for (let i = 0; i < sig.length; i++) out[i] = y[i] + (Number.isFinite(sig[i]) ? sig[i] * z[i] : 0);
  return out;
}
