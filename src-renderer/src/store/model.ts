import type { StateCreator } from 'zustand';
import type { AppState } from './index';
import type { ModelSummary, NoiseEstimate } from '../../../src-shared/protocol/index';
import type { ForwardModelSpec, Shape2 } from '../../../src-shared/operators/forward-model-spec';
import type { SkyCorrelation } from '../../../src-shared/lensing/whitening';

/** The observation: which file, HDU and plane (the bytes are in model/files.ts). */
export interface ObsMeta {
  name: string;
  sha256: string;
  size: number;
  hdu: number;
  plane: number;
  /** Image HDUs of the file, for the chooser. */
  hdus: { index: number; label: string; shape: number[] }[];
  /** [ny, nx] of the chosen plane, and how many planes the HDU has. */
  shape: Shape2;
  planes: number;
  bunit: string | null;
}

export interface FileMeta {
  name: string;
  size: number;
  sha256: string;
  /** What the file is for (shown in the list). */
  role: 'psf' | 'mask' | 'sigma' | 'array' | 'noise' | 'additive';
}

export interface Region {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/**
 * White noise (σ typed in, or estimated from the data by the MAD), a σ map, correlated noise measured from a
 * blank-sky box of the observation or a noise-only image, or Poisson–Gaussian counts.
 */
export type NoiseMode = 'sigma' | 'mad' | 'map' | 'correlated' | 'poisson-gaussian' | 'learned';
export const NOISE_MODES: readonly NoiseMode[] = ['sigma', 'mad', 'map', 'correlated', 'poisson-gaussian', 'learned'];

export interface NoiseSettings {
  mode: NoiseMode;
  /** σ typed in (mode 'sigma') or estimated (mode 'mad'). */
  sigma: number | null;
  /** The region of the MAD estimate (pixels, inclusive-exclusive), or null for the whole image. */
  region: Region | null;
  /** How many pixels the estimate used. */
  estimatedFrom: number | null;
  mapFile: string | null;
  mapHdu: number;
  /** Correlated: measured from a blank-sky box of the observation (pixels, inclusive-exclusive) or a noise-only image (a file). */
  corrSource: 'region' | 'image';
  corrRegion: Region | null;
  noiseImage: string | null;
  /**
   * Correlated: a σ map (FITS, the observation's grid) of the per-pixel rms that the measured correlation scales, as
   * M.json's correlated block's sigmaFits (a whitened lens fit's noise-sigma.fits); null: the σ measured.
   */
  corrSigmaFile: string | null;
  /** Poisson–Gaussian: gain (e⁻/ADU; null: the header's), read noise (e⁻), a subtracted sky (ADU; null: none). */
  gain: number | null;
  readNoise: number | null;
  sky: number | null;
  /** Learned: a noise prior's id in priors.list (a folder made by `skyscore train --kind noise`). */
  noisePrior: string | null;
  /**
   * Learned: the Gaussian part of the likelihood is correlated, its spectrum measured from the correlated model's
   * source (corrSource: the blank-sky box corrRegion or the noise-only image noiseImage; M.json's learned block's
   * region or image, `--noise-region`/`--noise-image` beside `--noise-prior`); false: white, the prior's σ.
   */
  learnedSpectrum: boolean;
  /** The noise of a whitened lens fit whose model "Use the fitted lens" made the editor's (null: none). */
  lensFit: LensFitNoise | null;
}

/**
 * A whitened lens fit's noise (lens.json noiseCorrelation, model.json's correlated block): its two choices — the
 * correlated model `reconstruct --model DIR/model.json` builds (the noise-only draw and the per-pixel σ map, as the
 * step's files) and white noise of the σ the fit read — and what the fit measured on the sky.
 */
export interface LensFitNoise extends Pick<SkyCorrelation, 'lag1' | 'lag1Error' | 'varianceRatio' | 'largeScaleRatio' | 'skyPixels'> {
  /** the correlated block's noise-only draw (noise-realisation.fits) and per-pixel σ (noise-sigma.fits), as the step names them */
  noiseImage: string;
  sigmaFile: string;
  /** where the sky came from, in words */
  source: string;
  /** the white choice: the fit's σ map (σ as it read it) or the Noise step's σ or σ map before */
  white: { mode: 'sigma' | 'mad' | 'map'; sigma: number | null; mapFile: string | null; mapHdu: number };
}

/** The noise model the run would use, as the engine built it for the Noise step (noise.describe). */
export interface NoiseEstimateState {
  state: CheckState;
  estimate: NoiseEstimate | null;
  /** The gain the observation's header gives (GAIN, CCDGAIN, ATODGAIN; 1 for data in electrons). */
  headerGain: { gain: number; source: string } | null;
  error: string | null;
  /** The choice the estimate or error is for (noiseDescribeKey): the step shows it only while the choice is the same. */
  key: string | null;
}

export type CheckState = 'idle' | 'checking' | 'ok' | 'error';

export interface ModelSlice {
  obs: ObsMeta | null;
  modelDoc: ForwardModelSpec;
  forwardModelFiles: FileMeta[];
  noise: NoiseSettings;
  noiseEstimate: NoiseEstimateState;
  modelCheck: { state: CheckState; summary: ModelSummary | null; error: string | null };
  /** Version counters of pixel results kept in run/previews.ts. */
  previewAxVersion: number;
  previewAxState: { state: CheckState; error: string | null };
  overlayVersion: number;
  overlayError: string | null;
  setObs(obs: ObsMeta | null): void;
  setModelDoc(doc: ForwardModelSpec): void;
  upsertModelFile(f: FileMeta): void;
  removeModelFile(name: string): void;
  setNoise(patch: Partial<NoiseSettings>): void;
  setNoiseEstimate(patch: Partial<NoiseEstimateState>): void;
  setModelCheck(c: ModelSlice['modelCheck']): void;
  bumpPreviewAx(state: ModelSlice['previewAxState']): void;
  bumpOverlays(error: string | null): void;
}

export const DEFAULT_DOC: ForwardModelSpec = { shape: [64, 64], operators: [{ type: 'psf', fwhmPx: 2.5 }] };
export const DEFAULT_NOISE: NoiseSettings = {
  mode: 'sigma',
  sigma: null,
  region: null,
  estimatedFrom: null,
  mapFile: null,
  mapHdu: 0,
  corrSource: 'region',
  corrRegion: null,
  noiseImage: null,
  corrSigmaFile: null,
  gain: null,
  readNoise: null,
  sky: null,
  noisePrior: null,
  learnedSpectrum: false,
  lensFit: null,
};
export const IDLE_NOISE_ESTIMATE: NoiseEstimateState = { state: 'idle', estimate: null, headerGain: null, error: null, key: null };

export const createModelSlice: StateCreator<AppState, [], [], ModelSlice> = (set) => ({
  obs: null,
  modelDoc: DEFAULT_DOC,
  forwardModelFiles: [],
  noise: DEFAULT_NOISE,
  noiseEstimate: IDLE_NOISE_ESTIMATE,
  modelCheck: { state: 'idle', summary: null, error: null },
  previewAxVersion: 0,
  previewAxState: { state: 'idle', error: null },
  overlayVersion: 0,
  overlayError: null,
  setObs: (obs) => set({ obs }),
  setModelDoc: (modelDoc) => set({ modelDoc }),
  upsertModelFile: (f) => set((s) => ({ forwardModelFiles: [...s.forwardModelFiles.filter((x) => x.name !== f.name), f] })),
  removeModelFile: (name) => set((s) => ({ forwardModelFiles: s.forwardModelFiles.filter((x) => x.name !== name) })),
  setNoise: (patch) => set((s) => ({ noise: { ...s.noise, ...patch } })),
  setNoiseEstimate: (patch) => set((s) => ({ noiseEstimate: { ...s.noiseEstimate, ...patch } })),
  setModelCheck: (modelCheck) => set({ modelCheck }),
  bumpPreviewAx: (previewAxState) => set((s) => ({ previewAxState, previewAxVersion: s.previewAxVersion + 1 })),
  bumpOverlays: (overlayError) => set((s) => ({ overlayError, overlayVersion: s.overlayVersion + 1 })),
});
