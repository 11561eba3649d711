/**
 * The posterior from visibilities as an engine job (`job.reconstructVis`): the open UVFITS file of the
 * Visibilities view (visibility-requests.ts), a prior of the engine's list, the image grid and the sampler
 * settings go to the code of `skyscore reconstruct --vis` (reconstruct/visibilities.ts reconstructUvfits), with
 * progress (step, σ, χ² per visibility degree of freedom of the running mean), previews of the running mean, std
 * and first samples, the chains over the worker pool (`workers`), and cancellation between steps — with `keep`
 * (job.cancel), the run ends with the products of every chain's latest state ("stop and keep").
 * `uv.posteriorProducts` gives a finished run's products — the files the command line writes, the same bytes for
 * the same settings and seed — and |A·mean| at the plotted visibilities for the amplitude plot. With `selfcal`
 * the run self-calibrates first as `reconstruct --vis … --selfcal` does (the same function, the flags in its
 * command line); the products then carry the rounds' figures of report.json's selfcal. `totalFlux` is the
 * command line's --total-flux JY[:SIGMA]|none (in its command line where given); absent, the total flux at zero
 * spacing is the survey CLEAN's, as the command line's default, and the products' notes and report.json's
 * zeroSpacing give it.
 */

import type { EngineContext } from './handlers.js';
import type { RadioMethods, UvPosteriorParams, UvPosteriorProductsResult, UvPosteriorProgress, UvSelfcalReport } from '../../src-shared/protocol/index.js';
import { LIMITS } from '../../src-shared/protocol/limits.js';
import { noVisibilitiesMessage, UvfitsInputError } from '../../src-shared/radio/uvfits.js';
import { thermalCheck } from '../../src-shared/radio/weighting.js';
import { ARCSEC } from '../../src-shared/radio/grid.js';
import { chooseMeasurement } from '../../src-shared/radio/measurement.js';
import { readFitsImage } from '../../src-shared/fits/index.js';
import { DEFAULT_SAMPLER } from '../../src-shared/diffusion/samplers/spec.js';
import { imagingGeometry } from '../reconstruct/clean-products.js';
import { reconstructUvfits, visibilityCommandLine } from '../reconstruct/visibilities.js';
import { checkSettings } from '../reconstruct/prepare.js';
import { priorSpecOf } from '../priors.js';
import { baseName, getFile, selfcalRounds, type OpenUv } from './visibility-requests.js';
import { selfcalFlags, type ClosureStartSummary, type SelfcalFirstModel, type SelfcalRound } from '../../src-shared/radio/selfcal.js';
import { checkGrid, checkSamples, RequestLimitError } from './limits.js';
import { registryPrior, start, type JobReporter } from './jobs.js';
import { JobInputError } from './forward-model-requests.js';
import { PreviewThrottle } from './reconstruct-job.js';

/** Finished posterior runs whose products are kept, oldest dropped first. */
const KEEP_DONE = 3;
const done = new Map<string, UvPosteriorProductsResult>();
/** Samples a preview carries at most. */
const SHOWN_SAMPLES = 4;
/** How often the chains' states come back without previews asked for (for "stop and keep"). */
const STATE_INTERVAL_MS = 1000;

/** report.json's selfcal as the protocol gives it (the rounds with describeRound's lines); null when absent. */
export function selfcalOfReport(report: Record<string, unknown>): UvSelfcalReport | null {
  const x = report.selfcal as
    | { flags: string; firstModel: SelfcalFirstModel; closureStart?: ClosureStartSummary; before: UvSelfcalReport['before']; rounds: SelfcalRound[]; gainPhaseRmsDeg: number; solutions: number; failed: number; visibilitiesKept: number; visibilitiesBefore: number }
    | undefined;
  if (!x) return null;
  return {
    flags: x.flags,
    start: x.firstModel,
    ...(x.closureStart ? { closure: x.closureStart } : {}),
    before: x.before,
    rounds: selfcalRounds(x.rounds),
    phaseRmsDeg: x.gainPhaseRmsDeg,
    solutions: x.solutions,
    failed: x.failed,
    kept: x.visibilitiesKept,
    of: x.visibilitiesBefore,
  };
}

/**
 * The source of a multi-source file as --source gives it: its name where that is one word the shell keeps as it
 * is (as the command line writes it in report.json), else its SOURCE number; nothing for a file without a
 * SOURCE parameter.
 */
export function sourceArg(f: OpenUv): { source?: string } {
  const s = f.vis.source;
  if (!s) return {};
  return { source: /^[\w.+-]+$/.test(s.name) ? s.name : String(s.id) };
}

export async function startVisPosterior(p: UvPosteriorParams, ctx: EngineContext): Promise<RadioMethods['job.reconstructVis']['result']> {
  const f = getFile(p.fileId);
  if (f.vis.n === 0) throw new UvfitsInputError(noVisibilitiesMessage(f.name, f.vis));
  const backend = await ctx.backend();
  // as the command line: the samplers' endings read the visibilities' noise draws back synchronously
  if (backend.backend === 'webgpu' || backend.backend === 'tensorflow') {
    throw new JobInputError(`the posterior from visibilities runs on the wasm or cpu backend, and this engine runs on ${backend.backend} (start it with SKYSCORE_BACKEND=wasm)`);
  }
  const { grid } = imagingGeometry(f.uv, f.vis, { size: p.size, cellArcsec: p.cellArcsec });
  checkGrid([grid.ny, grid.nx], 'the image');
  if (4 * grid.nx * grid.ny > LIMITS.imagePixels) {
    throw new RequestLimitError(`the image is ${grid.nx}×${grid.ny}: its dirty beam on the ${2 * grid.nx}×${2 * grid.ny} double grid is over this engine's limit of ${LIMITS.imagePixels} pixels (docs/serve.md): choose a smaller size`);
  }
  checkSamples(p.n, [grid.ny, grid.nx]);
  const reweight = p.reweight === true;
  if (reweight && !thermalCheck(f.vis)) {
    throw new UvfitsInputError(`${f.name}: reweighting needs successive visibilities on the same baseline to measure the data's scatter, and the file has none`);
  }
  const given = { sampler: p.sampler ?? DEFAULT_SAMPLER, n: p.n, steps: p.steps, seed: p.seed, fluxScale: null, options: p.options, workers: p.workers ?? null, batch: null };
  const settings = checkSettings(given);
  const local = await registryPrior(p.prior);
  // the grid as the command line gives it: the size, and the cell as sent (else the default's, to the last bit)
  const size = grid.nx;
  const cellArcsec = p.cellArcsec ?? grid.cell / ARCSEC;
  const line = (workers: number | undefined) =>
    visibilityCommandLine({
      file: f.name,
      prior: priorSpecOf(local),
      size,
      cellArcsec,
      product: f.vis.product,
      ...sourceArg(f),
      sampler: settings.sampler,
      n: settings.n,
      steps: settings.steps,
      seed: settings.seed,
      fluxScale: null,
      reweight,
      ...(p.selfcal ? { selfcal: selfcalFlags(p.selfcal) } : {}),
      ...(p.totalFlux !== undefined ? { zeroSpacing: p.totalFlux } : {}),
      options: settings.options,
      workers,
    });
  const command = line(settings.workers ?? undefined);
  const hz = p.previewHz;
  const { jobId, queued } = start('posterior', ctx, async (rep) => {
    const r = rep as JobReporter<UvPosteriorProgress>;
    type Out = Omit<UvPosteriorProgress, 'jobId' | 'kind'>;
    const throttle = new PreviewThrottle<Out>(hz > 0 ? 1000 / hz : 250, (x) => r.progress(x));
    try {
      const rec = await reconstructUvfits(
        f.uv,
        { name: f.name, file: baseName(f.name), stokes: f.vis.product, ...sourceArg(f), size, cellArcsec, prior: local, settings: given, backend: async () => backend, command, reweight, ...(p.selfcal ? { selfcal: p.selfcal } : {}), ...(p.totalFlux !== undefined ? { zeroSpacing: p.totalFlux } : {}) },
        {
          signal: r.signal,
          progressIntervalMs: 100,
          // every chain's state now and then: what "stop and keep" writes (the renderer is sent the first few)
          previewIntervalMs: hz > 0 ? 1000 / hz : STATE_INTERVAL_MS,
          previewSamples: settings.n,
          onProgress: (sp) => {
            const out: Out = { step: sp.step, steps: sp.steps, sigma: sp.sigma, chi2: sp.chi2, elapsedS: sp.elapsedS, etaS: sp.etaS };
            const v = sp.preview;
            if (v && hz > 0 && v.shape.length === 2) {
              const per = v.shape[0]! * v.shape[1]!;
              const k = Math.min(v.nSamples, SHOWN_SAMPLES);
              out.preview = { shape: [v.shape[0]!, v.shape[1]!], mean: v.mean.slice(), std: v.std.slice(), samples: v.samples.slice(0, k * per), nSamples: k };
            }
            throttle.push(out);
          },
        },
      );
      throttle.flush();
      // |A·mean| at the plotted visibilities: the mean as written (float32), on the products' grid
      const meanFile = rec.files.find((x) => x.name === 'posterior-mean.fits')!;
      const mean = Float64Array.from(readFitsImage(meanFile.bytes).data);
      const u = Float64Array.from(f.plotIdx, (k) => f.vis.u[k]);
      const v = Float64Array.from(f.plotIdx, (k) => f.vis.v[k]);
      const mv = chooseMeasurement(u, v, { nx: size, ny: size, cell: cellArcsec * ARCSEC }).forward(mean);
      const modelAmp = Float32Array.from(mv.re, (x, i) => Math.hypot(x, mv.im[i]!));
      const ran = line(rec.workers);
      const selfcal = selfcalOfReport(rec.report);
      done.set(jobId, {
        files: rec.files,
        modelAmp,
        chi2: rec.chi2,
        warnings: rec.warnings,
        notes: rec.notes,
        command: ran,
        ...(rec.stopped ? { stopped: rec.stopped } : {}),
        ...(selfcal ? { selfcal } : {}),
      });
      while (done.size > KEEP_DONE) done.delete(done.keys().next().value as string);
      const report = rec.report as { seconds?: number; fluxScale?: { value?: number }; scoreEvaluations?: number };
      return {
        summary: {
          n: rec.stopped ? rec.stopped.chains : settings.n,
          steps: settings.steps,
          sampler: settings.sampler,
          backend: backend.backend,
          workers: rec.workers,
          ...(rec.stopped ? { stopped: `step ${rec.stopped.step}/${rec.stopped.steps}, σ ${rec.stopped.sigma.toPrecision(3)}` } : {}),
          chi2PerVisibility: rec.chi2,
          seconds: +(report.seconds ?? 0).toFixed(2),
          fluxScale: +(report.fluxScale?.value ?? NaN).toPrecision(6),
          warnings: rec.warnings.length,
        },
      };
    } finally {
      throttle.stop();
    }
  });
  return { jobId, queued, size, cellArcsec, command };
}

export function posteriorProductsOf(jobId: string): UvPosteriorProductsResult {
  const r = done.get(jobId);
  if (!r) throw new UvfitsInputError(`uv.posteriorProducts: no finished posterior run ${jobId} (the engine keeps the last ${KEEP_DONE}; after an engine restart, run again)`);
  return r;
}
