/**
 * The reconstruction service, step 2: draws the posterior samples of a prepared problem — on the worker pool
 * (src-main/sampling/pool.ts) when it has more than one worker, else in this thread — with progress, previews
 * where asked (the pool merges its workers' chains into one preview), and cancellation through an AbortSignal
 * (the pool's workers are terminated). The seed gives the same samples whatever the worker count: each chain has
 * its own random stream. Then the posterior products and report.json (products.ts).
 */
import { runSampling, type SamplingPreview, type SamplingResult, type SamplingStatus } from '../../src-shared/diffusion/posterior.js';
import { posteriorProducts, type PosteriorProducts } from '../../src-shared/diffusion/products.js';
import type { NamedFile } from '../../src-shared/protocol/index.js';
import { runSamplingParallel } from '../sampling/pool.js';
import type { PreparedReconstruction } from './prepare.js';
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
  // what both paths sample: the same chains, seed and sampler settings
  const sampling = { sampler: s.sampler, steps: s.steps, n: s.n, seed: s.seed, samplerOptions: s.options };
  let result: SamplingResult;
  let workers = 1;
  let samplingSeconds: number;
  if (s.workers > 1) {
    const obs = prep.observation;
    const par = await runSamplingParallel(
      {
        backend: prep.backend.backend,
        prior: prep.priorSpec,
        cwd: prep.cwd,
        shape: prep.inShape,
        model: prep.model.prepared,
        data: Float32Array.from(obs.data),
        dataShape: obs.shape,
        noise: prep.noise,
        dataName: obs.name,
        affine: prep.affine,
        ...sampling,
        batchSize: s.batch,
        scoreEngine: prep.scoreEngine,
        previewIntervalMs,
        previewSamples: hooks.previewSamples,
      },
      s.workers,
      { onProgress: hooks.onProgress, signal: hooks.signal, residual: (mean) => lik.normalisedResidual(mean) },
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
        onProgress: hooks.onProgress,
        progressIntervalMs: hooks.progressIntervalMs,
        previewIntervalMs,
        previewSamples: hooks.previewSamples,
      },
    );
    samplingSeconds = result.seconds;
  }
  const products = await posteriorProducts(result, prep.affine, lik);
  const command = commandLine(prep);
  const report = runReport(prep, result, products, workers, command);
  Object.assign(report, await noiseReport(prep.noise, prep.noiseModel, lik, products.samples, products.n));
  return { result, workers, samplingSeconds, products, report, command, headers: headerContext(prep, result, products, command) };
}

/** The run's products as named files (posterior-mean/std/samples, residual FITS and report.json). */
export function reconstructionFiles(run: ReconstructionRun): NamedFile[] {
  return productFiles(run.headers, run.products, run.report);
}
