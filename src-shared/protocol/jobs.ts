/**
 * The protocol of the forward-model editor, the run panel, export and training: request types and their
 * validators, and the job events. Composed into `Methods` / `methodParams` / `EngineEvent` in ./index.ts.
 *
 * Files travel inline (the renderer keeps the user's bytes, so an engine restart loses nothing): the M.json
 * names its auxiliary files (psf.fits, mask.fits, a σ map, a station table) and `files` carries them by name.
 * Pixels of previews travel as Float32Arrays (raw bytes on WebSocket, structured clone on Electron IPC).
 */
import type { SamplingStatus } from '../diffusion/posterior.js';
import { ProtocolError, obj, num, str, bool, optional, nullable, arrayOf, bytes, float32, json, literal, type Validator } from './validate.js';
import { LIMITS } from './limits.js';
import type { CleanJobProgress, UvPosteriorProgress } from './radio.js';
import type { LensFitJobProgress } from './lensing.js';
import { validateNoiseSpec, type NoiseSpec } from '../operators/forward-model-spec.js';
import { DENOISE_MODES, MAX_BATCH, MAX_CORRECTOR_STEPS, MAX_STEPS, MAX_WORKERS, RUN_OPTION_RANGES, SAMPLERS, SAMPLER_INFO, type RunOptions, type SamplerName } from '../diffusion/samplers/spec.js';

export type Shape2 = [number, number];

/** An auxiliary file of the forward model, by the name the M.json uses (no folders). */
export interface NamedFile {
  name: string;
  bytes: Uint8Array;
}

/**
 * The observation: a FITS file, the HDU and the plane (for cubes) that holds the data. The file travels either
 * inline (`bytes`) or, uploaded once in chunks with `blob.put`, by its SHA-256 (`blob`): a large file is then not
 * copied again with every request (an engine restart forgets blobs: the request fails with "unknown blob" and
 * the renderer uploads it again).
 */
export interface ObsInput {
  name: string;
  bytes?: Uint8Array;
  blob?: string;
  hdu: number;
  plane: number;
}

/**
 * The noise: σ (one number: the CLI's `--noise SIGMA`), a FITS σ map (a file of `files`, by name: `--noise
 * MAP.fits`), or a noise model with the fields of M.json's noise block (`--noise-model` and its flags:
 * correlated noise measured from a box of the observation or a noise-only image among `files`, Poisson–Gaussian
 * counts). The engine builds it as `skyscore reconstruct` does (src-main/reconstruct/noise.ts).
 */
export type NoiseInput = { kind: 'sigma'; sigma: number } | { kind: 'map'; file: string; hdu: number } | { kind: 'model'; spec: NoiseSpec };

/** What the editor shows of a noise model before a run: the model the run would use, built the same way. */
export interface NoiseEstimate {
  model: NoiseSpec['model'];
  /** One line: the model and where it comes from. */
  text: string;
  /** σ per pixel (data units): one value, or the range of a map. */
  sigma: { min: number; median: number; max: number };
  /** Correlated noise: the radial profile of its power spectrum (data units², |k| in cycles per pixel) beside white noise of the same σ. */
  spectrum?: { k: number[]; power: number[]; white: number };
  /** Correlated noise: neighbour correlation coefficients, the variance of a large aperture's mean relative to white noise of the same σ (ρ at k = 0), and √ of it (px). */
  lag1?: { x: number; y: number };
  whiteRatio?: number;
  correlationLength?: number;
  /** Poisson–Gaussian: the gain used (e⁻/ADU) and where it comes from. */
  gain?: number;
  gainSource?: string;
  /** The notes the command line prints for this model. */
  notes: string[];
}

export interface NoiseDescribeResult {
  /** The gain the observation's header gives (GAIN, CCDGAIN, ATODGAIN; 1 for data in electrons), as the command line reads it. */
  headerGain: { gain: number; source: string } | null;
  /** The model asked about, built (null when none was asked about). */
  estimate: NoiseEstimate | null;
}

export interface OperatorSummary {
  type: string;
  inShape: Shape2;
  outShape: Shape2;
  /** One line for the user, e.g. "Gaussian PSF, FWHM 2.5 px, kernel 11×11". */
  detail: string;
}

export interface ModelSummary {
  inShape: Shape2;
  outShape: Shape2;
  operators: OperatorSummary[];
  /** How the likelihood will treat A Aᵀ (exact diagonal, approximation, conjugate gradients). */
  gram: string;
  warnings: string[];
}

/** What the editor draws for one operator of the chain. Curves are polylines with x, y interleaved (arcsec). */
export type OverlayResult =
  | {
      kind: 'lens';
      imageShape: Shape2;
      imagePixelScale: number;
      sourceShape: Shape2;
      sourcePixelScale: number;
      critical: Float32Array[];
      caustics: Float32Array[];
    }
  | {
      kind: 'uv';
      /** u, v in wavelengths, both (u, v) and (−u, −v). */
      u: Float32Array;
      v: Float32Array;
      beam: Float32Array;
      shape: Shape2;
      /** The longest baseline in wavelengths and the synthesised beam's FWHM in pixels (estimate). */
      maxBaseline: number;
    }
  | { kind: 'psf'; kernel: Float32Array; shape: Shape2; sum: number }
  | { kind: 'mask'; mask: Float32Array; shape: Shape2; observed: number };

export interface PriorInfo {
  /** The prior's id, which a request names it by: `shipped/NAME` or `user/NAME` (the engine maps it to its folder). */
  spec: string;
  name: string;
  kind: string;
  source: 'shipped' | 'user';
  /** [ny, nx] of the images the prior describes. */
  imageShape: Shape2;
  sigmaMin: number | null;
  sigmaMax: number | null;
  /** The model card (README.md), markdown; empty when the folder has none. */
  card: string;
  /** A few facts from model.json for the picker (steps, validation loss, date, data). */
  facts: Record<string, string>;
  /**
   * A learned noise prior (`skyscore train --kind noise`; the Noise step's 'learned' model, not an image prior): what
   * it was trained on and the noise's statistics (data units).
   */
  noise?: { sigma: number; madSigma: number; excessKurtosis: number; lag1: { x: number; y: number }; source: string; patch: number; patches: number; steps: number };
}

export interface SamplerSettings {
  sampler: SamplerName;
  n: number;
  steps: number;
  seed: number;
  /** Flux scale (data units per prior unit); null: automatic. */
  fluxScale: number | null;
  /** The sampler's options (the CLI's --snr, --step-size, --zeta, --denoise, --no-rao-blackwell, --symmetrise); absent: defaults. */
  options?: RunOptions;
  /** Worker threads sharing the chains (the CLI's --workers); absent or null: automatic. */
  workers?: number | null;
  /** Chains evaluated together per worker (the CLI's --batch); absent or null: min(n, 16). */
  batch?: number | null;
}

export interface ReconstructParams {
  obs: ObsInput;
  model: unknown;
  files: NamedFile[];
  noise: NoiseInput;
  /** A prior's id in priors.list (`shipped/NAME`, `user/NAME`), or `gaussian-field:NAME` of a power spectrum among `files`; never a path. */
  prior: string;
  settings: SamplerSettings;
  /** Previews per second (throttle); 0 disables previews. */
  previewHz: number;
}

export interface TrainParams {
  /** One FITS cube (NAXIS3 images) or several FITS images. */
  data: NamedFile[];
  /** The new prior's folder name. */
  name: string;
  size: number;
  steps: number;
  batch: number;
  /** Divide the data by this (e.g. 255 for 8-bit display values); null: automatic. */
  scale: number | null;
  /** The U-Net's base width (channels at full resolution). */
  nf: number;
  resume: boolean;
}

export interface ReconstructStarted {
  jobId: string;
  /** The job's place in the engine's queue: 0 when it starts at once, else how many jobs run or wait before it. */
  queued: number;
  inShape: Shape2;
  outShape: Shape2;
  n: number;
  steps: number;
  warnings: string[];
}

export interface Products {
  files: NamedFile[];
  report: Record<string, unknown>;
}

export interface ReconstructPreview {
  /** Shape of the unknown (samples, mean, std) and of the data (residual). */
  shape: Shape2;
  dataShape: Shape2;
  /** The first `nSamples` current samples, one after another. */
  samples: Float32Array;
  nSamples: number;
  mean: Float32Array;
  std: Float32Array;
  /** (y − A·mean)/σ on the data grid (0 where masked). */
  residual: Float32Array;
}

/** A reconstruction job's progress: the sampler's status (step, σ, χ², times) and an optional preview. */
export interface ReconstructProgress extends SamplingStatus {
  jobId: string;
  kind: 'reconstruct';
  preview?: ReconstructPreview;
}

export interface TrainProgress {
  jobId: string;
  kind: 'train';
  step: number;
  steps: number;
  loss: number;
  valLoss: number | null;
  imagesPerS: number;
  elapsedS: number;
  etaS: number | null;
}

export type JobKind = 'reconstruct' | 'train' | 'clean' | 'posterior' | 'lensFit';

export type JobEvent =
  | { event: 'job.progress'; data: ReconstructProgress | TrainProgress | CleanJobProgress | UvPosteriorProgress | LensFitJobProgress }
  /** A job's place in the queue changed: how many jobs run or wait before it; 0 when it starts. */
  | { event: 'job.queued'; data: { jobId: string; kind: JobKind; position: number } }
  | { event: 'job.done'; data: { jobId: string; kind: JobKind; summary: Record<string, number | string> } }
  | { event: 'job.error'; data: { jobId: string; kind: JobKind; message: string; code: 'input' | 'internal' | 'cancelled' } };

export interface JobMethods {
  'blob.put': { params: { key: string; offset: number; total: number; bytes: Uint8Array }; result: { key: string; complete: boolean } };
  'model.validate': { params: { model: unknown; files: NamedFile[]; obsShape?: Shape2 }; result: ModelSummary };
  'model.preview': { params: { model: unknown; files: NamedFile[]; x: Float32Array; shape: Shape2 }; result: { data: Float32Array; shape: Shape2 } };
  'model.overlays': { params: { model: unknown; files: NamedFile[]; operator: number }; result: OverlayResult };
  'noise.estimate': { params: { obs: ObsInput; region?: { x0: number; y0: number; x1: number; y1: number } }; result: { sigma: number; median: number; n: number } };
  /** The noise model the run would use for `spec`, built from the observation (and `files`) as the run builds it; without `spec`, the header's gain only. */
  'noise.describe': { params: { obs: ObsInput; files: NamedFile[]; spec?: NoiseSpec }; result: NoiseDescribeResult };
  'priors.list': { params: Record<string, never>; result: { priors: PriorInfo[]; userDir: string } };
  'job.reconstruct': { params: ReconstructParams; result: ReconstructStarted };
  /** keep: a running reconstruction (job.reconstruct, job.reconstructVis) stops and keeps what it has (its chains' latest states) as its products. */
  'job.cancel': { params: { jobId: string; keep?: boolean }; result: { cancelled: boolean } };
  'job.products': { params: { jobId: string }; result: Products };
  'job.train': { params: TrainParams; result: { jobId: string; out: string; queued: number } };
}

// ---- validators -------------------------------------------------------------------------------------------

const MAX_SIDE = LIMITS.imageSide;
export const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._ +-]{0,200}$/;
/** A prior's id in priors.list. */
export const PRIOR_ID = /^(shipped|user)\/[A-Za-z0-9][A-Za-z0-9._ +-]{0,100}$/;
export const JOB_ID = /^[a-z]+-[0-9a-z]{1,32}$/;

export const shape2: Validator<Shape2> = (v, p) => {
  const a = arrayOf(num({ integer: true, min: 1, max: MAX_SIDE }), { min: 2, max: 2 })(v, p);
  return [a[0]!, a[1]!];
};

const namedFile: Validator<NamedFile> = obj({ name: str({ max: 200, pattern: FILE_NAME }), bytes });
export const files = arrayOf(namedFile, { max: 64 });
const SHA256 = /^[0-9a-f]{64}$/;
export const obsInput: Validator<ObsInput> = (v, p) => {
  const o = obj({
    name: str({ max: 255 }),
    bytes: optional(bytes),
    blob: optional(str({ pattern: SHA256 })),
    hdu: num({ integer: true, min: 0, max: 9999 }),
    plane: num({ integer: true, min: 0, max: 1e7 }),
  })(v, p);
  if ((o.bytes === undefined) === (o.blob === undefined)) throw new ProtocolError(`${p}: give the file as bytes or as a blob key, one of them`);
  return o;
};

/** Largest chunk of a blob upload, and largest blob. */
export const BLOB_CHUNK = 1 << 20;
export const MAX_BLOB = 2 ** 31;

/** A noise model by the rules of M.json's noise block; the files it names are files of the request (no folders). */
export const noiseSpec: Validator<NoiseSpec> = (v, p) => {
  let spec: NoiseSpec;
  try {
    spec = validateNoiseSpec(v, p);
  } catch (e) {
    throw new ProtocolError((e as Error).message);
  }
  for (const k of ['sigmaFits', 'image'] as const) {
    const f = spec[k];
    if (f !== undefined && !FILE_NAME.test(f)) throw new ProtocolError(`${p}.${k}: a file of the request by its name (letters, digits, '._ +-', no folders), got ${JSON.stringify(f.slice(0, 80))}`);
  }
  if (spec.prior !== undefined && !PRIOR_ID.test(spec.prior)) {
    throw new ProtocolError(`${p}.prior: a noise prior by its id in the list of priors (shipped/NAME or user/NAME), got ${JSON.stringify(spec.prior.slice(0, 80))}`);
  }
  const r = spec.region;
  if (r && !(r[2] <= MAX_SIDE && r[3] <= MAX_SIDE)) throw new ProtocolError(`${p}.region: x1 and y1 must be at most ${MAX_SIDE} pixels, got ${r.join(', ')}`);
  return spec;
};

export const noiseInput: Validator<NoiseInput> = (v, p) => {
  const kind = (v as { kind?: unknown } | null)?.kind;
  if (kind === 'sigma') return obj({ kind: literal('sigma'), sigma: num({ min: Number.MIN_VALUE }) })(v, p);
  if (kind === 'map') return obj({ kind: literal('map'), file: str({ max: 200, pattern: FILE_NAME }), hdu: num({ integer: true, min: 0, max: 9999 }) })(v, p);
  if (kind === 'model') return obj({ kind: literal('model'), spec: noiseSpec })(v, p);
  throw new ProtocolError(`${p}.kind: expected 'sigma', 'map' or 'model'`);
};

const positiveUpTo = (max: number) => optional(num({ min: Number.MIN_VALUE, max }));
/** The sampler's options (the CLI's --snr, --correctors, --step-size, --zeta, --denoise, --no-rao-blackwell, --symmetrise). */
export const runOptions: Validator<RunOptions> = obj({
  snr: positiveUpTo(RUN_OPTION_RANGES.snr.max),
  correctorSteps: optional(num({ integer: true, min: 0, max: MAX_CORRECTOR_STEPS })),
  stepSize: positiveUpTo(RUN_OPTION_RANGES.stepSize.max),
  zeta: positiveUpTo(RUN_OPTION_RANGES.zeta.max),
  denoise: optional(literal(...DENOISE_MODES)),
  raoBlackwell: optional(bool),
  symmetrise: optional(bool),
});
/** Worker threads sharing the chains (absent or null: automatic). */
export const workersSetting = optional(nullable(num({ integer: true, min: 1, max: MAX_WORKERS })));

/** Sampler settings of a run (also the bundled example's, protocol/example.ts). */
export const samplerSettings: Validator<SamplerSettings> = (v, p) => {
  const s = obj({
    sampler: literal(...SAMPLERS),
    n: num({ integer: true, min: 1, max: 1024 }),
    steps: num({ integer: true, min: 1, max: MAX_STEPS }),
    seed: num({ integer: true, min: 0, max: 2 ** 32 - 1 }),
    fluxScale: nullable(num({ min: Number.MIN_VALUE })),
    options: optional(runOptions),
    workers: workersSetting,
    batch: optional(nullable(num({ integer: true, min: 1, max: MAX_BATCH }))),
  })(v, p);
  if (s.steps < SAMPLER_INFO[s.sampler].minSteps) throw new ProtocolError(`${p}.steps: ${s.sampler} takes at least ${SAMPLER_INFO[s.sampler].minSteps} steps`);
  return { ...s, fluxScale: s.fluxScale ?? null };
};

const jobId = obj({ jobId: str({ max: 40, pattern: JOB_ID }) });

export const jobMethodParams: { [M in keyof JobMethods]: Validator<JobMethods[M]['params']> } = {
  'blob.put': (v, p) => {
    const b = obj({ key: str({ pattern: SHA256 }), offset: num({ integer: true, min: 0, max: MAX_BLOB }), total: num({ integer: true, min: 1, max: MAX_BLOB }), bytes })(v, p);
    if (b.bytes.byteLength > BLOB_CHUNK) throw new ProtocolError(`${p}.bytes: a chunk is at most ${BLOB_CHUNK} bytes`);
    if (b.offset + b.bytes.byteLength > b.total) throw new ProtocolError(`${p}: the chunk ends beyond the blob's total size`);
    return b;
  },
  'model.validate': obj({ model: json, files, obsShape: optional(shape2) }),
  'model.preview': obj({ model: json, files, x: float32, shape: shape2 }),
  'model.overlays': obj({ model: json, files, operator: num({ integer: true, min: 0, max: 63 }) }),
  'noise.estimate': obj({
    obs: obsInput,
    region: optional(obj({ x0: num({ integer: true, min: 0 }), y0: num({ integer: true, min: 0 }), x1: num({ integer: true, min: 0 }), y1: num({ integer: true, min: 0 }) })),
  }),
  'noise.describe': obj({ obs: obsInput, files, spec: optional(noiseSpec) }),
  'priors.list': obj({}) as Validator<Record<string, never>>,
  'job.reconstruct': obj({
    obs: obsInput,
    model: json,
    files,
    noise: noiseInput,
    prior: str({ max: 1000 }),
    settings: samplerSettings,
    previewHz: num({ min: 0, max: 30 }),
  }),
  'job.cancel': obj({ jobId: str({ max: 40, pattern: JOB_ID }), keep: optional(bool) }),
  'job.products': jobId,
  'job.train': (v, p) => {
    const t = obj({
      data: arrayOf(namedFile, { min: 1, max: 10000 }),
      name: str({ max: 64, pattern: /^[A-Za-z0-9][A-Za-z0-9_-]*$/ }),
      size: num({ integer: true, min: 8, max: 1024 }),
      steps: num({ integer: true, min: 1, max: 10_000_000 }),
      batch: num({ integer: true, min: 1, max: 1024 }),
      scale: (x, q) => (x === null ? null : num({ min: Number.MIN_VALUE })(x, q)),
      nf: num({ integer: true, min: 4, max: 128 }),
      resume: bool,
    })(v, p);
    return { ...t, scale: t.scale ?? null };
  },
};
