/**
 * Posterior sampling as an engine job, through the reconstruction service (src-main/reconstruct/) that
 * `skyscore reconstruct` runs too. prepare(): the request — the observation plane, the forward model from the
 * files sent, the noise, the prior and the settings (sampler options, workers, batch) — as the service's inputs,
 * every one checked before the job starts (a problem is the request's error). run(): the service's run with
 * throttled progress and previews; the products (the same files as the command line's) for export.
 */
import type { BackendInfo, Products, ReconstructParams, ReconstructProgress, Shape2 } from '../../src-shared/protocol/index.js';
import { prepareReconstruction, reconstructionFiles, runReconstruction, type NoiseInput, type PreparedReconstruction, type ReconstructionProgress } from '../reconstruct/index.js';
import type { JobReporter } from './jobs.js';
import { JobInputError, decodeObs, memoryLoader } from './forward-model-requests.js';
import { validateForwardModel } from '../../src-shared/operators/forward-model-spec.js';
import { checkForwardModelSpec, checkPreparedForwardModel, checkSamples } from './limits.js';
import type { ResolvedPrior } from '../priors.js';

export interface PreparedJob {
  prep: PreparedReconstruction;
  previewHz: number;
  inShape: Shape2;
  outShape: Shape2;
  warnings: string[];
  dispose(): void;
}

export interface ReconstructionResult {
  summary: Record<string, number | string>;
  products(): Products;
}

/** The M.json text the editor's "Save M.json" writes for this document (2-space JSON and a newline). */
export function modelJsonText(model: unknown): string {
  return JSON.stringify(model, null, 2) + '\n';
}

/** σ, or the σ map among the files sent (read apart from the model's files: the model hash covers only those). */
async function noiseInput(p: ReconstructParams): Promise<NoiseInput> {
  if (p.noise.kind === 'sigma') return { kind: 'sigma', sigma: p.noise.sigma };
  let img: { data: Float32Array | Float64Array; shape: number[] };
  try {
    img = await memoryLoader(p.files).loadImage(p.noise.file, p.noise.hdu);
  } catch (e) {
    throw new JobInputError(`σ map ${p.noise.file}: ${(e as Error).message}`, { cause: e });
  }
  return { kind: 'map', sigma: img.data, shape: [img.shape[img.shape.length - 2]!, img.shape[img.shape.length - 1]!], name: p.noise.file };
}

/**
 * `prior`: the registry's spec of the prior the request named (its folder), or a prior made from a file the
 * request carries (jobs.ts requestPrior), which this job then owns: it is evaluated in this thread (the worker
 * pool resolves priors from disk) and freed with the job.
 */
async function prepare(p: ReconstructParams, backend: BackendInfo, prior: string | ResolvedPrior = p.prior): Promise<PreparedJob> {
  const uploaded = typeof prior === 'string' ? null : prior;
  try {
    const job = await prepareWith(p, backend, prior);
    if (!uploaded) return job;
    if ((p.settings.workers ?? 1) > 1) job.warnings.push(`a prior sent with the request runs in one thread (workers ${p.settings.workers} ignored)`);
    return { ...job, dispose: () => (job.dispose(), uploaded.dispose()) };
  } catch (e) {
    uploaded?.dispose();
    throw e;
  }
}

async function prepareWith(p: ReconstructParams, backend: BackendInfo, prior: string | ResolvedPrior): Promise<PreparedJob> {
  // the engine's limits first: the model's grids and stages, the samples the run keeps
  const spec = validateForwardModel(p.model, 'M.json');
  checkForwardModelSpec(spec, 'M.json');
  checkSamples(p.settings.n, spec.shape);
  const obs = decodeObs(p.obs);
  const loader = memoryLoader(p.files);
  const s = p.settings;
  const prep = await prepareReconstruction({
    observation: { data: obs.data, shape: obs.shape, fitsShape: obs.fitsShape, header: obs.header, name: obs.name, path: obs.name, hdu: p.obs.hdu, plane: p.obs.plane },
    model: { json: modelJsonText(p.model), name: 'M.json', path: 'M.json', loader, filesRead: () => loader.used.map((f) => f.bytes) },
    noise: await noiseInput(p),
    prior,
    settings: { sampler: s.sampler, n: s.n, steps: s.steps, seed: s.seed, fluxScale: s.fluxScale, options: s.options, workers: typeof prior === 'string' ? (s.workers ?? null) : 1, batch: s.batch ?? null },
    backend: async () => backend,
    host: 'app',
    checkForwardModel: (prepared) => checkPreparedForwardModel(prepared, 'M.json'),
  });
  return { prep, previewHz: p.previewHz, inShape: prep.inShape, outShape: prep.outShape, warnings: prep.warnings, dispose: () => prep.dispose() };
}

/** Runs a prepared job (and frees it): progress a few times a second, previews at the rate asked. */
async function run(job: PreparedJob, r: JobReporter<ReconstructProgress>): Promise<ReconstructionResult> {
  const { prep, previewHz: hz } = job;
  const s = prep.settings;
  try {
    const rec = await runReconstruction(prep, {
      signal: r.signal,
      progressIntervalMs: 100,
      previewIntervalMs: hz > 0 ? 1000 / hz : 0,
      previewSamples: Math.min(s.n, 8),
      onProgress: (sp: ReconstructionProgress) => {
        const out: Omit<ReconstructProgress, 'jobId' | 'kind'> = { step: sp.step, steps: sp.steps, sigma: sp.sigma, chi2: sp.chi2, elapsedS: sp.elapsedS, etaS: sp.etaS };
        const v = sp.preview;
        if (v && v.residual && v.dataShape) {
          out.preview = { shape: [v.shape[0]!, v.shape[1]!], dataShape: v.dataShape, samples: v.samples.slice(), nSamples: v.nSamples, mean: v.mean.slice(), std: v.std.slice(), residual: v.residual.slice() };
        }
        r.progress(out);
      },
    });
    const summary: Record<string, number | string> = {
      n: s.n,
      steps: s.steps,
      sampler: rec.result.sampler,
      backend: prep.backend.backend,
      seconds: +rec.result.seconds.toFixed(2),
      scoreEvaluations: rec.result.scoreEvaluations,
      fluxScale: +prep.flux.value.toPrecision(6),
    };
    if (rec.products.chi2PerPixel !== null) summary.chi2PerPixel = rec.products.chi2PerPixel;
    return { summary, products: () => ({ files: reconstructionFiles(rec), report: rec.report }) };
  } finally {
    job.dispose();
  }
}

export const reconstructJob = { prepare, run };
