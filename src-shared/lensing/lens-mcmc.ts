import type { PsfKernel } from '../operators/psf.js';
import type { Random32 } from '../operators/random-base.js';
import { csrMultiply } from '../operators/csr.js';
import { blurredLensMatrix, lensParamsFromMass, massAllowed, massOf, type Grid } from './mass.js';
import type { LensParams } from '../operators/lens-model.js';
import { cholesky } from '../linalg/cholesky.js';

// The lens parameters' conditional given a source, p(θ | x, y) ∝ N(y; b + P L(θ) x, diag σ²) · prior(θ), and a
// random-walk Metropolis sampler for it: the lens half of a Metropolis-within-Gibbs sampler of lens and source
// (docs/lensing.md). Float64, free of tfjs.

/** The data the lens conditional sees: the fitted pixels' data less the additive image, their weights, the grids. */
export interface LensConditionalData {
  /** y − b at the fitted pixels (data units) */
  y: Float64Array;
  /** 1/σ² at the fitted pixels */
  w: Float64Array;
  /** the fitted pixels (flat indices of the image grid) */
  pixels: Int32Array;
  image: Grid;
  source: Grid;
  supersample: number;
  psf: PsfKernel | null;
}

/** log N(y; P L(θ) x, diag σ²) up to θ-free constants: −½ Σ w (y − P L(θ) x)² over the fitted pixels. */
export function lensLogLikelihood(d: LensConditionalData, lens: LensParams, source: ArrayLike<number>): number {
  const B = blurredLensMatrix(lens, d.image, d.source, d.supersample, d.psf, d.pixels);
  const m = csrMultiply(B, source);
  let s = 0;
  for (let k = 0; k < d.y.length; k++) {
    const r = d.y[k] - m[k];
    s += d.w[k] * r * r;
  }
  return -0.5 * s;
}

/**
 * The log conditional of the mass vector (mass.ts: massVector's order) given a source: the likelihood inside the
 * flat prior's support (massAllowed, the lens fit's bounds), −∞ outside.
 */
export function lensLogConditional(d: LensConditionalData, source: ArrayLike<number>): (v: Float64Array) => number {
  return (v) => {
    const m = massOf(v);
    return massAllowed(m) ? lensLogLikelihood(d, lensParamsFromMass(m), source) : -Infinity;
  };
}

export interface MetropolisState {
  x: Float64Array;
  logp: number;
}

/**
 * One random-walk Metropolis step on log p: proposal x′ = x + c L z, z ~ N(0, I) (L the proposal covariance's
 * Cholesky factor, c a scale), accepted with probability α = min(1, p(x′)/p(x)). The proposal is symmetric, so
 * this leaves p invariant. Returns the new state, whether it moved, and α.
 */
export function metropolisStep(logp: (x: Float64Array) => number, s: MetropolisState, L: Float64Array, rng: Random32, c = 1): { state: MetropolisState; accepted: boolean; alpha: number } {
  const n = s.x.length;
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) z[i] = rng.normal();
  const xp = Float64Array.from(s.x);
  for (let i = 0; i < n; i++) for (let k = 0; k <= i; k++) xp[i] += c * L[i * n + k] * z[k];
  const lp = logp(xp);
  const alpha = lp > -Infinity ? Math.min(1, Math.exp(lp - s.logp)) : 0;
  if (lp > -Infinity && Math.log(rng.uniform()) < lp - s.logp) return { state: { x: xp, logp: lp }, accepted: true, alpha };
  return { state: s, accepted: false, alpha };
}

/** The acceptance rate the adaptation aims at (random-walk Metropolis in several dimensions: Roberts et al. 1997). */
export const TARGET_ACCEPTANCE = 0.234;

/**
 * `steps` random-walk Metropolis steps from `start` with proposal covariance `scale² · cov` (n×n; the lens fit's
 * Laplace covariance of the mass block, with scale 2.38/√n the usual choice for a Gaussian target): the chain
 * (steps × n, row-major, the state after each step), the fraction of proposals accepted and the scale at the end.
 * With `adapt` the scale adapts at every step, ln c ← ln c + 2(α − 0.234)/√(k + 1) (Robbins–Monro, k counting the
 * adapted steps so far, carried over between calls in `adapt.count`): for a burn-in only — a chain whose proposal
 * keeps changing does not leave p invariant.
 */
export function randomWalkMetropolis(
  logp: (x: Float64Array) => number,
  start: MetropolisState,
  cov: ArrayLike<number>,
  opts: { steps: number; scale?: number; rng: Random32; adapt?: { count: number } },
): { state: MetropolisState; chain: Float64Array; accepted: number; scale: number; count: number } {
  const n = start.x.length;
  let scale = opts.scale ?? 2.38 / Math.sqrt(n);
  const L = cholesky(cov, n);
  if (!L) throw new Error('randomWalkMetropolis: the proposal covariance is not positive definite');
  const chain = new Float64Array(opts.steps * n);
  let s = start;
  let accepted = 0;
  let count = opts.adapt?.count ?? 0;
  for (let t = 0; t < opts.steps; t++) {
    const r = metropolisStep(logp, s, L, opts.rng, scale);
    s = r.state;
    if (r.accepted) accepted++;
    if (opts.adapt) scale *= Math.exp((2 * (r.alpha - TARGET_ACCEPTANCE)) / Math.sqrt(++count));
    chain.set(s.x, t * n);
  }
  return { state: s, chain, accepted: accepted / Math.max(1, opts.steps), scale, count };
}
