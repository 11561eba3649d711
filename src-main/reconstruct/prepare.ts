/**
 * The reconstruction service, step 1: from what every host can give — the observation (pixels, header, name),
 * the forward model (M.json and a loader for the files it names: from disk for the command line, from the files
 * sent with the request for the app), the noise, the prior and the settings — check every input and build the
 * problem (forward model, prior, flux scale, likelihood). Every input problem is an error here, before any
 * sampling starts; notes (a prior used outside its training size, masked pixels, …) are collected as warnings.
 */
import path from 'node:path';
import { createHash } from 'node:crypto';
import { cpus } from 'node:os';
import type { FitsHeader } from '../../src-shared/fits/index.js';
import type { BackendInfo, SamplerSettings } from '../../src-shared/protocol/index.js';
import type { Shape2 } from '../../src-shared/operators/types.js';
import { cropForwardModel, instantiateForwardModel, prepareForwardModel, type BuiltForwardModel, type ForwardModelFileLoader, type PreparedForwardModel } from '../../src-shared/operators/forward-model.js';
import { outputShape, parseForwardModel } from '../../src-shared/operators/forward-model-spec.js';
import { forwardModelPsfWarnings } from '../../src-shared/operators/psf-sampling.js';
import { noiseMap, scalarNoise, sigmaArray, type NoiseModel } from '../../src-shared/operators/noise.js';
import type { BuiltNoise } from '../../src-shared/noise/model.js';
import { cropImage, uncropImage, type ImageWindow } from '../../src-shared/operators/window.js';
import { ConvolvedLikelihood, type Affine } from '../../src-shared/diffusion/likelihood.js';
import {
  DENOISE_MODES,
  MAX_BATCH,
  MAX_STEPS,
  MAX_WORKERS,
  MAX_CORRECTOR_STEPS,
  RUN_OPTION_RANGES,
  SAMPLERS,
  SAMPLER_INFO,
  defaultBatch,
  isDenoiseMode,
  isSamplerName,
  type SamplerName,
  type SamplerOptions,
} from '../../src-shared/diffusion/samplers/spec.js';
import { shapeText } from './headers.js';
import { UserInputError } from '../../src-shared/errors.js';
import { affineFor, checkPriorShape, chooseFluxScale, dataFluxReference, resolvePrior, type FluxChoice, type FluxReferenceValues, type ResolvedPrior } from '../priors.js';
import { backProjection, offGridSignal } from '../../src-shared/diffusion/source-reference.js';
import { onnxWorkerPlan, scoreEngineReport, type ScoreEngineOptions } from '../onnx/priors.js';
import { useOrtProducts } from '../onnx/products.js';
import type { ScoreEngineReport } from '../onnx/score-model.js';

/** Bad input to a reconstruction (the command line exits with code 2, the app's request fails with code 'input'). */
export class ReconstructInputError extends UserInputError {
  override name = 'ReconstructInputError';
}

/** The observation: one 2-D image (a plane of a cube for the app) with its HDU's header. */
export interface ObservationInput {
  data: Float32Array | Float64Array;
  /** [ny, nx] */
  shape: Shape2;
  /** The HDU's FITS axes as stored: [nx, ny], [nx, ny, 1] (kept in the products), or a cube's [nx, ny, planes]. */
  fitsShape: number[];
  header: FitsHeader;
  /** The file's name (messages, the command line recorded in HISTORY). */
  name: string;
  /** Where it was read from, for report.json: a path (command line) or the name (app). */
  path: string;
  hdu: number;
  /** The plane of a cube (0 for an image). */
  plane: number;
}

/** The forward model: M.json as the host holds it and a loader for the files it names. */
export interface ModelInput {
  /** The M.json text or bytes (the app: the editor's "Save M.json" text); the model hash starts with them. */
  json: string | Uint8Array;
  /** Its file name, in messages and headers (M.json). */
  name: string;
  /** For report.json: its path (command line) or the name (app). */
  path: string;
  loader: ForwardModelFileLoader;
  /** The bytes of every file the loader has read so far, in order (the model hash covers them). */
  filesRead(): readonly Uint8Array[];
}

/** σ of the Gaussian noise: one number, or a map of the data's shape (NaN marks a pixel unusable). */
export type NoiseInput =
  | { kind: 'sigma'; sigma: number }
  | { kind: 'map'; sigma: ArrayLike<number>; shape: Shape2; name: string }
  /** A model built by the host (src-shared/noise/model.ts: correlated, Poisson–Gaussian), with its command-line flags (a leading space; empty where M.json holds them). */
  | { kind: 'model'; built: BuiltNoise; command: string };

/** The run's settings: the protocol's (the app sends them as they are; the command line builds them from its flags). */
export type ReconstructSettings = SamplerSettings;

export interface ReconstructionInputs {
  observation: ObservationInput;
  model: ModelInput;
  noise: NoiseInput;
  /** A prior spec (a model folder or gaussian-field:PK.fits, relative to cwd), or a prior the caller resolved and disposes. */
  prior: string | ResolvedPrior;
  /** Where relative prior paths start (default: the process's working directory). */
  cwd?: string;
  settings: ReconstructSettings;
  /** What evaluates a learned prior's network (ONNX Runtime or tfjs); absent: the environment's, else auto. */
  scoreEngine?: ScoreEngineOptions;
  /** Brings up the tfjs backend: called once the inputs that need none are checked. */
  backend: () => Promise<BackendInfo>;
  /** Who asked: report.json's command says "(from the app)" for the app. */
  host?: 'cli' | 'app';
  /** A host's own limits on the forward model, checked once its files are read, before any operator is built (the engine's: engine/limits.ts). */
  checkForwardModel?: (prepared: PreparedForwardModel) => void;
  /**
   * A lens model with a mask runs on the mask's window of the grid where that saves half the pixels or more (default
   * true; false: the whole grid, for the lens–source Gibbs sampler, whose lens steps ray-shoot the whole grid).
   */
  crop?: boolean;
}

/** Settings with every default resolved. */
export interface ResolvedSettings {
  sampler: SamplerName;
  n: number;
  steps: number;
  seed: number;
  fluxScale: number | null;
  options: SamplerOptions;
  workers: number;
  batch: number;
}

export interface PreparedReconstruction {
  observation: ObservationInput;
  /** `prepared`: the model the likelihood runs, on the window where there is one (M.json's sha256 all the same). */
  model: { name: string; path: string; sha256: string; prepared: PreparedForwardModel; built: BuiltForwardModel };
  /**
   * The window of the observation's grid the forward model runs on — a lens model with a mask: the observed pixels'
   * bounding box dilated by the PSF's reach (cropForwardModel), the same model inside the mask — or null (the whole
   * grid). The image-plane products are put back on the whole grid (onObservationGrid).
   */
  window: ImageWindow | null;
  /** The data the likelihood fits: the observation's pixels, or the window's. */
  data: { values: Float32Array | Float64Array; shape: Shape2 };
  /** The likelihood's noise (on the window where there is one). */
  noise: NoiseModel;
  /** σ as given, or the σ map's file name (SKYNOISE, the command line). */
  noiseText: string;
  /** The noise part of the command line where it is not `--noise TEXT`, and the model's details for report.json. */
  noiseCommand?: string;
  noiseModel?: Record<string, unknown>;
  /** The prior spec as given, and the prior. */
  priorSpec: string;
  prior: ResolvedPrior;
  cwd: string;
  flux: FluxChoice;
  affine: Affine;
  likelihood: ConvolvedLikelihood;
  settings: ResolvedSettings;
  backend: BackendInfo;
  /** The score engine the workers use (ONNX Runtime's CPU threads per worker filled in). */
  scoreEngine: ScoreEngineOptions;
  /** What evaluates the prior's network, for report.json and the progress line. */
  engine: ScoreEngineReport & { backend?: string; workers?: number };
  /** [ny, nx] of the unknown and of the data. */
  inShape: Shape2;
  outShape: Shape2;
  warnings: string[];
  host: 'cli' | 'app';
  /** Frees the tensors (likelihood, operator, and the prior where the service resolved it). */
  dispose(): void;
}

/**
 * Worker threads by default: one per core (at most n and 4) on the CPU backends when the run is long enough to
 * repay a worker's start-up (~2–4 s: its own backend, prior and model) — a learned prior always, an analytic one
 * from n·steps·pixels ≥ 10⁷ —, else 1; one on a GPU.
 */
export function defaultWorkers(backend: string, n: number, priorKind: string, steps: number, pixels: number): number {
  if (backend !== 'wasm' && backend !== 'cpu') return 1;
  if (priorKind !== 'unet' && n * steps * pixels < 1e7) return 1;
  return Math.max(1, Math.min(cpus().length, n, 4));
}

const isInt = (v: number, min: number, max: number) => Number.isSafeInteger(v) && v >= min && v <= max;

/** The settings, checked against the ranges the protocol and the command line accept (samplers/spec.ts). */
export function checkSettings(s: ReconstructSettings): Omit<ResolvedSettings, 'workers' | 'batch'> & { workers: number | null; batch: number } {
  const bad = (m: string) => new ReconstructInputError(m);
  if (!isSamplerName(s.sampler)) throw bad(`sampler must be one of ${SAMPLERS.join(', ')}, got '${String(s.sampler)}'`);
  if (!isInt(s.n, 1, Number.MAX_SAFE_INTEGER)) throw bad(`the number of samples must be a positive integer, got ${s.n}`);
  const minSteps = SAMPLER_INFO[s.sampler].minSteps;
  if (!isInt(s.steps, minSteps, MAX_STEPS)) throw bad(`${s.sampler}: steps must be an integer ${minSteps}..${MAX_STEPS}, got ${s.steps}`);
  if (!isInt(s.seed, 0, Number.MAX_SAFE_INTEGER)) throw bad(`the seed must be a non-negative integer, got ${s.seed}`);
  if (s.fluxScale !== null && !(s.fluxScale > 0 && Number.isFinite(s.fluxScale))) throw bad(`the flux scale must be positive, got ${s.fluxScale}`);
  if (s.workers != null && !isInt(s.workers, 1, MAX_WORKERS)) throw bad(`workers must be an integer 1..${MAX_WORKERS}, got ${s.workers}`);
  if (s.batch != null && !isInt(s.batch, 1, MAX_BATCH)) throw bad(`batch must be an integer 1..${MAX_BATCH}, got ${s.batch}`);
  const o = s.options ?? {};
  const options: SamplerOptions = {};
  for (const k of ['snr', 'stepSize', 'zeta'] as const) {
    const v = o[k];
    if (v === undefined) continue;
    if (!(v > 0 && v <= RUN_OPTION_RANGES[k].max)) throw bad(`${k} must be positive and at most ${RUN_OPTION_RANGES[k].max}, got ${v}`);
    options[k] = v;
  }
  if (o.correctorSteps !== undefined) {
    if (!isInt(o.correctorSteps, 0, MAX_CORRECTOR_STEPS)) throw bad(`correctorSteps must be an integer 0..${MAX_CORRECTOR_STEPS}, got ${o.correctorSteps}`);
    options.correctorSteps = o.correctorSteps;
  }
  if (o.denoise !== undefined) {
    if (!isDenoiseMode(o.denoise)) throw bad(`denoise must be one of ${DENOISE_MODES.join(', ')}, got '${String(o.denoise)}'`);
    options.denoise = o.denoise;
  }
  if (o.raoBlackwell !== undefined) options.raoBlackwell = o.raoBlackwell === true;
  if (o.symmetrise !== undefined) options.symmetrise = o.symmetrise === true;
  return { sampler: s.sampler, n: s.n, steps: s.steps, seed: s.seed, fluxScale: s.fluxScale, options, workers: s.workers ?? null, batch: s.batch ?? defaultBatch(s.n) };
}

/** The noise model and how it is named (σ as given, or the map's file name), checked against the data's shape. */
function noiseOf(noise: NoiseInput, dataShape: Shape2): { noise: NoiseModel; text: string } {
  if (noise.kind === 'sigma') return { noise: scalarNoise(noise.sigma), text: String(noise.sigma) };
  if (noise.kind === 'model') {
    sigmaArray(noise.built.noise, dataShape); // the model's shape against the data's (a NoiseInputError)
    return { noise: noise.built.noise, text: noise.built.text };
  }
  if (noise.shape[0] !== dataShape[0] || noise.shape[1] !== dataShape[1]) {
    throw new ReconstructInputError(`${noise.name}: the σ map is ${shapeText(noise.shape)} but the data are ${shapeText(dataShape)}`);
  }
  // a NoiseInputError (zero or negative σ) names the map and the first such pixel
  return { noise: noiseMap(noise.sigma, noise.shape, noise.name), text: path.basename(noise.name) };
}

/**
 * Checks every input and builds the problem. Size policy: a prior describes the unknown's size; a fully
 * convolutional U-Net also any other of at least its down-sampling factor (padded by reflection where that
 * factor does not divide it), with a note in the warnings — a smaller size is an input error (checkPriorShape).
 */
export async function prepareReconstruction(inputs: ReconstructionInputs): Promise<PreparedReconstruction> {
  const { observation: obs, model } = inputs;
  const cwd = inputs.cwd ?? process.cwd();
  const checked = checkSettings(inputs.settings);

  // the forward model: M.json and its files, read and validated (no tensors yet)
  const text = typeof model.json === 'string' ? model.json : new TextDecoder().decode(model.json);
  const spec = parseForwardModel(text, model.name);
  const prepared = await prepareForwardModel(spec, model.loader, { source: model.name, observation: { header: obs.header, name: obs.name } });
  inputs.checkForwardModel?.(prepared);
  const hash = createHash('sha256').update(model.json);
  for (const b of model.filesRead()) hash.update(b);
  const sha256 = hash.digest('hex');
  const xShape: Shape2 = [spec.shape[0], spec.shape[1]];
  const yShape = outputShape(spec);
  if (obs.shape[0] !== yShape[0] || obs.shape[1] !== yShape[1]) {
    throw new ReconstructInputError(
      `${obs.name}: the data are ${shapeText(obs.shape)} but the forward model ${model.name} produces ${shapeText(yShape)}: the operator's output shape must match the data`,
    );
  }
  if (obs.data.length !== yShape[0] * yShape[1]) throw new ReconstructInputError(`${obs.name}: ${obs.data.length} values for ${shapeText(yShape)}`);
  const { noise: fullNoise, text: noiseText } = noiseOf(inputs.noise, yShape);
  // a lens model with a mask on the mask's window (white or σ-map noise: a correlated model is the whole grid's)
  const crop = inputs.crop !== false && (fullNoise.kind === 'scalar' || fullNoise.kind === 'map') ? cropForwardModel(prepared) : null;
  const window = crop?.window ?? null;
  const fitted = crop ? crop.prepared : prepared;
  const data = window ? { values: cropImage(obs.data, window), shape: window.shape } : { values: obs.data, shape: obs.shape };
  const noise = window && fullNoise.kind === 'map' ? noiseMap(cropImage(fullNoise.sigma, window), window.shape, noiseText) : fullNoise;

  const backend = await inputs.backend();
  const owned = typeof inputs.prior === 'string';
  let prior: ResolvedPrior;
  if (typeof inputs.prior === 'string') {
    prior = await resolvePrior(inputs.prior, cwd, inputs.scoreEngine ?? {});
  } else {
    prior = inputs.prior;
  }
  const priorSpec = typeof inputs.prior === 'string' ? inputs.prior : inputs.prior.spec;
  let built: BuiltForwardModel | null = null;
  let likelihood: ConvolvedLikelihood | null = null;
  try {
    if (prior.kind === 'analytic') throw new ReconstructInputError(`the prior ${priorSpec} is a 2-D density, not an image prior (skyscore sample draws from it)`);
    const warnings = [...prepared.notes, ...prior.warnings];
    if (window) {
      const [wy, wx] = window.shape;
      warnings.push(
        `the forward model runs on the window of its mask: columns ${window.x0}-${window.x0 + wx - 1}, rows ${window.y0}-${window.y0 + wy - 1} (0-based; ${wx}×${wy} of ${obs.shape[1]}×${obs.shape[0]} pixels), the model there the whole grid's; the mask observes no pixel outside it (the pixel counts below are the window's; the residual is NaN outside it)`,
      );
    }
    const shapeNote = checkPriorShape(prior, xShape);
    if (shapeNote) warnings.push(shapeNote);
    // a PSF file sampled at another pixel scale than the grid it is applied on (its header against the observation's WCS)
    for (const w of forwardModelPsfWarnings(prepared, { header: obs.header, name: obs.name })) warnings.push(w);
    built = instantiateForwardModel(fitted);
    const additive = built.additive;
    const reference = checked.fluxScale === null && prior.peak !== null ? await fluxReferenceFor(built, data.values, noise, prior.background !== null, model.name) : undefined;
    const flux = chooseFluxScale(prior, obs.data, checked.fluxScale, 'flux scale set by the user', reference);
    const affine = affineFor(prior, flux);
    likelihood = new ConvolvedLikelihood({ operator: built.operator, data: data.values, dataShape: data.shape, additive, noise, affine, name: obs.name });
    for (const w of likelihood.warnings) if (!warnings.includes(w)) warnings.push(w);
    const lensStage = built.spec.operators.find((s) => s.type === 'lens');
    if (lensStage && lensStage.type === 'lens') {
      // signal where the rays miss the source grid: the grid too small (or the lens light's residual)
      const scale = lensStage.sourcePixelScale;
      const grid = `the source grid (${xShape[1]}×${xShape[0]} pixels of ${scale}″: ${(xShape[1] * scale).toPrecision(3)}″ × ${(xShape[0] * scale).toPrecision(3)}″)`;
      const off = await offGridSignal(built.operator, data.values, noise, additive, grid);
      if (off.warning) warnings.push(off.warning);
    }
    // ONNX Runtime on the CPU: one worker per core (at most n and 4), the cores shared out as intra-op threads
    const engineReport = scoreEngineReport(prior.model, backend.backend);
    const plan = onnxWorkerPlan(engineReport, checked.workers, checked.n, inputs.scoreEngine ?? {});
    const workers = checked.workers ?? plan?.workers ?? defaultWorkers(backend.backend, checked.n, prior.kind, checked.steps, xShape[0] * xShape[1]);
    const scoreEngine: ScoreEngineOptions = { ...inputs.scoreEngine, ...(plan ? { threads: plan.threads } : {}) };
    // the likelihood's dense products on ONNX Runtime's CPU kernels where the score runs there (this thread's; the
    // workers register their own, products.ts)
    const products = useOrtProducts(engineReport);
    const engine = { ...(plan && workers > 1 ? { ...engineReport, threads: plan.threads, workers } : engineReport), products };
    const b = built;
    const lik = likelihood;
    return {
      observation: obs,
      model: { name: model.name, path: model.path, sha256, prepared: fitted, built: b },
      window,
      data,
      noise,
      noiseText,
      ...(inputs.noise.kind === 'model' ? { noiseCommand: inputs.noise.command, noiseModel: inputs.noise.built.details } : {}),
      priorSpec,
      prior,
      cwd,
      flux,
      affine,
      likelihood: lik,
      settings: { ...checked, workers },
      backend,
      scoreEngine,
      engine,
      inShape: xShape,
      outShape: yShape,
      warnings,
      host: inputs.host ?? 'cli',
      dispose: () => {
        lik.dispose();
        b.operator.dispose();
        if (owned) prior.dispose();
      },
    };
  } catch (e) {
    likelihood?.dispose();
    built?.operator.dispose();
    if (owned) prior.dispose();
    throw e;
  }
}

/**
 * An image of the data's grid as the likelihood has it (a residual), on the observation's whole grid: `fill`
 * outside the window (NaN, as a masked pixel, in the products); the image itself without a window.
 */
export function onObservationGrid(prep: Pick<PreparedReconstruction, 'window' | 'outShape'>, image: Float32Array, fill = Number.NaN): Float32Array {
  const w = prep.window;
  if (!w || image.length === prep.outShape[0] * prep.outShape[1]) return image;
  return uncropImage(image, w, fill);
}

/**
 * What the automatic flux scale reads (priors.ts, one rule): the model's `fluxReference` where it has one (the
 * unknown's own figures: a lens fit's source inversion); else, for a model with a lens stage, the back-projection
 * of the data onto the source grid (source-reference.ts: the prior acts there, and the ring's statistics are not
 * the source's); else the data, less the model's additive image.
 */
async function fluxReferenceFor(built: BuiltForwardModel, data: ArrayLike<number>, noise: NoiseModel, withSky: boolean, modelName: string): Promise<FluxReferenceValues> {
  const spec = built.spec;
  if (spec.fluxReference) {
    const r = spec.fluxReference;
    return { of: 'model fluxReference', flux: r.flux, background: withSky ? r.background : null, what: `the unknown (${modelName}'s fluxReference)` };
  }
  if (spec.operators.some((s) => s.type === 'lens')) {
    const bp = await backProjection(built.operator, data, noise, built.additive);
    return { of: 'back-projection', flux: bp.flux, background: withSky ? bp.background : null, what: `the data back-projected onto the source grid (${bp.reached} pixels reached${bp.sharpen ? `, sharpened by ${bp.sharpen} van Cittert iterations` : ''})` };
  }
  const add = built.additive;
  return dataFluxReference(add ? Float64Array.from(data, (v, k) => v - add[k]!) : data, withSky, add ? 'the data less the additive image' : 'the data');
}

/** A forward model given as an object with no files (eval, bench): M.json as the editor would save it. */
export function inlineModel(spec: unknown, name = 'M.json'): ModelInput {
  return {
    json: JSON.stringify(spec, null, 2) + '\n',
    name,
    path: name,
    loader: {
      loadImage: (rel) => Promise.reject(new Error(`no file '${rel}' (an inline model names no files)`)),
      loadText: (rel) => Promise.reject(new Error(`no file '${rel}' (an inline model names no files)`)),
    },
    filesRead: () => [],
  };
}
