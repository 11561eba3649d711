/**
 * The lens fit's state in the app: the fit's settings (`skyscore lens-fit`'s flags), the job (its progress
 * line, stage and log evidence), and the finished fit (its products as the engine made them, lens.json read,
 * the critical curves). A store of its own; the viewer link reads the fitted critical curves from it.
 */
import { create } from 'zustand';
import type { LensFitJobSettings, NamedFile } from '../../../src-shared/protocol/index';
import type { PoissonMode, WeightType } from '../../../src-shared/lensing/noise-map';
import type { NoiseCorrelationMode } from '../../../src-shared/lensing/whitening';
import type { Region } from '../store/model';
import type { LensSky } from '../../../src-shared/lensing/sky-frame';

export interface LensFitForm extends LensFitJobSettings {
  /**
   * The fitted pixels: the command line's default (its disc where the image reaches beyond it, else every valid
   * pixel), the model's mask stage, an annulus (arcsec from the image centre), or every valid pixel.
   */
  mask: 'default' | 'model' | 'annulus' | 'all';
  r1: number;
  r2: number;
  /** The PSF's central crop (pixels, odd). */
  psfSize: number;
  /**
   * Where σ comes from: the Noise step (one σ or its σ map), an HDU of the observation's own file as a σ map
   * (`FILE.fits[ERR]`, --noise-map) or as a weight map (`FILE.fits[WHT]`, --weight-map), or a weight map in a FITS
   * file of its own (`noiseFile`, --weight-map WHT.fits), or one σ_sky measured from the observation's blank sky
   * (--noise-map estimate).
   */
  noiseSource: 'step' | 'obs-sigma' | 'obs-weights' | 'file-weights' | 'estimate';
  /** The weight map's file with 'file-weights' (among the model's files; its first image HDU); null: none chosen. */
  noiseFile: string | null;
  /** That HDU (null: the first named ERR for σ, WHT for weights, else the first other image HDU). */
  noiseHdu: number | null;
  /**
   * The weight map's kind (--weight-type): IVM, inverse variances (σ = 1/√w; drizzle's final_wht_type=IVM), or EXP,
   * exposure times in seconds per pixel (σ_sky = c/√t, c from the blank sky's scatter). Only with weights.
   */
  weightType: WeightType;
  /** The sources' Poisson noise (--poisson): auto adds it where the electrons per data unit are known, none leaves it out. */
  poisson: PoissonMode;
  /** The exposure time in seconds (--exposure-time); null: the header's EXPTIME (TEXPTIME). Not with EXP weights. */
  exposureTime: number | null;
  /**
   * The electrons per data unit estimated from the data by photon transfer (--exposure-time estimate) in place of
   * the exposure time; with the Poisson term on, not with EXP weights.
   */
  exposureEstimate: boolean;
  /**
   * The constant sky level (--sky): none, the data's sky taken as subtracted; fit, fitted with the deflector's light
   * and subtracted before everything else; level, `skyLevel` (data units) subtracted.
   */
  sky: 'none' | 'fit' | 'level';
  skyLevel: number | null;
  /** The noise's correlation (--noise-correlation): auto measures it on the blank sky and whitens where significant. */
  noiseCorrelation: NoiseCorrelationMode;
  /** The blank-sky box it is measured on (--noise-region; pixels, x1 and y1 exclusive); null: the automatic sky. */
  noiseRegion: Region | null;
  /** The image's pixel scale (arcsec); null: from the observation's celestial WCS, else the lens stage's. */
  pixelScale: number | null;
}

/** Whether σ comes from a weight map (the observation's WHT HDU, or a file of its own). */
export const weightsSource = (f: Pick<LensFitForm, 'noiseSource'>): boolean => f.noiseSource === 'obs-weights' || f.noiseSource === 'file-weights';

export type LensFitJobState = 'idle' | 'queued' | 'running' | 'stopping' | 'done' | 'cancelled' | 'error';

export interface LensParameter {
  value: number;
  error: number | null;
}

/** What the panel shows of a finished fit. */
export interface LensFitDone {
  files: NamedFile[];
  summary: string;
  command: string;
  parameters: Record<string, LensParameter>;
  logEvidence: number;
  chi2PerPixel: number;
  nPixels: number;
  /** critical curves (image plane) and caustics (source plane): polylines in arcsec, x and y interleaved */
  critical: Float32Array[];
  caustics: Float32Array[];
  imageShape: [number, number];
  pixelScale: number;
  sourceShape: [number, number];
  sourcePixelScale: number;
  /** the observation the fit was made on (sha256:hdu:plane) */
  obsKey: string;
  /** the pixel scale the fit used (arcsec) and where it came from ('given', or the WCS matrix) */
  scale: { value: number; source: string } | null;
  /** the command line's notes on its defaults (the scale from the WCS, σ from the weights, the default disc) */
  notes: string[];
  /** the fit on the sky through the observation's WCS (position angles East of North, the centres), null without one */
  onSky?: LensSky | null;
  /** pixels sharper than the PSF left out of the fit (lens.json outliers); null where they were kept (--keep-sharp) */
  outliers: { count: number; pixels: [number, number][] } | null;
  /** lens.json's lensNote: the fitted lens lies outside what galaxy-scale lenses show */
  lensNote: string | null;
  /**
   * lens.json's lightSelection where the light's components were chosen automatically: the components kept, log Z
   * with one and two at the same lens and the penalty a second must exceed; null where the form gave them
   */
  lightSelection: { components: number; logEvidence: [number, number]; penalty: number } | null;
  /**
   * lens.json's lightCore: the Gaussian core components tied to the first Sérsic component (σ in pixels and arcsec,
   * the amplitude in data units at r = rEff, of either sign); null without them
   */
  lightCore?: { sigmaPixels: number; sigmaArcsec: number; amplitude: number }[] | null;
  /** lens.json's fitRadius: the default disc's radius as fitted (widened with the first θE), null with another mask */
  fitRadius: number | null;
  /**
   * Where the fit's σ came from when not from the Noise step (an HDU of the observation's file as a σ map or as
   * weights, or a weight map's own file): "Use the fitted lens" then makes the fit's sigma.fits the Noise step's σ map. Null:
   * the Noise step's own σ or σ map, which the Noise step already holds.
   */
  noiseFrom: string | null;
  /**
   * lens.json's noiseCorrelation: the noise's correlation measured on the sky and the decision ('whitened', or white
   * and why); null where lens.json has none. A whitened fit's model.json carries the correlated noise block, which
   * "Use the fitted lens" makes the Noise step's model.
   */
  noiseCorrelation: LensFitNoiseCorrelation | null;
  /** lens.json's noise: how σ was made (the sky's σ, the sources' Poisson term or why not); null where lens.json has none */
  noise: LensFitNoiseUsed | null;
  /** lens.json's sky: the constant sky level subtracted before the fit (--sky), null where none */
  sky?: { level: number; method: 'fitted' | 'given'; pixels?: number; radiusArcsec?: number } | null;
}

/** lens.json's noise block, as far as the app reads it (src-shared/lensing/noise-map.ts lensSigma). */
export interface LensFitNoiseUsed {
  /** where the sky's σ came from (1/√w of the IVM weights …, c/√t of the EXP weights …, the σ given …) */
  sky: string;
  /** the sky's σ, its median over the valid pixels (data units) */
  skySigmaMedian?: number;
  /** the formula where the Poisson term was added, else 'none (why)' */
  poisson: string;
  /** e, electrons per data unit: a number, or per pixel (EXP weights) */
  electronsPerUnit?: number | string;
  /** the header cards (or the exposure time given) e was read from */
  read?: Record<string, number | string>;
  maxSigmaRatio?: number;
  pixelsVarianceAbove110Percent?: number;
  weightType?: 'exp';
  /** the noise measured from the data (--noise-map estimate, --exposure-time estimate): noise-estimate.ts */
  estimate?: {
    sigmaSky?: { value: number; standardError: number | null; quadrants: (number | null)[]; sky: string; skyPixels: number };
    electronsPerUnit?: { value: number; standardError: number; skyLevel: number; skyLevelSource: string; bins: { from: number; to: number; flux: number; varianceRatio: number; pixels: number; electronsPerUnit: number | null }[] };
  };
}

/** lens.json's noiseCorrelation block, as far as the app reads it (the estimate's fields only where measured). */
export interface LensFitNoiseCorrelation {
  decision: string;
  text: string;
  source?: string | [number, number, number, number];
  skyPixels?: number;
  lag1?: { x: number; y: number };
  lag1StandardError?: { x: number; y: number };
  varianceRatio?: number;
  largeScaleRatio?: number;
}

export interface LensFitState {
  form: LensFitForm;
  job: { jobId: string | null; state: LensFitJobState; line: string | null; stage: string | null; logEvidence: number | null; elapsedS: number; message: string | null };
  done: LensFitDone | null;
  patchForm(p: Partial<LensFitForm>): void;
  patchJob(p: Partial<LensFitState['job']>): void;
  setDone(d: LensFitDone | null): void;
}

export const DEFAULT_LENS_FIT_FORM: LensFitForm = {
  sourceSize: 64,
  sourceScale: null,
  fitSourceSize: 24,
  starts: 3,
  light: 'auto',
  lightCore: 0,
  supersample: 2,
  regularisation: 'gradient',
  errors: true,
  mass: 'sie',
  keepSharp: false,
  mask: 'default',
  r1: 0,
  r2: 2,
  psfSize: 21,
  noiseSource: 'step',
  noiseHdu: null,
  noiseFile: null,
  weightType: 'ivm',
  poisson: 'auto',
  exposureTime: null,
  exposureEstimate: false,
  sky: 'none',
  skyLevel: null,
  noiseCorrelation: 'auto',
  noiseRegion: null,
  pixelScale: null,
};

export const IDLE_JOB: LensFitState['job'] = { jobId: null, state: 'idle', line: null, stage: null, logEvidence: null, elapsedS: 0, message: null };

export const useLensFit = create<LensFitState>()((set) => ({
  form: { ...DEFAULT_LENS_FIT_FORM },
  job: { ...IDLE_JOB },
  done: null,
  patchForm: (p) => set((s) => ({ form: { ...s.form, ...p } })),
  patchJob: (p) => set((s) => ({ job: { ...s.job, ...p } })),
  setDone: (done) => set({ done }),
}));
