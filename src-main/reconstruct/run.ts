/**
 * The reconstruction service, step 2: draws the posterior samples of a prepared problem — on the worker pool
 * (src-main/sampling/pool.ts) when it has more than one worker, else in this thread — with progress, previews
 * where asked (the pool merges its workers' chains into one preview), and cancellation through an AbortSignal
 * (the pool's workers are terminated). The seed gives the same samples whatever the worker count: each chain has
 * its own random stream. Then the posterior products and report.json (products.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { runSampling, type SamplingPreview, type SamplingResult, type SamplingStatus } from '../../src-shared/diffusion/posterior.js';
import { reconstructionDiagnostics, steinRatio, type SteinResult } from '../../src-shared/diffusion/diagnostics.js';
import { posteriorProducts, type PosteriorProducts } from '../../src-shared/diffusion/products.js';
import type { NamedFile } from '../../src-shared/protocol/index.js';
import { runSamplingParallel } from '../sampling/pool.js';
import type { PreparedReconstruction } from './prepare.js';
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
  const command = commandLine(prep);
  const report = runReport(prep, result, products, workers, command, diag);
  return { result, workers, samplingSeconds, products, report, command, headers: headerContext(prep, result, products, command) };
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
