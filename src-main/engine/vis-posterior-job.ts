/**
 * The posterior from visibilities as an engine job (`job.reconstructVis`): the open UVFITS file of the
 * Visibilities view (visibility-requests.ts), a prior of the engine's list, the image grid and the sampler
 * settings go to the code of `skyscore reconstruct --vis` (reconstruct/visibilities.ts reconstructUvfits), with
 * progress (step, σ, χ² per visibility degree of freedom of the running mean), previews of the running mean, std
 * and first samples, and cancellation between steps. `uv.posteriorProducts` gives a finished run's products —
 * the files the command line writes, the same bytes for the same settings and seed — and |A·mean| at the plotted
 * visibilities for the amplitude plot.
 */
import type { EngineContext } from './handlers.js';
import type { RadioMethods, UvPosteriorParams, UvPosteriorProductsResult, UvPosteriorProgress } from '../../src-shared/protocol/index.js';
import { LIMITS } from '../../src-shared/protocol/limits.js';
import { UvfitsInputError } from '../../src-shared/radio/uvfits.js';
import { ARCSEC } from '../../src-shared/radio/grid.js';
import { chooseMeasurement } from '../../src-shared/radio/measurement.js';
import { readFitsImage } from '../../src-shared/fits/index.js';
import { DEFAULT_SAMPLER } from '../../src-shared/diffusion/samplers/spec.js';
import { imagingGeometry } from '../reconstruct/clean-products.js';
import { reconstructUvfits, visibilityCommandLine } from '../reconstruct/visibilities.js';
import { checkSettings } from '../reconstruct/prepare.js';
import { priorSpecOf } from '../priors.js';
import { baseName, getFile } from './visibility-requests.js';
import { checkGrid, checkSamples, RequestLimitError } from './limits.js';
import { registryPrior, start, type JobReporter } from './jobs.js';
import { JobInputError } from './forward-model-requests.js';
import { PreviewThrottle } from './reconstruct-job.js';

/** Finished posterior runs whose products are kept, oldest dropped first. */
const KEEP_DONE = 3;
const done = new Map<string, UvPosteriorProductsResult>();
/** Samples a preview carries at most. */
const SHOWN_SAMPLES = 4;

export async function startVisPosterior(p: UvPosteriorParams, ctx: EngineContext): Promise<RadioMethods['job.reconstructVis']['result']> {
  const f = getFile(p.fileId);
  if (f.vis.n === 0) throw new UvfitsInputError(`${f.name}: every ${f.vis.product} visibility is flagged (${f.vis.nFlagged} with weight ≤ 0): nothing to image`);
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
  const given = { sampler: p.sampler ?? DEFAULT_SAMPLER, n: p.n, steps: p.steps, seed: p.seed, fluxScale: null, workers: 1, batch: null };
  const settings = checkSettings(given);
  const local = await registryPrior(p.prior);
  // the grid as the command line gives it: the size, and the cell as sent (else the default's, to the last bit)
  const size = grid.nx;
  const cellArcsec = p.cellArcsec ?? grid.cell / ARCSEC;
  const command = visibilityCommandLine({
    file: f.name,
    prior: priorSpecOf(local),
    size,
    cellArcsec,
    product: f.vis.product,
    sampler: settings.sampler,
    n: settings.n,
    steps: settings.steps,
    seed: settings.seed,
    fluxScale: null,
    reweight: false,
  });
  const hz = p.previewHz;
  const { jobId, queued } = start('posterior', ctx, async (rep) => {
    const r = rep as JobReporter<UvPosteriorProgress>;
    type Out = Omit<UvPosteriorProgress, 'jobId' | 'kind'>;
    const throttle = new PreviewThrottle<Out>(hz > 0 ? 1000 / hz : 250, (x) => r.progress(x));
    try {
      const rec = await reconstructUvfits(
        f.uv,
        { name: f.name, file: baseName(f.name), stokes: f.vis.product, size, cellArcsec, prior: local, settings: given, backend: async () => backend, command },
        {
          signal: r.signal,
          progressIntervalMs: 100,
          previewIntervalMs: hz > 0 ? 1000 / hz : 0,
          previewSamples: Math.min(settings.n, SHOWN_SAMPLES),
          onProgress: (sp) => {
            const out: Out = { step: sp.step, steps: sp.steps, sigma: sp.sigma, chi2: sp.chi2, elapsedS: sp.elapsedS, etaS: sp.etaS };
            const v = sp.preview;
            if (v && v.shape.length === 2) {
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
      done.set(jobId, { files: rec.files, modelAmp, chi2: rec.chi2, warnings: rec.warnings, notes: rec.notes, command });
      while (done.size > KEEP_DONE) done.delete(done.keys().next().value as string);
      const report = rec.report as { seconds?: number; fluxScale?: { value?: number }; scoreEvaluations?: number };
      return {
        summary: {
          n: settings.n,
          steps: settings.steps,
          sampler: settings.sampler,
          backend: backend.backend,
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
