/**
 * The Gaussian-field deconvolution problem of the posterior tests: a 32×32 stationary Gaussian field with power
 * spectrum P(k) = 10/(1 + |k|²/16) (prior pixel variance ≈ 1.5), blurred by a zero-padded PSF and observed
 * with white noise; its exact posterior from tests/helpers/gaussian-posterior.ts.
 */
import { GaussianFieldPrior, powerLawSpectrum } from '../../src-shared/diffusion/priors/gaussian-field.js';
import { PsfOperator, type PsfKernel } from '../../src-shared/operators/psf.js';
import { ChainRandom } from '../../src-shared/diffusion/chain-rng.js';
import { circulantCovariance, convolutionMatrix, gaussianDraws, gaussianPosterior, sparseTimesVector, type GaussianPosteriorReference } from './gaussian-posterior.js';

export interface GaussianProblem {
  n: number;
  shape: [number, number];
  power: Float64Array;
  prior: GaussianFieldPrior;
  operator: PsfOperator;
  truth: Float64Array;
  data: Float32Array;
  sigmaN: number;
  ref: GaussianPosteriorReference;
  dispose(): void;
}

export function gaussianProblem(opts: { side?: number; psf: PsfKernel; sigmaN: number; seed: number }): GaussianProblem {
  const side = opts.side ?? 32;
  const n = side * side;
  const power = powerLawSpectrum(side, side, 10, 4, 2);
  const c = circulantCovariance(power, side, side);
  const cInv = circulantCovariance(
    power.map((v) => 1 / v),
    side,
    side,
  );
  const a = convolutionMatrix(side, side, opts.psf.data, opts.psf.shape[0], opts.psf.shape[1], opts.psf.center[0], opts.psf.center[1]);
  const r = new ChainRandom(opts.seed, 0);
  const truth = gaussianDraws(c, n, 1, () => r.normal());
  const y = sparseTimesVector(a, truth).map((v) => v + opts.sigmaN * r.normal());
  const ref = gaussianPosterior(c, cInv, a, y, opts.sigmaN);
  const prior = new GaussianFieldPrior(power, [side, side]);
  const operator = new PsfOperator([side, side], opts.psf);
  return {
    n,
    shape: [side, side],
    power,
    prior,
    operator,
    truth,
    data: Float32Array.from(y),
    sigmaN: opts.sigmaN,
    ref,
    dispose: () => {
      prior.dispose();
      operator.dispose();
    },
  };
}
