/**
 * Posterior sampling as an engine job, through the reconstruction service (src-main/reconstruct/) that
 * `skyscore reconstruct` runs too. prepare(): the request — the observation plane, the forward model from the
 * files sent, the noise, the prior and the settings (sampler options, workers, batch) — as the service's inputs,
 * every one checked before the job starts (a problem is the request's error). run(): the service's run with
 * throttled progress and previews; the products (the same files as the command line's) for export.
 */
import type { BackendInfo, Products, ReconstructParams, ReconstructProgress, Shape2 } from '../../src-shared/protocol/index.js';
import {
  prepareReconstruction,
  reconstructionFiles,
  runReconstruction,
  stoppedReconstruction,
  type NoiseInput,
  type PreparedReconstruction,
  type ReconstructionProgress,
  type ReconstructionRun,
} from '../reconstruct/index.js';
import type { ReconstructionDiagnostics } from '../../src-shared/diffusion/diagnostics.js';
import type { JobReporter } from './jobs.js';
import { JobInputError, decodeObs, memoryLoader, requestNoiseModel } from './forward-model-requests.js';
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

/** σ, the σ map among the files sent (read apart from the model's files: the model hash covers only those), or a noise model. */
async function noiseInput(p: ReconstructParams, obs: ReturnType<typeof decodeObs>): Promise<NoiseInput> {
  if (p.noise.kind === 'sigma') return { kind: 'sigma', sigma: p.noise.sigma };
  if (p.noise.kind === 'model') {
    // the command line's construction (reconstruct/noise.ts), the flags that reproduce it in report.json's command
    const { built, flags } = await requestNoiseModel(p.noise.spec, p.files, obs);
    return { kind: 'model', built, command: ` ${flags}` };
  }
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
    noise: await noiseInput(p, obs),
    prior,
    settings: { sampler: s.sampler, n: s.n, steps: s.steps, seed: s.seed, fluxScale: s.fluxScale, options: s.options, workers: typeof prior === 'string' ? (s.workers ?? null) : 1, batch: s.batch ?? null },
    backend: async () => backend,
    host: 'app',
    checkForwardModel: (prepared) => checkPreparedForwardModel(prepared, 'M.json'),
  });
  return { prep, previewHz: p.previewHz, inShape: prep.inShape, outShape: prep.outShape, warnings: prep.warnings, dispose: () => prep.dispose() };
}

/** Previews the renderer gets at most: the first chains (the job keeps every chain's latest state for "stop and keep"). */
const SHOWN_SAMPLES = 8;
/** How often the sampler hands the job its state where it can (the job passes the latest on at the rate asked). */
const STATE_INTERVAL_MS = 100;

/**
 * Passes progress on at most every `intervalMs`, always the latest, with a trailing send so that the last state
 * before a pause goes out too: previews follow the clock, not the steps. A preview never waits behind a newer
 * progress event without one (the latest preview is kept until sent).
 */
export class PreviewThrottle<P extends { preview?: unknown }> {
  private last = -Infinity;
  private pending: P | null = null;
  private pendingPreview: P['preview'] | undefined;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly intervalMs: number,
    private readonly send: (p: P) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  push(p: P): void {
    if (p.preview !== undefined) this.pendingPreview = p.preview;
    this.pending = p;
    const wait = this.last + this.intervalMs - this.now();
    if (wait <= 0) this.flush();
    else if (!this.timer) this.timer = setTimeout(() => ((this.timer = null), this.flush()), wait);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.pending) return;
    const p = { ...this.pending };
    if (this.pendingPreview !== undefined) p.preview = this.pendingPreview;
    this.pending = null;
    this.pendingPreview = undefined;
    this.last = this.now();
    this.send(p);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending = null;
  }
}

/** A few figures of the diagnostics for the job's summary (the run panel shows them; report.json has them all). */
function diagnosticsSummary(report: Record<string, unknown>): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  const d = report.diagnostics as ReconstructionDiagnostics | undefined;
  if (!d) return out;
  if (d.chi2) {
    out.chi2Draws = d.chi2.value;
    out.chi2Of = d.chi2.of;
    out.chi2Lo = d.chi2.expected.lo;
    out.chi2Hi = d.chi2.expected.hi;
    out.chi2Verdict = d.chi2.verdict;
  }
  out.convergence = d.convergence.verdict;
  if (d.convergence.reasons.length) out.convergenceReasons = d.convergence.reasons.join('; ');
  if (d.convergence.stein) out.steinRatio = Number(d.convergence.stein.ratio.toPrecision(4));
  if (d.convergence.stepsWarning) out.stepsWarning = d.convergence.stepsWarning;
  if (d.localMisfit) {
    out.misfitRegions = d.localMisfit.regions.length;
    out.misfitFalseAlarm = d.localMisfit.falseAlarmRate;
    if (d.localMisfit.regions.length) {
      const r = d.localMisfit.regions[0]!;
      out.misfitPeak = `χ²/px ${r.peakChi2.toFixed(1)} within ${d.localMisfit.radius} px of (x ${r.peakX}, y ${r.peakY})`;
    }
  }
  return out;
}

/**
 * Runs a prepared job (and frees it): progress a few times a second, previews at the rate asked whatever the
 * step speed (the sampler hands over its state every 100 ms where it can; the job sends the latest). A cancel
 * with `keep` (the signal's reason) ends the run with the products of its latest state.
 */
async function run(job: PreparedJob, r: JobReporter<ReconstructProgress>): Promise<ReconstructionResult> {
  const { prep, previewHz: hz } = job;
  const s = prep.settings;
  type Out = Omit<ReconstructProgress, 'jobId' | 'kind'>;
  const throttle = new PreviewThrottle<Out>(hz > 0 ? 1000 / hz : 250, (p) => r.progress(p));
  let latest: ReconstructionProgress | null = null;
  try {
    let rec: ReconstructionRun;
    try {
      rec = await runReconstruction(prep, {
        signal: r.signal,
        progressIntervalMs: 100,
        previewIntervalMs: hz > 0 ? STATE_INTERVAL_MS : 0,
        // every chain: what "stop and keep" exports
        previewSamples: s.n,
        onProgress: (sp: ReconstructionProgress) => {
          const out: Out = { step: sp.step, steps: sp.steps, sigma: sp.sigma, chi2: sp.chi2, elapsedS: sp.elapsedS, etaS: sp.etaS };
          const v = sp.preview;
          if (v) latest = sp;
          if (v && v.residual && v.dataShape) {
            const k = Math.min(v.nSamples, SHOWN_SAMPLES);
            const per = v.shape[0]! * v.shape[1]!;
            out.preview = { shape: [v.shape[0]!, v.shape[1]!], dataShape: v.dataShape, samples: v.samples.slice(0, k * per), nSamples: k, mean: v.mean.slice(), std: v.std.slice(), residual: v.residual.slice() };
          }
          throttle.push(out);
        },
      });
      throttle.flush();
    } catch (e) {
      throttle.stop();
      const snap = latest as ReconstructionProgress | null;
      if (!(r.signal.aborted && r.signal.reason === 'keep' && snap?.preview)) throw e;
      rec = await stoppedReconstruction(prep, snap.preview, { step: snap.step, steps: snap.steps, sigma: snap.sigma, elapsedS: snap.elapsedS, scoreEvaluations: snap.scoreEvaluations });
    }
    const stopped = rec.report.stopped as { step: number; steps: number; sigma: number } | undefined;
    const summary: Record<string, number | string> = {
      n: rec.result.n,
      steps: s.steps,
      sampler: rec.result.sampler,
      backend: prep.backend.backend,
      seconds: +rec.result.seconds.toFixed(2),
      scoreEvaluations: rec.result.scoreEvaluations,
      fluxScale: +prep.flux.value.toPrecision(6),
      ...diagnosticsSummary(rec.report),
    };
    if (stopped) summary.stopped = `step ${stopped.step}/${stopped.steps}, σ ${stopped.sigma.toPrecision(3)}`;
    if (rec.products.chi2PerPixel !== null) summary.chi2PerPixel = rec.products.chi2PerPixel;
    const done = rec;
    return { summary, products: () => ({ files: reconstructionFiles(done), report: done.report }) };
  } finally {
    throttle.stop();
    job.dispose();
  }
}

export const reconstructJob = { prepare, run };
