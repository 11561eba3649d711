/**
 * The variance-exploding SDE (VE, Song et al. 2021) (docs/sampling.md):
 *   dx = g(t) dW,  σ(t) = σmin (σmax/σmin)^t,  g(t)² = dσ²/dt = 2 σ(t)² ln(σmax/σmin),  t ∈ [0, 1].
 * The perturbation kernel is x(t) | x(0) ~ N(x(0), (σ(t)² − σ(0)²) I) ≈ N(x(0), σ(t)² I) (σ(0) = σmin is
 * treated as the smallest noise level, as in NCSN++). Samples come from the reverse SDE
 *   dx = −g(t)² ∇x log p_t(x) dt + g(t) dW̄,
 * integrated from t = 1 (x ~ N(0, σmax² I)) down to t = 0.
 */
import type { VeSde } from './types.js';
import { UserInputError } from '../errors.js';

export class SdeInputError extends UserInputError {
  override name = 'SdeInputError';
}

/** Checks 0 < σmin < σmax < ∞. */
export function validateSde(sde: VeSde, where = 'SDE'): VeSde {
  const { sigmaMin, sigmaMax } = sde;
  if (!Number.isFinite(sigmaMin) || !Number.isFinite(sigmaMax) || !(sigmaMin > 0) || !(sigmaMax > sigmaMin)) {
    throw new SdeInputError(`${where}: need 0 < sigmaMin < sigmaMax (finite), got sigmaMin=${sigmaMin}, sigmaMax=${sigmaMax}`);
  }
  return sde;
}

/** σ(t) = σmin (σmax/σmin)^t. */
export function sigmaAt(sde: VeSde, t: number): number {
  return sde.sigmaMin * Math.pow(sde.sigmaMax / sde.sigmaMin, t);
}

/** g(t)² = 2 σ(t)² ln(σmax/σmin): the diffusion coefficient squared. */
export function diffusionSquared(sde: VeSde, t: number): number {
  const s = sigmaAt(sde, t);
  return 2 * s * s * Math.log(sde.sigmaMax / sde.sigmaMin);
}

/** The inverse of σ(t). */
export function timeOfSigma(sde: VeSde, sigma: number): number {
  return Math.log(sigma / sde.sigmaMin) / Math.log(sde.sigmaMax / sde.sigmaMin);
}

/**
 * The discretisation used by every annealed sampler: `levels` times t_i = 1 − i/(levels − 1), i.e. σ_0 = σmax
 * down to σ_{levels−1} = σmin, geometrically spaced (equal steps in ln σ).
 */
export function timeGrid(levels: number): Float64Array {
  if (!Number.isInteger(levels) || levels < 2) throw new SdeInputError(`the number of steps must be an integer ≥ 2, got ${levels}`);
  const t = new Float64Array(levels);
  for (let i = 0; i < levels; i++) t[i] = 1 - i / (levels - 1);
  t[levels - 1] = 0;
  return t;
}

/** σ at the points of timeGrid(levels): σmax … σmin. */
export function sigmaSchedule(sde: VeSde, levels: number): Float64Array {
  const t = timeGrid(levels);
  return t.map((ti) => sigmaAt(sde, ti));
}

