/**
 * The reconstruction service, step 3: the products of a run as named files — posterior-mean.fits,
 * posterior-std.fits, posterior-samples.fits, residual.fits (float32, the observation's header and WCS where the
 * grid is the observation's, one set of provenance cards and HISTORY) and report.json. The command line writes
 * them into its output folder; the app's job hands them to the client.
 */
import type { FitsHeader } from '../../src-shared/fits/index.js';
import { writeFits } from '../../src-shared/fits/index.js';
import type { NamedFile } from '../../src-shared/protocol/index.js';
import type { Shape2 } from '../../src-shared/operators/types.js';
import type { SamplingResult } from '../../src-shared/diffusion/posterior.js';
import type { ReconstructionDiagnostics } from '../../src-shared/diffusion/diagnostics.js';
import { drawsEndingNote, meanEstimateNote, reconstructionReport, type PosteriorProducts } from '../../src-shared/diffusion/products.js';
import { versions } from '../version.js';
import { asciiText, resultFitsShape, resultGrid, resultHeader, sipAsTpvHeader, trimWcsToTwoAxes, type Provenance, type ResultGrid } from './headers.js';
import type { PreparedReconstruction } from './prepare.js';

/** Everything the FITS headers need, as plain data (the run's tensors are freed by then). */
export interface HeaderContext {
  /** The observation's header (a cube's plane: its other axes' WCS removed) and FITS axes for results on its grid. */
  observation: { header: FitsHeader; fitsShape: number[] };
  grid: ResultGrid;
  inShape: Shape2;
  outShape: Shape2;
  n: number;
  provenance: Provenance;
  history: string[];
  meanNote: string;
  drawsNote: string[];
  chi2PerPixel: number | null;
  /** HISTORY lines of residual.fits only: the significant regions of the residual (diagnostics.ts), if any. */
  residualNotes?: string[];
}

/** Whether the observation is one plane of a cube (its HDU has an axis beyond the second longer than 1). */
export function isPlaneOfCube(fitsShape: readonly number[]): boolean {
  return fitsShape.slice(2).some((n) => n > 1);
}

/**
 * The command line that reproduces the run (without "skyscore"): the sampler options that were set are part of
 * it; worker threads and batch size are not (they do not change the samples).
 */
export function commandLine(prep: PreparedReconstruction): string {
  const s = prep.settings;
  const o = s.options;
  const opts = [
    o.snr !== undefined ? ` --snr ${o.snr}` : '',
    o.correctorSteps !== undefined ? ` --correctors ${o.correctorSteps}` : '',
    o.stepSize !== undefined ? ` --step-size ${o.stepSize}` : '',
    o.zeta !== undefined ? ` --zeta ${o.zeta}` : '',
    o.denoise !== undefined ? ` --denoise ${o.denoise}` : '',
    o.raoBlackwell === false ? ' --no-rao-blackwell' : '',
    o.symmetrise === true ? ' --symmetrise' : '',
  ].join('');
  return (
    `reconstruct --obs ${prep.observation.name} --model ${prep.model.name} --prior ${prep.priorSpec}${prep.noiseCommand ?? ` --noise ${prep.noiseText}`} ` +
    `--n ${s.n} --steps ${s.steps} --seed ${s.seed} --sampler ${s.sampler} --flux-scale ${prep.flux.value.toPrecision(8)}${opts}`
  );
}

/** report.json: src-shared's report (chi2PerPixel, n, steps, …, the likelihood) with the prior's hash and the worker count. */
export function runReport(
  prep: PreparedReconstruction,
  result: SamplingResult,
  products: PosteriorProducts,
  workers: number,
  command: string,
  diag?: { diagnostics: ReconstructionDiagnostics; warnings: string[] },
): Record<string, unknown> {
  const obs = prep.observation;
  const report = reconstructionReport(
    products,
    result,
    {
      command: `skyscore ${command}${prep.host === 'app' ? ' (from the app)' : ''}`,
      prior: { spec: prep.priorSpec, kind: prep.prior.kind, sde: prep.prior.sde, trainedShape: prep.prior.shape, normalisation: prep.prior.normalisation },
      backend: prep.backend.backend,
      versions: { ...versions() } as Record<string, string>,
      fluxScale: prep.flux,
      model: { path: prep.model.path, sha256: prep.model.sha256, ...(prep.model.prepared.spec.additive ? { additive: prep.model.prepared.spec.additive.fits } : {}) },
      observation: { path: obs.path, hdu: obs.hdu },
      noise: prep.noiseText,
      warnings: [...prep.warnings, ...(diag?.warnings ?? [])],
      diagnostics: diag?.diagnostics,
    },
    prep.likelihood,
  );
  report.priorSha256 = prep.prior.sha256;
  report.workers = workers;
  report.scoreEngine = prep.engine;
  // the window of the observation the forward model ran on (0-based pixels; residual.fits is NaN outside it)
  if (prep.window) report.modelWindow = { x0: prep.window.x0, y0: prep.window.y0, nx: prep.window.shape[1], ny: prep.window.shape[0] };
  if (isPlaneOfCube(obs.fitsShape)) report.plane = obs.plane;
  return report;
}

/** What the product headers need, taken from the prepared problem and the run before its tensors are freed. */
export function headerContext(prep: PreparedReconstruction, result: SamplingResult, products: PosteriorProducts, command: string): HeaderContext {
  const obs = prep.observation;
  const s = prep.settings;
  let observation = { header: obs.header, fitsShape: obs.fitsShape };
  if (isPlaneOfCube(obs.fitsShape)) {
    const header = obs.header.clone();
    trimWcsToTwoAxes(header);
    header.addHistory(`plane ${obs.plane + 1} (1-based) of HDU ${obs.hdu} of ${obs.name}`);
    observation = { header, fitsShape: [obs.shape[1], obs.shape[0]] };
  }
  const chi2 = products.chi2PerPixel;
  return {
    observation,
    grid: resultGrid(prep.model.prepared, true),
    inShape: prep.inShape,
    outShape: prep.outShape,
    n: s.n,
    provenance: {
      command,
      modelPath: prep.model.name,
      modelHash: prep.model.sha256,
      backend: prep.backend.backend,
      // they replace any the observation carries from an earlier step (simulate's SKYSEED, SKYNOISE)
      extra: {
        SKYPRIOR: prep.prior.name.slice(0, 60),
        SKYSAMP: s.sampler,
        SKYSTEPS: s.steps,
        SKYSEED: s.seed,
        SKYNSAMP: s.n,
        SKYNOISE: prep.noiseText.slice(0, 60),
        SKYFLUX: Number(prep.flux.value.toPrecision(10)),
        SKYBKG: Number((prep.flux.background ?? 0).toPrecision(10)),
        SKYCHI2: Number((chi2 ?? NaN).toPrecision(6)),
        'SKYSCORE PRIOR SHA256': prep.prior.sha256.slice(0, 32),
      },
    },
    history: [
      `prior ${prep.priorSpec} sha256 ${prep.prior.sha256}`,
      `sampler ${s.sampler}, ${s.steps} steps, ${s.n} samples, seed ${s.seed}`,
      `likelihood: ${asciiText(prep.likelihood.description)}`,
    ],
    meanNote: meanEstimateNote(result),
    drawsNote: drawsEndingNote(result),
    chi2PerPixel: chi2,
  };
}

/** The names of the products, in the order productFiles gives them. */
export const PRODUCT_NAMES = ['posterior-mean.fits', 'posterior-std.fits', 'posterior-samples.fits', 'residual.fits', 'report.json'] as const;

/** The five products, in this order: mean, std, samples, residual (FITS), report.json. */
export function productFiles(ctx: HeaderContext, products: PosteriorProducts, report: Record<string, unknown>): NamedFile[] {
  const [ny, nx] = ctx.inShape;
  const header = (onUnknownGrid: boolean, shape: Shape2, what: string, extra: string[]): FitsHeader => {
    const h = resultHeader(ctx.observation, onUnknownGrid ? ctx.grid : { sameAsInput: true }, shape, ctx.provenance);
    h.set('SKYPROD', what, 'SkyScore product');
    for (const line of [...ctx.history, ...extra]) h.addHistory(line);
    return h;
  };
  const imageShape = resultFitsShape(ctx.observation, ctx.inShape, ctx.grid.sameAsInput);
  const samplesH = header(true, ctx.inShape, 'posterior samples', ctx.drawsNote);
  // the cube's third axis is the sample index: no WCS of the observation's other axes; a SIP distortion as the same
  // TPV polynomial, which astropy reads on a 3-axis image (it refuses SIP there)
  trimWcsToTwoAxes(samplesH);
  sipAsTpvHeader(samplesH);
  const resH = header(false, ctx.outShape, '(y - A mean)/sigma', [`chi2 per observed pixel of the mean ${ctx.chi2PerPixel?.toPrecision(6)}`, ...(ctx.residualNotes ?? [])]);
  resH.delete('BUNIT');
  const fits = (data: Float32Array, shape: number[], h: FitsHeader) => writeFits([{ data, shape, header: h, bitpix: -32 }]);
  return [
    { name: 'posterior-mean.fits', bytes: fits(products.mean, imageShape, header(true, ctx.inShape, 'posterior mean', [ctx.meanNote])) },
    { name: 'posterior-std.fits', bytes: fits(products.std, imageShape, header(true, ctx.inShape, 'posterior standard deviation', ctx.drawsNote)) },
    { name: 'posterior-samples.fits', bytes: fits(products.samples, [nx, ny, ctx.n], samplesH) },
    { name: 'residual.fits', bytes: fits(products.residual!, resultFitsShape(ctx.observation, ctx.outShape, true), resH) },
    { name: 'report.json', bytes: new TextEncoder().encode(JSON.stringify(report, null, 2) + '\n') },
  ];
}
