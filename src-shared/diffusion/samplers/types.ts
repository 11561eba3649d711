/**
 * The sampler contract. A sampler is a step function driven by posterior.ts: the driver owns the chain state,
 * calls `step` once per step inside tf.tidy, disposes the previous state, reports progress and checks for
 * cancellation between steps. Samplers never hold tensors across steps themselves (the conjugate-gradient warm
 * start lives in the target), so a run's tensor count stays constant.
 */
import type { Tensor, Tensor1D } from '@tensorflow/tfjs-core';
import type { VeSde } from '../types.js';
import type { SamplerName, SamplerOptions } from './spec.js';
import { UserInputError } from '../../errors.js';


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
  /**
   * The data's update of an estimate x̂ of x₀ made from a state at noise level σ with the prior alone (Tweedie's
   * x + σ² s_prior(x, σ)): x̂ + σ² a Aᵀ(Σ + a²σ² A Aᵀ)⁻¹(y' + η − a A x̂), in prior units — the Gaussian
   * conditioning of x₀ ~ N(x̂, σ² I) on the data with the exact likelihood (a Kalman update; denoise.ts). η: a draw
   * of the data's noise when `noise` gives standard normals (the chains' own stream; Matheron's rule: then a draw of
   * that conditional), else 0. `record`: x̂ came from a draw of the target at σ, so the result is Tweedie's
   * estimate E[x₀ | x_σ, y] the Rao–Blackwellised mean may average. Absent on a target without data.
   */
  condition?(xHat: Tensor, sigma: number, options?: ConditionOptions): Tensor;
}

export interface ConditionOptions {
  /** Standard normals [batch, ...shape] for a per-chain shape (the data's [my, mx]): a draw of the data's noise. */
  noise?: (shape: number[]) => Tensor;
  /** Record the result as a Tweedie estimate at σ (rao-blackwell.ts); only without `noise`. */
  record?: boolean;
}

/** Randomness for one step: standard normals of shape [batch, ...shape], from the chains' own streams. */
export interface StepContext {
  /** Standard normals of shape [batch, ...shape] (default: the unknown's shape). */
  normal(shape?: number[]): Tensor;
  /** Standard normals from a stream the chains never use (set-up work such as ula's stiffness estimate). */
  auxNormal(): Tensor;
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
