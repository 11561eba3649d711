/**
 * Prior specs of the CLI (`--prior P`, docs/architecture.md): a model folder (`models/galaxy-64`: a U-Net with its
 * model.json), `gaussian-field:PK.fits` (the analytic Gaussian field with power spectrum P in numpy fft2 layout,
 * path relative to the working directory), or `analytic:ring` / `analytic:mixture` (2-D densities, for `sample`).
 * The result carries what the samplers and the flux-scale rule need: the score model, its SDE, the data
 * normalisation (x_prior = (x − offset)/scale) and the typical peak of a prior image.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ScoreModel, VeSde } from '../src-shared/diffusion/types.js';
import { GaussianFieldPrior } from '../src-shared/diffusion/priors/gaussian-field.js';
import { RingDensity, defaultMixture } from '../src-shared/diffusion/priors/analytic2d.js';
import { validateSde } from '../src-shared/diffusion/sde.js';
import { readFitsImage, type ReadOptions } from '../src-shared/fits/index.js';
import { downFactor, paddingNote } from '../src-shared/diffusion/nn/unet.js';
import { backgroundReference, fluxReference } from '../src-shared/diffusion/flux-reference.js';
import { loadPriorFolder, type PriorMeta } from './prior-folder.js';
import { readInputFile } from './io.js';
import { UserInputError } from '../src-shared/errors.js';
import type { UnetScoreModel } from '../src-shared/diffusion/nn/unet.js';
import { isOnnxPriorFolder, loadOnnxPrior, unetOnEngine, type ScoreEngineOptions } from './onnx/priors.js';

export interface ResolvedPrior {
  /** The spec as given. */
  spec: string;
  /** Short name for headers and messages. */
  name: string;
  /** 'onnx': a community network (model.json kind "onnx", docs/onnx-priors.md), always on ONNX Runtime. */
  kind: 'unet' | 'gaussian-field' | 'analytic' | 'onnx';
  model: ScoreModel;
  sde: VeSde;
  /** x_prior = (x − offset)/scale (the linear normalisation of docs/architecture.md; identity for analytic priors). */
  normalisation: { offset: number; scale: number };
  /** Per-sample shape the prior is defined on: [ny, nx] (images) or [2] (points); null for any size. */
  shape: number[] | null;
  /**
   * Typical bright level of a prior image in prior units, for the automatic flux scale: model.json's
   * `data.peakPrior` (the training images' median 99.5th percentile, src-shared/diffusion/flux-reference.ts)
   * when recorded, else 1 (images normalised to [0, 1]); null where no automatic scale applies (the Gaussian
   * field is defined in data units).
   */
  peak: number | null;
  /**
   * Typical sky level of a prior image in prior units, for the automatic scale's offset: model.json's
   * `data.backgroundPrior` (the training images' median sigma-clipped median, flux-reference.ts) when recorded;
   * null otherwise (no offset: the data's zero is the prior's).
   */
  background: number | null;
  /** sha256 of the files that define the prior (model.json + weights, or the power spectrum). */
  sha256: string;
  meta?: PriorMeta;
  warnings: string[];
  dispose(): void;
}

export class PriorInputError extends UserInputError {
  override name = 'PriorInputError';
}

async function sha256Files(files: string[]): Promise<string> {
  const h = createHash('sha256');
  for (const f of files) h.update(await fs.readFile(f));
  return h.digest('hex');
}

/** The user's SkyScore folder: $SKYSCORE_USER_DIR, else ~/.skyscore. Trained priors go to <it>/models/NAME. */
export function userDir(): string {
  return path.resolve(process.env.SKYSCORE_USER_DIR || path.join(os.homedir(), '.skyscore'));
}

/** The application's folder: the nearest folder above this module holding SkyScore's package.json (source or build). */
function appRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown };
      if (pkg.name === 'skyscore') return dir;
    } catch {
      // no package.json here: go up
    }
    const up = path.dirname(dir);
    if (up === dir) return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
    dir = up;
  }
}

/** The shipped priors' folder: $SKYSCORE_MODELS_DIR, else the application's models/. */
export function shippedModelsDir(): string {
  return path.resolve(process.env.SKYSCORE_MODELS_DIR || path.join(appRoot(), 'models'));
}

const BARE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,100}$/;

/**
 * The spec of a prior as given: a Gaussian-field prior folder (power-spectrum.fits and a card, no model.json)
 * stands for `gaussian-field:FOLDER/power-spectrum.fits`; a bare name (`radio-64`) that is no folder of the
 * working directory names a shipped prior (models/NAME) or, failing that, one of the user's
 * (<user folder>/models/NAME, where `skyscore train` puts them), as its absolute path; every other spec is
 * returned as it is.
 */
export function priorSpecOf(spec: string, cwd = process.cwd()): string {
  if (spec.startsWith('gaussian-field:') || spec.startsWith('analytic:')) return spec;
  let dir = path.resolve(cwd, spec);
  if (BARE_NAME.test(spec) && !existsSync(dir)) {
    const found = [shippedModelsDir(), path.join(userDir(), 'models')].map((d) => path.join(d, spec)).find((d) => existsSync(d));
    if (found) {
      dir = found;
      spec = found;
    }
  }
  if (!existsSync(path.join(dir, 'model.json')) && existsSync(path.join(dir, 'power-spectrum.fits'))) {
    return `gaussian-field:${path.join(dir, 'power-spectrum.fits')}`;
  }
  return spec;
}

/**
 * The Gaussian-field prior of a power spectrum (FITS bytes; P in numpy fft2 layout, data units) named `rel`
 * (messages and the prior's name), under `spec`.
 */
export function gaussianFieldPrior(bytes: Uint8Array, rel: string, spec = `gaussian-field:${rel}`, read: Omit<ReadOptions, 'name'> = {}): ResolvedPrior {
  const img = readFitsImage(bytes, undefined, { ...read, name: rel });
  const s = img.shape.filter((v, i) => i < 2 || v !== 1);
  if (s.length !== 2) throw new PriorInputError(`${rel}: the power spectrum must be a 2-D image, got shape [${img.shape.join(', ')}] (FITS order)`);
  const model = new GaussianFieldPrior(img.data, [s[1], s[0]], rel);
  return {
    spec,
    name: `gaussian-field:${path.basename(rel)}`,
    kind: 'gaussian-field',
    model,
    sde: model.defaultSde(),
    normalisation: { offset: 0, scale: 1 },
    shape: [s[1], s[0]],
    peak: null,
    background: null,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    warnings: model.supportsZeroSigma ? [] : [`${rel}: P(k) = 0 for some k; the field has no density there and ula cannot target σ = 0`],
    dispose: () => model.dispose(),
  };
}

/**
 * Resolves a prior spec; `cwd` is where relative paths start (default: the process's). A learned prior's network
 * is evaluated by the score engine of `engine` (default: SKYSCORE_SCORE_ENGINE, else auto: ONNX Runtime where it
 * loads, src-main/onnx/priors.ts).
 */
export async function resolvePrior(given: string, cwd = process.cwd(), engine: ScoreEngineOptions = {}): Promise<ResolvedPrior> {
  if (given.trim() === '') throw new PriorInputError('--prior is empty');
  const spec = priorSpecOf(given, cwd);
  if (spec.startsWith('gaussian-field:')) {
    const rel = spec.slice('gaussian-field:'.length);
    if (!rel) throw new PriorInputError(`prior ${spec}: name the power spectrum, gaussian-field:PK.fits`);
    return gaussianFieldPrior(await readInputFile(path.resolve(cwd, rel)), rel, spec);
  }
  if (spec.startsWith('analytic:')) {
    const which = spec.slice('analytic:'.length);
    let model: ScoreModel;
    let sde: VeSde;
    if (which === 'ring') {
      model = new RingDensity();
      sde = { sigmaMin: 0.01, sigmaMax: 6 };
    } else if (which === 'mixture') {
      model = defaultMixture();
      sde = { sigmaMin: 0.01, sigmaMax: 7 };
    } else {
      throw new PriorInputError(`prior ${spec}: unknown analytic density '${which}' (ring or mixture)`);
    }
    return {
      spec,
      name: spec,
      kind: 'analytic',
      model,
      sde,
      normalisation: { offset: 0, scale: 1 },
      shape: [2],
      peak: null,
      background: null,
      sha256: createHash('sha256').update(spec).digest('hex'),
      warnings: [],
      dispose: () => model.dispose(),
    };
  }
  const dir = path.resolve(cwd, spec);
  if (await isOnnxPriorFolder(dir)) return onnxPrior(spec, dir, engine);
  const { model: tfjsModel, meta } = await loadPriorFolder(dir).catch((e: Error) => {
    // loadPriorFolder's input errors name the folder and what is wrong ("no such model folder", "not valid JSON", …)
    if (!(e instanceof UserInputError)) throw e;
    throw new PriorInputError(`prior ${spec}: ${e.message.split(dir).join(spec)}`);
  });
  if (meta.noisePrior) {
    tfjsModel.dispose();
    throw new PriorInputError(`prior ${spec} is a learned noise prior (a model of the data's noise, not of images): give it as --noise-model learned --noise-prior ${spec}`);
  }
  const sde = validateSde({ sigmaMin: meta.sde.sigmaMin, sigmaMax: meta.sde.sigmaMax }, `${spec}/model.json sde`);
  const peakPrior = (meta.data as Record<string, unknown>).peakPrior;
  const backgroundPrior = (meta.data as Record<string, unknown>).backgroundPrior;
  const sha256 = await sha256Files([path.join(dir, 'model.json'), path.join(dir, meta.weights.file)]);
  const { model, warnings } = await unetOnEngine(tfjsModel as UnetScoreModel, meta, sha256, engine).catch((e: Error) => {
    tfjsModel.dispose();
    throw e;
  });
  return {
    spec,
    name: path.basename(dir),
    kind: 'unet',
    model,
    sde,
    normalisation: { offset: meta.normalisation.offset, scale: meta.normalisation.scale },
    shape: model.trainedShape ? [model.trainedShape[0], model.trainedShape[1]] : null,
    peak: typeof peakPrior === 'number' && peakPrior > 0 ? peakPrior : 1,
    background: typeof backgroundPrior === 'number' && Number.isFinite(backgroundPrior) && typeof peakPrior === 'number' && backgroundPrior < peakPrior ? backgroundPrior : null,
    sha256,
    meta,
    warnings,
    dispose: () => model.dispose(),
  };
}

/** An ONNX prior folder (model.json kind "onnx") on ONNX Runtime. */
async function onnxPrior(spec: string, dir: string, engine: ScoreEngineOptions): Promise<ResolvedPrior> {
  const { model, meta, files } = await loadOnnxPrior(dir, engine).catch((e: Error) => {
    if (!(e instanceof UserInputError)) throw e;
    throw new PriorInputError(`prior ${spec}: ${e.message.split(dir).join(spec)}`);
  });
  const sde = validateSde({ sigmaMin: meta.sde.sigmaMin, sigmaMax: meta.sde.sigmaMax }, `${spec}/model.json sde`);
  const { peakPrior, backgroundPrior } = meta.data;
  return {
    spec,
    name: meta.name ?? path.basename(dir),
    kind: 'onnx',
    model,
    sde,
    normalisation: { ...meta.normalisation },
    shape: [meta.imageShape[0], meta.imageShape[1]],
    peak: typeof peakPrior === 'number' && peakPrior > 0 ? peakPrior : 1,
    background: typeof backgroundPrior === 'number' && typeof peakPrior === 'number' && backgroundPrior < peakPrior ? backgroundPrior : null,
    sha256: await sha256Files(files),
    warnings: [],
    dispose: () => model.dispose(),
  };
}

/**
 * Checks that the prior can describe an unknown of shape [ny, nx]: the same size, or (a fully convolutional
 * U-Net) any size of at least its down-sampling factor (padded by reflection to a multiple of it when that
 * factor does not divide it) — with a warning, since its statistics are learned at the training size. A U-Net on
 * a smaller image, or another prior of another size, is an input error. The command line and the app apply
 * this one policy (src-main/reconstruct/prepare.ts).
 */
export function checkPriorShape(prior: ResolvedPrior, shape: [number, number], what = "the forward model's unknown"): string | null {
  const ts = prior.model.trainedShape;
  const [ny, nx] = shape;
  if (ts && ts[0] === ny && ts[1] === nx) return null;
  if ((prior.kind === 'unet' || prior.kind === 'onnx') && prior.model.supportsShape(shape)) {
    const note = prior.meta ? paddingNote(prior.meta.arch, ny, nx) : null;
    const padded = note ? `, ${note}` : '';
    return `the prior ${prior.name} was trained on ${ts ? `${ts[0]}×${ts[1]}` : 'another size'} images and is used on ${ny}×${nx} (${what}${padded}): it is fully convolutional, but its statistics outside the training size are not guaranteed`;
  }
  if (prior.kind === 'unet' && prior.meta) {
    const f = downFactor(prior.meta.arch);
    throw new PriorInputError(
      `the prior ${prior.name} is a U-Net that runs on images of at least ${f}×${f} pixels (its down-sampling factor) but ${what} is ${ny}×${nx}: use a larger unknown or another prior`,
    );
  }
  if (ts) {
    throw new PriorInputError(`the prior ${prior.name} describes ${ts[0]}×${ts[1]} images but ${what} is ${ny}×${nx}: use a prior of that size or change the model's shape`);
  }
  if (!prior.model.supportsShape(shape)) throw new PriorInputError(`the prior ${prior.name} cannot describe ${ny}×${nx} images`);
  return null;
}

/**
 * How data units relate to a prior's: x = F·x_prior + F·offset/scale + background (docs/architecture.md's linear
 * normalisation, plus the sky offset of the automatic rule; 0 when F is given or the prior records no sky).
 */
export interface FluxChoice {
  value: number;
  source: string;
  /** Added in data units: the data's sky minus F × the prior's typical sky. */
  background?: number;
  /**
   * What the automatic rule read (report.json `fluxScale.reference`): the data (less a known additive image), the
   * model's `fluxReference` (the unknown's own figures, e.g. a lens fit's source inversion), or the back-projection
   * of the data onto the unknown's grid (a model with a lens stage and no `fluxReference`), with its figures.
   */
  reference?: { of: FluxReferenceOf; flux: number; background: number | null };
}

/** Where the automatic flux scale takes its 99.5th percentile and sky from. */
export type FluxReferenceOf = 'data' | 'model fluxReference' | 'back-projection';

/** The statistics of the unknown's brightness in data units, and what they were measured on. */
export interface FluxReferenceValues {
  of: FluxReferenceOf;
  flux: number;
  /** The sky; null where not measured (the rule then sets no offset). */
  background: number | null;
  /** How messages name it: "the data", "the model's fluxReference", … */
  what: string;
}

/** Data units of the unknown for a flux choice: x = F·x_prior + F·offset/scale + background. */
export function affineFor(prior: ResolvedPrior, flux: FluxChoice): { scale: number; offset: number } {
  return { scale: flux.value, offset: (flux.value * prior.normalisation.offset) / prior.normalisation.scale + (flux.background ?? 0) };
}

/** The automatic rule's statistics of an image (the data): its 99.5th percentile and sky (flux-reference.ts). */
export function dataFluxReference(data: ArrayLike<number>, withSky: boolean, what = 'the data'): FluxReferenceValues {
  return { of: 'data', flux: fluxReference(data), background: withSky ? backgroundReference(data) : null, what };
}

/**
 * The flux scale a reconstruction uses: the one given, else 1 for priors defined in data units (Gaussian
 * fields), else the automatic rule below on the observed data — or on `reference`, the unknown's own statistics
 * where the caller has them (a lens's source plane).
 */
export function chooseFluxScale(prior: ResolvedPrior, data: ArrayLike<number>, given: number | null, givenHow = '--flux-scale', reference?: FluxReferenceValues): FluxChoice {
  if (given !== null) return { value: given, source: `given (${givenHow})` };
  if (prior.peak === null) return { value: 1, source: `default 1: ${prior.kind} priors are defined in data units` };
  return fluxScaleFromReference(reference ?? dataFluxReference(data, prior.background !== null), prior.peak, prior.background);
}

/**
 * The automatic flux scale F (data units per prior unit) and sky offset. The basic rule: F = the 99.5th
 * percentile q of the finite data / the prior's typical 99.5th percentile (`peak`), no offset. Where the prior
 * records its training images' typical sky b (`background`) and the data's sky B (sigma-clipped median) is darker
 * than that sky at this scale (B < F·b) — background-subtracted data, as HST cutouts come, against a prior trained
 * on images with a sky pedestal — two points are matched instead, B to b and q to `peak`:
 *   F = (q − B)/(peak − b),  background = B − F·b,
 * so that the prior meets the data at its own typical sky. Skies at or above the typical one are left to the
 * prior, which has seen them (offset 0; the rule is continuous at B = F·b). Matching every sky to b instead was
 * measured to cost calibration on the prior's own kind of data (docs/sampling.md). Linear in the data (F scales
 * with the data's units, the offset with them), robust to a few hot pixels, and for a flux-conserving PSF F is a
 * lower bound of the true peak ratio (blurring lowers peaks). Used only for priors with a known peak (learned
 * priors); the Gaussian field is defined in data units (F = 1).
 */
export function automaticFluxScale(data: ArrayLike<number>, peak: number, background: number | null = null): FluxChoice {
  return fluxScaleFromReference(dataFluxReference(data, background !== null), peak, background);
}

/** The automatic rule (automaticFluxScale) on given statistics q (`flux`) and B (`background`) of the unknown. */
export function fluxScaleFromReference(ref: FluxReferenceValues, peak: number, background: number | null = null): FluxChoice {
  const q = ref.flux;
  const what = ref.what;
  if (Number.isNaN(q)) throw new PriorInputError(ref.of === 'data' ? 'no finite data pixel to set the flux scale from' : `no finite value in ${what} to set the flux scale from`);
  const reference = { of: ref.of, flux: q, background: ref.background };
  const basic = `auto: 99.5th percentile of ${what} (${q.toPrecision(6)}) / the prior's ${peak.toPrecision(4)}`;
  const sky = background === null || ref.background === null ? NaN : ref.background;
  if (background === null || Number.isNaN(sky) || (q > 0 && sky >= (q / peak) * background)) {
    if (!(q > 0)) {
      throw new PriorInputError(`the automatic flux scale needs positive data (99.5th percentile of ${what} is ${q}); give --flux-scale`);
    }
    const note = background === null ? '' : `; the sky of ${what} (${sky.toPrecision(6)}) is at or above the prior's typical one at this scale: no offset`;
    return { value: q / peak, background: 0, source: basic + note, reference };
  }
  if (!(q > sky)) {
    throw new PriorInputError(`the automatic flux scale needs data brighter than their sky (99.5th percentile ${q}, sky ${sky} of ${what}); give --flux-scale`);
  }
  const value = (q - sky) / (peak - background);
  return {
    value,
    background: sky - value * background,
    source:
      `auto, sky darker than the prior's: (99.5th percentile ${q.toPrecision(6)} − sky ${sky.toPrecision(6)} of ${what}) / (the prior's ${peak.toPrecision(4)} − ${background.toPrecision(4)}); ` +
      `offset ${(sky - value * background).toPrecision(6)} (${ref.of === 'data' ? "the data's" : 'its'} sky minus F × the prior's)`,
    reference,
  };
}
