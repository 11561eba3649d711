/**
 * The protocol of visibilities (UVFITS) in the app: open a file in the engine (its summary, uv coverage and
 * amplitudes for plotting, the default image geometry), make the dirty image and beam, CLEAN as a job, and fetch
 * the products as the FITS files `skyscore clean` writes. Composed into `Methods` / `methodParams` in ./index.ts.
 */
import { obj, num, str, bytes, bool, optional, literal, type Validator } from './validate.js';
import { LIMITS } from './limits.js';
import type { UvSummary } from '../radio/uvfits.js';
import type { ThermalCheck } from '../radio/weighting.js';
import type { SamplingStatus } from '../diffusion/posterior.js';
import type { ClosureStartSummary, SelfcalFirstModel, SelfcalMode, SelfcalRound, SelfcalStart } from '../radio/selfcal.js';
import { runOptions, workersSetting, type NamedFile } from './jobs.js';
import { SAMPLERS, MAX_STEPS, type RunOptions, type SamplerName } from '../diffusion/samplers/spec.js';

/** Visibilities drawn in the plots: all of them, or an evenly spaced deterministic subset of a large file. */
export interface UvPlotData {
  /** Visibilities used (after flags). */
  total: number;
  /** Points sent: min(total, LIMITS.uvPlotPoints); visibility k·total/shown (rounded down) for k = 0…shown−1. */
  shown: number;
  /** u, v in wavelengths of the points (the renderer draws (u, v) and (−u, −v)). */
  u: Float32Array;
  v: Float32Array;
  /** |V| (the product's units, Jy) and √(u² + v²) (wavelengths) of the same points. */
  amp: Float32Array;
  uvdist: Float32Array;
}

/** A source of a multi-source file (the SOURCE random parameter, named by the AIPS SU table). */
export interface UvSourceEntry {
  /** The SOURCE parameter's value (the SU table's ID. NO.). */
  id: number;
  /** The SU table's name, else 'source ID'. */
  name: string;
  /** Its position (degrees) where the SU table gives it. */
  ra?: number;
  dec?: number;
  /** Groups of this source in the file. */
  groups: number;
  /** Usable visibilities of the product (flags and autocorrelations left out); null where not counted. */
  visibilities: number | null;
}

/**
 * The sources of a visibility file (`uv.sources`), to choose one before `uv.open` (`skyscore` refuses a file of
 * several sources without --source, naming them). Nothing is kept in the engine.
 */
export interface UvSourceChoice {
  name: string;
  bytes: number;
  telescope: string;
  dateObs: string;
  /** Groups in the file, all sources together. */
  groups: number;
  /** The product the visibility counts are of ('I', 'RR', …). */
  product: string;
  /** The file's sources where it holds several (the SOURCE parameter), else null: open it as it is. */
  sources: UvSourceEntry[] | null;
}

export interface UvOpenResult {
  fileId: string;
  name: string;
  bytes: number;
  /** What `skyscore info --json` gives under `uvfits` (with --source in a multi-source file). */
  summary: UvSummary;
  /** The file's sources where it holds several (the SOURCE parameter), else null. */
  sources: UvSourceEntry[] | null;
  /** The source opened from a multi-source file (`--source` of the command line), else null. */
  source: { id: number; name: string } | null;
  thermal: ThermalCheck | null;
  /** The default image geometry (`skyscore clean` without --size/--cell); null when no visibility is usable. */
  defaults: { size: number; cellArcsec: number; notes: string[] } | null;
  plot: UvPlotData;
}

export type WeightingName = 'natural' | 'uniform' | 'briggs';
export type CleanMethodName = 'hogbom' | 'cotton-schwab';

/** The imaging settings (the flags of `skyscore clean`). */
export interface UvImagingParams {
  fileId: string;
  /** Image side (pixels); absent: the default. */
  size?: number;
  /** Cell (arcsec); absent: 1/(6·u_max). */
  cellArcsec?: number;
  weighting: WeightingName;
  /** Briggs robustness −2…2 (weighting 'briggs' only). */
  robust?: number;
}

/**
 * Self-calibration before imaging (the command line's --selfcal MODE --selfcal-rounds R --solint S --selfcal-start
 * START, src-shared/radio/selfcal.ts): rounds 1…50, solint ≥ 0 seconds (0: each time stamp).
 */
export interface UvSelfcalSettings {
  mode: SelfcalMode;
  rounds: number;
  solint: number;
  start: SelfcalStart;
}

/** One round of the self-calibration loop, as report.json and NAME-gains.json give it, with describeRound's line. */
export interface UvSelfcalRound extends SelfcalRound {
  /** describeRound's line (the command line prints it). */
  text: string;
}

/** What a self-calibrated run did: its flags, the first model, the figures before and of each round, the last gains. */
export interface UvSelfcalReport {
  /** selfcalFlags: `--selfcal p --selfcal-rounds 3 --solint 0 --selfcal-start auto`. */
  flags: string;
  /** The first round's model ('auto' resolved). */
  start: SelfcalFirstModel;
  /** The closure image's figures where it was the first model. */
  closure?: ClosureStartSummary;
  /** The CLEAN of the data before any gains. */
  before: { modelFlux: number; residualRms: number; residualOverNoise: number; chi2: number; thermalRobustRatio: number | null };
  rounds: UvSelfcalRound[];
  /** The last round's gains: phase rms (degrees) about the reference, antenna solutions and those flagged. */
  phaseRmsDeg: number;
  solutions: number;
  failed: number;
  /** Visibilities kept (those of antennas without a solution are left out) of those before. */
  kept: number;
  of: number;
}

export interface UvCleanParams extends UvImagingParams {
  niter: number;
  gain: number;
  /** Jy/beam. */
  threshold: number;
  method: CleanMethodName;
  /** Self-calibrate first with these CLEAN settings (`skyscore clean --selfcal …`); absent: none. */
  selfcal?: UvSelfcalSettings;
}

export interface UvImageResult {
  /** NAME-dirty.fits and NAME-psf.fits, as `skyscore clean --niter 0` writes them (NAME: the file's stem). */
  files: NamedFile[];
  size: number;
  cellArcsec: number;
  /** The restoring beam: FWHM (degrees), position angle (degrees E of N). */
  beam: { bmaj: number; bmin: number; bpa: number };
  /** The image noise the data weights predict (Jy/beam). */
  noise: number;
  measurement: string;
  notes: string[];
}

export interface CleanJobStarted {
  jobId: string;
  queued: number;
  size: number;
  cellArcsec: number;
}

/** A CLEAN job's progress: after every chunk of minor iterations and every major cycle. */
export interface CleanJobProgress {
  jobId: string;
  kind: 'clean';
  iterations: number;
  niter: number;
  majorCycles: number;
  /** The residual's peak |value| (Jy/beam). */
  peak: number;
  elapsedS: number;
  /** 'selfcal' while the self-calibration loop runs (before the CLEAN of the corrected data). */
  stage?: 'selfcal';
}

export interface CleanProductsResult {
  /**
   * NAME-dirty.fits, NAME-psf.fits, NAME-model.fits, NAME-residual.fits, NAME-image.fits, as `skyscore clean` writes
   * them; self-calibrated, also NAME-gains.json (its `command` the command line that gives the same products).
   */
  files: NamedFile[];
  /** Self-calibrated: the loop's figures, and |V| of the corrected data at the plotted points (NaN: left out). */
  selfcal?: UvSelfcalReport & { dataAmp: Float32Array };
  /** |A·model| at the plotted visibilities (UvPlotData's points, same order). */
  modelAmp: Float32Array;
  iterations: number;
  majorCycles: number;
  stoppedBy: string;
  modelFlux: number;
  peak: number;
  residualRms: number;
  noise: number;
}

/**
 * The posterior from the visibilities (`skyscore reconstruct --vis`): the open file's product on its image grid,
 * a prior of the engine's list, and the sampler settings. The likelihood weighs each visibility by its own
 * weight (natural weighting): the imaging weighting does not apply.
 */
export interface UvPosteriorParams {
  fileId: string;
  /** Image side (pixels); absent: the default. */
  size?: number;
  /** Cell (arcsec); absent: 1/(6·u_max). */
  cellArcsec?: number;
  /** A prior by its id in priors.list. */
  prior: string;
  /** Sampler (default pc), samples, steps, seed. */
  sampler?: SamplerName;
  n: number;
  steps: number;
  seed: number;
  /** The sampler's options (the command line's --snr, --denoise, …); absent: defaults. */
  options?: RunOptions;
  /** Worker threads sharing the chains (--workers); absent or null: automatic. The samples do not depend on it. */
  workers?: number | null;
  /** Rescale the weights to the data's scatter (--reweight: the thermal check's rms ratio r, w → w/r²). */
  reweight?: boolean;
  /** Self-calibrate first (`skyscore reconstruct --vis … --selfcal …`); absent: none. */
  selfcal?: UvSelfcalSettings;
  /**
   * The total flux at zero spacing (`--total-flux JY[:SIGMA]|none`): the flux (Jy) and its σ (default 5 % of it), or
   * 'none'; absent: automatic, the survey CLEAN's flux where it detects emission (the products' notes give it).
   */
  totalFlux?: { flux: number; sigma?: number } | 'none';
  /** Previews per second (0: none). */
  previewHz: number;
}

export interface UvPosteriorStarted {
  jobId: string;
  queued: number;
  size: number;
  cellArcsec: number;
  /**
   * The command line that gives the same products (`skyscore reconstruct --vis …`, the file by its base name),
   * with --workers when the request gave it (the finished run's products give the worker count it used).
   */
  command: string;
}

/** A posterior job's progress: the sampler's step and σ, the χ² per visibility degree of freedom of the running mean. */
export interface UvPosteriorProgress extends SamplingStatus {
  jobId: string;
  kind: 'posterior';
  /** χ² per real degree of freedom (two per visibility) of the current mean; null before it is known. */
  chi2: number | null;
  /** The running mean and standard deviation and the first samples (Jy/pixel), [ny, nx] each. */
  preview?: { shape: [number, number]; mean: Float32Array; std: Float32Array; samples: Float32Array; nSamples: number };
}

export interface UvPosteriorProductsResult {
  /** posterior-mean.fits, posterior-std.fits, posterior-samples.fits, residual.fits, report.json, as `skyscore reconstruct --vis` writes them. */
  files: NamedFile[];
  /** |A·mean| at the plotted visibilities (UvPlotData's points, same order). */
  modelAmp: Float32Array;
  /** χ² per visibility degree of freedom of the posterior mean. */
  chi2: number;
  warnings: string[];
  notes: string[];
  /** The command line that gives the same products, with the worker count the run used. */
  command: string;
  /** Where a run stopped and kept stood, and how many chains it kept; absent for a finished run. */
  stopped?: { step: number; steps: number; sigma: number; chains: number; of: number };
  /** Self-calibrated: the loop's figures (report.json's selfcal). */
  selfcal?: UvSelfcalReport;
}

export interface RadioMethods {
  /**
   * Opens a file: `source` chooses one of a multi-source file (its SU table name or SOURCE number, the command
   * line's --source); without it such a file is refused, naming its sources.
   */
  'uv.open': { params: { name: string; bytes: Uint8Array; stokes?: string; source?: string }; result: UvOpenResult };
  /** The sources of a file (null for a file of one), with each one's usable visibilities of the product: uv.open's choice. */
  'uv.sources': { params: { name: string; bytes: Uint8Array; stokes?: string }; result: UvSourceChoice };
  /** The dirty image and beam; a newer uv.image of the same file, uv.cancelImage or uv.close stops it (error code 'cancelled'). */
  'uv.image': { params: UvImagingParams; result: UvImageResult };
  /** Stops the file's running uv.image, if any. */
  'uv.cancelImage': { params: { fileId: string }; result: { cancelled: boolean } };
  /** Closes the file (stopping its running uv.image). */
  'uv.close': { params: { fileId: string }; result: { closed: boolean } };
  'job.clean': { params: UvCleanParams; result: CleanJobStarted };
  'uv.products': { params: { jobId: string }; result: CleanProductsResult };
  'job.reconstructVis': { params: UvPosteriorParams; result: UvPosteriorStarted };
  'uv.posteriorProducts': { params: { jobId: string }; result: UvPosteriorProductsResult };
}

const uvFileId = str({ max: 64, pattern: /^[A-Za-z0-9_-]+$/ });

/** The command line's ranges: --selfcal p|ap, --selfcal-rounds 1…50, --solint ≥ 0, --selfcal-start auto|point|clean|closure. */
const selfcalShape = obj({
  mode: literal('p', 'ap'),
  rounds: num({ integer: true, min: 1, max: 50 }),
  solint: num({ min: 0 }),
  start: literal('auto', 'point', 'clean', 'closure'),
});

/** --total-flux JY[:SIGMA]|none: any finite flux, σ positive. */
const totalFluxShape: Validator<{ flux: number; sigma?: number } | 'none'> = (v, p) =>
  v === 'none' ? 'none' : obj({ flux: num(), sigma: optional(num({ min: Number.MIN_VALUE })) })(v, p);

const imagingShape = {
  fileId: uvFileId,
  size: optional(num({ integer: true, min: 8, max: LIMITS.imageSide })),
  cellArcsec: optional(num({ min: Number.MIN_VALUE, max: 3600 * 180 })),
  weighting: literal('natural', 'uniform', 'briggs'),
  robust: optional(num({ min: -2, max: 2 })),
};

export const radioMethodParams: { [M in keyof RadioMethods]: Validator<RadioMethods[M]['params']> } = {
  'uv.open': obj({ name: str({ max: 512 }), bytes, stokes: optional(str({ max: 4, pattern: /^[A-Za-z]{1,2}$/ })), source: optional(str({ max: 64 })) }),
  'uv.sources': obj({ name: str({ max: 512 }), bytes, stokes: optional(str({ max: 4, pattern: /^[A-Za-z]{1,2}$/ })) }),
  'uv.image': obj(imagingShape),
  'uv.cancelImage': obj({ fileId: uvFileId }),
  'uv.close': obj({ fileId: uvFileId }),
  'job.clean': obj({
    ...imagingShape,
    niter: num({ integer: true, min: 1, max: LIMITS.cleanIterations }),
    gain: num({ min: Number.MIN_VALUE, max: 1 }),
    threshold: num({ min: 0 }),
    method: literal('hogbom', 'cotton-schwab'),
    selfcal: optional(selfcalShape),
  }),
  'uv.products': obj({ jobId: str({ max: 40, pattern: /^[a-z]+-[0-9a-z]{1,32}$/ }) }),
  'job.reconstructVis': obj({
    fileId: uvFileId,
    size: optional(num({ integer: true, min: 8, max: LIMITS.imageSide })),
    cellArcsec: optional(num({ min: Number.MIN_VALUE, max: 3600 * 180 })),
    prior: str({ max: 256 }),
    sampler: optional(literal(...SAMPLERS)),
    n: num({ integer: true, min: 1, max: 1024 }),
    steps: num({ integer: true, min: 1, max: MAX_STEPS }),
    seed: num({ integer: true, min: 0, max: Number.MAX_SAFE_INTEGER }),
    options: optional(runOptions),
    workers: workersSetting,
    reweight: optional(bool),
    selfcal: optional(selfcalShape),
    totalFlux: optional(totalFluxShape),
    previewHz: num({ min: 0, max: 30 }),
  }),
  'uv.posteriorProducts': obj({ jobId: str({ max: 40, pattern: /^[a-z]+-[0-9a-z]{1,32}$/ }) }),
};
