/**
 * The reconstruction service, step 2: draws the posterior samples of a prepared problem — on the worker pool
 * (src-main/sampling/pool.ts) when it has more than one worker, else in this thread — with progress, previews
 * where asked (the pool merges its workers' chains into one preview), and cancellation through an AbortSignal
 * (the pool's workers are terminated). The seed gives the same samples whatever the worker count: each chain has
 * its own random stream. Then the posterior products and report.json (products.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { runSampling, type SamplingPreview, type SamplingResult, type SamplingStatus } from '../../src-shared/diffusion/posterior.js';
import { reconstructionDiagnostics, steinRatio, type ReconstructionDiagnostics, type SteinResult } from '../../src-shared/diffusion/diagnostics.js';
import { posteriorProducts, previewProducts, type PosteriorProducts } from '../../src-shared/diffusion/products.js';
import type { NamedFile } from '../../src-shared/protocol/index.js';
import { runSamplingParallel, splitChains } from '../sampling/pool.js';
import { onObservationGrid, type PreparedReconstruction } from './prepare.js';
import { noiseReport } from '../../src-shared/noise/diagnostics.js';
import { commandLine, headerContext, productFiles, runReport, type HeaderContext } from './products.js';

/** Where a run stands: the sampler's status over all chains, and a preview where asked. */
export interface ReconstructionProgress extends SamplingStatus {
  scoreEvaluations: number;
  preview?: SamplingPreview;
}

export interface RunHooks {
  signal?: AbortSignal;
  onProgress?: (p: ReconstructionProgress) => void;
  /** Minimum time between progress events in this thread (default 200 ms; the pool's workers report every 250 ms). */
  progressIntervalMs?: number;
  /** Minimum time between previews; 0 or absent: none. */
  previewIntervalMs?: number;
  /** Chains a preview shows (default 4). */
  previewSamples?: number;
  /** Whether to run the convergence check (Stein's ratio: 9 score evaluations per sample; default true). */
  convergenceCheck?: boolean;
  /** A line on what the run did before sampling (the lens's normal matrix formed for the workers). */
  onNote?: (line: string) => void;
}

export interface ReconstructionRun {
  result: SamplingResult;
  /** Worker threads that ran the chains (1: this thread). */
  workers: number;
  /** Seconds of sampling proper (on the pool: the slowest worker's, without its start-up). */
  samplingSeconds: number;
  products: PosteriorProducts;
  report: Record<string, unknown>;
  /** The command line recorded in HISTORY (without "skyscore"). */
  command: string;
  headers: HeaderContext;
}

/** Runs the sampler on a prepared problem and computes the products; the caller disposes `prep`. */
export async function runReconstruction(prep: PreparedReconstruction, hooks: RunHooks = {}): Promise<ReconstructionRun> {
  const s = prep.settings;
  const lik = prep.likelihood;
  const previewIntervalMs = hooks.onProgress ? (hooks.previewIntervalMs ?? 0) : 0;
  const onProgress = previewsOnObservationGrid(prep, hooks.onProgress);
  // what both paths sample: the same chains, seed and sampler settings
  const sampling = { sampler: s.sampler, steps: s.steps, n: s.n, seed: s.seed, samplerOptions: s.options };
  let result: SamplingResult;
  let workers = 1;
  let samplingSeconds: number;
  if (s.workers > 1) {
    // a lens model's AᵀWA and its deflation pairs, formed once here for every worker (each would form its own)
    const parts = splitChains(s.n, s.workers);
    const batch = Math.min(s.batch, parts[0]!.n);
    const t0 = performance.now();
    const normalMatrix = lik.formSharedNormalMatrix(batch, s.steps * Math.ceil(parts[parts.length - 1]!.n / batch)) ?? undefined;
    if (normalMatrix) {
      const pairs = normalMatrix.pairs ? ` and its top ${normalMatrix.pairs.k} eigenpairs` : '';
      hooks.onNote?.(`AᵀWA${pairs} formed once for the ${parts.length} workers (shared memory) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    const par = await runSamplingParallel(
      {
        backend: prep.backend.backend,
        prior: prep.priorSpec,
        cwd: prep.cwd,
        shape: prep.inShape,
        model: prep.model.prepared,
        data: Float32Array.from(prep.data.values),
        dataShape: prep.data.shape,
        noise: prep.noise,
        normalMatrix,
        dataName: prep.observation.name,
        affine: prep.affine,
        ...sampling,
        batchSize: s.batch,
        scoreEngine: prep.scoreEngine,
        previewIntervalMs,
        previewSamples: hooks.previewSamples,
      },
      s.workers,
      { onProgress, signal: hooks.signal, residual: (mean) => lik.normalisedResidual(mean) },
    );
    if (par.cgStats) Object.assign(lik.cgStats, par.cgStats);
    result = par;
    workers = par.workers;
    samplingSeconds = par.samplingSeconds;
  } else {
    result = await runSampling(
      { prior: prep.prior.model, sde: prep.prior.sde, shape: prep.inShape, likelihood: lik },
      {
        ...sampling,
        batchSize: s.batch,
        signal: hooks.signal,
        onProgress,
        progressIntervalMs: hooks.progressIntervalMs,
        previewIntervalMs,
        previewSamples: hooks.previewSamples,
      },
    );
    samplingSeconds = result.seconds;
  }
  return finishReconstruction(prep, result, workers, samplingSeconds, hooks);
}

/** The residual of products on a window (prepare.ts) on the observation's whole grid, NaN outside the window as where masked. */
function productsOnObservationGrid(prep: PreparedReconstruction, p: PosteriorProducts): PosteriorProducts {
  if (!prep.window || !p.residual) return p;
  return { ...p, residual: onObservationGrid(prep, p.residual), dataShape: [prep.outShape[0], prep.outShape[1]] };
}

/** Progress events whose previews' residuals are on the observation's whole grid (0 outside the window, as where masked). */
function previewsOnObservationGrid(prep: PreparedReconstruction, onProgress: RunHooks['onProgress']): RunHooks['onProgress'] {
  if (!prep.window || !onProgress) return onProgress;
  return (p) => {
    const v = p.preview;
    if (!v?.residual) return onProgress(p);
    onProgress({ ...p, preview: { ...v, residual: onObservationGrid(prep, v.residual, 0), dataShape: [prep.outShape[0], prep.outShape[1]] } });
  };
}

/**
 * The posterior products, diagnostics and report of samples drawn for a prepared problem (prep.likelihood gives the
 * residual and χ²): runReconstruction's second half, also the lens–source Gibbs sampler's (lens-gibbs.ts).
 */
export async function finishReconstruction(
  prep: PreparedReconstruction,
  result: SamplingResult,
  workers: number,
  samplingSeconds: number,
  hooks: RunHooks = {},
  /** the command line recorded, from commandLine(prep)'s (the Gibbs sampler's flags) */
  editCommand: (command: string) => string = (c) => c,
): Promise<ReconstructionRun> {
  const lik = prep.likelihood;
  const products = productsOnObservationGrid(prep, await posteriorProducts(result, prep.affine, lik));
  const stein = hooks.convergenceCheck === false ? null : await convergenceCheck(prep, result);
  const diag = reconstructionDiagnostics({
    sampler: result.sampler,
    steps: result.steps,
    n: result.n,
    chi2: products.chi2PerPixel,
    chi2Draws: products.chi2PerPixelSamples,
    chi2OfDrawsMean: products.chi2PerPixelDrawsMean,
    observed: lik.observed,
    residual: products.residual,
    dataShape: products.dataShape,
    stein,
  });
  const command = editCommand(commandLine(prep));
  const report = runReport(prep, result, products, workers, command, diag);
  Object.assign(report, await noiseReport(prep.noise, prep.noiseModel, lik, products.samples, products.n));
  const headers = headerContext(prep, result, products, command);
  headers.history.push(diagnosticsHistory(diag.diagnostics));
  headers.residualNotes = misfitHistory(diag.diagnostics);
  return { result, workers, samplingSeconds, products, report, command, headers };
}

/** residual.fits's HISTORY lines on its significant regions (0-based pixel boxes; at most 10). */
function misfitHistory(d: ReconstructionDiagnostics): string[] {
  const m = d.localMisfit;
  if (!m || m.regions.length === 0) return [];
  return [
    `local misfit: ${m.regions.length} regions where chi2 in ${2 * m.radius + 1}x${2 * m.radius + 1} px windows exceeds noise (false-alarm rate ${m.falseAlarmRate})`,
    ...m.regions
      .slice(0, 10)
      .map((r) => `misfit region x ${r.x0}-${r.x1}, y ${r.y0}-${r.y1} (0-based): chi2/px ${r.peakChi2.toFixed(2)} around x ${r.peakX}, y ${r.peakY}`),
  ];
}

/** One ASCII HISTORY line on the run's diagnostics (report.json has them in full). */
function diagnosticsHistory(d: ReconstructionDiagnostics): string {
  const c = d.convergence;
  const stein = c.stein ? `, Stein ratio ${c.stein.ratio.toFixed(2)}` : '';
  const chi2 = d.chi2 ? `; chi2/px of the ${d.chi2.of} ${d.chi2.value.toFixed(3)} (noise: ${d.chi2.expected.lo.toFixed(3)}-${d.chi2.expected.hi.toFixed(3)})` : '';
  const local = d.localMisfit ? `; ${d.localMisfit.regions.length} local misfit regions (false-alarm rate ${d.localMisfit.falseAlarmRate})` : '';
  return `diagnostics: ${c.verdict}${stein}${chi2}${local}`;
}

/** The run's products as named files (posterior-mean/std/samples, residual FITS and report.json). */
export function reconstructionFiles(run: ReconstructionRun): NamedFile[] {
  return productFiles(run.headers, run.products, run.report);
}

/**
 * Stein's ratio of the draws under the sampler's target at σmin (diagnostics.ts): the prior's score plus the
 * likelihood's, 1 + 2·4 evaluations per sample in this thread. None for dps (its draws are not meant to be
 * the posterior's).
 */
async function convergenceCheck(prep: PreparedReconstruction, result: SamplingResult): Promise<SteinResult | null> {
  if (result.sampler === 'dps' || result.shape.length !== 2) return null;
  const sigma = prep.prior.sde.sigmaMin;
  const shape = result.shape;
  const per = shape[0]! * shape[1]!;
  const model = prep.prior.model;
  const lik = prep.likelihood;
  const score = async (x: Float32Array, b: number): Promise<Float32Array> => {
    const t = tf.tidy(() => {
      const xt = tf.tensor(x, [b, shape[0]!, shape[1]!]);
      return tf.add(model.score(xt, tf.fill([b], sigma) as tf.Tensor1D), lik.score(xt, sigma));
    });
    try {
      return (await t.data()) as Float32Array;
    } finally {
      t.dispose();
    }
  };
  const cg = { ...lik.cgStats };
  try {
    return await steinRatio(result.samples, result.n, per, score, { sigma, probes: 4, batch: Math.min(8, result.n), seed: result.seed + 1 });
  } finally {
    // the check's solves are not the run's: report.json counts the run's
    await lik.settle();
    Object.assign(lik.cgStats, cg);
  }
}

/** Where a stopped run stood: the step its latest preview was taken at. */
export interface StoppedAt {
  step: number;
  steps: number;
  sigma: number;
  elapsedS: number;
  scoreEvaluations: number;
}

/**
 * The products of a run stopped before its end ("stop and keep"), from its latest preview with every chain
 * (previewSamples ≥ n): the chains' states then as the samples, their running mean and standard deviation, the
 * residual of that mean; report.json's `stopped` and a warning, SKYSTOP and HISTORY in the FITS headers say where
 * it stopped. These are not converged posterior draws (the state at a noise level σ above σmin).
 */
export async function stoppedReconstruction(prep: PreparedReconstruction, preview: SamplingPreview, at: StoppedAt): Promise<ReconstructionRun> {
  const s = prep.settings;
  const products = productsOnObservationGrid(prep, await previewProducts(preview, prep.likelihood));
  const { n: k, samples } = products;
  const where = `step ${at.step}/${at.steps}, sigma ${at.sigma.toPrecision(3)}`;
  const result: SamplingResult = {
    samples: Float32Array.from(samples, (v) => (v - prep.affine.offset) / prep.affine.scale),
    n: k,
    shape: preview.shape.slice(),
    sampler: s.sampler as SamplingResult['sampler'],
    steps: s.steps,
    seed: s.seed,
    chainOffset: 0,
    batchSize: s.batch,
    seconds: at.elapsedS,
    scoreEvaluations: at.scoreEvaluations,
    samplerSettings: { meanEstimate: `mean of the chains' states when the run was stopped (${where})`, stoppedAt: where },
    conditionalMeans: null,
  };
  const diag = reconstructionDiagnostics({
    sampler: s.sampler,
    steps: s.steps,
    n: k,
    chi2: products.chi2PerPixel,
    chi2Draws: products.chi2PerPixelSamples,
    chi2OfDrawsMean: products.chi2PerPixel,
    observed: prep.likelihood.observed,
    residual: products.residual,
    dataShape: products.dataShape,
    stein: null,
  });
  diag.diagnostics.convergence = { ...diag.diagnostics.convergence, verdict: 'not converged', reasons: [`stopped at ${where} before the last noise level`, ...diag.diagnostics.convergence.reasons] };
  const stopNote = `stopped at ${where}: the products are the chains' states then (noise level above sigma_min), not converged posterior draws`;
  diag.warnings.unshift(stopNote);
  const command = commandLine(prep);
  const report = runReport(prep, result, products, s.workers, command, diag);
  report.stopped = { step: at.step, steps: at.steps, sigma: at.sigma, elapsedS: Number(at.elapsedS.toFixed(3)), chains: k, of: s.n };
  const headers = headerContext(prep, result, products, command);
  headers.provenance.extra = { ...headers.provenance.extra, SKYSTOP: where, SKYNSAMP: k };
  headers.history.push(`stopped by the user at ${where} (prior units): the chains' states then, not converged posterior draws; ${k} of ${s.n} chains`);
  headers.history.push(diagnosticsHistory(diag.diagnostics));
  headers.residualNotes = misfitHistory(diag.diagnostics);
  headers.meanNote = `mean of the chains' states at ${where} (every chain so far)`;
  headers.drawsNote = [];
  return { result, workers: s.workers, samplingSeconds: at.elapsedS, products, report, command, headers };
}
