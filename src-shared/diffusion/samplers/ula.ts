/**
 * `ula`: the unadjusted Langevin algorithm on a fixed target (the seed lecture's sampler):
 *   x ← x + Δ s(x) + √(2Δ) ξ,
 * with s the target's score at one noise level — 0 (the exact posterior) where the prior's score exists there
 * (analytic priors), else σmin. The step Δ is fixed: given, or 0.05/λmax with λmax the largest eigenvalue of
 * −∇s at the chains' starting points (20 power iterations on central finite differences of the score, median
 * over the chains; see estimateStiffness) (for a Gaussian
 * target, ULA's stationary variance along an eigendirection is 1/(λ(1 − λΔ/2)): ≤ 2.6% too wide there, less
 * elsewhere). Chains start at x ~ N(0, initScale² I); `steps` counts the burn-in too, the final states are the
 * samples — at a target σ > 0 after the ending of denoise.ts (default: a data-conditioned Tweedie draw).
 */
import * as tf from '@tensorflow/tfjs-core';
import { langevinStep, perChainSum } from './langevin.js';
import { denoiseLabel, denoiseSetting, finishDraw } from './denoise.js';
import { SamplerInputError, type Sampler, type SamplerFactoryArgs, type SamplerTarget, type StepContext } from './types.js';

export const ULA_STEP_FRACTION = 0.05;
const POWER_ITERATIONS = 20;

/**
 * The stiffness of the target at the chains' states: for each chain, the largest |eigenvalue| of the score's
 * Jacobian there (power iteration on central finite differences), and the median over the chains. The median,
 * not the maximum: a chain that starts in an unrepresentative, stiffer region (near the ring potential's centre,
 * where −∇V varies like 1/|x|) should not slow every chain; for a Gaussian target all chains agree.
 */
export async function estimateStiffness(
  target: SamplerTarget,
  x: tf.Tensor,
  sigma: number,
  ctx: StepContext,
  iterations = POWER_ITERATIONS,
): Promise<{ median: number; max: number }> {
  const norm = (t: tf.Tensor): tf.Tensor => tf.sqrt(perChainSum(tf.square(t)));
  let v = tf.tidy(() => {
    const z = ctx.auxNormal();
    return tf.div(z, norm(z));
  });
  const ms = tf.tidy(() => tf.mean(tf.square(x)));
  const scale = Math.max(1, Math.sqrt((await ms.data())[0]!));
  ms.dispose();
  const h = 1e-3 * scale;
  let lambdas: Float32Array = new Float32Array(0);
  for (let k = 0; k < iterations; k++) {
    const next = tf.tidy(() => {
      const sp = target.score(tf.add(x, tf.mul(v, h)), sigma, true);
      const sm = target.score(tf.sub(x, tf.mul(v, h)), sigma, true);
      const jv = tf.div(tf.sub(sp, sm), 2 * h);
      const n = norm(jv);
      return { w: tf.div(jv, tf.maximum(n, 1e-30)), n };
    });
    lambdas = (await next.n.data()) as Float32Array;
    next.n.dispose();
    v.dispose();
    v = next.w;
  }
  v.dispose();
  const sorted = Array.from(lambdas).sort((a, b) => a - b);
  const m = sorted.length;
  const median = m % 2 ? sorted[(m - 1) / 2] : 0.5 * (sorted[m / 2 - 1] + sorted[m / 2]);
  return { median, max: sorted[m - 1] };
}

export function createUla({ sde, steps, options }: SamplerFactoryArgs): Sampler {
  const initScale = options.initScale ?? 1;
  if (!(initScale > 0)) throw new SamplerInputError(`ula: initScale must be positive, got ${initScale}`);
  if (options.stepSize !== undefined && !(options.stepSize > 0 && Number.isFinite(options.stepSize))) {
    throw new SamplerInputError(`ula: step size must be positive, got ${options.stepSize}`);
  }
  let delta = options.stepSize ?? NaN;
  let sigma = options.targetSigma ?? NaN;
  const denoise = denoiseSetting(options);
  const settings: Record<string, number | string> = { initScale };
  const sampler: Sampler = {
    name: 'ula',
    steps,
    evalsPerStep: 1,
    settings,
    init: (target, ctx) => {
      if (Number.isNaN(sigma)) sigma = target.supportsZeroSigma ? 0 : sde.sigmaMin;
      if (!(sigma >= 0)) throw new SamplerInputError(`ula: target noise level must be ≥ 0, got ${sigma}`);
      if (sigma === 0 && !target.supportsZeroSigma) throw new SamplerInputError('ula: this prior has no score at σ = 0; target σmin or above');
      settings.targetSigma = sigma;
      // a target at σ > 0 is the posterior blurred by σ: the chains end as the annealed samplers do (denoise.ts)
      settings.denoise = sigma > 0 ? denoiseLabel(denoise) : 'none';
      return tf.tidy(() => tf.mul(ctx.normal(), initScale));
    },
    prepare: async (x, target, ctx) => {
      if (Number.isNaN(delta)) {
        const { median: lam, max } = await estimateStiffness(target, x, sigma, ctx);
        if (!(lam > 0) || !Number.isFinite(lam)) throw new SamplerInputError(`ula: could not estimate a step size (λmax = ${lam}); give one`);
        delta = ULA_STEP_FRACTION / lam;
        settings.lambdaMax = lam;
        settings.lambdaMaxLargest = max;
        settings.stepRule = `${ULA_STEP_FRACTION}/λmax (median over the chains' starting points)`;
      }
      settings.stepSize = delta;
    },
    sigmaAfter: () => sigma,
    step(x, i, target, ctx) {
      return tf.tidy(() => {
        const next = langevinStep(x, target.score(x, sigma), delta, ctx.normal());
        return i === steps - 1 && sigma > 0 ? finishDraw(denoise, next, target, sigma, ctx.normal) : next;
      });
    },
  };
  return sampler;
}
