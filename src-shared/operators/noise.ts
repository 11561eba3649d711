import { NoiseInputError } from './errors.js';
import type { Shape2 } from './types.js';

/** Gaussian noise model of the data: one σ for every pixel, or a σ per pixel (row-major, the data's shape). */
export type NoiseModel = { kind: 'scalar'; sigma: number } | { kind: 'map'; sigma: Float32Array; shape: Shape2 };

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
    throw new NoiseInputError(`noise map shape [${noise.shape.join(', ')}] does not match the data shape [${shape.join(', ')}]`);
  }
  return noise.sigma.slice();
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

/** y + n with n ~ N(0, σ²) per pixel, drawn from `normal` (a seeded standard-normal generator). */
export function addNoise(y: ArrayLike<number>, noise: NoiseModel, shape: Shape2, normal: () => number): Float32Array {
  const sig = sigmaArray(noise, shape);
  const out = new Float32Array(sig.length);
  for (let i = 0; i < sig.length; i++) out[i] = y[i] + (Number.isFinite(sig[i]) ? sig[i] * normal() : 0);
  return out;
}
