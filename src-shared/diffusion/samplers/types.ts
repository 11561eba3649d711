/**
 * The sampler contract. A sampler is a step function driven by posterior.ts: the driver owns the chain state,
 * calls `step` once per step inside tf.tidy, disposes the previous state, reports progress and checks for
 * cancellation between steps. Samplers never hold tensors across steps themselves (the conjugate-gradient warm
 * start lives in the target), so a run's tensor count stays constant.
 */
import type { Tensor, Tensor1D } from '@tensorflow/tfjs-core';
import type { VeSde } from '../types.js';
import { UserInputError } from '../../errors.js';

export const SAMPLERS = ['pc', 'em', 'ald', 'ula', 'dps'] as const;
export type SamplerName = (typeof SAMPLERS)[number];

/** What a sampler sees of the problem: scores in prior units for a batch of chains. */
export interface SamplerTarget {
  /** Per-chain shape of the unknown ([ny, nx] images or [d] points). */
  readonly shape: number[];
  /** Chains in this batch. */
  readonly batch: number;
  /**
   * ∇ log of the target at noise level σ: prior score plus (if any) the convolved likelihood's. `probe`: x is not
   * a draw of the target (a finite-difference probe), so Tweedie's estimate there is not collected.
   */
  score(x: Tensor, sigma: number, probe?: boolean): Tensor;
  /** The prior's score alone (DPS builds its own likelihood term). */
  priorScore(x: Tensor, sigma: number): Tensor;
  /**
   * DPS's data misfit ‖W (y − A x)‖ per chain in prior units (W = σ̄/σ_i), differentiable; null without data.
   */
  readonly misfit: ((x: Tensor) => Tensor1D) | null;
  /** Whether the prior's score exists at σ = 0 (analytic priors). */
  readonly supportsZeroSigma: boolean;
}

/** Randomness for one step: standard normals of shape [batch, ...shape], from the chains' own streams. */
export interface StepContext {
  normal(): Tensor;
  /** Standard normals from a stream the chains never use (set-up work such as ula's stiffness estimate). */
  auxNormal(): Tensor;
}

export interface SamplerOptions {
  /** Signal-to-noise ratio of the Langevin corrector step (pc, ald); default 0.16. */
  snr?: number;
  /** Corrector steps per noise level (pc); default 1. */
  correctorSteps?: number;
  /** Langevin steps per noise level (ald); default 3. */
  langevinSteps?: number;
  /** Fixed step Δ of ula; default 0.05/λmax (λmax: largest eigenvalue of −∇s, by power iteration at start). */
  stepSize?: number;
  /** Noise level ula targets; default 0 where the prior's score exists there, else σmin. */
  targetSigma?: number;
  /** Standard deviation of ula's starting points x ~ N(0, s² I); default 1 (prior units). */
  initScale?: number;
  /** DPS step scale ζ (prior units); default 1. */
  zeta?: number;
  /**
   * How pc, em and ald end (denoise.ts): 'draw' (the default) a second-order Tweedie draw; 'mean' (or true)
   * Tweedie's denoising step x ← x + σmin² s(x, σmin); 'none' (or false) the raw draw at σmin.
   */
  denoise?: boolean | 'mean' | 'draw' | 'none';
  /**
   * Use the image prior's score through one of its eight flips/rotations per noise level (dihedral.ts): for priors
   * trained with those augmentations; default false. Ignored for 2-D densities.
   */
  symmetrise?: boolean;
  /**
   * Estimate the posterior mean by averaging Tweedie's E[x₀ | x_σ, y] over the score evaluations of the chains'
   * last levels (rao-blackwell.ts) rather than as the mean of the final draws; samplers that declare
   * `scoresAtDraws`, with data only; default true.
   */
  raoBlackwell?: boolean;
}

export interface Sampler {
  readonly name: SamplerName;
  readonly steps: number;
  /** Batched score evaluations per step (DPS counts its backward pass as one), for ETA and reports. */
  readonly evalsPerStep: number;
  /** Settings actually used (defaults filled in), for the report. */
  readonly settings: Record<string, number | string>;
  /**
   * Every `target.score(x, σ)` call is at a state the sampler treats as a draw of the target at that σ (the
   * annealed samplers), so the driver may average Tweedie's estimates from them (rao-blackwell.ts).
   */
  readonly scoresAtDraws?: boolean;
  /** Starting state for a batch (the driver keeps it). */
  init(target: SamplerTarget, ctx: StepContext): Tensor;
  /**
   * Optional setup after init that needs the starting state (ula's step size); may evaluate the score. Async, as
   * it reads values back (a GPU backend in Node can only do that asynchronously).
   */
  prepare?(x: Tensor, target: SamplerTarget, ctx: StepContext): Promise<void>;
  /** The noise level the state has after step i (0-based), for progress. */
  sigmaAfter(i: number): number;
  /** One step: returns the new state (the caller disposes the old one). */
  step(x: Tensor, i: number, target: SamplerTarget, ctx: StepContext): Tensor;
}

export interface SamplerFactoryArgs {
  sde: VeSde;
  steps: number;
  options: SamplerOptions;
}

export class SamplerInputError extends UserInputError {
  override name = 'SamplerInputError';
}
