/**
 * `ald`: annealed Langevin dynamics (Song & Ermon 2019) — no predictor: at each of `steps` noise levels
 * σmax … σmin (geometric) run `langevinSteps` (default 3) Langevin steps with the corrector's step size
 * ε = 2 (snr ‖z‖/‖s‖)² (snr 0.16 by default), starting from x ~ N(0, σmax² I), and end at σmin
 * as denoise.ts says (by default a second-order Tweedie draw).
 * Without a predictor the Langevin steps alone must shrink the state from one level to the next: a fraction
 * 1 − (σ_{i+1}/σ_i)² ≈ 2 ln(σmax/σmin)/K of its excess variance per level, while a step at signal-to-noise snr
 * removes about ε/σ² ≈ 2 snr². Hence levels K × steps T × snr² must reach ln(σmax/σmin) (required with a 1.5
 * margin; below it the chains lag and diverge — measured on the Gaussian-field test: K = 100, T = 3 fails,
 * K = 300, T = 3 reproduces the exact posterior).
 */
import * as tf from '@tensorflow/tfjs-core';
import { sigmaSchedule } from '../sde.js';
import { langevinStep, snrStepSize } from './langevin.js';
import { DEFAULT_SNR } from './spec.js';
import { denoiseLabel, denoiseSetting, finishDraw } from './denoise.js';
import { SamplerInputError, type Sampler, type SamplerFactoryArgs } from './types.js';

export function createAld({ sde, steps, options }: SamplerFactoryArgs): Sampler {
  const sig = sigmaSchedule(sde, steps);
  const snr = options.snr ?? DEFAULT_SNR;
  const nl = options.langevinSteps ?? 3;
  const denoise = denoiseSetting(options);
  if (!(snr > 0) || !Number.isFinite(snr)) throw new SamplerInputError(`ald: snr must be positive, got ${snr}`);
  if (!Number.isInteger(nl) || nl < 1 || nl > 1000) throw new SamplerInputError(`ald: Langevin steps per level must be an integer 1..1000, got ${nl}`);
  const need = 1.5 * Math.log(sde.sigmaMax / sde.sigmaMin);
  if (steps * nl * snr * snr < need) {
    const minLevels = Math.ceil(need / (nl * snr * snr));
    throw new SamplerInputError(
      `ald: ${steps} levels × ${nl} Langevin steps at snr ${snr} cannot bring the chains from σmax to σmin (levels × steps × snr² must reach 1.5 ln(σmax/σmin) = ${need.toFixed(1)}): use at least ${minLevels} levels, or pc`,
    );
  }
  return {
    name: 'ald',
    steps,
    evalsPerStep: nl,
    scoresAtDraws: true,
    settings: { snr, langevinSteps: nl, denoise: denoiseLabel(denoise) },
    init: (_target, ctx) => tf.tidy(() => tf.mul(ctx.normal(), sde.sigmaMax)),
    sigmaAfter: (i) => sig[i],
    step(x, i, target, ctx) {
      return tf.tidy(() => {
        let y = x;
        for (let k = 0; k < nl; k++) {
          const g = target.score(y, sig[i]);
          const z = ctx.normal();
          y = langevinStep(y, g, snrStepSize(g, z, snr), z);
        }
        if (i === steps - 1) return finishDraw(denoise, y, target, sig[i], ctx.normal);
        return y === x ? tf.clone(x) : y;
      });
    },
  };
}
