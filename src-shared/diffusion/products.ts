/**
 * The products of a reconstruction (docs/architecture.md, Products): posterior samples, mean, standard deviation (data units)
 * and the normalised residual of the mean on the data grid, with χ² per observed pixel, and the report object
 * that goes into report.json.
 */
import type { Likelihood, Affine } from './likelihood.js';
import type { SamplingPreview, SamplingResult } from './posterior.js';
import { Welford } from './welford.js';
import { chi2RangeWarnings } from './chi2-range.js';
import type { ReconstructionDiagnostics } from './diagnostics.js';

export interface PosteriorProducts {
  /** [ny, nx] of the unknown; dataShape of the data ([my, mx]) or null without data. */
  shape: number[];
  dataShape: [number, number] | null;
  n: number;
  /** Data units, [n, ...shape] chain-major. */
  samples: Float32Array;
  /**
   * The posterior mean: the average of the chains' Rao–Blackwellised estimates where the run made them
   * (SamplingResult.conditionalMeans, rao-blackwell.ts), else the mean of the samples.
   */
  mean: Float32Array;
  /** The plain mean of the samples (the same array as `mean` when the run made no Rao–Blackwellised estimates). */
  meanOfDraws: Float32Array;
  /** Sample standard deviation over the n samples (n − 1 in the denominator; zeros when n = 1). */
  std: Float32Array;
  /** (y − A·mean)/σ on the data grid, NaN where masked; null without data. */
  residual: Float32Array | null;
  /** χ² per observed pixel of the mean. */
  chi2PerPixel: number | null;
  /** Mean over the samples of each sample's χ² per observed pixel. */
  chi2PerPixelSamples: number | null;
  /** χ² per observed pixel of the samples' plain mean (with chi2PerPixelSamples: the draws' spread in data space, diagnostics.ts). */
  chi2PerPixelDrawsMean: number | null;
}

/** Data units of prior-unit samples: x = scale·x_p + offset. */
export function toDataUnits(v: Float32Array, affine: Affine): Float32Array {
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = affine.scale * v[i] + affine.offset;
  return out;
}

export async function posteriorProducts(result: SamplingResult, affine: Affine, likelihood?: Likelihood | null): Promise<PosteriorProducts> {
  const per = result.shape.reduce((a, b) => a * b, 1);
  const samples = toDataUnits(result.samples, affine);
  const w = new Welford(per);
  w.addBatch(samples, result.n);
  const { mean: meanOfDraws, std } = w.result();
  let mean = meanOfDraws;
  if (result.conditionalMeans) {
    const c = new Welford(per);
    c.addBatch(toDataUnits(result.conditionalMeans, affine), result.n);
    mean = c.result().mean;
  }
  let residual: Float32Array | null = null;
  let chi2: number | null = null;
  let chi2s: number | null = null;
  let chi2d: number | null = null;
  if (likelihood) {
    residual = await likelihood.normalisedResidual(mean);
    chi2 = await likelihood.chi2OfImage(mean);
    let s = 0;
    for (let k = 0; k < result.n; k++) s += await likelihood.chi2OfImage(samples.subarray(k * per, (k + 1) * per));
    chi2s = s / result.n;
    chi2d = meanOfDraws === mean ? chi2 : await likelihood.chi2OfImage(meanOfDraws);
  }
  return {
    shape: result.shape.slice(),
    dataShape: likelihood ? [likelihood.dataShape[0], likelihood.dataShape[1]] : null,
    n: result.n,
    samples,
    mean,
    meanOfDraws,
    std,
    residual,
    chi2PerPixel: chi2,
    chi2PerPixelSamples: chi2s,
    chi2PerPixelDrawsMean: chi2d,
  };
}

/**
 * The products of a run stopped before its end ("stop and keep") from its latest preview with every chain (data
 * units): the chains' states then as the samples, their running mean and standard deviation, the residual and χ²
 * of that mean and each state's χ². Not converged posterior draws (states at a noise level σ above σmin).
 */
export async function previewProducts(preview: SamplingPreview, likelihood: Likelihood): Promise<PosteriorProducts> {
  const per = preview.shape.reduce((a, b) => a * b, 1);
  const k = preview.nSamples;
  const samples = preview.samples.slice(0, k * per);
  const mean = preview.mean.slice();
  const chi2 = await likelihood.chi2OfImage(mean);
  let chi2s = 0;
  for (let c = 0; c < k; c++) chi2s += await likelihood.chi2OfImage(samples.subarray(c * per, (c + 1) * per));
  return {
    shape: preview.shape.slice(),
    dataShape: [likelihood.dataShape[0], likelihood.dataShape[1]],
    n: k,
    samples,
    mean,
    meanOfDraws: mean,
    std: preview.std.slice(),
    residual: await likelihood.normalisedResidual(mean),
    chi2PerPixel: chi2,
    chi2PerPixelSamples: k > 0 ? chi2s / k : null,
    chi2PerPixelDrawsMean: chi2,
  };
}

/** One ASCII line for the mean's FITS HISTORY: how the mean was estimated. */
export function meanEstimateNote(r: SamplingResult): string {
  if (!r.conditionalMeans) return `mean of the ${r.n} samples`;
  const sigma = Number(r.samplerSettings.raoBlackwellSigma).toPrecision(4);
  const terms = r.samplerSettings.raoBlackwellTerms;
  return `mean Rao-Blackwellised: Tweedie E[x0|x_sigma,y] averaged over ${terms} score evaluations per chain with sigma <= ${sigma} (prior units), ${r.n} chains`;
}

/**
 * ASCII lines for the samples' and the standard deviation's FITS HISTORY: how the annealed samplers' draws end at
 * σmin (samplers/denoise.ts); none for samplers without an ending.
 */
export function drawsEndingNote(r: SamplingResult): string[] {
  const d = String(r.samplerSettings.denoise ?? '');
  if (d.startsWith('tweedie-draw')) return [`draws end with a second-order Tweedie draw at sigma_min: the prior's mean plus noise with the diagonal of Cov[x0|x] (${d.replace('tweedie-draw ', '')}), conditioned on the data (exact likelihood)`];
  if (d === 'tweedie') return [`draws end with Tweedie's mean at sigma_min: the prior's E[x0|x] conditioned on the data (exact likelihood; intervals slightly narrow)`];
  if (d === 'none') return ['raw draws at sigma_min (not denoised; intervals slightly wide)'];
  return [];
}

export interface ReportContext {
  command: string;
  prior: { spec: string; kind: string; sde: { sigmaMin: number; sigmaMax: number }; trainedShape: number[] | null; normalisation?: { offset: number; scale: number } };
  backend: string;
  versions: Record<string, string>;
  fluxScale?: { value: number; source: string };
  /** M.json: its path, its hash, and the additive image it names (data units, taken from the data: y − b). */
  model?: { path: string; sha256: string; additive?: string };
  observation?: { path: string; hdu: number };
  noise?: string;
  warnings: string[];
  /** The run's diagnostics (diagnostics.ts): χ² against its expected range, convergence, local misfit. */
  diagnostics?: ReconstructionDiagnostics;
}

/** report.json: the documented fields (chi2PerPixel, n, steps, sampler, backend, seconds, scoreEvaluations, seed, versions) and how the run was made. */
export function reconstructionReport(p: PosteriorProducts, r: SamplingResult, ctx: ReportContext, likelihood?: Likelihood | null): Record<string, unknown> {
  const report: Record<string, unknown> = {
    chi2PerPixel: p.chi2PerPixel,
    chi2PerPixelSamples: p.chi2PerPixelSamples,
    chi2PerPixelDrawsMean: p.chi2PerPixelDrawsMean,
    n: r.n,
    steps: r.steps,
    sampler: r.sampler,
    samplerSettings: r.samplerSettings,
    backend: ctx.backend,
    seconds: Number(r.seconds.toFixed(3)),
    scoreEvaluations: r.scoreEvaluations,
    seed: r.seed,
    batchSize: r.batchSize,
    versions: ctx.versions,
    command: ctx.command,
    prior: ctx.prior,
    shape: p.shape,
  };
  if (ctx.fluxScale) report.fluxScale = ctx.fluxScale;
  if (ctx.model) report.model = ctx.model;
  if (ctx.observation) report.observation = ctx.observation;
  if (ctx.noise) report.noise = ctx.noise;
  if (likelihood) {
    report.dataShape = p.dataShape;
    report.observedPixels = likelihood.observed;
    report.likelihood = {
      method: likelihood.method,
      description: likelihood.description,
      ...(likelihood.method === 'cg' || likelihood.method === 'correlated-cg'
        ? {
            cgSolves: likelihood.cgStats.solves,
            cgMeanIterations: likelihood.cgStats.solves ? Number((likelihood.cgStats.iterations / likelihood.cgStats.solves).toFixed(2)) : 0,
            cgCapped: likelihood.cgStats.capped,
            cgMaxRelResidual: likelihood.cgStats.maxRelResidual,
          }
        : {}),
    };
  }
  if (ctx.diagnostics) report.diagnostics = ctx.diagnostics;
  report.warnings = likelihood
    ? [...ctx.warnings, ...chi2RangeWarnings({ mean: p.chi2PerPixel, draws: p.chi2PerPixelSamples, observedPixels: likelihood.observed })]
    : ctx.warnings;
  report.date = new Date().toISOString();
  return report;
}
