/**
 * The sampling driver: runs N chains of a sampler in batches, for a prior alone (unconditional samples) or a
 * posterior (prior score + convolved likelihood score), with
 *  - per-chain random streams (chain-rng.ts): the same seed gives the same samples whatever the batch size or
 *    the split between engine workers (`chainOffset`), on a given backend;
 *  - running per-pixel mean and standard deviation over the chains (Welford, merged across batches);
 *  - progress events (step, σ, χ² per observed pixel of the current mean, elapsed time, ETA, score evaluations)
 *    and throttled previews (the first chains' current states, running mean and std, normalised residual);
 *  - cancellation through an AbortSignal, checked between steps;
 *  - a constant tensor count: each step runs in tf.tidy and the previous state is disposed.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Invariance, ScoreModel, VeSde } from './types.js';
import { ChainNoise } from './chain-rng.js';
import { CgWarmStart, type Affine, type Likelihood } from './likelihood.js';
import { createSampler, type ConditionOptions, type SamplerName, type SamplerOptions, type SamplerTarget, type StepContext } from './samplers/index.js';
import { SamplerInputError } from './samplers/types.js';
import { Welford } from './welford.js';
import { ConditionalMeanAccumulator, conditionalMeanWindow } from './rao-blackwell.js';
import { dihedralIndexFor, dihedralScore, transformCount } from './dihedral.js';

export class SamplingCancelledError extends Error {
  override name = 'SamplingCancelledError';
  constructor() {
    super('sampling cancelled');
  }
}

export interface SamplingProblem {
  prior: ScoreModel;
  sde: VeSde;
  /** Per-chain shape of the unknown: [ny, nx] (images) or [d] (points). */
  shape: number[];
  /** The data term; absent for unconditional sampling. */
  likelihood?: Likelihood | null;
  /** Data units of the unknown: x = scale·x_prior + offset (default: the likelihood's, else the identity). */
  affine?: Affine;
}

export interface SamplingPreview {
  shape: number[];
  dataShape: [number, number] | null;
  /** The first `nSamples` chains of the current batch (data units), one after another. */
  samples: Float32Array;
  nSamples: number;
  /** Running mean and standard deviation over every chain so far (finished batches and the current one). */
  mean: Float32Array;
  std: Float32Array;
  /** (y − A·mean)/σ on the data grid, 0 where masked; null without data. */
  residual: Float32Array | null;
}

/** Where a run stands: the part of its progress that the worker pool and the engine protocol pass on too. */
export interface SamplingStatus {
  /** Steps done over the whole run (all batches) and their total. */
  step: number;
  steps: number;
  /** Noise level of the current state. */
  sigma: number;
  /** χ² per observed pixel of the current mean (data units); null without data (or before it is known). */
  chi2: number | null;
  elapsedS: number;
  etaS: number | null;
}

export interface SamplingProgress extends SamplingStatus {
  /** Score evaluations so far, counted per image (a batch of B counts B). */
  scoreEvaluations: number;
  batch: number;
  batches: number;
  preview?: SamplingPreview;
}

export interface SamplingOptions {
  sampler: SamplerName | string;
  steps: number;
  /** Number of chains (= samples). */
  n: number;
  seed: number;
  /** Chains evaluated together (default min(n, 16)). */
  batchSize?: number;
  /** Index of the first chain (for splitting one run between workers). */
  chainOffset?: number;
  samplerOptions?: SamplerOptions;
  onProgress?: (p: SamplingProgress) => void;
  /** Minimum time between progress events (default 200 ms; the last step always reports). */
  progressIntervalMs?: number;
  /** Minimum time between previews (default 1000 ms; 0 disables them). */
  previewIntervalMs?: number;
  /** Chains shown in previews (default 4). */
  previewSamples?: number;
  signal?: AbortSignal;
  /** Called after every step (tests: tensor counts). */
  onStep?: (info: { batch: number; step: number; numTensors: number }) => void;
}

export interface SamplingResult {
  /** The final states, prior units, [n, ...shape] chain-major. */
  samples: Float32Array;
  n: number;
  shape: number[];
  sampler: SamplerName;
  steps: number;
  seed: number;
  chainOffset: number;
  batchSize: number;
  seconds: number;
  /** Score evaluations counted per image. */
  scoreEvaluations: number;
  samplerSettings: Record<string, number | string>;
  /**
   * Each chain's Rao–Blackwellised estimate of the posterior mean (rao-blackwell.ts), prior units, [n, ...shape]
   * chain-major; null where not made (no data, a sampler without `scoresAtDraws`, or `raoBlackwell: false`).
   */
  conditionalMeans: Float32Array | null;
}

/** The score a sampler sees for one batch: prior + likelihood, with the CG warm start of these chains. */
class BatchTarget implements SamplerTarget {
  readonly warm = new CgWarmStart();
  evaluations = 0;
  readonly misfit: ((x: tf.Tensor) => tf.Tensor1D) | null;
  readonly supportsZeroSigma: boolean;

  constructor(
    private readonly problem: SamplingProblem,
    readonly shape: number[],
    readonly batch: number,
    /** The prior's score through one of this many flips/rotations per noise level (dihedral.ts); 0: none. */
    private readonly transforms = 0,
    /** Collects Tweedie's estimates of the chains' last levels (the Rao–Blackwellised mean); null: none. */
    readonly conditional: ConditionalMeanAccumulator | null = null,
  ) {
    const lik = problem.likelihood;
    this.misfit = lik ? (x) => tf.tidy(() => tf.div(lik.weightedResidualNorm(x), lik.affine.scale) as tf.Tensor1D) : null;
    this.supportsZeroSigma = (problem.prior as { supportsZeroSigma?: boolean }).supportsZeroSigma === true;
  }

  priorScore(x: tf.Tensor, sigma: number): tf.Tensor {
    this.evaluations++;
    const sig = () => tf.fill([x.shape[0]], sigma) as tf.Tensor1D;
    if (this.transforms > 1) return dihedralScore((y) => this.problem.prior.score(y, sig()), x, dihedralIndexFor(sigma, this.transforms));
    return tf.tidy(() => this.problem.prior.score(x, sig()));
  }

  score(x: tf.Tensor, sigma: number, probe = false): tf.Tensor {
    const lik = this.problem.likelihood;
    if (!lik) return this.priorScore(x, sigma);
    return tf.tidy(() => {
      const sp = this.priorScore(x, sigma);
      // Tweedie's estimate for the Rao–Blackwellised mean: the prior's denoised state, then conditioned on the
      // data with the exact likelihood (condition), which stays right where the data are more precise than σ
      // (its solve starts cold: a warm start held only over the last levels would change the run's tensor count)
      if (!probe && this.conditional?.inWindow(sigma)) this.condition(tf.add(x, tf.mul(sp, sigma * sigma)), sigma, { record: true });
      // a likelihood that asks for it is evaluated at the prior's Tweedie estimate x + σ² s_prior (closure-likelihood.ts)
      const at = 'atTweedie' in lik && lik.atTweedie ? tf.add(x, tf.mul(sp, sigma * sigma)) : x;
      return tf.add(sp, lik.score(at, sigma, this.warm));
    });
  }

  condition(xHat: tf.Tensor, sigma: number, options: ConditionOptions = {}): tf.Tensor {
    const lik = this.problem.likelihood;
    if (!lik) return tf.clone(xHat);
    return tf.tidy(() => {
      const eta = options.noise ? lik.noiseDraw(options.noise([lik.noiseShape[0], lik.noiseShape[1]])) : undefined;
      // a non-linear likelihood conditions itself (closure-likelihood.ts: the mode of N(x̂, σ²I) · p(y | x))
      const out = 'condition' in lik ? lik.condition(xHat, sigma, eta) : tf.add(xHat, tf.mul(lik.score(xHat, sigma, undefined, eta), sigma * sigma));
      if (options.record && !eta) this.conditional?.addEstimate(out, sigma);
      return out;
    });
  }

  dispose(): void {
    this.warm.reset();
    this.conditional?.dispose();
  }
}

/**
 * The symmetry the sampler imposes on an image prior's score: with `symmetrise: true`, the prior's own
 * (model.json's augmentation), or all eight flips/rotations for a prior that declares none (the user's call).
 */
export function symmetryOf(prior: ScoreModel, shape: number[], o: SamplerOptions): Invariance | null {
  if (shape.length !== 2 || o.symmetrise !== true) return null;
  return prior.invariance ?? 'dihedral';
}

/** Chain index of the auxiliary stream (never a real chain). */
const AUX_STREAM = 0x7fffffff;

function nowMs(): number {
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Runs the chains; resolves with their final states (prior units). */
export async function runSampling(problem: SamplingProblem, opts: SamplingOptions): Promise<SamplingResult> {
  const { n, seed, steps } = opts;
  if (!Number.isInteger(n) || n < 1) throw new SamplerInputError(`the number of samples must be a positive integer, got ${n}`);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new SamplerInputError(`seed must be a non-negative integer, got ${seed}`);
  const chainOffset = opts.chainOffset ?? 0;
  const batchSize = Math.min(n, opts.batchSize ?? 16);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new SamplerInputError(`batch size must be a positive integer, got ${opts.batchSize}`);
  const shape = problem.shape.slice();
  if (!problem.prior.supportsShape(shape)) {
    throw new SamplerInputError(`the prior (${problem.prior.kind}) cannot be evaluated on shape [${shape.join(', ')}]`);
  }
  const lik = problem.likelihood ?? null;
  if (lik && (shape.length !== 2 || shape[0] !== lik.inShape[0] || shape[1] !== lik.inShape[1])) {
    throw new SamplerInputError(`the unknown's shape [${shape.join(', ')}] is not the forward model's input shape [${lik.inShape.join(', ')}]`);
  }
  const affine = problem.affine ?? lik?.affine ?? { scale: 1, offset: 0 };
  const per = shape.reduce((a, b) => a * b, 1);
  const sampler = createSampler(opts.sampler, { sde: problem.sde, steps, options: opts.samplerOptions ?? {} });
  const symmetry = symmetryOf(problem.prior, shape, opts.samplerOptions ?? {});
  const transforms = symmetry ? transformCount(symmetry) : 0;
  const batches = Math.ceil(n / batchSize);
  const totalSteps = batches * steps;
  const samples = new Float32Array(n * per);
  const welford = new Welford(per);
  // the Rao–Blackwellised mean's window: the levels where σ² A Aᵀ ≼ Σ (rao-blackwell.ts)
  const rbSigma =
    lik && sampler.scoresAtDraws && opts.samplerOptions?.raoBlackwell !== false
      ? conditionalMeanWindow(await lik.normalMaxEigenvalue(), problem.sde.sigmaMin)
      : null;
  const conditionalMeans = rbSigma !== null ? new Float32Array(n * per) : null;
  let rbTerms = 0;
  const progressMs = opts.progressIntervalMs ?? 200;
  const previewMs = opts.previewIntervalMs ?? 1000;
  const nPreview = Math.max(0, opts.previewSamples ?? 4);
  const t0 = nowMs();
  let lastProgress = -Infinity;
  let lastPreview = -Infinity;
  let lastYield = t0;
  let evaluations = 0;
  let settings: Record<string, number | string> = {};
  const toData = (v: Float32Array): Float32Array => {
    if (affine.scale === 1 && affine.offset === 0) return v;
    const out = new Float32Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = affine.scale * v[i] + affine.offset;
    return out;
  };

  for (let bi = 0; bi < batches; bi++) {
    const b = Math.min(batchSize, n - bi * batchSize);
    const noise = new ChainNoise(seed, chainOffset + bi * batchSize, b);
    const aux = new ChainNoise(seed, AUX_STREAM, b);
    const ctx: StepContext = { normal: (s = shape) => noise.tensor(s), auxNormal: () => aux.tensor(shape) };
    const target = new BatchTarget(problem, shape, b, transforms, rbSigma !== null ? new ConditionalMeanAccumulator(rbSigma, [b, ...shape]) : null);
    let x: tf.Tensor | null = null;
    try {
      x = sampler.init(target, ctx);
      await sampler.prepare?.(x, target, ctx);
      for (let i = 0; i < steps; i++) {
        if (opts.signal?.aborted) throw new SamplingCancelledError();
        const next: tf.Tensor = tf.tidy(() => sampler.step(x as tf.Tensor, i, target, ctx));
        x.dispose();
        x = next;
        const done = bi * steps + i + 1;
        opts.onStep?.({ batch: bi, step: i, numTensors: tf.memory().numTensors });
        const now = nowMs();
        const last = done === totalSteps;
        const wantProgress = opts.onProgress && (last || now - lastProgress >= progressMs);
        const wantPreview = opts.onProgress && previewMs > 0 && (last || now - lastPreview >= previewMs);
        if (wantProgress || wantPreview) {
          const elapsedS = (now - t0) / 1000;
          const etaS = done > 0 ? (elapsedS / done) * (totalSteps - done) : null;
          const evals = evaluations + target.evaluations * b;
          const p: SamplingProgress = {
            step: done,
            steps: totalSteps,
            sigma: sampler.sigmaAfter(i),
            chi2: null,
            elapsedS,
            etaS,
            scoreEvaluations: evals,
            batch: bi,
            batches,
          };
          const state = x;
          if (lik) {
            const m = tf.mean(state, 0, true);
            p.chi2 = (await lik.chi2PerPixel(m))[0]!;
            m.dispose();
          }
          if (wantPreview) {
            lastPreview = now;
            const cur = (await state.data()) as Float32Array;
            const w = welford.clone();
            w.addBatch(cur, b);
            const { mean, std } = w.result();
            const meanData = toData(mean);
            const stdData = Float32Array.from(std, (v) => v * affine.scale);
            let residual: Float32Array | null = null;
            if (lik) {
              residual = await lik.normalisedResidual(meanData);
              for (let k = 0; k < residual.length; k++) if (!Number.isFinite(residual[k])) residual[k] = 0;
            }
            const k = Math.min(nPreview, b);
            p.preview = {
              shape: shape.slice(),
              dataShape: lik ? [lik.dataShape[0], lik.dataShape[1]] : null,
              samples: toData(cur.slice(0, k * per)),
              nSamples: k,
              mean: meanData,
              std: stdData,
              residual,
            };
          }
          lastProgress = now;
          opts.onProgress!(p);
        }
        if (now - lastYield > 50) {
          await yieldToEventLoop();
          lastYield = nowMs();
        }
      }
      const final = (await (x as tf.Tensor).data()) as Float32Array;
      await lik?.settle();
      for (let k = 0; k < final.length; k++) {
        if (!Number.isFinite(final[k])) {
          throw new Error(`${sampler.name}: the chains diverged (non-finite values after ${steps} steps); try more steps`);
        }
      }
      samples.set(final, bi * batchSize * per);
      welford.addBatch(final, b);
      if (conditionalMeans && target.conditional) {
        const cm = await target.conditional.result();
        // a window no evaluation fell in (it always holds σmin for the annealed samplers): the draws themselves
        conditionalMeans.set(cm ?? final, bi * batchSize * per);
        rbTerms = target.conditional.count;
      }
      evaluations += target.evaluations * b;
      settings = {
        ...sampler.settings,
        ...(symmetry ? { symmetry: `${symmetry}: the prior's score through one of its ${transforms} flips/rotations per noise level` } : {}),
        ...(rbSigma !== null
          ? {
              meanEstimate: 'rao-blackwellised: Tweedie estimates E[x0 | x_sigma, y] averaged over the score evaluations with sigma <= raoBlackwellSigma (where sigma^2 A A^T <= Sigma, prior units)',
              raoBlackwellSigma: rbSigma,
              raoBlackwellTerms: rbTerms,
            }
          : { meanEstimate: 'mean of the draws' }),
      };
    } finally {
      x?.dispose();
      target.dispose();
    }
  }
  return {
    samples,
    n,
    shape,
    sampler: sampler.name,
    steps,
    seed,
    chainOffset,
    batchSize,
    seconds: (nowMs() - t0) / 1000,
    scoreEvaluations: evaluations,
    samplerSettings: settings,
    conditionalMeans,
  };
}
