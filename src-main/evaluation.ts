/**
 * The evaluation harness (scripts/eval.ts, `npm run eval`) and the pieces the demo shares with it.
 *
 * For each image of the `validation` split of the Galaxy Zoo cube (never trained on): truth x = pixel/255,
 * data y = A x + n with A the Gaussian PSF of 4 px FWHM (the zero-padded psf operator of
 * docs/forward-models.md) and white noise of σ = 0.03 × max(x) — "0.03 of the peak" read as 3 % of the TRUE
 * image's peak pixel, per image (the same rule as assets/demo, scripts/make-demo.ts) — seeded per image. Then:
 *   - the posterior with the prior, through the reconstruction service that `skyscore reconstruct` runs
 *     (src-main/reconstruct/; on worker threads with `workers` > 1): PSNR of the mean, χ² per pixel of its
 *     residual, per-pixel credible-interval coverage, TARP over the set;
 *   - Richardson–Lucy with an oracle iteration count (the iterate of best PSNR up to `rlMaxIter`);
 *   - Wiener/Tikhonov (CG on AᵀA + λI) with an oracle λ over a log grid;
 *   - the blurred data themselves (PSNR of y against x) as the floor.
 * PSNR uses the truth's range (max − min) as its peak (src-shared/eval/metrics.ts).
 *
 * `truth` runs the same measurement on other images (e.g. real HST galaxies the prior has never seen): FITS files
 * in any units — every image HDU of each (or one chosen HDU), every plane of a cube, in order; images may differ
 * in size (each gets its own forward model; the prior's note on sizes other than its training size is logged once
 * per size); images with non-finite pixels or no positive pixel are left out, and said so. Their units are
 * unknown to the prior, so the flux scale is reconstruct's automatic rule, computed on each simulated observation —
 * what a user who runs `skyscore reconstruct` on them gets — unless `fluxScale` gives one.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { FitsHeader, readFits, readFitsImage } from '../src-shared/fits/index.js';
import { PsfOperator, gaussianPsf } from '../src-shared/operators/index.js';
import type { PosteriorProducts } from '../src-shared/diffusion/products.js';
import { DEFAULT_STEPS, type RunOptions, type SamplerName } from '../src-shared/diffusion/samplers/index.js';
import { stepsWarning } from '../src-shared/diffusion/diagnostics.js';
import { chi2PerPixel, pixelCoverage, psnr, tarp } from '../src-shared/eval/metrics.js';
import { readAndDispose } from '../src-shared/diffusion/readback.js';
import { richardsonLucy, wienerTikhonov } from '../src-shared/eval/baselines.js';
import { initBackend } from './engine/backend.js';
import type { BackendName } from '../src-shared/protocol/index.js';
import { checkPriorShape, chooseFluxScale, priorSpecOf, resolvePrior, type FluxChoice, type ResolvedPrior } from './priors.js';
import { UserInputError } from '../src-shared/errors.js';
import { inlineModel, prepareReconstruction, runReconstruction } from './reconstruct/index.js';
import { cpus } from 'node:os';

/** The repository root (models/, assets/). */
export const APP_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const GALAXY_CUBE = path.resolve(APP_ROOT, '../shared/data/train/galaxyzoo_kaggle2000_gray64.fits');
export const DEFAULT_UNET = path.join(APP_ROOT, 'models', 'galaxy-64');
export const DEFAULT_GAUSSIAN = path.join(APP_ROOT, 'models', 'galaxy-gaussian-64');
export const PSF_FWHM = 4;
export const NOISE_FRACTION = 0.03;

export { priorSpecOf } from './priors.js';

/** The default prior: models/galaxy-64 when it holds a model, else the bundled Gaussian-field galaxy prior. */
export function defaultPrior(): { spec: string; fallback: boolean } {
  if (existsSync(path.join(DEFAULT_UNET, 'model.json'))) return { spec: DEFAULT_UNET, fallback: false };
  return { spec: priorSpecOf(DEFAULT_GAUSSIAN), fallback: true };
}

/**
 * The flux scale F (reconstruct's --flux-scale: x = F·x_prior + F·offset/scale) for data in pixel/255 units
 * of the Galaxy Zoo cube. reconstruct maps x = F·x_train/scale; a prior trained on the raw 8-bit cube
 * (normalisation rule "8-bit data", x_train = 255·x) needs F = scale/255 (= 1 for the default scale 255); one
 * trained on images already divided by 255 needs F = scale. Gaussian fields are in data units: F = 1.
 */
export function fluxScaleForUnitData(prior: ResolvedPrior): FluxChoice {
  if (prior.kind !== 'unet' || !prior.meta) return { value: 1, source: `${prior.kind} prior: data units (F = 1)` };
  const data = prior.meta.data as Record<string, unknown>;
  const rule = String(data.normalisationRule ?? '');
  const files = JSON.stringify([data.files ?? null, data.source]);
  const eightBit = /8-bit/.test(rule) || /gray64\.fits/.test(files);
  const scale = prior.normalisation.scale;
  return eightBit
    ? { value: scale / 255, source: `prior trained on 8-bit counts (x_train = 255·x): F = scale/255 = ${scale}/255` }
    : { value: scale, source: `prior trained on pixel/255 images: F = scale = ${scale}` };
}

/** mulberry32 + Box–Muller: seeded standard normals (the generator scripts/make-demo.ts uses). */
export function gaussianStream(seed: number): () => number {
  let a = seed >>> 0;
  const u = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

export interface EvalOptions {
  prior?: string;
  nImages?: number;
  samples?: number;
  steps?: number;
  sampler?: SamplerName;
  seed?: number;
  backend?: BackendName | 'auto';
  rlMaxIter?: number;
  /** log10 λ grid for Wiener/Tikhonov. */
  lambdaGrid?: number[];
  levels?: number[];
  /** Worker threads for the posterior sampling (default: one per core, at most 2; 1 samples in this thread). */
  workers?: number;
  /**
   * Truth images from these FITS files instead of the galaxy cube's validation split: every image HDU of each file
   * (or only HDU `hdu`), every plane of a cube; the images may differ in size.
   */
  truth?: { files: Array<{ name: string; bytes: Uint8Array }>; hdu?: number };
  /** Data units per prior unit (default: 1 for the galaxy cube's pixel/255, reconstruct's automatic rule for `truth`). */
  fluxScale?: number;
  /** The sampler's options (default: reconstruct's defaults). */
  samplerOptions?: RunOptions;
  log?: (line: string) => void;
}

export interface ImageResult {
  index: number;
  galaxyId: string;
  sigma: number;
  /** Data units per prior unit used for this image. */
  fluxScale: number;
  /** The automatic rule's sky offset (data units; 0 when the scale is fixed or the prior records no sky). */
  background: number;
  /** posterior: the mean product (Rao–Blackwellised by default); posteriorDraws: the plain mean of the samples. */
  psnr: { posterior: number; posteriorDraws: number; rl: number; wiener: number; blurred: number };
  rlIterations: number;
  wienerLambda: number;
  chi2PerPixel: number;
  chi2Truth: number;
  coverage: number[];
  seconds: number;
}

export interface EvalReport {
  prior: { spec: string; kind: string; name: string; fluxScale: number; fluxSource: string };
  setup: { split: string; images: string; psfFwhmPx: number; noise: string; samples: number; steps: number; sampler: string; samplerSettings: Record<string, number | string>; seed: number; backend: string; workers: number; rlMaxIter: number; lambdaGrid: number[] };
  images: ImageResult[];
  mean: { psnr: { posterior: number; posteriorDraws: number; rl: number; wiener: number; blurred: number }; gainOverBestBaseline: number; chi2PerPixel: number };
  coverage: { levels: number[]; observed: number[] };
  tarp: { alpha: number[]; ecp: number[]; maxDeviation: number };
  /** Warnings about the setup (reconstruct's: too few steps for the sampler), also written to the log. */
  warnings: string[];
  seconds: number;
}

const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;


export async function runEvaluation(o: EvalOptions = {}): Promise<EvalReport> {
  const log = o.log ?? (() => {});
  const nImages = o.nImages ?? 20;
  const samples = o.samples ?? 16;
  const sampler: SamplerName = o.sampler ?? 'pc';
  const steps = o.steps ?? DEFAULT_STEPS[sampler];
  const seed = o.seed ?? 0;
  const rlMaxIter = o.rlMaxIter ?? 300;
  const lambdaGrid = o.lambdaGrid ?? Array.from({ length: 17 }, (_, i) => -4 + 0.25 * i);
  const levels = o.levels ?? [0.5, 0.68, 0.9, 0.95];
  if (samples < 2) throw new UserInputError('eval: --samples must be at least 2 (coverage needs several samples)');
  const workers = Math.max(1, Math.min(o.workers ?? Math.min(2, cpus().length), samples));
  // reconstruct's warning for a short schedule: the figures measure draws that may not have converged
  const warnings: string[] = [];
  const fewSteps = stepsWarning(sampler, steps);
  if (fewSteps) warnings.push(fewSteps);
  for (const w of warnings) log(`eval: warning: ${w}`);
  const t0 = Date.now();
  const info = await initBackend(o.backend ?? 'auto');
  const spec = priorSpecOf(o.prior ?? defaultPrior().spec);
  const prior = await resolvePrior(spec);
  const set = o.truth ? truthImages(o.truth, nImages, log) : await validationImages(nImages);
  if (prior.kind === 'analytic') throw new UserInputError(`eval: ${spec} is a 2-D density, not an image prior`);
  // the flux scale: given, the pixel/255 rule for the galaxy cube, or reconstruct's automatic rule per observation
  const fixedFlux = o.fluxScale !== undefined ? chooseFluxScale(prior, [], o.fluxScale) : o.truth ? null : fluxScaleForUnitData(prior);
  const fluxes: FluxChoice[] = [];
  let samplerSettings: Record<string, number | string> = {};
  const images: ImageResult[] = [];
  const problems: { samples: Float32Array[]; truth: Float32Array }[] = [];
  // one forward model per image size for the baselines (the sampling builds its own from an M.json with the same PSF)
  const forSize = new Map<string, PsfOperator>();
  const forwardModel = (ny: number, nx: number): PsfOperator => {
    const key = `${ny}x${nx}`;
    let op = forSize.get(key);
    if (!op) {
      const shapeNote = checkPriorShape(prior, [ny, nx], `the ${set.what} of ${ny}×${nx}`);
      if (shapeNote) log(`eval: note: ${shapeNote}`);
      op = new PsfOperator([ny, nx], gaussianPsf(PSF_FWHM));
      forSize.set(key, op);
    }
    return op;
  };
  try {
    for (const { index: gi, label, ny, nx, truth } of set.images) {
      const npix = ny * nx;
      const op = forwardModel(ny, nx);
      const ti = Date.now();
      const sigma = NOISE_FRACTION * truth.reduce((m, v) => Math.max(m, v), 0);
      const blurred = await readAndDispose(tf.tidy(() => op.apply(tf.tensor3d(truth, [1, ny, nx]))));
      const g = gaussianStream((seed * 1_000_003 + gi + 1) >>> 0);
      const y = new Float32Array(npix);
      for (let i = 0; i < npix; i++) y[i] = blurred[i]! + sigma * g();

      // the posterior through the reconstruction service (what skyscore reconstruct runs), the forward model as an
      // M.json with the same Gaussian PSF
      const prep = await prepareReconstruction({
        observation: { data: y, shape: [ny, nx], fitsShape: [nx, ny], header: new FitsHeader(), name: `${set.what} ${gi}`, path: label, hdu: 0, plane: 0 },
        model: inlineModel({ shape: [ny, nx], operators: [{ type: 'psf', fwhmPx: PSF_FWHM }] }),
        noise: { kind: 'sigma', sigma },
        prior,
        settings: { sampler, n: samples, steps, seed: seed + gi, fluxScale: fixedFlux?.value ?? null, options: o.samplerOptions, workers, batch: null },
        backend: async () => info,
      });
      let post: PosteriorProducts;
      let flux: FluxChoice;
      try {
        const run = await runReconstruction(prep);
        samplerSettings = run.result.samplerSettings;
        post = run.products;
        flux = fixedFlux ?? prep.flux;
      } finally {
        prep.dispose();
      }
      fluxes.push(flux);
      const sampleList = Array.from({ length: samples }, (_, s) => post.samples.subarray(s * npix, (s + 1) * npix));
      problems.push({ samples: sampleList, truth });

      let rlBest = -Infinity;
      let rlK = 0;
      await richardsonLucy(op, y, rlMaxIter, (k, x) => {
        const v = psnr(truth, x);
        if (v > rlBest) [rlBest, rlK] = [v, k];
      });
      let wBest = -Infinity;
      let wLam = NaN;
      for (const lg of lambdaGrid) {
        const { x } = await wienerTikhonov(op, y, 10 ** lg);
        const v = psnr(truth, x);
        if (v > wBest) [wBest, wLam] = [v, 10 ** lg];
      }
      const truthModel = blurred;
      const r: ImageResult = {
        index: gi,
        galaxyId: label,
        sigma,
        fluxScale: flux.value,
        background: flux.background ?? 0,
        psnr: { posterior: psnr(truth, post.mean), posteriorDraws: psnr(truth, post.meanOfDraws), rl: rlBest, wiener: wBest, blurred: psnr(truth, y) },
        rlIterations: rlK,
        wienerLambda: wLam,
        chi2PerPixel: post.chi2PerPixel ?? NaN,
        chi2Truth: chi2PerPixel(y, truthModel, sigma),
        coverage: pixelCoverage(sampleList, truth, levels),
        seconds: (Date.now() - ti) / 1000,
      };
      images.push(r);
      log(
        `eval: ${set.what} ${gi} (${r.galaxyId}): PSNR posterior ${r.psnr.posterior.toFixed(2)}, RL ${r.psnr.rl.toFixed(2)} (${rlK} it), Wiener ${r.psnr.wiener.toFixed(2)} (λ ${wLam.toExponential(1)}), data ${r.psnr.blurred.toFixed(2)} dB; χ²/px ${r.chi2PerPixel.toFixed(3)}; ${r.seconds.toFixed(1)} s`,
      );
    }
  } finally {
    for (const op of forSize.values()) op.dispose();
    prior.dispose();
  }
  const m = {
    posterior: mean(images.map((r) => r.psnr.posterior)),
    rl: mean(images.map((r) => r.psnr.rl)),
    wiener: mean(images.map((r) => r.psnr.wiener)),
    blurred: mean(images.map((r) => r.psnr.blurred)),
    posteriorDraws: mean(images.map((r) => r.psnr.posteriorDraws)),
  };
  const t = tarp(problems, { seed: seed + 1 });
  const sameForAll = fluxes.every((f) => f.value === fluxes[0]!.value && f.source === fluxes[0]!.source);
  const flux =
    fixedFlux ??
    (sameForAll
      ? fluxes[0]! // e.g. a Gaussian field's data units
      : { value: mean(fluxes.map((f) => f.value)), source: `automatic per image (reconstruct's rule; the mean is shown): ${fluxes.map((f) => f.value.toPrecision(4)).join(', ')}` });
  return {
    prior: { spec, kind: prior.kind, name: prior.name, fluxScale: flux.value, fluxSource: flux.source },
    setup: { split: set.split, images: set.what, psfFwhmPx: PSF_FWHM, noise: `white, σ = ${NOISE_FRACTION} × max(truth) per image`, samples, steps, sampler, samplerSettings, seed, backend: info.backend, workers, rlMaxIter, lambdaGrid },
    images,
    mean: { psnr: m, gainOverBestBaseline: m.posterior - Math.max(m.rl, m.wiener), chi2PerPixel: mean(images.map((r) => r.chi2PerPixel)) },
    coverage: { levels, observed: levels.map((_, li) => mean(images.map((r) => r.coverage[li]!))) },
    tarp: { alpha: t.alpha, ecp: t.ecp, maxDeviation: t.maxDeviation },
    warnings,
    seconds: (Date.now() - t0) / 1000,
  };
}

interface TruthSet {
  /** What the images are, for messages and the report ("validation images", "images of hst.fits"). */
  what: string;
  split: string;
  /** index: in the set's own numbering (the cube's row, or the order in the files); label: where it came from. */
  images: Array<{ index: number; label: string; ny: number; nx: number; truth: Float32Array }>;
}

/** The first n images of the galaxy cube's validation split, pixel/255. */
async function validationImages(n: number): Promise<TruthSet> {
  const file = readFits(new Uint8Array(await fs.readFile(GALAXY_CUBE)));
  const cube = file.hdus[0]!.readImage();
  const table = file.hdus[1]!.readTable();
  const split = table.column('SPLIT')!.data as string[];
  const ids = table.column('GALAXYID')!.data;
  const [nx, ny] = [cube.shape[0]!, cube.shape[1]!];
  const npix = nx * ny;
  const idx = split.map((s, i) => (s.trim() === 'validation' ? i : -1)).filter((i) => i >= 0).slice(0, n);
  const images = idx.map((gi) => {
    const truth = new Float32Array(npix);
    for (let i = 0; i < npix; i++) truth[i] = cube.data[gi * npix + i]! / 255;
    return { index: gi, label: String(ids[gi]), ny, nx, truth };
  });
  return { what: 'validation images', split: 'validation', images };
}

/**
 * Up to n images from FITS files in their own units: every image HDU of each file (or only `hdu`), every plane of
 * a cube, in order. Images with non-finite pixels or no positive pixel are left out, and said so.
 */
function truthImages(t: NonNullable<EvalOptions['truth']>, n: number, log: (l: string) => void): TruthSet {
  const images: TruthSet['images'] = [];
  const names: string[] = [];
  for (const file of t.files) {
    if (images.length >= n) break;
    const base = path.basename(file.name);
    names.push(base);
    const f = readFits(file.bytes, { name: file.name });
    let hdus: number[];
    if (t.hdu !== undefined) {
      readFitsImage(file.bytes, t.hdu, { name: file.name }); // the reader's message for a missing or empty HDU
      hdus = [t.hdu];
    } else {
      hdus = f.hdus.map((h, i) => (h.hasImage && h.shape.length >= 2 ? i : -1)).filter((i) => i >= 0);
      if (!hdus.length) throw new UserInputError(`eval: ${file.name} holds no image (${f.hdus.map((h) => h.kind).join(', ')})`);
    }
    const multi = hdus.length > 1 || (t.hdu !== undefined && t.hdu > 0);
    for (const hi of hdus) {
      if (images.length >= n) break;
      const img = f.hdus[hi]!.readImage();
      const [nx, ny] = [img.shape[0]!, img.shape[1] ?? 1];
      if (!(nx >= 2 && ny >= 2)) throw new UserInputError(`eval: ${base}${multi ? ` HDU ${hi}` : ''} holds no 2-D image (shape ${img.shape.join('×')})`);
      const planes = img.shape.slice(2).reduce((a, b) => a * b, 1);
      const npix = nx * ny;
      for (let k = 0; k < planes && images.length < n; k++) {
        const label = `${base}${multi ? `[HDU ${hi}]` : ''}${planes > 1 ? `[${k}]` : ''}`;
        const truth = Float32Array.from(img.data.subarray(k * npix, (k + 1) * npix));
        if (!truth.every(Number.isFinite)) {
          log(`eval: ${label} has non-finite pixels: left out`);
          continue;
        }
        if (!(truth.reduce((m, v) => Math.max(m, v), -Infinity) > 0)) {
          log(`eval: ${label} has no positive pixel (the noise is a fraction of the peak): left out`);
          continue;
        }
        images.push({ index: images.length, label, ny, nx, truth });
      }
    }
  }
  const what = names.length === 1 ? names[0]! : `${names.length} files`;
  if (images.length === 0) throw new UserInputError(`eval: ${what} has no usable image (finite, with a positive peak)`);
  const sizes = [...new Set(images.map((i) => `${i.ny}×${i.nx}`))];
  return { what: `images of ${what}${sizes.length > 1 ? ` (${sizes.length} sizes)` : ''}`, split: `file${names.length > 1 ? 's' : ''} ${names.join(', ')}`, images };
}

/** The report as a markdown table (the model card's). */
export function evalMarkdown(r: EvalReport): string {
  const f = (v: number, d = 2) => v.toFixed(d);
  const lines = [
    `Prior \`${r.prior.name}\` (${r.prior.kind}), ${r.images.length} ${r.setup.images ?? 'validation images'}, Gaussian PSF ${r.setup.psfFwhmPx} px FWHM, noise ${r.setup.noise}; ` +
      `${r.setup.samples} posterior samples × ${r.setup.steps} ${r.setup.sampler} steps, seed ${r.setup.seed}, backend ${r.setup.backend}, ${f(r.seconds, 0)} s.`,
    '',
    ...(r.warnings ?? []).flatMap((w) => [`**Warning:** ${w}.`, '']),
    '| | PSNR (dB, mean) |',
    '|---|---|',
    `| posterior mean${r.setup.samplerSettings.raoBlackwellSigma !== undefined ? ' (Rao–Blackwellised, the product)' : ''} | ${f(r.mean.psnr.posterior)} |`,
    ...(r.setup.samplerSettings.raoBlackwellSigma !== undefined ? [`| mean of the ${r.setup.samples} draws | ${f(r.mean.psnr.posteriorDraws)} |`] : []),
    `| Richardson–Lucy, oracle iterations (≤ ${r.setup.rlMaxIter}) | ${f(r.mean.psnr.rl)} |`,
    `| Wiener/Tikhonov, oracle λ | ${f(r.mean.psnr.wiener)} |`,
    `| blurred noisy data | ${f(r.mean.psnr.blurred)} |`,
    '',
    `Flux scale (data units per prior unit): ${r.prior.fluxSource.startsWith('automatic') ? r.prior.fluxSource : `${r.prior.fluxScale.toPrecision(4)} (${r.prior.fluxSource})`}.` +
      (r.images.some((i) => i.background !== 0) ? ` Sky offset (data units; the data's sky minus F × the prior's): ${r.images.map((i) => i.background.toPrecision(3)).join(', ')}.` : ''),
    '',
    `Posterior mean − best baseline: ${f(r.mean.gainOverBestBaseline)} dB. χ² per pixel of the posterior mean's residual: ${f(r.mean.chi2PerPixel, 3)} (mean over images).`,
    '',
    `| credible level | ${r.coverage.levels.map((l) => `${Math.round(l * 100)} %`).join(' | ')} |`,
    `|---|${r.coverage.levels.map(() => '---').join('|')}|`,
    `| per-pixel coverage (truth's rank among the ${r.setup.samples} samples) | ${r.coverage.observed.map((c) => f(c, 3)).join(' | ')} |`,
    '',
    `TARP: largest |ECP − α| = ${f(r.tarp.maxDeviation, 3)} over ${r.tarp.alpha.length} levels (${r.images.length} images: the ECP has a binomial error of about ${f(0.5 / Math.sqrt(r.images.length), 2)}).`,
    '',
    '| image | galaxy | posterior | RL (iter) | Wiener (λ) | data | χ²/px | 90 % cov. |',
    '|---|---|---|---|---|---|---|---|',
    ...r.images.map(
      (i) =>
        `| ${i.index} | ${i.galaxyId} | ${f(i.psnr.posterior)} | ${f(i.psnr.rl)} (${i.rlIterations}) | ${f(i.psnr.wiener)} (${i.wienerLambda.toExponential(1)}) | ${f(i.psnr.blurred)} | ${f(i.chi2PerPixel, 3)} | ${f(i.coverage[r.coverage.levels.indexOf(0.9)] ?? NaN, 3)} |`,
    ),
  ];
  return lines.join('\n') + '\n';
}
